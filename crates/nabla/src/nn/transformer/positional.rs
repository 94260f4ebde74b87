//! Positional information added to token embeddings: the fixed
//! [`SinusoidalPositionalEncoding`] of "Attention Is All You Need" and the
//! trained [`LearnedPositionalEmbedding`] of GPT.

use std::marker::PhantomData;

use crate::element::Float;
use crate::nn::init::normal_;
use crate::nn::{Layer, Module};
use crate::tensor::{Generator, Tensor};

/// Checks that positions `start..start + len` fit in `max_len`.
fn check_positions(op: &str, start: usize, len: usize, max_len: usize) {
    assert!(
        start + len <= max_len,
        "{op}: positions {start}..{} exceed max_len = {max_len} (the longest sequence, or block size, it was made for)",
        start + len
    );
}

/// The positions of `x` `[..., L, d_model]` (along dimension -2), checked
/// against `d_model`.
fn positions<T: Float>(op: &str, x: &Tensor<T>, d_model: usize) -> usize {
    let s = x.shape();
    assert!(
        s.len() >= 2 && s[s.len() - 1] == d_model,
        "{op}: input of shape {s:?} must be [..., positions, {d_model}]"
    );
    s[s.len() - 2]
}

/// The fixed sinusoidal positional encoding of Vaswani et al. (the
/// `PositionalEncoding` of PyTorch's transformer tutorial), added to
/// inputs `[..., L, d_model]` (positions along dimension -2, as in
/// `[batch, L, d_model]`; the tutorial's module takes `[L, batch, d_model]`,
/// so transpose such input first, or the batch would count as positions):
///
/// ```text
/// PE[pos, 2i]     = sin(pos / 10000^(2i / d_model))
/// PE[pos, 2i + 1] = cos(pos / 10000^(2i / d_model))
/// ```
///
/// It has no parameters and is computed when needed (positions up to
/// `max_len`).
///
/// ```
/// use nabla::nn::{Layer, SinusoidalPositionalEncoding};
/// use nabla::Tensor;
/// let pe: SinusoidalPositionalEncoding = SinusoidalPositionalEncoding::new(4, 100);
/// let table = pe.encoding(0, 2).to_vec(); // positions 0 and 1
/// let want = [0.0, 1.0, 0.0, 1.0, 1f32.sin(), 1f32.cos(), 0.01f32.sin(), 0.01f32.cos()];
/// assert!(table.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6));
/// let x = Tensor::zeros(&[3, 2, 4]); // [batch, positions, d_model]
/// assert_eq!(pe.forward(&x).select(0, 2).to_vec(), table);
/// ```
#[derive(Module)]
pub struct SinusoidalPositionalEncoding<T: Float = f32> {
    d_model: usize,
    max_len: usize,
    element: PhantomData<T>,
}

impl<T: Float> SinusoidalPositionalEncoding<T> {
    /// The encoding of `d_model` features for up to `max_len` positions.
    pub fn new(d_model: usize, max_len: usize) -> Self {
        SinusoidalPositionalEncoding {
            d_model,
            max_len,
            element: PhantomData,
        }
    }

    /// The encodings of positions `start..start + len`, `[len, d_model]`.
    ///
    /// # Panics
    /// If the positions exceed `max_len`.
    pub fn encoding(&self, start: usize, len: usize) -> Tensor<T> {
        check_positions("SinusoidalPositionalEncoding", start, len, self.max_len);
        let d = self.d_model;
        let pairs = d.div_ceil(2);
        let position = Tensor::<T>::arange(T::from_usize(start), T::from_usize(start + len), T::one())
            .reshape(&[len, 1]);
        // 10000^(-2i / d) = exp(-2i ln(10000) / d)
        let frequency = Tensor::<T>::arange(T::zero(), T::from_usize(2 * pairs), T::from_f64(2.0))
            .mul_scalar(T::from_f64(-(10000f64.ln()) / d as f64))
            .exp()
            .reshape(&[1, pairs]);
        let angle = position.mul(&frequency);
        // Interleave: sin at even features, cos at odd ones.
        Tensor::stack(&[angle.sin(), angle.cos()], -1)
            .reshape(&[len, 2 * pairs])
            .narrow(1, 0, d)
    }

    /// `x` `[..., L, d_model]` plus the encodings of positions
    /// `start..start + L` (for a generation step at position `start`).
    ///
    /// # Panics
    /// If `x` does not end in `d_model` features, or the positions exceed
    /// `max_len`.
    pub fn forward_at(&self, x: &Tensor<T>, start: usize) -> Tensor<T> {
        let len = positions("SinusoidalPositionalEncoding", x, self.d_model);
        x + &self.encoding(start, len)
    }
}

impl<T: Float> Layer<T> for SinusoidalPositionalEncoding<T> {
    /// `x` plus the encodings of positions `0..L`.
    fn forward(&self, x: &Tensor<T>) -> Tensor<T> {
        self.forward_at(x, 0)
    }
}

/// A trained positional embedding (GPT's `wpe`, `nn.Embedding(max_len,
/// d_model)` indexed by `arange(L)`): one learned vector per position,
/// `weight` `[max_len, d_model]` drawn from N(0, 1) as `nn.Embedding`'s,
/// added to inputs `[..., L, d_model]` (positions along dimension -2).
///
/// ```
/// use nabla::nn::{LearnedPositionalEmbedding, Module};
/// use nabla::{Generator, Tensor};
/// let wpe: LearnedPositionalEmbedding = LearnedPositionalEmbedding::new(8, 4, &mut Generator::new(0));
/// let x = Tensor::zeros(&[2, 3, 4]);
/// let y = wpe.forward_at(&x, 5); // positions 5, 6, 7
/// assert_eq!(y.select(0, 1).to_vec(), wpe.weight.narrow(0, 5, 3).to_vec());
/// let names: Vec<String> = wpe.state_dict().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["weight"]);
/// ```
#[derive(Module)]
pub struct LearnedPositionalEmbedding<T: Float = f32> {
    /// `[max_len, d_model]`: row `p` is added at position `p`.
    pub weight: Tensor<T>,
}

impl<T: Float> LearnedPositionalEmbedding<T> {
    /// Embeddings of `d_model` features for `max_len` positions, from
    /// N(0, 1).
    pub fn new(max_len: usize, d_model: usize, generator: &mut Generator) -> Self {
        let weight = Tensor::zeros(&[max_len, d_model]);
        normal_(&weight, 0.0, 1.0, generator);
        LearnedPositionalEmbedding {
            weight: weight.requires_grad(),
        }
    }

    /// The longest sequence it embeds.
    pub fn max_len(&self) -> usize {
        self.weight.shape()[0]
    }

    /// `x` `[..., L, d_model]` plus the embeddings of positions
    /// `start..start + L` (for a generation step at position `start`).
    ///
    /// # Panics
    /// If `x` does not end in `d_model` features, or the positions exceed
    /// `max_len`.
    pub fn forward_at(&self, x: &Tensor<T>, start: usize) -> Tensor<T> {
        let len = positions("LearnedPositionalEmbedding", x, self.weight.shape()[1]);
        check_positions("LearnedPositionalEmbedding", start, len, self.max_len());
        x + &self.weight.narrow(0, start, len)
    }
}

impl<T: Float> Layer<T> for LearnedPositionalEmbedding<T> {
    /// `x` plus the embeddings of positions `0..L`.
    fn forward(&self, x: &Tensor<T>) -> Tensor<T> {
        self.forward_at(x, 0)
    }
}
