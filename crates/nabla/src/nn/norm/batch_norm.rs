//! Batch normalization: [`BatchNorm1d`] and [`BatchNorm2d`] with their
//! running statistics.

use crate::autograd::is_grad_enabled;
use crate::backend;
use crate::backend::ops::BinaryOp;
use crate::element::Float;
use crate::nn::{Conv2d, Layer, Module};
use crate::ops::batch_norm::running_affine;
use crate::tensor::Tensor;

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

/// Borrowed state of a BatchNorm layer, for the shared forward pass (also
/// `SyncBatchNorm`'s, which normalises as BatchNorm does in evaluation and
/// in a world of one).
pub(crate) struct BatchNormState<'a, T: Float> {
    pub(crate) label: String,
    pub(crate) weight: Option<&'a Tensor<T>>,
    pub(crate) bias: Option<&'a Tensor<T>>,
    pub(crate) running_mean: Option<&'a Tensor<T>>,
    pub(crate) running_var: Option<&'a Tensor<T>>,
    pub(crate) num_batches_tracked: Option<&'a Tensor<T>>,
    pub(crate) num_features: usize,
    pub(crate) eps: f64,
    pub(crate) momentum: Option<f64>,
    pub(crate) training: bool,
}

/// The layer's forward pass, then `clamp = (min, max)` if given (fused
/// into the normalisation in evaluation mode).
pub(crate) fn batch_norm_forward<T: Float>(
    s: &BatchNormState<'_, T>,
    input: &Tensor<T>,
    clamp: Option<(T, T)>,
) -> Tensor<T> {
    let label = &s.label;
    let shape = input.shape();
    let c = s.num_features;
    assert!(
        shape[1] == c,
        "{label}: input of shape {shape:?} has {} channels (dimension 1), expected {c}",
        shape[1]
    );
    // PyTorch normalises with the batch statistics in training, and in
    // evaluation too when the layer keeps no running statistics.
    let running = match (s.running_mean, s.running_var) {
        (Some(m), Some(v)) if !s.training => Some((m, v)),
        _ => None,
    };
    match running {
        Some((mean, var)) => {
            check_running_shapes(s, mean, var);
            match clamp {
                Some(bounds) => input
                    .batch_norm_with_running_statistics_clamped(mean, var, s.weight, s.bias, s.eps, bounds),
                None => input.batch_norm_with_running_statistics(mean, var, s.weight, s.bias, s.eps),
            }
        }
        None => {
            let count = input.numel() / c.max(1);
            assert!(
                !s.training || count > 1,
                "{label}: expected more than 1 value per channel when training, got input of shape {shape:?}"
            );
            assert!(
                count > 0,
                "{label}: input of shape {shape:?} has no values per channel"
            );
            check_channel_shapes(s, &[("weight", s.weight), ("bias", s.bias)]);
            let (out, stats) = input.batch_norm_with_batch_statistics(s.weight, s.bias, s.eps, clamp);
            if s.training {
                update_running_stats(s, &stats.mean, &stats.var, count);
            }
            out
        }
    }
}

/// Panics, naming the layer, unless the running statistics and the affine
/// parameters are `[C]`.
fn check_running_shapes<T: Float>(s: &BatchNormState<'_, T>, mean: &Tensor<T>, var: &Tensor<T>) {
    check_channel_shapes(
        s,
        &[
            ("running_mean", Some(mean)),
            ("running_var", Some(var)),
            ("weight", s.weight),
            ("bias", s.bias),
        ],
    );
}

/// Panics, naming the layer and the tensor, unless every given tensor is
/// `[C]`.
pub(crate) fn check_channel_shapes<T: Float>(
    s: &BatchNormState<'_, T>,
    tensors: &[(&str, Option<&Tensor<T>>)],
) {
    let c = s.num_features;
    for &(name, t) in tensors {
        if let Some(t) = t {
            assert!(
                t.shape() == [c],
                "{}: {name} has shape {:?}, expected [{c}]",
                s.label,
                t.shape()
            );
        }
    }
}

/// The in-place, unrecorded update of the running statistics from one
/// training batch of `count` values per channel, as PyTorch:
/// `running = (1 - f) running + f batch`, with the unbiased batch variance
/// and `f` the momentum (or `1 / num_batches_tracked` without one).
pub(crate) fn update_running_stats<T: Float>(
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
    if let Some(n) = s.num_batches_tracked {
        backend::binary_assign(BinaryOp::Add, n, &Tensor::scalar(T::one()));
    }
    let factor = match (s.momentum, s.num_batches_tracked) {
        (Some(m), _) => m,
        (None, Some(n)) => 1.0 / n.item().as_f64(),
        (None, None) => 0.0,
    };
    let bessel = count as f64 / (count - 1) as f64;
    let shape = [s.num_features];
    for (running, batch, scale) in [(running_mean, mean, 1.0), (running_var, var, bessel)] {
        let blend = BinaryOp::RunningAverage {
            weight: factor,
            scale,
        };
        backend::binary_assign(blend, running, &batch.detach().reshape(&shape));
    }
}

macro_rules! batch_norm_layer {
    (
        $(#[$doc:meta])*
        $name:ident, $expected:literal, $accepts:expr
    ) => {
        $(#[$doc])*
        #[derive(Module)]
        pub struct $name<T: Float = f32> {
            /// `[num_features]`, ones initially; `None` without `affine`.
            pub weight: Option<Tensor<T>>,
            /// `[num_features]`, zeros initially; `None` without `affine`.
            pub bias: Option<Tensor<T>>,
            /// `[num_features]`, zeros initially; `None` without
            /// `track_running_stats`.
            #[module(buffer)]
            pub running_mean: Option<Tensor<T>>,
            /// `[num_features]`, ones initially; `None` without
            /// `track_running_stats`.
            #[module(buffer)]
            pub running_var: Option<Tensor<T>>,
            /// The number of training batches seen, a zero-dimensional
            /// tensor (stored as the layer's float type, see the type's
            /// docs); `None` without `track_running_stats`.
            #[module(buffer)]
            pub num_batches_tracked: Option<Tensor<T>>,
            num_features: usize,
            eps: f64,
            momentum: Option<f64>,
            #[module(training)]
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
                        backend::fill(t, v);
                    }
                };
                fill(&self.running_mean, T::zero());
                fill(&self.running_var, T::one());
                fill(&self.num_batches_tracked, T::zero());
            }

            fn check_input(&self, input: &Tensor<T>) {
                let accepts: fn(usize) -> bool = $accepts;
                assert!(
                    accepts(input.ndim()),
                    "{}({}): expected {} input, got shape {:?}",
                    stringify!($name),
                    self.num_features,
                    $expected,
                    input.shape()
                );
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

        impl<T: Float> Layer<T> for $name<T> {
            fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
                self.check_input(input);
                batch_norm_forward(&self.state(), input, None)
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

impl<T: Float> BatchNorm2d<T> {
    /// `self.forward(&conv.forward(input))`, then `clamp = (min, max)` if
    /// given (ReLU6 is `(0, 6)`). In evaluation mode with running
    /// statistics and nothing to record, the normalisation and the clamp
    /// run inside the convolution, on each output channel while it is in
    /// cache (BatchNorm folded into the convolution's epilogue), so the
    /// output is written once; the same values either way.
    pub(crate) fn forward_after_conv(
        &self,
        conv: &Conv2d<T>,
        input: &Tensor<T>,
        clamp: Option<(T, T)>,
    ) -> Tensor<T> {
        let s = self.state();
        let recorded = is_grad_enabled()
            && [
                Some(input),
                Some(&conv.weight),
                conv.bias.as_ref(),
                s.weight,
                s.bias,
            ]
            .into_iter()
            .flatten()
            .any(Tensor::is_requires_grad);
        match (s.running_mean, s.running_var) {
            (Some(mean), Some(var)) if !s.training && !recorded => {
                assert!(
                    conv.weight.shape()[0] == s.num_features,
                    "{}: after a convolution with {} output channels",
                    s.label,
                    conv.weight.shape()[0]
                );
                check_running_shapes(&s, mean, var);
                let [center, scale, shift] = running_affine(mean, var, s.weight, s.bias, s.eps);
                let clamp = clamp.map(|(lo, hi)| (lo.as_f64(), hi.as_f64()));
                conv.forward_channel_affine(input, [&center, &scale, &shift], clamp)
            }
            _ => {
                let x = conv.forward(input);
                self.check_input(&x);
                batch_norm_forward(&s, &x, clamp)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::counting::calls;
    use crate::nn::Padding;
    use crate::ops::Conv2dOptions;
    use crate::tensor::Generator;
    use crate::{no_grad, Tensor};

    /// Evaluation-mode BatchNorm (and ReLU6) folded into the convolution
    /// before it gives the values of the three layers one after the other,
    /// bit for bit, for every kind of convolution the kernels tell apart
    /// (depthwise with TensorFlow's uneven padding, pointwise, patch
    /// matrices, per-tap products, a padded copy), at batch 1 (channels
    /// spread over threads) and 3, with and without the clamp and a bias;
    /// and it is one backend call.
    #[test]
    fn batch_norm_after_a_convolution_folds_into_it() {
        let mut g = Generator::new(7);
        let same = Padding::Sides {
            top: 0,
            bottom: 1,
            left: 0,
            right: 1,
        };
        let convs: Vec<Conv2d<f32>> = vec![
            Conv2d::with_options(
                6,
                6,
                3,
                Conv2dOptions::default().stride(2).groups(6),
                false,
                &mut g,
            )
            .padding(same),
            Conv2d::with_options(8, 6, 1, Conv2dOptions::default(), false, &mut g),
            Conv2d::with_options(3, 5, 3, Conv2dOptions::default().padding(1), true, &mut g),
            Conv2d::with_options(32, 4, 3, Conv2dOptions::default().padding(1), false, &mut g),
            Conv2d::with_options(3, 4, 3, Conv2dOptions::default().stride(2), false, &mut g).padding(same),
        ];
        let mut clamped = [false; 2];
        for conv in &convs {
            let (c_out, c_in) = (
                conv.weight.shape()[0],
                conv.weight.shape()[1] * conv.options.groups,
            );
            let mut bn = BatchNorm2d::<f32>::with_options(c_out, BatchNormOptions::default().eps(1e-3));
            bn.weight = Some(Tensor::randn(&[c_out], &mut g).mul_scalar(2.0));
            bn.bias = Some(Tensor::randn(&[c_out], &mut g).add_scalar(1.0));
            bn.running_mean = Some(Tensor::randn(&[c_out], &mut g));
            bn.running_var = Some(Tensor::rand(&[c_out], &mut g).add_scalar(0.5));
            bn.eval();
            for batch in [1, 3] {
                let x = Tensor::<f32>::randn(&[batch, c_in, 9, 9], &mut g).mul_scalar(3.0);
                for clamp in [None, Some((0.0, 6.0))] {
                    let composed = no_grad(|| {
                        let y = bn.forward(&conv.forward(&x));
                        clamp.map_or(y.clone(), |(lo, hi)| y.clamp(Some(lo), Some(hi)))
                    });
                    let (fused, counted) = calls(|| no_grad(|| bn.forward_after_conv(conv, &x, clamp)));
                    let label = format!("{:?} batch {batch} clamp {clamp:?}", conv.weight.shape());
                    assert_eq!(fused.shape(), composed.shape(), "{label}");
                    assert_eq!(fused.to_vec(), composed.to_vec(), "{label}");
                    assert_eq!(
                        counted.get("conv2d_channel_affine"),
                        Some(&1),
                        "{label}: {counted:?}"
                    );
                    assert!(
                        !counted.contains_key("conv2d") && !counted.contains_key("channel_affine"),
                        "{label}: {counted:?}"
                    );
                    if clamp.is_some() {
                        let values = fused.to_vec();
                        clamped[0] |= values.contains(&0.0);
                        clamped[1] |= values.contains(&6.0);
                    }
                }
            }
        }
        assert_eq!(clamped, [true, true], "the clamp is exercised at both ends");
    }

    /// When the graph records (parameters that require gradients), or in
    /// training, the layers run one after the other: the same values, and
    /// gradients flow.
    #[test]
    fn batch_norm_after_a_convolution_records_when_it_must() {
        let mut g = Generator::new(8);
        let conv = Conv2d::<f64>::with_options(4, 4, 3, Conv2dOptions::default().padding(1), false, &mut g);
        assert!(conv.weight.is_requires_grad());
        let mut bn = BatchNorm2d::<f64>::new(4);
        bn.running_var = Some(Tensor::rand(&[4], &mut g).add_scalar(0.5));
        bn.eval();
        let x = Tensor::<f64>::randn(&[2, 4, 5, 5], &mut g);
        let clamp = Some((0.0, 6.0));
        let recorded = bn.forward_after_conv(&conv, &x, clamp);
        assert!(recorded.is_requires_grad());
        let unrecorded = no_grad(|| bn.forward_after_conv(&conv, &x, clamp));
        assert_eq!(recorded.to_vec(), unrecorded.to_vec());
        recorded.sum().backward();
        assert!(conv.weight.grad().is_some());
        bn.train(true);
        let (training, counted) = calls(|| no_grad(|| bn.forward_after_conv(&conv, &x, clamp)));
        assert!(counted.contains_key("channel_moments"), "{counted:?}");
        let means = training.mean_dims(&[0, 2, 3], false).to_vec();
        assert!(
            means.iter().all(|&m| m >= 0.0),
            "ReLU6 after the batch statistics: {means:?}"
        );
    }
}
