//! The character-level LSTM language model: embedding -> LSTM -> linear.

use serde::{Deserialize, Serialize};

use crate::element::Float;
use crate::nn::{Embedding, Layer, Linear, Lstm, Module, RnnOptions};
use crate::tensor::{Generator, IndexTensor, Tensor};

/// The sizes of a [`CharLstm`]; [`CharLstmConfig::new`] gives char-rnn's
/// default network (2 layers of 128) with embeddings of 128.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CharLstmConfig {
    /// Characters in the vocabulary: the embedding's rows and the logits.
    pub vocab_size: usize,
    /// Features of a character's embedding (default 128).
    pub embedding_dim: usize,
    /// Features of the LSTM's state (default 128).
    pub hidden_size: usize,
    /// Stacked LSTM layers (default 2).
    pub num_layers: usize,
    /// Dropout between the LSTM layers in training (default 0). Not part of
    /// a checkpoint's config.
    #[serde(default, skip_serializing)]
    pub dropout: f64,
}

impl CharLstmConfig {
    /// char-rnn's defaults for a vocabulary of `vocab_size` characters.
    pub fn new(vocab_size: usize) -> Self {
        CharLstmConfig {
            vocab_size,
            embedding_dim: 128,
            hidden_size: 128,
            num_layers: 2,
            dropout: 0.0,
        }
    }
}

/// A character-level language model: `embedding` (`nn.Embedding(vocab,
/// embedding_dim)`), `lstm` (`nn.LSTM(embedding_dim, hidden, num_layers,
/// batch_first=True)`) and `fc` (`nn.Linear(hidden, vocab)`), with those
/// state-dict names (`embedding.weight`, `lstm.weight_ih_l0`, ...,
/// `fc.weight`, `fc.bias`), so a PyTorch model of this layout loads as is.
///
/// Ids `[B, T]` give logits `[B, T, vocab]` for the next character at
/// every position.
///
/// ```
/// use nabla::nn::zoo::{char_lstm, CharLstmConfig};
/// use nabla::nn::{loss::cross_entropy, Module};
/// use nabla::{Generator, IndexTensor};
/// let config = CharLstmConfig { embedding_dim: 8, hidden_size: 16, ..CharLstmConfig::new(65) };
/// let model = char_lstm::<f32>(&config, &mut Generator::new(0));
/// let ids = IndexTensor::from_vec((0..24).map(|i| i % 65).collect(), &[2, 12]);
/// let logits = model.forward(&ids);
/// assert_eq!(logits.shape(), &[2, 12, 65]);
/// let targets = IndexTensor::from_vec((1..25).map(|i| i % 65).collect(), &[24]);
/// let loss = cross_entropy(&logits.reshape(&[24, 65]), &targets);
/// assert!((loss.item() - 65f32.ln()).abs() < 0.3); // about uniform when untrained
/// let names: Vec<String> = model.state_dict().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names[..2], ["embedding.weight", "lstm.weight_ih_l0"]);
/// assert_eq!(names[names.len() - 2..], ["fc.weight", "fc.bias"]);
/// ```
#[derive(Module)]
pub struct CharLstm<T: Float = f32> {
    /// `[vocab, embedding_dim]`.
    pub embedding: Embedding<T>,
    /// Batch-first, `num_layers` layers.
    pub lstm: Lstm<T>,
    /// `[vocab, hidden]` and `[vocab]`.
    pub fc: Linear<T>,
    #[module(skip)]
    config: CharLstmConfig,
}

/// A [`CharLstm`] of the given sizes, initialised as PyTorch initialises
/// each layer.
///
/// # Panics
/// If a size is 0 or the dropout is outside `[0, 1)`.
pub fn char_lstm<T: Float>(config: &CharLstmConfig, generator: &mut Generator) -> CharLstm<T> {
    assert!(config.vocab_size > 0, "char_lstm: vocab_size must be at least 1");
    let options = RnnOptions::default()
        .num_layers(config.num_layers)
        .batch_first(true)
        .dropout(config.dropout);
    CharLstm {
        embedding: Embedding::new(config.vocab_size, config.embedding_dim, generator),
        lstm: Lstm::with_options(config.embedding_dim, config.hidden_size, options, generator),
        fc: Linear::new(config.hidden_size, config.vocab_size, true, generator),
        config: config.clone(),
    }
}

impl<T: Float> CharLstm<T> {
    /// The logits `[B, T, vocab]` of ids `[B, T]`, from a zero state.
    pub fn forward(&self, ids: &IndexTensor) -> Tensor<T> {
        self.forward_with_state(ids, None).0
    }

    /// The logits `[B, T, vocab]` of ids `[B, T]` from the LSTM state
    /// `(h, c)` (each `[num_layers, B, hidden]`; zeros when `None`), and the
    /// state after the last position: what generation carries from one
    /// character to the next.
    ///
    /// # Panics
    /// If `ids` is not `[B, T]` or an id is outside the vocabulary.
    pub fn forward_with_state(
        &self,
        ids: &IndexTensor,
        state: Option<(&Tensor<T>, &Tensor<T>)>,
    ) -> (Tensor<T>, (Tensor<T>, Tensor<T>)) {
        assert!(
            ids.ndim() == 2,
            "CharLstm: ids must be [batch, time], got {:?}",
            ids.shape()
        );
        let (hidden, state) = self.lstm.forward(&self.embedding.forward(ids), state);
        (self.fc.forward(&hidden), state)
    }

    /// The model's sizes.
    pub fn config(&self) -> &CharLstmConfig {
        &self.config
    }

    /// The vocabulary size.
    pub fn vocab_size(&self) -> usize {
        self.embedding.num_embeddings()
    }
}
