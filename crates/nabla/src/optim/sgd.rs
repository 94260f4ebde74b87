//! Stochastic gradient descent, as PyTorch's `torch.optim.SGD`.

use super::settings::{non_negative, require};
use super::state::OptimizerState;
use super::Optimizer;
use crate::backend::ops::OptimizerUpdate;
use crate::element::Float;
use crate::error::Result;
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

    /// Checks the settings: the learning rate, momentum, dampening and
    /// weight decay finite and at least 0, and Nesterov momentum only with
    /// a momentum and no dampening.
    ///
    /// ```
    /// use nabla::optim::SgdConfig;
    /// assert!(SgdConfig::new(0.1).momentum(0.9).validate().is_ok());
    /// let error = SgdConfig::new(f64::NAN).validate().unwrap_err();
    /// assert_eq!(error.to_string(), "SGD: invalid learning rate NaN: it must be a finite number, at least 0");
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidSetting`](crate::Error::InvalidSetting) naming the
    /// first setting out of range.
    pub fn validate(&self) -> Result<()> {
        non_negative("SGD", "learning rate", self.lr)?;
        non_negative("SGD", "momentum", self.momentum)?;
        non_negative("SGD", "dampening", self.dampening)?;
        non_negative("SGD", "weight_decay", self.weight_decay)?;
        require(
            "SGD",
            !self.nesterov || (self.momentum > 0.0 && self.dampening == 0.0),
            || {
                format!(
                    "Nesterov momentum requires a momentum and zero dampening (momentum {}, dampening {})",
                    self.momentum, self.dampening
                )
            },
        )
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
/// [`Sgd::new`] panics where [`Sgd::try_new`] returns an error: on a
/// learning rate, momentum, dampening or weight decay that is negative or
/// not finite, and on Nesterov momentum without momentum or with dampening.
pub struct Sgd<T: Float = f32> {
    parameters: Vec<Tensor<T>>,
    config: SgdConfig,
    state: OptimizerState<T>,
}

impl<T: Float> Sgd<T> {
    /// SGD over `parameters` (for instance `model.parameters()`).
    ///
    /// # Panics
    /// If the settings are invalid ([`SgdConfig::validate`]).
    pub fn new(parameters: Vec<Tensor<T>>, config: SgdConfig) -> Self {
        Self::try_new(parameters, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// SGD over `parameters`, or the error of [`SgdConfig::validate`].
    ///
    /// # Errors
    /// [`Error::InvalidSetting`](crate::Error::InvalidSetting) naming the
    /// setting out of range.
    pub fn try_new(parameters: Vec<Tensor<T>>, config: SgdConfig) -> Result<Self> {
        config.validate()?;
        let buffers = if config.momentum != 0.0 {
            vec!["momentum_buffer"]
        } else {
            Vec::new()
        };
        Ok(Sgd {
            state: OptimizerState::lazy(parameters.len(), false, buffers),
            parameters,
            config,
        })
    }

    /// The settings (the learning rate as last set).
    pub fn config(&self) -> &SgdConfig {
        &self.config
    }
}

impl<T: Float> Optimizer<T> for Sgd<T> {
    fn step(&mut self) {
        let c = self.config;
        self.state.step(&self.parameters, |_, first_step| {
            if c.momentum == 0.0 {
                OptimizerUpdate::Sgd {
                    lr: c.lr,
                    weight_decay: c.weight_decay,
                    maximize: c.maximize,
                }
            } else {
                OptimizerUpdate::SgdMomentum {
                    lr: c.lr,
                    weight_decay: c.weight_decay,
                    maximize: c.maximize,
                    momentum: c.momentum,
                    dampening: c.dampening,
                    nesterov: c.nesterov,
                    first_step,
                }
            }
        });
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
        self.state.state_dict()
    }

    fn load_state_dict(&mut self, state: &[(String, Tensor<T>)]) -> Result<()> {
        self.state.load_state_dict(state, &self.parameters)
    }
}
