//! RMSprop, as PyTorch's `torch.optim.RMSprop`.

use super::settings::non_negative;
use super::state::OptimizerState;
use super::Optimizer;
use crate::backend::ops::OptimizerUpdate;
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

    /// Checks the settings: the learning rate, ε, momentum, weight decay
    /// and α finite and at least 0.
    ///
    /// ```
    /// use nabla::optim::RmsPropConfig;
    /// assert!(RmsPropConfig::new(1e-2).momentum(0.9).validate().is_ok());
    /// assert!(RmsPropConfig::new(1e-2).momentum(-1.0).validate().is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidSetting`](crate::Error::InvalidSetting) naming the
    /// first setting out of range.
    pub fn validate(&self) -> Result<()> {
        non_negative("RMSprop", "learning rate", self.lr)?;
        non_negative("RMSprop", "epsilon", self.eps)?;
        non_negative("RMSprop", "momentum", self.momentum)?;
        non_negative("RMSprop", "weight_decay", self.weight_decay)?;
        non_negative("RMSprop", "alpha", self.alpha)
    }
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
/// [`RmsProp::new`] panics where [`RmsProp::try_new`] returns an error: on
/// a learning rate, ε, momentum, weight decay or α that is negative or not
/// finite.
pub struct RmsProp<T: Float = f32> {
    parameters: Vec<Tensor<T>>,
    config: RmsPropConfig,
    state: OptimizerState<T>,
}

impl<T: Float> RmsProp<T> {
    /// RMSprop over `parameters` (for instance `model.parameters()`).
    ///
    /// # Panics
    /// If the settings are invalid ([`RmsPropConfig::validate`]).
    pub fn new(parameters: Vec<Tensor<T>>, config: RmsPropConfig) -> Self {
        Self::try_new(parameters, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// RMSprop over `parameters`, or the error of [`RmsPropConfig::validate`].
    ///
    /// # Errors
    /// [`Error::InvalidSetting`](crate::Error::InvalidSetting) naming the
    /// setting out of range.
    pub fn try_new(parameters: Vec<Tensor<T>>, config: RmsPropConfig) -> Result<Self> {
        config.validate()?;
        let mut buffers = vec!["square_avg"];
        if config.momentum > 0.0 {
            buffers.push("momentum_buffer");
        }
        if config.centered {
            buffers.push("grad_avg");
        }
        Ok(RmsProp {
            state: OptimizerState::lazy(parameters.len(), true, buffers),
            parameters,
            config,
        })
    }

    /// The settings (the learning rate as last set).
    pub fn config(&self) -> &RmsPropConfig {
        &self.config
    }
}

impl<T: Float> Optimizer<T> for RmsProp<T> {
    fn step(&mut self) {
        let c = self.config;
        self.state
            .step(&self.parameters, |_, _| OptimizerUpdate::RmsProp {
                lr: c.lr,
                alpha: c.alpha,
                eps: c.eps,
                weight_decay: c.weight_decay,
                momentum: c.momentum,
                centered: c.centered,
                maximize: c.maximize,
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
