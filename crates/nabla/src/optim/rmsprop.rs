//! RMSprop, as PyTorch's `torch.optim.RMSprop`.

use super::sgd::{lerp, parse_state, state_key, update_with_grad};
use super::Optimizer;
use crate::element::Float;
use crate::error::Result;
use crate::tensor::Tensor;

/// Settings of [`RmsProp`]. `Default` gives PyTorch's defaults: `lr` 1e-2,
/// `alpha` 0.99, `eps` 1e-8, and every option off.
///
/// ```
/// use nabla::optim::RmsPropConfig;
/// let c = RmsPropConfig::new(1e-3).momentum(0.9).centered(true);
/// assert_eq!(c.alpha, 0.99);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsPropConfig {
    /// Learning rate (default 1e-2).
    pub lr: f64,
    /// Smoothing constant α of the running average of g² (default 0.99).
    pub alpha: f64,
    /// Added to the denominator for numerical stability (default 1e-8).
    pub eps: f64,
    /// L2 penalty λ, added to the gradient (default 0).
    pub weight_decay: f64,
    /// Momentum factor μ (default 0).
    pub momentum: f64,
    /// Normalize by an estimate of the gradient's variance instead of its
    /// second moment (default off).
    pub centered: bool,
    /// Maximize the objective instead of minimizing it (default off).
    pub maximize: bool,
}

impl Default for RmsPropConfig {
    fn default() -> Self {
        RmsPropConfig {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            maximize: false,
        }
    }
}

impl RmsPropConfig {
    /// PyTorch's defaults with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        RmsPropConfig {
            lr,
            ..Self::default()
        }
    }

    /// Sets the smoothing constant α.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// Sets ε.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the L2 penalty.
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Sets the momentum factor.
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Turns the centered variant on or off.
    pub fn centered(mut self, centered: bool) -> Self {
        self.centered = centered;
        self
    }

    /// Turns maximization on or off.
    pub fn maximize(mut self, maximize: bool) -> Self {
        self.maximize = maximize;
        self
    }

    fn validate(&self) {
        assert!(self.lr >= 0.0, "RMSprop: invalid learning rate {}", self.lr);
        assert!(self.eps >= 0.0, "RMSprop: invalid epsilon {}", self.eps);
        assert!(
            self.momentum >= 0.0,
            "RMSprop: invalid momentum {}",
            self.momentum
        );
        assert!(
            self.weight_decay >= 0.0,
            "RMSprop: invalid weight_decay {}",
            self.weight_decay
        );
        assert!(self.alpha >= 0.0, "RMSprop: invalid alpha {}", self.alpha);
    }
}

/// One parameter's state.
#[derive(Clone)]
struct RmsPropState<T> {
    step: f64,
    square_avg: Vec<T>,
    /// Empty without momentum.
    momentum_buffer: Vec<T>,
    /// Empty unless centered.
    grad_avg: Vec<T>,
}

/// RMSprop, as PyTorch's `torch.optim.RMSprop`. For each parameter θ with
/// gradient g:
///
/// ```text
/// g ← -g                               if maximize
/// g ← g + λ θ                          if weight_decay λ ≠ 0
/// s ← α s + (1 - α) g²
/// if centered:
///     a ← lerp(a, g, 1 - α)            = α a + (1 - α) g
///     d ← √(s - a²) + ε
/// else:
///     d ← √s + ε
/// if momentum μ > 0:
///     b ← μ b + g / d
///     θ ← θ - lr b
/// else:
///     θ ← θ - lr g / d
/// ```
///
/// ε is added outside the square root, as in PyTorch. The state of parameter `i` (created at its first step) is
/// `state.{i}.step` (a scalar, unused by the update), `state.{i}.square_avg`,
/// with momentum `state.{i}.momentum_buffer`, and centered
/// `state.{i}.grad_avg`.
///
/// ```
/// use nabla::optim::{Optimizer, RmsProp, RmsPropConfig};
/// use nabla::Tensor;
/// let w = Tensor::from_vec(vec![1.0f64, -2.0], &[2]).requires_grad();
/// let mut opt = RmsProp::new(vec![w.clone()], RmsPropConfig::new(0.01));
/// opt.zero_grad();
/// (&w * &w).sum().backward();
/// opt.step();
/// // First step: s = 0.01 g², so each coordinate moves by lr / √0.01 = 0.1
/// // against its gradient's sign (up to ε).
/// let v = w.to_vec();
/// assert!((v[0] - 0.9).abs() < 1e-6 && (v[1] + 1.9).abs() < 1e-6);
/// ```
///
/// # Panics
/// [`RmsProp::new`] panics on a negative learning rate, ε, momentum,
/// weight decay or α.
pub struct RmsProp<T: Float = f32> {
    parameters: Vec<Tensor<T>>,
    config: RmsPropConfig,
    state: Vec<Option<RmsPropState<T>>>,
}

impl<T: Float> RmsProp<T> {
    /// RMSprop over `parameters` (for instance `model.parameters()`).
    pub fn new(parameters: Vec<Tensor<T>>, config: RmsPropConfig) -> Self {
        config.validate();
        let state = vec![None; parameters.len()];
        RmsProp {
            parameters,
            config,
            state,
        }
    }

    /// The settings (the learning rate as last set).
    pub fn config(&self) -> &RmsPropConfig {
        &self.config
    }

    fn keys(&self) -> Vec<&'static str> {
        let mut keys = vec!["step", "square_avg"];
        if self.config.momentum > 0.0 {
            keys.push("momentum_buffer");
        }
        if self.config.centered {
            keys.push("grad_avg");
        }
        keys
    }
}

impl<T: Float> Optimizer<T> for RmsProp<T> {
    fn step(&mut self) {
        let c = self.config;
        let (maximize, centered) = (c.maximize, c.centered);
        let with_momentum = c.momentum > 0.0;
        let decay = c.weight_decay != 0.0;
        let weight_decay = T::from_f64(c.weight_decay);
        let alpha = T::from_f64(c.alpha);
        let one_minus_alpha = T::from_f64(1.0 - c.alpha);
        let eps = T::from_f64(c.eps);
        let momentum = T::from_f64(c.momentum);
        let neg_lr = T::from_f64(-c.lr);
        for (p, slot) in self.parameters.iter().zip(&mut self.state) {
            update_with_grad(p, |data, grad| {
                let n = data.len();
                let s = slot.get_or_insert_with(|| RmsPropState {
                    step: 0.0,
                    square_avg: vec![T::zero(); n],
                    momentum_buffer: if with_momentum {
                        vec![T::zero(); n]
                    } else {
                        Vec::new()
                    },
                    grad_avg: if centered { vec![T::zero(); n] } else { Vec::new() },
                });
                s.step += 1.0;
                for (i, ((x, &g), sq)) in data.iter_mut().zip(grad).zip(s.square_avg.iter_mut()).enumerate() {
                    let mut g = if maximize { -g } else { g };
                    if decay {
                        g = g + weight_decay * *x;
                    }
                    *sq = *sq * alpha + one_minus_alpha * g * g;
                    let root = if centered {
                        let a = &mut s.grad_avg[i];
                        *a = lerp(*a, g, one_minus_alpha);
                        (*sq - *a * *a).sqrt()
                    } else {
                        sq.sqrt()
                    };
                    let denom = root + eps;
                    if with_momentum {
                        let b = &mut s.momentum_buffer[i];
                        *b = *b * momentum + g / denom;
                        *x = *x + neg_lr * *b;
                    } else {
                        *x = *x + neg_lr * g / denom;
                    }
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
        let mut out = Vec::new();
        for (i, (s, p)) in self.state.iter().zip(&self.parameters).enumerate() {
            let Some(s) = s else { continue };
            out.push((state_key(i, "step"), Tensor::scalar(T::from_f64(s.step))));
            out.push((
                state_key(i, "square_avg"),
                Tensor::from_slice(&s.square_avg, p.shape()),
            ));
            if self.config.momentum > 0.0 {
                out.push((
                    state_key(i, "momentum_buffer"),
                    Tensor::from_slice(&s.momentum_buffer, p.shape()),
                ));
            }
            if self.config.centered {
                out.push((
                    state_key(i, "grad_avg"),
                    Tensor::from_slice(&s.grad_avg, p.shape()),
                ));
            }
        }
        out
    }

    fn load_state_dict(&mut self, state: &[(String, Tensor<T>)]) -> Result<()> {
        let keys = self.keys();
        let parsed = parse_state(state, &self.parameters, &keys, false)?;
        let find = |t: &[Tensor<T>], key: &str| -> Vec<T> {
            keys.iter()
                .position(|&k| k == key)
                .map(|k| t[k].to_vec())
                .unwrap_or_default()
        };
        self.state = parsed
            .into_iter()
            .map(|entry| {
                entry.map(|t| RmsPropState {
                    step: t[0].item().as_f64(),
                    square_avg: t[1].to_vec(),
                    momentum_buffer: find(&t, "momentum_buffer"),
                    grad_avg: find(&t, "grad_avg"),
                })
            })
            .collect();
        Ok(())
    }
}
