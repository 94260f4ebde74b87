//! Normalization layers (section 5.5 of the course): [`BatchNorm1d`],
//! [`BatchNorm2d`], [`LayerNorm`] and [`GroupNorm`], as in PyTorch.
//!
//! Each layer standardises its input over some dimensions,
//!
//! ```text
//! y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias
//! ```
//!
//! with the biased variance (divided by the number of values, not one less)
//! and, when affine, a learned per-feature `weight` (ones initially) and
//! `bias` (zeros initially). They differ in the dimensions the statistics
//! are taken over: BatchNorm over the batch (and spatial positions) per
//! channel, LayerNorm over the trailing `normalized_shape` per sample,
//! GroupNorm over groups of channels (and spatial positions) per sample.
//!
//! The forward passes are compositions of differentiable tensor ops (mean,
//! subtraction, square root, division, broadcasting products), so gradients
//! and second derivatives come from autodiff and are exact.
//!
//! BatchNorm also keeps running estimates of the mean and variance as
//! buffers (`running_mean`, `running_var`, `num_batches_tracked`: the names
//! of PyTorch's `state_dict`), updated in place during training and used
//! instead of the batch statistics in evaluation mode.

use super::{Layer, Module, Summarize};
use crate::element::Float;
use crate::tensor::Tensor;

// ---------------------------------------------------------------- BatchNorm

/// The settings of [`BatchNorm1d`] and [`BatchNorm2d`]; the defaults are
/// PyTorch's.
///
/// ```
/// use nabla::nn::{BatchNorm2d, BatchNormOptions, Module};
/// let options = BatchNormOptions::default().momentum(None).affine(false);
/// let bn: BatchNorm2d = BatchNorm2d::with_options(8, options);
/// assert!(bn.weight.is_none());
/// assert_eq!(bn.momentum(), None);
/// assert_eq!(bn.state_dict().len(), 3); // the three buffers
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNormOptions {
    /// Added to the variance before the square root (default `1e-5`).
    pub eps: f64,
    /// The weight of the newest batch in the running statistics (default
    /// `Some(0.1)`); `None` gives the cumulative moving average (each of the
    /// `k` batches seen so far weighs `1/k`).
    pub momentum: Option<f64>,
    /// Whether the layer has a learned `weight` and `bias` (default `true`).
    pub affine: bool,
    /// Whether the layer keeps running statistics (default `true`). Without
    /// them, evaluation mode normalises with the batch statistics too.
    pub track_running_stats: bool,
}

impl Default for BatchNormOptions {
    fn default() -> Self {
        BatchNormOptions {
            eps: 1e-5,
            momentum: Some(0.1),
            affine: true,
            track_running_stats: true,
        }
    }
}

impl BatchNormOptions {
    /// Sets `eps`.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Sets `momentum` (`None` for the cumulative moving average).
    pub fn momentum(mut self, momentum: Option<f64>) -> Self {
        self.momentum = momentum;
        self
    }

    /// Sets `affine`.
    pub fn affine(mut self, affine: bool) -> Self {
        self.affine = affine;
        self
    }

    /// Sets `track_running_stats`.
    pub fn track_running_stats(mut self, track_running_stats: bool) -> Self {
        self.track_running_stats = track_running_stats;
        self
    }
}

/// Borrowed state of a BatchNorm layer, for the shared forward pass.
struct BatchNormState<'a, T: Float> {
    label: String,
    weight: Option<&'a Tensor<T>>,
    bias: Option<&'a Tensor<T>>,
    running_mean: Option<&'a Tensor<T>>,
    running_var: Option<&'a Tensor<T>>,
    num_batches_tracked: Option<&'a Tensor<T>>,
    num_features: usize,
    eps: f64,
    momentum: Option<f64>,
    training: bool,
}

/// The shape `[1, C, 1, ..., 1]` of rank `ndim`: per-channel statistics and
/// parameters broadcast against `[N, C, ...]`.
fn channel_shape(channels: usize, ndim: usize) -> Vec<usize> {
    let mut shape = vec![1; ndim];
    shape[1] = channels;
    shape
}

/// Standardises `x` over `dims`: `(x - mean) / sqrt(var + eps)` with the
/// biased variance, plus the mean and variance (keepdim shapes; the mean
/// without history, for the running statistics).
///
/// The mean is taken in two passes: a first estimate `m0` (a detached
/// constant), then the mean of the residuals `x - m0`, which are small, so
/// that `f32` inputs with a large mean lose nothing to summation error.
/// `(x - m0) - mean(x - m0)` is `x - mean(x)` exactly, so the recorded graph,
/// gradients and second derivatives are those of the one-pass formula.
fn standardize<T: Float>(x: &Tensor<T>, dims: &[isize], eps: f64) -> (Tensor<T>, Tensor<T>, Tensor<T>) {
    let shift = x.detach().mean_dims(dims, true);
    let shifted = x.sub(&shift);
    let residual_mean = shifted.mean_dims(dims, true);
    let centered = shifted.sub(&residual_mean);
    let var = centered.square().mean_dims(dims, true);
    let normalized = centered.div(&var.add_scalar(T::from_f64(eps)).sqrt());
    let mean = shift.add(&residual_mean.detach());
    (normalized, mean, var)
}

/// Checks that a parameter or buffer has shape `[num_features]` (someone may
/// have replaced the public field) and views it as `[1, C, 1, ...]`.
fn per_channel<T: Float>(label: &str, name: &str, t: &Tensor<T>, channels: usize, ndim: usize) -> Tensor<T> {
    assert!(
        t.shape() == [channels],
        "{label}: {name} has shape {:?}, expected [{channels}]",
        t.shape()
    );
    t.reshape(&channel_shape(channels, ndim))
}

fn batch_norm_forward<T: Float>(s: &BatchNormState<'_, T>, input: &Tensor<T>) -> Tensor<T> {
    let label = &s.label;
    let shape = input.shape();
    let ndim = shape.len();
    let c = s.num_features;
    assert!(
        shape[1] == c,
        "{label}: input of shape {shape:?} has {} channels (dimension 1), expected {c}",
        shape[1]
    );
    let dims: Vec<isize> = (0..ndim as isize).filter(|&d| d != 1).collect();
    // PyTorch normalises with the batch statistics in training, and in
    // evaluation too when the layer keeps no running statistics.
    let running = match (s.running_mean, s.running_var) {
        (Some(m), Some(v)) if !s.training => Some((m, v)),
        _ => None,
    };
    let normalized = match running {
        Some((mean, var)) => {
            let mean = per_channel(label, "running_mean", mean, c, ndim);
            let var = per_channel(label, "running_var", var, c, ndim);
            input.sub(&mean).div(&var.add_scalar(T::from_f64(s.eps)).sqrt())
        }
        None => {
            let count = input.numel() / c.max(1);
            assert!(
                !s.training || count > 1,
                "{label}: expected more than 1 value per channel when training, got input of shape {shape:?}"
            );
            let (normalized, mean, var) = standardize(input, &dims, s.eps);
            if s.training {
                update_running_stats(s, &mean, &var, count);
            }
            normalized
        }
    };
    affine(label, normalized, s.weight, s.bias, c, ndim)
}

/// `x * weight + bias` with per-channel parameters, where present.
fn affine<T: Float>(
    label: &str,
    x: Tensor<T>,
    weight: Option<&Tensor<T>>,
    bias: Option<&Tensor<T>>,
    channels: usize,
    ndim: usize,
) -> Tensor<T> {
    let x = match weight {
        Some(w) => x.mul(&per_channel(label, "weight", w, channels, ndim)),
        None => x,
    };
    match bias {
        Some(b) => x.add(&per_channel(label, "bias", b, channels, ndim)),
        None => x,
    }
}

/// The in-place, unrecorded update of the running statistics from one
/// training batch of `count` values per channel, as PyTorch:
/// `running = (1 - f) running + f batch`, with the unbiased batch variance
/// and `f` the momentum (or `1 / num_batches_tracked` without one).
fn update_running_stats<T: Float>(
    s: &BatchNormState<'_, T>,
    mean: &Tensor<T>,
    var: &Tensor<T>,
    count: usize,
) {
    let (Some(running_mean), Some(running_var)) = (s.running_mean, s.running_var) else {
        return;
    };
    for (name, running) in [("running_mean", running_mean), ("running_var", running_var)] {
        assert!(
            running.shape() == [s.num_features],
            "{}: {name} has shape {:?}, expected [{}]",
            s.label,
            running.shape(),
            s.num_features
        );
    }
    let mut tracked = None;
    if let Some(n) = s.num_batches_tracked {
        tracked = Some(n.update_data(|d| {
            d[0] = d[0] + T::one();
            d[0].as_f64()
        }));
    }
    let factor = match (s.momentum, tracked) {
        (Some(m), _) => m,
        (None, Some(n)) => 1.0 / n,
        (None, None) => 0.0,
    };
    let (mean, var) = (mean.to_vec(), var.to_vec());
    let bessel = count as f64 / (count - 1) as f64;
    let blend = |running: &Tensor<T>, batch: &[T], scale: f64| {
        running.update_data(|r| {
            for (r, &b) in r.iter_mut().zip(batch) {
                *r = T::from_f64(factor * b.as_f64() * scale + (1.0 - factor) * r.as_f64());
            }
        });
    };
    blend(running_mean, &mean, 1.0);
    blend(running_var, &var, bessel);
}

macro_rules! batch_norm_layer {
    (
        $(#[$doc:meta])*
        $name:ident, $expected:literal, $accepts:expr
    ) => {
        $(#[$doc])*
        pub struct $name<T: Float = f32> {
            /// `[num_features]`, ones initially; `None` without `affine`.
            pub weight: Option<Tensor<T>>,
            /// `[num_features]`, zeros initially; `None` without `affine`.
            pub bias: Option<Tensor<T>>,
            /// `[num_features]`, zeros initially; `None` without
            /// `track_running_stats`.
            pub running_mean: Option<Tensor<T>>,
            /// `[num_features]`, ones initially; `None` without
            /// `track_running_stats`.
            pub running_var: Option<Tensor<T>>,
            /// The number of training batches seen, a zero-dimensional
            /// tensor (stored as the layer's float type, see the type's
            /// docs); `None` without `track_running_stats`.
            pub num_batches_tracked: Option<Tensor<T>>,
            num_features: usize,
            eps: f64,
            momentum: Option<f64>,
            training: bool,
        }

        impl<T: Float> $name<T> {
            /// A layer over `num_features` channels with PyTorch's defaults:
            /// eps 1e-5, momentum 0.1, affine, tracking running statistics.
            pub fn new(num_features: usize) -> Self {
                Self::with_options(num_features, BatchNormOptions::default())
            }

            /// A layer over `num_features` channels with the given options.
            pub fn with_options(num_features: usize, options: BatchNormOptions) -> Self {
                let affine = options.affine;
                let track = options.track_running_stats;
                $name {
                    weight: affine.then(|| Tensor::ones(&[num_features]).requires_grad()),
                    bias: affine.then(|| Tensor::zeros(&[num_features]).requires_grad()),
                    running_mean: track.then(|| Tensor::zeros(&[num_features])),
                    running_var: track.then(|| Tensor::ones(&[num_features])),
                    num_batches_tracked: track.then(|| Tensor::scalar(T::zero())),
                    num_features,
                    eps: options.eps,
                    momentum: options.momentum,
                    training: true,
                }
            }

            /// The number of channels `C`.
            pub fn num_features(&self) -> usize {
                self.num_features
            }

            /// The constant added to the variance.
            pub fn eps(&self) -> f64 {
                self.eps
            }

            /// The momentum of the running statistics (`None`: cumulative
            /// moving average).
            pub fn momentum(&self) -> Option<f64> {
                self.momentum
            }

            /// Resets the running statistics to mean 0, variance 1 and no
            /// batches tracked, in place (unrecorded).
            pub fn reset_running_stats(&self) {
                let fill = |t: &Option<Tensor<T>>, v: T| {
                    if let Some(t) = t {
                        t.update_data(|d| d.fill(v));
                    }
                };
                fill(&self.running_mean, T::zero());
                fill(&self.running_var, T::one());
                fill(&self.num_batches_tracked, T::zero());
            }

            fn state(&self) -> BatchNormState<'_, T> {
                BatchNormState {
                    label: format!("{}({})", stringify!($name), self.num_features),
                    weight: self.weight.as_ref(),
                    bias: self.bias.as_ref(),
                    running_mean: self.running_mean.as_ref(),
                    running_var: self.running_var.as_ref(),
                    num_batches_tracked: self.num_batches_tracked.as_ref(),
                    num_features: self.num_features,
                    eps: self.eps,
                    momentum: self.momentum,
                    training: self.training,
                }
            }
        }

        impl<T: Float> Module<T> for $name<T> {
            fn own_parameters(&self) -> Vec<(String, Tensor<T>)> {
                let mut out = Vec::new();
                if let Some(w) = &self.weight {
                    out.push(("weight".to_string(), w.clone()));
                }
                if let Some(b) = &self.bias {
                    out.push(("bias".to_string(), b.clone()));
                }
                out
            }

            fn own_buffers(&self) -> Vec<(String, Tensor<T>)> {
                [
                    ("running_mean", &self.running_mean),
                    ("running_var", &self.running_var),
                    ("num_batches_tracked", &self.num_batches_tracked),
                ]
                .into_iter()
                .filter_map(|(n, t)| t.as_ref().map(|t| (n.to_string(), t.clone())))
                .collect()
            }

            fn set_own_training(&mut self, training: bool) {
                self.training = training;
            }

            fn is_training(&self) -> bool {
                self.training
            }
        }

        impl<T: Float> Summarize<T> for $name<T> {}

        impl<T: Float> Layer<T> for $name<T> {
            fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
                let accepts: fn(usize) -> bool = $accepts;
                assert!(
                    accepts(input.ndim()),
                    "{}({}): expected {} input, got shape {:?}",
                    stringify!($name),
                    self.num_features,
                    $expected,
                    input.shape()
                );
                batch_norm_forward(&self.state(), input)
            }
        }
    };
}

batch_norm_layer! {
    /// Batch normalization over a 2-D input `[N, C]` or a 3-D input
    /// `[N, C, L]`, as `torch.nn.BatchNorm1d`: each channel `c` is
    /// normalised with the mean and variance of its `N` (or `N * L`) values,
    ///
    /// ```text
    /// y[n, c, l] = (x[n, c, l] - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c]
    /// ```
    ///
    /// with the biased variance. Output: the input's shape.
    ///
    /// **Training mode** (the default) uses the batch statistics and, with
    /// `track_running_stats`, updates the running statistics in place
    /// (unrecorded, like PyTorch under `no_grad`):
    /// `running_mean = (1 - momentum) running_mean + momentum * mean` and
    /// the same for `running_var` with the *unbiased* batch variance
    /// (`var * n / (n - 1)`); `num_batches_tracked` grows by one. With
    /// `momentum: None` the factor is `1 / num_batches_tracked` (cumulative
    /// average). **Evaluation mode** ([`Module::eval`]) normalises with
    /// `running_mean` and `running_var` instead, or with the batch
    /// statistics if the layer tracks none.
    ///
    /// Parameters `weight` and `bias` and buffers `running_mean`,
    /// `running_var`, `num_batches_tracked` carry PyTorch's `state_dict`
    /// names. PyTorch stores `num_batches_tracked` as an `int64` scalar;
    /// nabla stores it as a zero-dimensional tensor of the layer's float
    /// type (exact up to 2^24 batches in `f32`). PyTorch's
    /// `load_state_dict` converts nabla's float value to `int64`; reading a
    /// PyTorch checkpoint needs the `I64` value converted to the float type
    /// on the way in.
    ///
    /// ```
    /// use nabla::nn::{BatchNorm1d, Layer, Module};
    /// use nabla::Tensor;
    /// let mut bn: BatchNorm1d = BatchNorm1d::new(2); // BatchNorm1d<f32>
    /// let x = Tensor::from_vec(vec![1.0, 10.0, 3.0, 30.0], &[2, 2]);
    /// let y = bn.forward(&x); // each column becomes about [-1, 1]
    /// assert!((y.at(&[0, 0]) + 1.0).abs() < 1e-4 && (y.at(&[1, 1]) - 1.0).abs() < 1e-4);
    /// // running_mean = 0.9 * 0 + 0.1 * [2, 20]
    /// let rm = bn.running_mean.as_ref().unwrap().to_vec();
    /// assert!((rm[0] - 0.2).abs() < 1e-6 && (rm[1] - 2.0).abs() < 1e-6);
    /// let names: Vec<String> = bn.state_dict().into_iter().map(|(n, _)| n).collect();
    /// assert_eq!(names, ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]);
    /// bn.eval(); // now uses the running statistics
    /// assert_eq!(bn.forward(&Tensor::zeros(&[5, 2, 3])).shape(), &[5, 2, 3]);
    /// ```
    ///
    /// # Panics
    /// In `forward`, if the input is not 2-D or 3-D, if its dimension 1 is
    /// not `num_features`, or, in training, if there is only one value per
    /// channel (the variance is undefined), each naming the layer and shape.
    BatchNorm1d, "a 2-D [N, C] or 3-D [N, C, L]", |ndim| ndim == 2 || ndim == 3
}

batch_norm_layer! {
    /// Batch normalization over a 4-D input `[N, C, H, W]`, as
    /// `torch.nn.BatchNorm2d`: each channel `c` is normalised with the mean
    /// and variance of its `N * H * W` values,
    ///
    /// ```text
    /// y[n, c, h, w] = (x[n, c, h, w] - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c]
    /// ```
    ///
    /// with the biased variance. Output: the input's shape. Training and
    /// evaluation modes, the running statistics and their `state_dict`
    /// names are as in [`BatchNorm1d`].
    ///
    /// ```
    /// use nabla::nn::{BatchNorm2d, BatchNormOptions, Layer, Module};
    /// use nabla::{Generator, Tensor};
    /// let mut bn: BatchNorm2d = BatchNorm2d::new(3);
    /// let x = Tensor::randn(&[4, 3, 5, 5], &mut Generator::new(0)) * 2.0 + 7.0;
    /// let y = bn.forward(&x);
    /// let means = y.mean_dims(&[0, 2, 3], false).to_vec();
    /// assert!(means.iter().all(|m| m.abs() < 1e-5));
    /// assert_eq!(bn.num_batches_tracked.as_ref().unwrap().item(), 1.0);
    /// bn.eval();
    /// let _ = bn.forward(&x); // evaluation does not update the statistics
    /// assert_eq!(bn.num_batches_tracked.as_ref().unwrap().item(), 1.0);
    ///
    /// // Without running statistics: batch statistics in both modes.
    /// let plain: BatchNorm2d = BatchNorm2d::with_options(3, BatchNormOptions::default().track_running_stats(false));
    /// assert!(plain.state_dict().iter().all(|(n, _)| n == "weight" || n == "bias"));
    /// ```
    ///
    /// # Panics
    /// In `forward`, if the input is not 4-D, if its dimension 1 is not
    /// `num_features`, or, in training, if there is only one value per
    /// channel, each naming the layer and shape.
    BatchNorm2d, "a 4-D [N, C, H, W]", |ndim| ndim == 4
}

// ---------------------------------------------------------------- LayerNorm

/// The settings of [`LayerNorm`]; the defaults are PyTorch's.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerNormOptions {
    /// Added to the variance before the square root (default `1e-5`).
    pub eps: f64,
    /// Whether the layer has a learned `weight` (and `bias`, see below)
    /// of shape `normalized_shape` (default `true`).
    pub elementwise_affine: bool,
    /// Whether an elementwise-affine layer also has a `bias` (default
    /// `true`; PyTorch's `bias` argument).
    pub bias: bool,
}

impl Default for LayerNormOptions {
    fn default() -> Self {
        LayerNormOptions {
            eps: 1e-5,
            elementwise_affine: true,
            bias: true,
        }
    }
}

impl LayerNormOptions {
    /// Sets `eps`.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Sets `elementwise_affine`.
    pub fn elementwise_affine(mut self, elementwise_affine: bool) -> Self {
        self.elementwise_affine = elementwise_affine;
        self
    }

    /// Sets `bias`.
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }
}

/// Layer normalization, as `torch.nn.LayerNorm`: each sample is normalised
/// over its trailing dimensions `normalized_shape` (`D` of them),
///
/// ```text
/// y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias
/// ```
///
/// where `E` and `Var` (biased) are taken over the last `D` dimensions
/// separately for every index of the leading ones, and `weight` (ones
/// initially) and `bias` (zeros initially) have shape `normalized_shape`.
/// Input `[*, normalized_shape...]`, output of the same shape. The same in
/// training and evaluation mode: there are no running statistics.
///
/// ```
/// use nabla::nn::{Layer, LayerNorm, LayerNormOptions, Module};
/// use nabla::Tensor;
/// let ln: LayerNorm = LayerNorm::new(&[4]);
/// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 10.0, 10.0, 10.0, 10.0], &[2, 4]);
/// let y = ln.forward(&x);
/// assert!((y.at(&[0, 3]) - 1.3416).abs() < 1e-4); // (4 - 2.5) / sqrt(1.25)
/// assert_eq!(y.at(&[1, 0]), 0.0); // a constant row becomes 0
/// let names: Vec<String> = ln.state_dict().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["weight", "bias"]);
///
/// // Over the last two dimensions, without parameters:
/// let ln2: LayerNorm = LayerNorm::with_options(&[3, 4], LayerNormOptions::default().elementwise_affine(false));
/// assert_eq!(ln2.forward(&Tensor::ones(&[2, 3, 4])).shape(), &[2, 3, 4]);
/// assert_eq!(ln2.num_parameters(), 0);
/// ```
///
/// # Panics
/// [`new`](LayerNorm::new) if `normalized_shape` is empty; `forward` if the
/// input's shape does not end in `normalized_shape`.
pub struct LayerNorm<T: Float = f32> {
    /// Shape `normalized_shape`, ones initially; `None` without
    /// `elementwise_affine`.
    pub weight: Option<Tensor<T>>,
    /// Shape `normalized_shape`, zeros initially; `None` without
    /// `elementwise_affine` or `bias`.
    pub bias: Option<Tensor<T>>,
    normalized_shape: Vec<usize>,
    eps: f64,
}

impl<T: Float> LayerNorm<T> {
    /// A layer normalising over the trailing `normalized_shape`, with
    /// PyTorch's defaults (eps 1e-5, elementwise affine with bias).
    pub fn new(normalized_shape: &[usize]) -> Self {
        Self::with_options(normalized_shape, LayerNormOptions::default())
    }

    /// A layer normalising over the trailing `normalized_shape`, with the
    /// given options.
    pub fn with_options(normalized_shape: &[usize], options: LayerNormOptions) -> Self {
        assert!(
            !normalized_shape.is_empty(),
            "LayerNorm: normalized_shape must have at least one dimension"
        );
        let affine = options.elementwise_affine;
        LayerNorm {
            weight: affine.then(|| Tensor::ones(normalized_shape).requires_grad()),
            bias: (affine && options.bias).then(|| Tensor::zeros(normalized_shape).requires_grad()),
            normalized_shape: normalized_shape.to_vec(),
            eps: options.eps,
        }
    }

    /// The trailing shape normalised over.
    pub fn normalized_shape(&self) -> &[usize] {
        &self.normalized_shape
    }

    /// The constant added to the variance.
    pub fn eps(&self) -> f64 {
        self.eps
    }
}

impl<T: Float> Module<T> for LayerNorm<T> {
    fn own_parameters(&self) -> Vec<(String, Tensor<T>)> {
        let mut out = Vec::new();
        if let Some(w) = &self.weight {
            out.push(("weight".to_string(), w.clone()));
        }
        if let Some(b) = &self.bias {
            out.push(("bias".to_string(), b.clone()));
        }
        out
    }
}

impl<T: Float> Summarize<T> for LayerNorm<T> {}

impl<T: Float> Layer<T> for LayerNorm<T> {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        let ns = &self.normalized_shape;
        let shape = input.shape();
        assert!(
            shape.ends_with(ns),
            "LayerNorm({ns:?}): input of shape {shape:?} does not end in normalized_shape {ns:?}"
        );
        let dims: Vec<isize> = (1..=ns.len() as isize).map(|d| -d).collect();
        let (y, _, _) = standardize(input, &dims, self.eps);
        let check = |name: &str, t: &Tensor<T>| {
            assert!(
                t.shape() == ns.as_slice(),
                "LayerNorm({ns:?}): {name} has shape {:?}, expected {ns:?}",
                t.shape()
            );
        };
        let y = match &self.weight {
            Some(w) => {
                check("weight", w);
                y.mul(w)
            }
            None => y,
        };
        match &self.bias {
            Some(b) => {
                check("bias", b);
                y.add(b)
            }
            None => y,
        }
    }
}

// ---------------------------------------------------------------- GroupNorm

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

impl<T: Float> Module<T> for GroupNorm<T> {
    fn own_parameters(&self) -> Vec<(String, Tensor<T>)> {
        let mut out = Vec::new();
        if let Some(w) = &self.weight {
            out.push(("weight".to_string(), w.clone()));
        }
        if let Some(b) = &self.bias {
            out.push(("bias".to_string(), b.clone()));
        }
        out
    }
}

impl<T: Float> Summarize<T> for GroupNorm<T> {}

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
