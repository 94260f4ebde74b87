//! Generating text: the next character drawn from the model's logits
//! (greedy, temperature, top-k), one at a time, with the GPT's key/value
//! cache or the LSTM's state carried between characters.

use super::LanguageModel;
use crate::autograd::no_grad;
use crate::nn::zoo::{CharGpt, CharLstm};
use crate::tensor::{Generator, IndexTensor, Tensor};

/// How the next character is chosen from the logits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampling {
    /// Logits are divided by it before the softmax; 0 picks the most
    /// likely character (greedy argmax). Default 1.
    pub temperature: f64,
    /// Only the `k` most likely characters may be drawn (`None`: all).
    pub top_k: Option<usize>,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            temperature: 1.0,
            top_k: None,
        }
    }
}

impl Sampling {
    /// The id drawn from `logits` (one row of `vocab_size`).
    ///
    /// ```
    /// use nabla::lm::Sampling;
    /// use nabla::Generator;
    /// let greedy = Sampling { temperature: 0.0, top_k: None };
    /// assert_eq!(greedy.choose(&[0.1, 2.0, -1.0], &mut Generator::new(0)), 1);
    /// let top1 = Sampling { temperature: 5.0, top_k: Some(1) };
    /// assert_eq!(top1.choose(&[0.1, 2.0, -1.0], &mut Generator::new(0)), 1);
    /// ```
    pub fn choose(&self, logits: &[f32], generator: &mut Generator) -> usize {
        let argmax = || {
            logits
                .iter()
                .enumerate()
                .fold(
                    (0, f32::NEG_INFINITY),
                    |best, (i, &l)| if l > best.1 { (i, l) } else { best },
                )
                .0
        };
        if self.temperature == 0.0 || self.top_k == Some(1) {
            return argmax();
        }
        let mut cut = f64::NEG_INFINITY;
        if let Some(k) = self.top_k.filter(|&k| k < logits.len()) {
            let mut sorted: Vec<f32> = logits.to_vec();
            sorted.sort_unstable_by(|a, b| b.total_cmp(a));
            cut = f64::from(sorted[k - 1]);
        }
        // A softmax over the kept logits, as nanoGPT's (logits below the
        // k-th largest set to -inf).
        let scaled: Vec<f64> = logits
            .iter()
            .map(|&l| {
                let l = f64::from(l);
                if l < cut {
                    f64::NEG_INFINITY
                } else {
                    l / self.temperature
                }
            })
            .collect();
        let max = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let weights: Vec<f64> = scaled.iter().map(|&s| (s - max).exp()).collect();
        let total: f64 = weights.iter().sum();
        let mut u = generator.uniform() * total;
        for (i, w) in weights.iter().enumerate() {
            if u < *w {
                return i;
            }
            u -= w;
        }
        argmax()
    }
}

/// Generates `tokens` characters after `prompt` (ids, at least one), calling
/// `on_token` with each new id as soon as it is chosen, and returns the new
/// ids. The GPT reads at most its last `block_size` characters, as
/// nanoGPT's `generate` crops its context; while the context fits, each new
/// character costs one position's work (the key/value cache).
///
/// ```
/// use nabla::lm::{generate, LanguageModel, Sampling};
/// use nabla::nn::zoo::CharGptConfig;
/// use nabla::Generator;
/// let config = CharGptConfig { block_size: 8, n_layer: 1, n_head: 2, n_embd: 8, ..CharGptConfig::new(5) };
/// let model = LanguageModel::gpt(&config, &mut Generator::new(0));
/// let mut streamed = Vec::new();
/// let new = generate(&model, &[0, 1], 20, Sampling::default(), &mut Generator::new(1), |id| streamed.push(id));
/// assert_eq!((new.len(), &new), (20, &streamed));
/// assert!(new.iter().all(|&id| id < 5));
/// ```
///
/// # Panics
/// If the prompt is empty or holds an id outside the vocabulary.
pub fn generate(
    model: &LanguageModel,
    prompt: &[usize],
    tokens: usize,
    sampling: Sampling,
    generator: &mut Generator,
    mut on_token: impl FnMut(usize),
) -> Vec<usize> {
    assert!(
        !prompt.is_empty(),
        "generate: the prompt needs at least one character"
    );
    let vocab = model.vocab_size();
    assert!(
        prompt.iter().all(|&id| id < vocab),
        "generate: the prompt holds an id outside the vocabulary of {vocab}"
    );
    let mut emit = |logits: &Tensor, generated: &mut Vec<usize>| {
        let id = sampling.choose(&logits.to_vec(), generator);
        on_token(id);
        generated.push(id);
        id
    };
    no_grad(|| match model {
        LanguageModel::Gpt(gpt) => generate_gpt(gpt, prompt, tokens, &mut emit),
        LanguageModel::Lstm(lstm) => generate_lstm(lstm, prompt, tokens, &mut emit),
    })
}

type Emit<'a> = dyn FnMut(&Tensor, &mut Vec<usize>) -> usize + 'a;

fn generate_gpt(model: &CharGpt, prompt: &[usize], tokens: usize, emit: &mut Emit) -> Vec<usize> {
    let block = model.config().block_size;
    let mut context: Vec<usize> = prompt.to_vec();
    let mut generated = Vec::with_capacity(tokens);
    let frozen = model.freeze();
    let mut cache = frozen.new_cache();
    let mut pending: Vec<usize> = context[context.len().saturating_sub(block)..].to_vec();
    while generated.len() < tokens {
        if cache.len() + pending.len() > block {
            // The window moves: every position's embedding changes, so the
            // last `block` characters are read afresh.
            cache.clear();
            pending = context[context.len() - block..].to_vec();
        }
        let logits = frozen.next_logits(
            &IndexTensor::from_vec(pending.clone(), &[1, pending.len()]),
            &mut cache,
        );
        let last = logits.reshape(&[model.config().vocab_size]);
        let id = emit(&last, &mut generated);
        context.push(id);
        pending = vec![id];
    }
    generated
}

fn generate_lstm(model: &CharLstm, prompt: &[usize], tokens: usize, emit: &mut Emit) -> Vec<usize> {
    let mut generated = Vec::with_capacity(tokens);
    let mut pending: Vec<usize> = prompt.to_vec();
    let mut state: Option<(Tensor, Tensor)> = None;
    while generated.len() < tokens {
        let ids = IndexTensor::from_vec(pending.clone(), &[1, pending.len()]);
        let (logits, next) = model.forward_with_state(&ids, state.as_ref().map(|(h, c)| (h, c)));
        state = Some(next);
        let last = logits.select(1, pending.len() - 1).reshape(&[model.vocab_size()]);
        pending = vec![emit(&last, &mut generated)];
    }
    generated
}
