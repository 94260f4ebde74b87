//! [`SyncBatchNorm`]: batch normalisation with the statistics of the
//! global batch (every process's examples), as PyTorch's
//! `torch.nn.SyncBatchNorm`, and [`convert_sync_batchnorm`], which puts it
//! in place of a model's BatchNorm layers.
//!
//! The layer's documentation says when to use it and what it costs.

use std::sync::Arc;

use super::group::ProcessGroup;
use crate::autograd::record;
use crate::backend;
use crate::element::Float;
use crate::nn::{
    batch_norm_forward, check_channel_shapes, update_running_stats, BatchNorm1d, BatchNorm2d,
    BatchNormOptions, BatchNormState, Layer, Module, Sequential,
};
use crate::tensor::Tensor;

/// Batch normalisation over an input `[N, C, ...]` (any number of trailing
/// dimensions, as `torch.nn.SyncBatchNorm`) whose training-mode statistics
/// are those of the global batch: the `N` examples of every process of
/// `group`. Output: the input's shape,
///
/// ```text
/// y[n, c, ...] = (x[n, c, ...] - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c]
/// ```
///
/// with `mean` and the biased `var` over the `M` values of channel `c` on
/// all processes (one all-reduce of the per-channel sums, sums of squares
/// and counts). The running statistics are updated as BatchNorm's, with the
/// unbiased global variance (`var * M / (M - 1)`), so every process keeps
/// the same ones. Backward: one all-reduce of `Σ dy` and `Σ dy (x - mean)`
/// per channel gives the input's gradient of the sum of the processes'
/// losses; `weight` and `bias` get this process's own share, which
/// [`DistributedDataParallel`](super::DistributedDataParallel) averages.
/// With each process's loss a mean over its own examples, the averaged
/// gradients are those of the mean over the global batch in one process.
///
/// Evaluation mode (or a world of one) is exactly
/// [`BatchNorm2d`]/[`BatchNorm1d`]: the running statistics (or, without
/// them, this process's batch statistics), nothing sent. The parameters
/// and buffers have BatchNorm's names (`weight`, `bias`, `running_mean`,
/// `running_var`, `num_batches_tracked`), so a checkpoint moves between the
/// two. PyTorch's runs on GPUs only; this one runs on CPUs over MPI.
///
/// **When to use it.** Under data parallelism each process sees only its
/// shard of the batch, `B` of the `N x B` examples. Plain BatchNorm
/// (PyTorch's default, and nabla's) normalises each shard with its own
/// statistics, so the model trained at `N` processes is not the model
/// trained on the global batch in one process, and with a small `B` the
/// statistics are noisy (detection and segmentation models, which fit a few
/// images per device, are the usual case). SyncBatchNorm normalises with the
/// mean and variance over all `N x B` examples, so `K` steps at `N`
/// processes give the parameters and running statistics of `K` steps with
/// batch `N x B` in one process.
///
/// **What it costs.** Two small blocking all-reduces per layer per
/// training step: `2C + 1` numbers in the forward pass (the sums of the
/// values and of their squares per channel, and the count) and `2C` in the
/// backward pass (the sums of the upstream gradient and of its product with
/// the centred input per channel), each a latency-bound round trip that
/// cannot overlap the computation around it. Evaluation mode normalises
/// with the running statistics and sends nothing; a world of one sends
/// nothing either (it is BatchNorm).
///
/// Every process must call `forward` (in training mode) and run the
/// backward pass through it the same number of times, in the same order
/// as its other collectives: the model, batch count and graph are the same
/// on every process in data-parallel training. A process whose shard of a
/// batch is empty takes part with zero values.
///
/// ```no_run
/// use nabla::distributed::{ProcessGroup, SyncBatchNorm};
/// use nabla::nn::{Layer, Module};
/// use nabla::{Generator, Tensor};
///
/// let group = ProcessGroup::init()?;
/// let mut bn: SyncBatchNorm = SyncBatchNorm::new(3, group.clone());
/// // Each process's own 4 examples; the statistics are over all of them.
/// let x = Tensor::randn(&[4, 3, 8, 8], &mut Generator::new(group.rank() as u64));
/// let y = bn.forward(&x);
/// assert_eq!(y.shape(), &[4, 3, 8, 8]);
/// y.sum().backward(); // one more all-reduce
/// bn.eval(); // the running statistics, identical on every process
/// let _ = bn.forward(&x);
/// # Ok::<(), nabla::Error>(())
/// ```
///
/// # Panics
/// In `forward`, if the input has fewer than 2 dimensions, if its
/// dimension 1 is not `num_features`, or, in training, if the global batch
/// has only one value per channel; in the backward pass under
/// `create_graph` (its gradient is not differentiable again, as in
/// PyTorch). A panic on one process stops the whole job.
#[derive(Module)]
pub struct SyncBatchNorm<T: Float = f32> {
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
    /// The number of training batches seen, a zero-dimensional tensor of
    /// the layer's float type (as in [`BatchNorm2d`]); `None` without
    /// `track_running_stats`.
    #[module(buffer)]
    pub num_batches_tracked: Option<Tensor<T>>,
    num_features: usize,
    eps: f64,
    momentum: Option<f64>,
    #[module(training)]
    training: bool,
    #[module(skip)]
    group: Arc<ProcessGroup>,
}

/// A SyncBatchNorm sharing the tensors, options and mode of a BatchNorm1d
/// or BatchNorm2d (the two are made by one macro, with the same fields).
macro_rules! from_batch_norm {
    ($bn:expr, $group:expr) => {
        SyncBatchNorm {
            weight: $bn.weight.clone(),
            bias: $bn.bias.clone(),
            running_mean: $bn.running_mean.clone(),
            running_var: $bn.running_var.clone(),
            num_batches_tracked: $bn.num_batches_tracked.clone(),
            num_features: $bn.num_features(),
            eps: $bn.eps(),
            momentum: $bn.momentum(),
            training: $bn.is_training(),
            group: $group,
        }
    };
}

impl<T: Float> SyncBatchNorm<T> {
    /// A layer over `num_features` channels, synchronised over `group`,
    /// with PyTorch's defaults: eps 1e-5, momentum 0.1, affine, tracking
    /// running statistics.
    pub fn new(num_features: usize, group: Arc<ProcessGroup>) -> Self {
        Self::with_options(num_features, BatchNormOptions::default(), group)
    }

    /// A layer over `num_features` channels with the given options.
    pub fn with_options(num_features: usize, options: BatchNormOptions, group: Arc<ProcessGroup>) -> Self {
        let affine = options.affine;
        let track = options.track_running_stats;
        SyncBatchNorm {
            weight: affine.then(|| Tensor::ones(&[num_features]).requires_grad()),
            bias: affine.then(|| Tensor::zeros(&[num_features]).requires_grad()),
            running_mean: track.then(|| Tensor::zeros(&[num_features])),
            running_var: track.then(|| Tensor::ones(&[num_features])),
            num_batches_tracked: track.then(|| Tensor::scalar(T::zero())),
            num_features,
            eps: options.eps,
            momentum: options.momentum,
            training: true,
            group,
        }
    }

    /// The layer `bn` would be, synchronised: the same parameter and buffer
    /// tensors (shared, not copied, so an optimizer built on `bn`'s
    /// parameters trains this layer), options and mode.
    pub fn from_batch_norm2d(bn: &BatchNorm2d<T>, group: Arc<ProcessGroup>) -> Self {
        from_batch_norm!(bn, group)
    }

    /// As [`from_batch_norm2d`](Self::from_batch_norm2d), for a [`BatchNorm1d`].
    pub fn from_batch_norm1d(bn: &BatchNorm1d<T>, group: Arc<ProcessGroup>) -> Self {
        from_batch_norm!(bn, group)
    }

    /// The number of channels `C`.
    pub fn num_features(&self) -> usize {
        self.num_features
    }

    /// The constant added to the variance.
    pub fn eps(&self) -> f64 {
        self.eps
    }

    /// The momentum of the running statistics (`None`: cumulative moving
    /// average).
    pub fn momentum(&self) -> Option<f64> {
        self.momentum
    }

    /// The processes whose batches are normalised together.
    pub fn group(&self) -> &Arc<ProcessGroup> {
        &self.group
    }

    fn state(&self) -> BatchNormState<'_, T> {
        BatchNormState {
            label: format!("SyncBatchNorm({})", self.num_features),
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

    /// Training mode over several processes: normalises with the global
    /// batch's statistics, updates the running ones, and records the op
    /// whose backward sums the gradient's statistics over the processes.
    fn forward_synchronised(&self, input: &Tensor<T>) -> Tensor<T> {
        let state = self.state();
        let c = self.num_features;
        check_channel_shapes(&state, &[("weight", state.weight), ("bias", state.bias)]);
        let local_count = input.numel() / c.max(1);
        // [Σ x, Σ x², count] per channel, summed over the processes in f64:
        // each process's mean and variance come from BatchNorm's centred
        // loops, so the sum of squares loses nothing to the local mean.
        let mut sums = vec![0f64; 2 * c + 1];
        if local_count > 0 {
            let [center, remainder, var] = backend::channel_moments(input);
            let n = local_count as f64;
            for (ch, ((m, r), v)) in center
                .to_vec()
                .into_iter()
                .zip(remainder.to_vec())
                .zip(var.to_vec())
                .enumerate()
            {
                let mean = m.as_f64() + r.as_f64();
                sums[ch] = n * mean;
                sums[c + ch] = n * (v.as_f64() + mean * mean);
            }
            sums[2 * c] = n;
        }
        self.group.all_reduce_sum(&mut sums);
        let total = sums[2 * c];
        assert!(
            total > 1.0,
            "{}: expected more than 1 value per channel when training, got {total} over {} processes \
             (this one's input: shape {:?})",
            state.label,
            self.group.world_size(),
            input.shape()
        );
        let mean: Vec<f64> = sums[..c].iter().map(|s| s / total).collect();
        let var: Vec<f64> = (0..c)
            .map(|ch| (sums[c + ch] / total - mean[ch] * mean[ch]).max(0.0))
            .collect();
        let channel = |values: Vec<T>| Tensor::from_vec(values, &[c]);
        // The mean as the nearest T and the remainder, as BatchNorm's loops
        // take it (see `backend::channel_moments`).
        let center = channel(mean.iter().map(|&m| T::from_f64(m)).collect());
        let remainder = channel(
            mean.iter()
                .map(|&m| T::from_f64(m - T::from_f64(m).as_f64()))
                .collect(),
        );
        let invstd = channel(
            var.iter()
                .map(|&v| T::from_f64(1.0 / (v + self.eps).sqrt()))
                .collect(),
        );
        let batch_mean = channel(mean.iter().map(|&m| T::from_f64(m)).collect());
        let batch_var = channel(var.iter().map(|&v| T::from_f64(v)).collect());
        update_running_stats(&state, &batch_mean, &batch_var, total as usize);
        let scale = match state.weight {
            Some(w) => invstd.mul(&w.detach()),
            None => invstd.clone(),
        };
        // (x - mean) a + b = (x - center) a + (b - remainder a).
        let shift = match state.bias {
            Some(b) => b.detach().sub(&remainder.mul(&scale)),
            None => remainder.mul(&scale).neg(),
        };
        let out = if local_count > 0 {
            backend::channel_affine(input, [&center, &scale, &shift], None)
        } else {
            Tensor::zeros(input.shape())
        };
        let inputs: Vec<&Tensor<T>> = [Some(input), state.weight, state.bias]
            .into_iter()
            .flatten()
            .collect();
        let backward = SyncBackward {
            x: input.clone(),
            weight: state.weight.cloned(),
            has_bias: state.bias.is_some(),
            center,
            remainder,
            invstd,
            total,
            group: self.group.clone(),
        };
        record("SyncBatchNorm", out, &inputs, move |ctx| {
            assert!(
                !ctx.create_graph,
                "SyncBatchNorm: the backward pass cannot be recorded (create_graph): its gradient \
                 is not differentiable again"
            );
            let (dx, dw, db) = backward.gradients(ctx.grad(), ctx.needs_input_grad(0));
            let mut grads = vec![dx];
            if backward.weight.is_some() {
                grads.push(ctx.needs_input_grad(1).then_some(dw));
            }
            if backward.has_bias {
                grads.push(ctx.needs_input_grad(grads.len()).then_some(db));
            }
            grads
        })
    }
}

/// What the backward pass of one synchronised forward keeps: the input,
/// the weight, and the global statistics (`[C]` each).
struct SyncBackward<T: Float> {
    x: Tensor<T>,
    weight: Option<Tensor<T>>,
    has_bias: bool,
    center: Tensor<T>,
    remainder: Tensor<T>,
    invstd: Tensor<T>,
    /// `M`, the values per channel over every process.
    total: f64,
    group: Arc<ProcessGroup>,
}

impl<T: Float> SyncBackward<T> {
    /// The gradients of the input (if `input_needed`), weight and bias
    /// from the upstream gradient `g`. The weight's and bias's are this
    /// process's own sums, `Σ g x̂` and `Σ g`; the input's needs those sums
    /// over every process (one all-reduce): with `r = 1 / sqrt(var + eps)`,
    /// `dx = w r (g - Σ g / M - x̂ Σ g x̂ / M)`, evaluated as in BatchNorm's
    /// fused loops as `a g + b (x - mean) + c` per channel.
    fn gradients(&self, g: &Tensor<T>, input_needed: bool) -> (Option<Tensor<T>>, Tensor<T>, Tensor<T>) {
        let c = self.center.numel();
        let empty = self.x.numel() == 0;
        let (sum_g, sum_g_off_center) = if empty {
            (Tensor::zeros(&[c]), Tensor::zeros(&[c]))
        } else {
            backend::channel_grad_sums(&self.x, g, &self.center, None)
        };
        // Σ g (x - mean) = Σ g (x - center) - remainder Σ g.
        let sum_g_centered = sum_g_off_center.sub(&self.remainder.mul(&sum_g));
        let dw = self.invstd.mul(&sum_g_centered);
        if !input_needed {
            return (None, dw, sum_g);
        }
        let mut sums: Vec<f64> = sum_g
            .to_vec()
            .into_iter()
            .chain(sum_g_centered.to_vec())
            .map(T::as_f64)
            .collect();
        self.group.all_reduce_sum(&mut sums);
        let global = |range: std::ops::Range<usize>| {
            Tensor::from_vec(sums[range].iter().map(|&s| T::from_f64(s)).collect(), &[c])
        };
        let (global_sum_g, global_sum_g_centered) = (global(0..c), global(c..2 * c));
        let count = T::from_f64(self.total);
        let invstd = &self.invstd;
        let a = match &self.weight {
            Some(w) => invstd.mul(&w.detach()),
            None => invstd.clone(),
        };
        let b = a
            .mul(invstd)
            .mul(invstd)
            .mul(&global_sum_g_centered)
            .div_scalar(count)
            .neg();
        // b (x - mean) + c = b (x - center) + (c - b remainder).
        let shift = a
            .mul(&global_sum_g)
            .div_scalar(count)
            .add(&b.mul(&self.remainder))
            .neg();
        let dx = if empty {
            Tensor::zeros(self.x.shape())
        } else {
            backend::channel_input_grad(&self.x, g, [&a, &b, &shift, &self.center], None)
        };
        (Some(dx), dw, sum_g)
    }
}

impl<T: Float> Layer<T> for SyncBatchNorm<T> {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        assert!(
            input.ndim() >= 2,
            "SyncBatchNorm({}): expected an input [N, C, ...] of at least 2 dimensions, got shape {:?}",
            self.num_features,
            input.shape()
        );
        if self.training && self.group.world_size() > 1 {
            assert!(
                input.shape()[1] == self.num_features,
                "SyncBatchNorm({}): input of shape {:?} has {} channels (dimension 1), expected {}",
                self.num_features,
                input.shape(),
                input.shape()[1],
                self.num_features
            );
            self.forward_synchronised(input)
        } else {
            batch_norm_forward(&self.state(), input, None)
        }
    }
}

/// Puts a [`SyncBatchNorm`] over `group` in place of every [`BatchNorm1d`]
/// and [`BatchNorm2d`] of `model`, in nested [`Sequential`]s too, as
/// PyTorch's `SyncBatchNorm.convert_sync_batchnorm(module)`: each carries
/// the same parameter and buffer tensors (shared, so an optimizer already
/// built on the model's parameters still trains them), options and mode,
/// under the same name, so the `state_dict` is unchanged. Returns the
/// number of layers replaced. Call it before
/// [`ProcessGroup::broadcast_module`] and before building the optimizer.
///
/// Only layers held by `Sequential`s are reached: a model that is a struct
/// with BatchNorm fields (the zoo's ResNets) declares `SyncBatchNorm`
/// fields itself (a generic `Module` cannot swap its children's types).
///
/// ```no_run
/// use nabla::distributed::{convert_sync_batchnorm, ProcessGroup};
/// use nabla::nn::{zoo, Module};
/// use nabla::Generator;
///
/// let group = ProcessGroup::init()?;
/// let mut model = zoo::lenet5_bn::<f32>(&mut Generator::new(0));
/// let names = model.state_dict().into_iter().map(|(n, _)| n).collect::<Vec<_>>();
/// assert_eq!(convert_sync_batchnorm(&mut model, &group), 4);
/// assert_eq!(model.state_dict().into_iter().map(|(n, _)| n).collect::<Vec<_>>(), names);
/// # Ok::<(), nabla::Error>(())
/// ```
pub fn convert_sync_batchnorm<T: Float>(model: &mut Sequential<T>, group: &Arc<ProcessGroup>) -> usize {
    let mut replacements = Vec::new();
    let mut converted = 0;
    for (index, layer) in model.layers_mut().enumerate() {
        let layer = layer.as_any_mut();
        if let Some(bn) = layer.downcast_ref::<BatchNorm2d<T>>() {
            replacements.push((index, SyncBatchNorm::from_batch_norm2d(bn, group.clone())));
        } else if let Some(bn) = layer.downcast_ref::<BatchNorm1d<T>>() {
            replacements.push((index, SyncBatchNorm::from_batch_norm1d(bn, group.clone())));
        } else if let Some(inner) = layer.downcast_mut::<Sequential<T>>() {
            converted += convert_sync_batchnorm(inner, group);
        }
    }
    converted += replacements.len();
    for (index, sync) in replacements {
        model.replace(index, sync);
    }
    converted
}
