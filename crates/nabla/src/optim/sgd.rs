//! Stochastic gradient descent, as PyTorch's `torch.optim.SGD`; and the
//! helpers every optimizer of this module shares: reading a parameter's
//! gradient next to its data, and checking a loaded state.

use rayon::prelude::*;

use super::Optimizer;
use crate::element::Float;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Settings of [`Sgd`]. `Default` gives PyTorch's defaults: `lr` 1e-3 and
/// every option off; set fields directly or chain the builder methods:
///
/// ```
/// use nabla::optim::SgdConfig;
/// let a = SgdConfig::new(0.1).momentum(0.9).nesterov(true);
/// let b = SgdConfig { lr: 0.1, momentum: 0.9, nesterov: true, ..SgdConfig::default() };
/// assert_eq!(a, b);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    /// Learning rate (PyTorch's default: 1e-3).
    pub lr: f64,
    /// Momentum factor μ (default 0: plain gradient descent).
    pub momentum: f64,
    /// Dampening τ of the momentum (default 0).
    pub dampening: f64,
    /// L2 penalty λ, added to the gradient (default 0).
    pub weight_decay: f64,
    /// Nesterov momentum (default off; needs `momentum > 0` and no dampening).
    pub nesterov: bool,
    /// Maximize the objective instead of minimizing it (default off).
    pub maximize: bool,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            maximize: false,
        }
    }
}

impl SgdConfig {
    /// PyTorch's defaults with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        SgdConfig {
            lr,
            ..Self::default()
        }
    }

    /// Sets the momentum factor.
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Sets the dampening.
    pub fn dampening(mut self, dampening: f64) -> Self {
        self.dampening = dampening;
        self
    }

    /// Sets the L2 penalty.
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Turns Nesterov momentum on or off.
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// Turns maximization on or off.
    pub fn maximize(mut self, maximize: bool) -> Self {
        self.maximize = maximize;
        self
    }

    fn validate(&self) {
        assert!(self.lr >= 0.0, "SGD: invalid learning rate {}", self.lr);
        assert!(self.momentum >= 0.0, "SGD: invalid momentum {}", self.momentum);
        assert!(
            self.weight_decay >= 0.0,
            "SGD: invalid weight_decay {}",
            self.weight_decay
        );
        assert!(
            !self.nesterov || (self.momentum > 0.0 && self.dampening == 0.0),
            "SGD: Nesterov momentum requires a momentum and zero dampening (momentum {}, dampening {})",
            self.momentum,
            self.dampening
        );
    }
}

/// Stochastic gradient descent with momentum, as PyTorch's
/// `torch.optim.SGD`. For each parameter θ with gradient g, step t:
///
/// ```text
/// g ← -g                        if maximize
/// g ← g + λ θ                   if weight_decay λ ≠ 0
/// if momentum μ ≠ 0:
///     b ← g                     at the parameter's first step (no dampening!)
///     b ← μ b + (1 - τ) g       after it
///     g ← g + μ b               if nesterov, else g ← b
/// θ ← θ - lr g
/// ```
///
/// The state is one momentum buffer per parameter (`state.{i}.momentum_buffer`),
/// created at the parameter's first step when `momentum ≠ 0`.
///
/// ```
/// use nabla::optim::{Optimizer, Sgd, SgdConfig};
/// use nabla::Tensor;
/// let w = Tensor::from_vec(vec![1.0f64, -2.0], &[2]).requires_grad();
/// let mut opt = Sgd::new(vec![w.clone()], SgdConfig::new(0.1).momentum(0.5));
/// for _ in 0..2 {
///     opt.zero_grad();
///     (&w * &w).sum().backward(); // gradient 2w
///     opt.step();
/// }
/// // Step 1: b = 2w = [2, -4], w = [0.8, -1.6].
/// // Step 2: b = 0.5 [2, -4] + [1.6, -3.2] = [2.6, -5.2], w = [0.54, -1.08].
/// let v = w.to_vec();
/// assert!((v[0] - 0.54).abs() < 1e-12 && (v[1] + 1.08).abs() < 1e-12);
/// assert_eq!(opt.state_dict()[0].0, "state.0.momentum_buffer");
/// ```
///
/// # Panics
/// [`Sgd::new`] panics on a negative learning rate, momentum or weight
/// decay, and on Nesterov momentum without momentum or with dampening.
pub struct Sgd<T: Float = f32> {
    parameters: Vec<Tensor<T>>,
    config: SgdConfig,
    momentum_buffers: Vec<Option<Vec<T>>>,
}

impl<T: Float> Sgd<T> {
    /// SGD over `parameters` (for instance `model.parameters()`).
    pub fn new(parameters: Vec<Tensor<T>>, config: SgdConfig) -> Self {
        config.validate();
        let momentum_buffers = vec![None; parameters.len()];
        Sgd {
            parameters,
            config,
            momentum_buffers,
        }
    }

    /// The settings (the learning rate as last set).
    pub fn config(&self) -> &SgdConfig {
        &self.config
    }
}

impl<T: Float> Optimizer<T> for Sgd<T> {
    fn step(&mut self) {
        let c = self.config;
        let neg_lr = T::from_f64(-c.lr);
        let weight_decay = T::from_f64(c.weight_decay);
        let decay = c.weight_decay != 0.0;
        let momentum = T::from_f64(c.momentum);
        let keep = T::from_f64(1.0 - c.dampening);
        let (maximize, nesterov) = (c.maximize, c.nesterov);
        // The gradient after maximize and weight decay, as PyTorch forms it.
        let effective = move |g: T, x: T| {
            let g = if maximize { -g } else { g };
            if decay {
                g + weight_decay * x
            } else {
                g
            }
        };
        for (p, buffer) in self.parameters.iter().zip(&mut self.momentum_buffers) {
            update_with_grad(p, |data, grad| {
                if c.momentum == 0.0 {
                    for (x, &g) in data.iter_mut().zip(grad) {
                        *x = *x + neg_lr * effective(g, *x);
                    }
                    return;
                }
                match buffer {
                    None => {
                        // First step: the buffer is the gradient itself.
                        let mut b = Vec::with_capacity(data.len());
                        for (x, &g) in data.iter_mut().zip(grad) {
                            let g = effective(g, *x);
                            b.push(g);
                            let d = if nesterov { g + momentum * g } else { g };
                            *x = *x + neg_lr * d;
                        }
                        *buffer = Some(b);
                    }
                    Some(b) => for_each_chunk(data, grad, b, &mut [], |data, grad, b, _| {
                        for ((x, &g), b) in data.iter_mut().zip(grad).zip(b.iter_mut()) {
                            let g = effective(g, *x);
                            *b = *b * momentum + keep * g;
                            let d = if nesterov { g + momentum * *b } else { *b };
                            *x = *x + neg_lr * d;
                        }
                    }),
                }
            });
        }
    }

    fn parameters(&self) -> &[Tensor<T>] {
        &self.parameters
    }

    fn learning_rate(&self) -> f64 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.config.lr = learning_rate;
    }

    fn state_dict(&self) -> Vec<(String, Tensor<T>)> {
        self.momentum_buffers
            .iter()
            .zip(&self.parameters)
            .enumerate()
            .filter_map(|(i, (b, p))| {
                b.as_ref()
                    .map(|b| (state_key(i, "momentum_buffer"), Tensor::from_slice(b, p.shape())))
            })
            .collect()
    }

    fn load_state_dict(&mut self, state: &[(String, Tensor<T>)]) -> Result<()> {
        let keys: &[&str] = if self.config.momentum != 0.0 {
            &["momentum_buffer"]
        } else {
            &[]
        };
        let parsed = parse_state(state, &self.parameters, keys, false)?;
        self.momentum_buffers = parsed
            .into_iter()
            .map(|entry| entry.map(|tensors| tensors[0].to_vec()))
            .collect();
        Ok(())
    }
}

// ------------------------------------------------ shared by the optimizers

/// The context that [`Error`]s from `load_state_dict` name.
pub(super) const STATE_CONTEXT: &str = "optimizer state";

/// PyTorch's name of a state entry: `state.{index}.{key}`.
pub(super) fn state_key(index: usize, key: &str) -> String {
    format!("state.{index}.{key}")
}

/// Runs `f` on the data of parameter `p` (mutable) and its gradient, both
/// as contiguous row-major slices, unrecorded; returns false (and does
/// nothing) when `p` is frozen or has no gradient. The gradient is read in
/// place unless it shares `p`'s storage, when it is copied first.
pub(super) fn update_with_grad<T: Float>(p: &Tensor<T>, f: impl FnOnce(&mut [T], &[T])) -> bool {
    if !p.is_requires_grad() {
        return false;
    }
    let Some(grad) = p.grad() else {
        return false;
    };
    assert!(
        grad.shape() == p.shape(),
        "optimizer: gradient of shape {:?} for a parameter of shape {:?}",
        grad.shape(),
        p.shape()
    );
    if grad.shares_storage_with(p) {
        let copy = grad.to_vec();
        p.update_data(|data| f(data, &copy));
    } else {
        grad.with_contiguous(|g| p.update_data(|data| f(data, g)));
    }
    true
}

/// Runs `f` on matching chunks of a parameter's data, its gradient and up
/// to two state buffers of the same length (`b` may be empty, and then each
/// chunk of it is too), in parallel for a large parameter. The updates are
/// elementwise, so chunks are independent; a big layer's weights (an MLP's
/// 784 x 256) are worth spreading over threads.
pub(super) fn for_each_chunk<T: Float>(
    data: &mut [T],
    grad: &[T],
    a: &mut [T],
    b: &mut [T],
    f: impl Fn(&mut [T], &[T], &mut [T], &mut [T]) + Sync + Send,
) {
    const CHUNK: usize = 1 << 14;
    if data.len() < 2 * CHUNK || rayon::current_num_threads() == 1 {
        return f(data, grad, a, b);
    }
    let chunks = data
        .par_chunks_mut(CHUNK)
        .zip(grad.par_chunks(CHUNK))
        .zip(a.par_chunks_mut(CHUNK));
    if b.is_empty() {
        chunks.for_each(|((x, g), a)| f(x, g, a, &mut []));
    } else {
        chunks
            .zip(b.par_chunks_mut(CHUNK))
            .for_each(|(((x, g), a), b)| f(x, g, a, b));
    }
}

/// PyTorch's `lerp(start, end, weight)`, with its two formulas for small
/// and large weights.
#[inline]
pub(super) fn lerp<T: Float>(start: T, end: T, weight: T) -> T {
    if weight.abs() < T::from_f64(0.5) {
        start + weight * (end - start)
    } else {
        end - (end - start) * (T::one() - weight)
    }
}

/// The larger of two values, NaN if either is (as `torch.maximum`).
#[inline]
pub(super) fn maximum<T: Float>(a: T, b: T) -> T {
    if a.is_nan() || a > b {
        a
    } else {
        b
    }
}

/// Checks a state to load against the parameters: every entry must be
/// named `state.{i}.{key}` with `i` a parameter's index and `key` one of
/// `keys`, appear once, and have the parameter's shape (a scalar for
/// `step`); a parameter with any entry (every parameter, if
/// `every_parameter`) must have all of `keys`. Returns, per parameter,
/// its tensors in the order of `keys`, or `None` for a parameter with no
/// state.
pub(super) fn parse_state<T: Float>(
    state: &[(String, Tensor<T>)],
    parameters: &[Tensor<T>],
    keys: &[&str],
    every_parameter: bool,
) -> Result<Vec<Option<Vec<Tensor<T>>>>> {
    let mut slots: Vec<Vec<Option<Tensor<T>>>> = vec![vec![None; keys.len()]; parameters.len()];
    for (name, tensor) in state {
        let unexpected = || Error::UnexpectedTensor {
            context: STATE_CONTEXT.to_string(),
            name: name.clone(),
        };
        let rest = name.strip_prefix("state.").ok_or_else(unexpected)?;
        let (index, key) = rest.split_once('.').ok_or_else(unexpected)?;
        // Canonical decimal indices only ("01" names nothing).
        let index: usize = match index.parse() {
            Ok(i) if index == format!("{i}") => i,
            _ => return Err(unexpected()),
        };
        let k = keys.iter().position(|&k| k == key).ok_or_else(unexpected)?;
        let parameter = parameters.get(index).ok_or_else(unexpected)?;
        let expected: &[usize] = if key == "step" { &[] } else { parameter.shape() };
        if tensor.shape() != expected {
            return Err(Error::ShapeMismatch {
                context: STATE_CONTEXT.to_string(),
                name: name.clone(),
                expected: expected.to_vec(),
                found: tensor.shape().to_vec(),
            });
        }
        let slot = &mut slots[index][k];
        if slot.is_some() {
            return Err(Error::DuplicateTensor {
                context: STATE_CONTEXT.to_string(),
                name: name.clone(),
            });
        }
        *slot = Some(tensor.clone());
    }
    slots
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            if !every_parameter && entry.iter().all(Option::is_none) {
                return Ok(None);
            }
            entry
                .into_iter()
                .zip(keys)
                .map(|(t, key)| {
                    t.ok_or_else(|| Error::MissingTensor {
                        context: STATE_CONTEXT.to_string(),
                        name: state_key(i, key),
                    })
                })
                .collect::<Result<Vec<_>>>()
                .map(Some)
        })
        .collect()
}
