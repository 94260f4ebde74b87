//! Group normalization over groups of channels: [`GroupNorm`].

use super::{affine, standardize};
use crate::element::Float;
use crate::nn::{Layer, Module};
use crate::tensor::Tensor;

/// The settings of [`GroupNorm`]; the defaults are PyTorch's.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupNormOptions {
    /// Added to the variance before the square root (default `1e-5`).
    pub eps: f64,
    /// Whether the layer has a learned per-channel `weight` and `bias`
    /// (default `true`).
    pub affine: bool,
}

impl Default for GroupNormOptions {
    fn default() -> Self {
        GroupNormOptions {
            eps: 1e-5,
            affine: true,
        }
    }
}

impl GroupNormOptions {
    /// Sets `eps`.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Sets `affine`.
    pub fn affine(mut self, affine: bool) -> Self {
        self.affine = affine;
        self
    }
}

/// Group normalization, as `torch.nn.GroupNorm`: the `C` channels of an
/// input `[N, C, *]` are split into `num_groups` groups of `C / num_groups`
/// consecutive channels, and each group of each sample is normalised over
/// its channels and positions,
///
/// ```text
/// y[n, c, ...] = (x[n, c, ...] - mean[n, g]) / sqrt(var[n, g] + eps) * weight[c] + bias[c]
/// ```
///
/// with `g = c / (C / num_groups)` and the biased variance; `weight` (ones
/// initially) and `bias` (zeros initially) have shape `[C]`. Output: the
/// input's shape. One group is LayerNorm over `[C, *]` with per-channel
/// parameters; `C` groups is instance normalization. The same in training
/// and evaluation mode.
///
/// ```
/// use nabla::nn::{GroupNorm, Layer, Module};
/// use nabla::{Generator, Tensor};
/// let gn: GroupNorm = GroupNorm::new(2, 6); // 2 groups of 3 channels
/// let x = Tensor::randn(&[4, 6, 5, 5], &mut Generator::new(1)) + 3.0;
/// let y = gn.forward(&x);
/// assert_eq!(y.shape(), &[4, 6, 5, 5]);
/// // Every (sample, group) block has mean 0.
/// let block_means = y.reshape(&[4, 2, 75]).mean_dims(&[2], false).to_vec();
/// assert!(block_means.iter().all(|m| m.abs() < 1e-5));
/// assert_eq!(gn.num_parameters(), 12);
/// ```
///
/// # Panics
/// [`new`](GroupNorm::new) if `num_groups` is 0 or does not divide
/// `num_channels`; `forward` if the input has fewer than 2 dimensions or
/// its dimension 1 is not `num_channels`.
#[derive(Module)]
pub struct GroupNorm<T: Float = f32> {
    /// `[num_channels]`, ones initially; `None` without `affine`.
    pub weight: Option<Tensor<T>>,
    /// `[num_channels]`, zeros initially; `None` without `affine`.
    pub bias: Option<Tensor<T>>,
    num_groups: usize,
    num_channels: usize,
    eps: f64,
}

impl<T: Float> GroupNorm<T> {
    /// `num_channels` channels in `num_groups` groups, with PyTorch's
    /// defaults (eps 1e-5, affine).
    pub fn new(num_groups: usize, num_channels: usize) -> Self {
        Self::with_options(num_groups, num_channels, GroupNormOptions::default())
    }

    /// `num_channels` channels in `num_groups` groups, with the given options.
    pub fn with_options(num_groups: usize, num_channels: usize, options: GroupNormOptions) -> Self {
        assert!(
            num_groups > 0 && num_channels % num_groups == 0,
            "GroupNorm({num_groups}, {num_channels}): num_channels must be divisible by num_groups"
        );
        let affine = options.affine;
        GroupNorm {
            weight: affine.then(|| Tensor::ones(&[num_channels]).requires_grad()),
            bias: affine.then(|| Tensor::zeros(&[num_channels]).requires_grad()),
            num_groups,
            num_channels,
            eps: options.eps,
        }
    }

    /// The number of groups.
    pub fn num_groups(&self) -> usize {
        self.num_groups
    }

    /// The number of channels `C`.
    pub fn num_channels(&self) -> usize {
        self.num_channels
    }

    /// The constant added to the variance.
    pub fn eps(&self) -> f64 {
        self.eps
    }
}

impl<T: Float> Layer<T> for GroupNorm<T> {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        let (g, c) = (self.num_groups, self.num_channels);
        let label = format!("GroupNorm({g}, {c})");
        let shape = input.shape();
        assert!(
            shape.len() >= 2 && shape[1] == c,
            "{label}: expected an input [N, {c}, *], got shape {shape:?}"
        );
        let per_group = shape[1..].iter().product::<usize>() / g;
        let grouped = input.reshape(&[shape[0], g, per_group]);
        let y = standardize(&grouped, &[2], self.eps).0.reshape(shape);
        affine(
            &label,
            y,
            self.weight.as_ref(),
            self.bias.as_ref(),
            c,
            shape.len(),
        )
    }
}
