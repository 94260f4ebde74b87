//! Neural-network building blocks: the [`Module`] and [`Layer`] traits, layers,
//! initialisation, and the losses in [`loss`].

mod activation;
mod attention;
mod basic;
mod conv;
mod dropout;
pub mod filters;
pub mod init;
mod layer;
mod linear;
pub mod loss;
mod module;
mod norm;
mod pad;
mod pool;
mod rnn;
mod sequential;
mod spectral_norm;
mod summarize;
mod summary;
mod to_dtype;
mod transformer;
pub mod zoo;

pub use activation::{Gelu, LeakyRelu, LogSoftmax, Relu, Relu6, Sigmoid, Softmax, Tanh};
pub use attention::{
    generate_square_subsequent_mask, scaled_dot_product_attention, AttentionArgs, AttentionMask, KvCache,
    MultiheadAttention, MultiheadAttentionOptions,
};
pub use basic::{Flatten, Identity};
pub use conv::{Conv1d, Conv2d, ConvTranspose2d, Padding};
pub use dropout::Dropout;
pub use layer::{AsAny, Layer};
pub use linear::Linear;
pub use loss::{BceLoss, BceWithLogitsLoss, CrossEntropyLoss, MseLoss, NllLoss, Reduction};
pub use module::{__child, __child_mut, AsModule, Module};
/// `#[derive(Module)]`: see [`Module`](trait@Module).
pub use nabla_derive::Module;
#[cfg(feature = "mpi")]
pub(crate) use norm::{batch_norm_forward, check_channel_shapes, update_running_stats, BatchNormState};
pub use norm::{
    BatchNorm1d, BatchNorm2d, BatchNormOptions, GroupNorm, GroupNormOptions, LayerNorm, LayerNormOptions,
};
pub use pad::{ZeroPad2d, ZeroPad2dSides};
pub use pool::{AdaptiveAvgPool2d, AvgPool2d, MaxPool2d};
pub use rnn::{
    Embedding, Gru, GruCell, Lstm, LstmCell, Nonlinearity, RecurrentWeights, Rnn, RnnCell, RnnOptions,
};
pub use sequential::Sequential;
pub use spectral_norm::{spectral_norm, SpectralNorm, SpectrallyNormalizable};
pub use summarize::{Geometry, Summarize};
pub use summary::{summary, LayerSummary, ReceptiveField, Summary};
pub use to_dtype::{cast_parameter, ToDtype};
pub use transformer::{
    LearnedPositionalEmbedding, SinusoidalPositionalEncoding, TransformerActivation, TransformerDecoder,
    TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer, TransformerLayerOptions,
    TransformerMasks,
};
