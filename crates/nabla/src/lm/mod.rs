//! Character-level language models (chapters 6 and 7 of the course): one
//! [`LanguageModel`] for nanoGPT's transformer and the LSTM of the zoo, the
//! training step ([`NextCharacter`]), checkpoints that carry their model and
//! vocabulary ([`save_language_model`], [`load_language_model`]), and text
//! generation ([`generate`]).
//!
//! The data are a [`TextCorpus`](crate::data::TextCorpus) cut into
//! [`TokenWindows`](crate::data::TokenWindows).

mod checkpoint;
mod generate;
mod model;
mod optimizer;
mod step;

pub use checkpoint::{load_language_model, save_language_model, CONFIG_KEY, MODEL_KEY, VOCAB_KEY};
pub use generate::{generate, Sampling};
pub use model::LanguageModel;
pub use optimizer::nanogpt_adamw;
pub use step::NextCharacter;
