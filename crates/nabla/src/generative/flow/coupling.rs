//! [`AffineCoupling`]: RealNVP's affine coupling layer for vectors.

use crate::element::Float;
use crate::nn::{Layer, Linear, Module, Relu, Sequential, Tanh};
use crate::tensor::{Generator, Tensor};

/// One affine coupling layer of RealNVP (Dinh et al., 2017) on vectors
/// `[B, D]`: the features the mask keeps pass through unchanged and decide
/// a scale and a translation of the others,
///
/// ```text
/// y = m * x + (1 - m) * (x * exp(s(m * x)) + t(m * x))
/// ```
///
/// with log |det dy/dx| = sum of `(1 - m) * s`, and the exact inverse
/// `x = m * y + (1 - m) * (y - t(m * y)) * exp(-s(m * y))`.
///
/// `s` and `t` are `Sequential` networks named as PyTorch's `nn.Sequential`
/// would name them: `hidden_layers` blocks of `Linear` and `ReLU` (indices
/// `0, 1, 2, ...`), then a `Linear` back to `D` features, and for `s` a
/// `Tanh`, which bounds the scale's logarithm to (-1, 1). The mask of
/// coupling `k` keeps the features `j` with `j + k` odd: coupling 0 keeps
/// feature 1 of 2 and changes feature 0, coupling 1 the reverse (the Keras
/// example's `[0, 1]`, `[1, 0]`).
///
/// ```
/// use nabla::generative::flow::AffineCoupling;
/// use nabla::{Generator, Tensor};
/// let coupling = AffineCoupling::<f64>::new(2, 8, 2, 0, &mut Generator::new(0));
/// let x = Tensor::from_vec(vec![0.5, -1.0, 2.0, 0.25], &[2, 2]);
/// let (y, log_det) = coupling.forward(&x);
/// assert_eq!((y.shape(), log_det.shape()), (&[2, 2][..], &[2][..]));
/// assert_eq!((y.at(&[0, 1]), y.at(&[1, 1])), (-1.0, 0.25)); // the kept feature
/// let back = coupling.inverse(&y).to_vec();
/// assert!(back.iter().zip(x.to_vec()).all(|(a, b)| (a - b).abs() < 1e-12));
/// ```
#[derive(Module)]
pub struct AffineCoupling<T: Float = f32> {
    /// The log-scale network, ending in `Tanh`.
    pub s: Sequential<T>,
    /// The translation network.
    pub t: Sequential<T>,
    /// Which features pass through (`true`) and which are transformed.
    #[module(skip)]
    keep: Vec<bool>,
}

/// `hidden_layers` blocks of Linear and ReLU from `features` wide to
/// `hidden` wide, then a Linear back to `features`.
fn mlp<T: Float>(
    features: usize,
    hidden: usize,
    hidden_layers: usize,
    generator: &mut Generator,
) -> Sequential<T> {
    let mut net = Sequential::new();
    let mut width = features;
    for _ in 0..hidden_layers {
        net = net.add(Linear::new(width, hidden, true, generator)).add(Relu);
        width = hidden;
    }
    net.add(Linear::new(width, features, true, generator))
}

impl<T: Float> AffineCoupling<T> {
    /// Coupling number `index` of a flow on `features` features, with `s`
    /// and `t` of `hidden_layers` hidden layers of `hidden` units,
    /// initialised as PyTorch initialises `nn.Linear` (`s`, then `t`).
    ///
    /// # Panics
    /// If `features` is below 2 (one feature cannot be split) or
    /// `hidden_layers` is 0 while `hidden` is not.
    pub fn new(
        features: usize,
        hidden: usize,
        hidden_layers: usize,
        index: usize,
        generator: &mut Generator,
    ) -> Self {
        assert!(
            features >= 2,
            "AffineCoupling: needs at least 2 features to split, got {features}"
        );
        let s = mlp(features, hidden, hidden_layers, generator).add(Tanh);
        let t = mlp(features, hidden, hidden_layers, generator);
        AffineCoupling {
            s,
            t,
            keep: (0..features).map(|j| (j + index) % 2 == 1).collect(),
        }
    }

    /// The mask as values: 1 where a feature passes through, and its
    /// complement, each `[D]`.
    fn masks(&self) -> (Tensor<T>, Tensor<T>) {
        let ones = |keep: bool| {
            let values = self
                .keep
                .iter()
                .map(|&k| if k == keep { T::one() } else { T::zero() });
            Tensor::from_vec(values.collect(), &[self.keep.len()])
        };
        (ones(true), ones(false))
    }

    /// The masked log-scale and translation from the kept features.
    fn scale_and_shift(&self, kept: &Tensor<T>, change: &Tensor<T>) -> (Tensor<T>, Tensor<T>) {
        (&self.s.forward(kept) * change, &self.t.forward(kept) * change)
    }

    /// `y` `[B, D]` and log |det dy/dx| `[B]` of `x` `[B, D]`.
    pub fn forward(&self, x: &Tensor<T>) -> (Tensor<T>, Tensor<T>) {
        let (keep, change) = self.masks();
        let kept = x * &keep;
        let (s, t) = self.scale_and_shift(&kept, &change);
        let y = &kept + &(&change * &(&(x * &s.exp()) + &t));
        (y, s.sum_dim(1, false))
    }

    /// The `x` `[B, D]` whose [`forward`](Self::forward) is `y`.
    pub fn inverse(&self, y: &Tensor<T>) -> Tensor<T> {
        let (keep, change) = self.masks();
        let kept = y * &keep;
        let (s, t) = self.scale_and_shift(&kept, &change);
        &kept + &(&change * &(&(y - &t) * &s.neg().exp()))
    }
}
