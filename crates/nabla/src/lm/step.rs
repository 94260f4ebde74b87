//! [`NextCharacter`]: the training step of a language model, the mean
//! cross-entropy of the next character at every position.

use super::LanguageModel;
use crate::nn::loss::cross_entropy;
use crate::tensor::IndexTensor;
use crate::train::{Step, StepOutput};

/// The step [`fit`](crate::train::fit) runs for a language model on batches
/// `(ids, targets)` of two `[B, T]` index tensors (what
/// [`Stack`](crate::data::Stack) makes of [`TokenWindows`](crate::data::TokenWindows)):
/// the mean cross-entropy, in nats per character, of the `B * T` targets.
/// Its examples are characters, so the loop's throughput is characters
/// per second.
///
/// ```
/// use nabla::lm::{LanguageModel, NextCharacter};
/// use nabla::nn::zoo::CharGptConfig;
/// use nabla::train::Step;
/// use nabla::{Generator, IndexTensor};
/// let config = CharGptConfig { block_size: 8, n_layer: 1, n_head: 2, n_embd: 8, ..CharGptConfig::new(5) };
/// let mut model = LanguageModel::gpt(&config, &mut Generator::new(0));
/// let batch = (IndexTensor::from_vec(vec![0, 1, 2, 3], &[2, 2]), IndexTensor::from_vec(vec![1, 2, 3, 4], &[2, 2]));
/// let out = NextCharacter.train_step(&mut model, &batch);
/// assert_eq!(out.examples, 4);
/// assert!((out.loss.item() - 5f32.ln()).abs() < 0.1);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct NextCharacter;

impl Step<LanguageModel, (IndexTensor, IndexTensor)> for NextCharacter {
    fn train_step(
        &mut self,
        model: &mut LanguageModel,
        (ids, targets): &(IndexTensor, IndexTensor),
    ) -> StepOutput {
        let logits = model.forward(ids);
        let positions = targets.numel();
        let loss = cross_entropy(
            &logits.reshape(&[positions, model.vocab_size()]),
            &targets.reshape(&[positions]),
        );
        StepOutput::new(loss, positions)
    }
}
