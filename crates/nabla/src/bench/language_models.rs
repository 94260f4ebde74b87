//! The language-model benchmarks: a training step of nanoGPT's CPU
//! configuration and of the char-LSTM, and greedy generation with the GPT's
//! key/value cache, on random characters.

use std::sync::Arc;

use super::median_seconds;
use crate::lm::{generate, nanogpt_adamw, LanguageModel, NextCharacter, Sampling};
use crate::nn::zoo::{CharGptConfig, CharLstmConfig};
use crate::optim::{clip_grad_norm_, Adam, AdamConfig, AdamWConfig, Optimizer};
use crate::tensor::{Generator, IndexTensor};
use crate::train::{data_parallel_backward, DataParallel, Step};

/// Characters of tiny-shakespeare's vocabulary.
const VOCAB: usize = 65;

/// One training step of a language model on a fixed random batch of
/// `[batch, time]` characters: forward, cross-entropy, backward, clipping
/// to norm 1 (GPT only, as nanoGPT) and the optimizer.
pub struct LanguageModelStep {
    model: LanguageModel,
    optimizer: Box<dyn Optimizer>,
    batch: (IndexTensor, IndexTensor),
    clip: Option<f64>,
    parallel: Option<Arc<dyn DataParallel>>,
}

impl LanguageModelStep {
    /// nanoGPT's CPU run: 4 layers, 4 heads, 128 features, batch 12 x 64,
    /// AdamW (lr 1e-3, betas 0.9/0.99, weight decay 0.1 on matrices), clip 1.
    pub fn gpt() -> Self {
        let model = LanguageModel::gpt(&CharGptConfig::new(VOCAB), &mut Generator::new(5));
        let config = AdamWConfig::new(1e-3).betas(0.9, 0.99).weight_decay(0.1);
        let optimizer = Box::new(nanogpt_adamw(&model, config).expect("nanoGPT's settings are valid"));
        Self::new(model, optimizer, 12, 64, Some(1.0))
    }

    /// char-rnn's network: embedding 128, 2 LSTM layers of 128, linear;
    /// batch 50 x 50, Adam at 2e-3.
    pub fn lstm() -> Self {
        let model = LanguageModel::lstm(&CharLstmConfig::new(VOCAB), &mut Generator::new(6));
        let optimizer = Box::new(Adam::new(model.module().parameters(), AdamConfig::new(2e-3)));
        Self::new(model, optimizer, 50, 50, None)
    }

    fn new(
        model: LanguageModel,
        optimizer: Box<dyn Optimizer>,
        batch: usize,
        time: usize,
        clip: Option<f64>,
    ) -> Self {
        let mut g = Generator::new(7);
        let mut ids = || {
            IndexTensor::from_vec(
                (0..batch * time).map(|_| g.below(VOCAB)).collect(),
                &[batch, time],
            )
        };
        let batch = (ids(), ids());
        LanguageModelStep {
            model,
            optimizer,
            batch,
            clip,
            parallel: None,
        }
    }

    /// The step with its gradients averaged over the processes of
    /// `parallel` (data-parallel training: each process its own batch).
    pub fn data_parallel(mut self, parallel: Arc<dyn DataParallel>) -> Self {
        self.parallel = Some(parallel);
        self
    }

    /// Runs one step.
    pub fn run(&mut self) {
        self.optimizer.zero_grad();
        let out = NextCharacter.train_step(&mut self.model, &self.batch);
        data_parallel_backward(self.parallel.as_deref(), &out.loss, self.optimizer.parameters());
        if let Some(max_norm) = self.clip {
            clip_grad_norm_(self.optimizer.parameters(), max_norm);
        }
        self.optimizer.step();
    }

    /// Characters (tokens) per second over the median of `repetitions` steps.
    pub fn tokens_per_second(&mut self, repetitions: usize) -> f64 {
        let tokens = self.batch.0.numel() as f64;
        tokens / median_seconds(2, repetitions, || self.run())
    }
}

/// Characters per second of greedy generation by the default char-GPT:
/// 500 new characters after a one-character prompt, batch 1, with the
/// key/value cache (the window moves past 64 characters as nanoGPT's).
pub fn gpt_generate_tokens_per_second(repetitions: usize) -> f64 {
    let model = LanguageModel::gpt(&CharGptConfig::new(VOCAB), &mut Generator::new(8));
    let greedy = Sampling {
        temperature: 0.0,
        top_k: None,
    };
    let seconds = median_seconds(1, repetitions, || {
        generate(&model, &[0], 500, greedy, &mut Generator::new(0), |_| {});
    });
    500.0 / seconds
}
