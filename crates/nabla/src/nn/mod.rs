//! Neural-network building blocks: the [`Module`] trait, layers,
//! initialisation.

mod activation;
mod basic;
mod conv;
mod dropout;
pub mod filters;
pub mod init;
mod linear;
mod module;
mod sequential;
mod summary;

pub use activation::{LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh, GELU};
pub use basic::{Flatten, Identity};
pub use conv::{Conv1d, Conv2d, ConvTranspose2d, Padding};
pub use dropout::Dropout;
pub use linear::Linear;
pub use module::Module;
pub use sequential::Sequential;
pub use summary::{summary, Geometry, LayerSummary, ReceptiveField, Summary};
