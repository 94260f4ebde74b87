//! Adam and AdamW, as PyTorch's `torch.optim.Adam` and `torch.optim.AdamW`.

use super::settings::{below_one, non_negative};
use super::state::OptimizerState;
use super::Optimizer;
use crate::backend::ops::OptimizerUpdate;
use crate::element::Float;
use crate::error::Result;
use crate::tensor::Tensor;

/// Settings of [`Adam`]. `Default` gives PyTorch's defaults: `lr` 1e-3,
/// `betas` (0.9, 0.999), `eps` 1e-8, no weight decay, no AMSGrad.
///
/// ```
/// use nabla::optim::AdamConfig;
/// let c = AdamConfig::new(3e-4).amsgrad(true);
/// assert_eq!(c, AdamConfig { lr: 3e-4, amsgrad: true, ..AdamConfig::default() });
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// Learning rate (default 1e-3).
    pub lr: f64,
    /// Decay rates (β1, β2) of the first and second moment estimates
    /// (default (0.9, 0.999)).
    pub betas: (f64, f64),
    /// Added to the denominator for numerical stability (default 1e-8).
    pub eps: f64,
    /// Weight decay λ (default 0): an L2 penalty added to the gradient, or,
    /// with `decoupled_weight_decay`, AdamW's decay of the parameter.
    pub weight_decay: f64,
    /// AMSGrad: normalize by the largest second moment seen (default off).
    pub amsgrad: bool,
    /// Maximize the objective instead of minimizing it (default off).
    pub maximize: bool,
    /// Decay the parameter by `lr λ` directly instead of adding `λ θ` to the
    /// gradient, as AdamW (default off; [`AdamW`] turns it on).
    pub decoupled_weight_decay: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
            maximize: false,
            decoupled_weight_decay: false,
        }
    }
}

impl AdamConfig {
    /// PyTorch's defaults with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        AdamConfig {
            lr,
            ..Self::default()
        }
    }

    /// Sets the moment decay rates (β1, β2).
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.betas = (beta1, beta2);
        self
    }

    /// Sets ε.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the weight decay.
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Turns AMSGrad on or off.
    pub fn amsgrad(mut self, amsgrad: bool) -> Self {
        self.amsgrad = amsgrad;
        self
    }

    /// Turns maximization on or off.
    pub fn maximize(mut self, maximize: bool) -> Self {
        self.maximize = maximize;
        self
    }

    /// Turns AdamW's decoupled weight decay on or off.
    pub fn decoupled_weight_decay(mut self, decoupled: bool) -> Self {
        self.decoupled_weight_decay = decoupled;
        self
    }

    /// Checks the settings: the learning rate, ε and weight decay finite
    /// and at least 0, each β in [0, 1).
    ///
    /// ```
    /// use nabla::optim::AdamConfig;
    /// assert!(AdamConfig::new(1e-3).validate().is_ok());
    /// let error = AdamConfig::new(1e-3).weight_decay(-1.0).validate().unwrap_err();
    /// assert!(error.to_string().starts_with("Adam: invalid weight_decay -1"));
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidSetting`](crate::Error::InvalidSetting) naming the
    /// optimizer (`Adam`, or `AdamW` with decoupled weight decay) and the
    /// first setting out of range.
    pub fn validate(&self) -> Result<()> {
        let name = if self.decoupled_weight_decay {
            "AdamW"
        } else {
            "Adam"
        };
        non_negative(name, "learning rate", self.lr)?;
        non_negative(name, "epsilon", self.eps)?;
        below_one(name, "beta1", self.betas.0)?;
        below_one(name, "beta2", self.betas.1)?;
        non_negative(name, "weight_decay", self.weight_decay)
    }
}

/// Adam, as PyTorch's `torch.optim.Adam` (with `decoupled_weight_decay`,
/// AdamW). For each parameter θ with gradient g, at its step t (counted
/// per parameter, from 1):
///
/// ```text
/// g ← -g                                 if maximize
/// θ ← θ (1 - lr λ)                       if decoupled weight decay λ ≠ 0 (AdamW)
/// g ← g + λ θ                            if (coupled) weight decay λ ≠ 0
/// m ← lerp(m, g, 1 - β1)                 = β1 m + (1 - β1) g
/// v ← β2 v + (1 - β2) g²
/// v̂ ← max(v̂, v), then use v̂ for v       if amsgrad
/// θ ← θ - lr / (1 - β1^t) · m / (√v / √(1 - β2^t) + ε)
/// ```
///
/// ε is added to the bias-corrected root `√v / √(1 - β2^t)`, as in PyTorch
/// and the paper's Algorithm 1 (not to the uncorrected `√v`, as in the
/// paper's "more efficient" reordering).
///
/// The state of parameter `i` (created at its first step) is
/// `state.{i}.step` (a scalar), `state.{i}.exp_avg`, `state.{i}.exp_avg_sq`
/// and, with AMSGrad, `state.{i}.max_exp_avg_sq`.
///
/// ```
/// use nabla::optim::{Adam, AdamConfig, Optimizer};
/// use nabla::Tensor;
/// let w = Tensor::from_vec(vec![1.0f64, -2.0], &[2]).requires_grad();
/// let mut opt = Adam::new(vec![w.clone()], AdamConfig::new(0.1));
/// opt.zero_grad();
/// (&w * &w).sum().backward();
/// opt.step();
/// // The first step moves each coordinate by lr against the gradient's sign
/// // (up to ε): m̂ = g, v̂ = g².
/// let v = w.to_vec();
/// assert!((v[0] - 0.9).abs() < 1e-7 && (v[1] + 1.9).abs() < 1e-7);
/// let names: Vec<String> = opt.state_dict().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq"]);
/// ```
///
/// # Panics
/// [`Adam::new`] panics where [`Adam::try_new`] returns an error: on a
/// learning rate, ε or weight decay that is negative or not finite, or a β
/// outside [0, 1).
pub struct Adam<T: Float = f32> {
    parameters: Vec<Tensor<T>>,
    config: AdamConfig,
    state: OptimizerState<T>,
}

impl<T: Float> Adam<T> {
    /// Adam over `parameters` (for instance `model.parameters()`).
    ///
    /// # Panics
    /// If the settings are invalid ([`AdamConfig::validate`]).
    pub fn new(parameters: Vec<Tensor<T>>, config: AdamConfig) -> Self {
        Self::try_new(parameters, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Adam over `parameters`, or the error of [`AdamConfig::validate`].
    ///
    /// # Errors
    /// [`Error::InvalidSetting`](crate::Error::InvalidSetting) naming the
    /// setting out of range.
    pub fn try_new(parameters: Vec<Tensor<T>>, config: AdamConfig) -> Result<Self> {
        config.validate()?;
        let mut buffers = vec!["exp_avg", "exp_avg_sq"];
        if config.amsgrad {
            buffers.push("max_exp_avg_sq");
        }
        Ok(Adam {
            state: OptimizerState::lazy(parameters.len(), true, buffers),
            parameters,
            config,
        })
    }

    /// The settings (the learning rate as last set).
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }
}

impl<T: Float> Optimizer<T> for Adam<T> {
    fn step(&mut self) {
        let c = self.config;
        self.state
            .step(&self.parameters, |step, _| OptimizerUpdate::Adam {
                lr: c.lr,
                beta1: c.betas.0,
                beta2: c.betas.1,
                eps: c.eps,
                weight_decay: c.weight_decay,
                decoupled: c.decoupled_weight_decay,
                amsgrad: c.amsgrad,
                maximize: c.maximize,
                step,
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

/// Settings of [`AdamW`]. `Default` gives PyTorch's defaults: those of
/// [`AdamConfig`] except `weight_decay`, 1e-2.
///
/// ```
/// use nabla::optim::AdamWConfig;
/// assert_eq!(AdamWConfig::new(1e-3), AdamWConfig::default());
/// assert_eq!(AdamWConfig::default().weight_decay, 1e-2);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamWConfig {
    /// Learning rate (default 1e-3).
    pub lr: f64,
    /// Decay rates (β1, β2) of the moment estimates (default (0.9, 0.999)).
    pub betas: (f64, f64),
    /// Added to the denominator for numerical stability (default 1e-8).
    pub eps: f64,
    /// Decoupled weight decay λ: θ ← θ (1 - lr λ) each step (default 1e-2).
    pub weight_decay: f64,
    /// AMSGrad (default off).
    pub amsgrad: bool,
    /// Maximize the objective instead of minimizing it (default off).
    pub maximize: bool,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 1e-2,
            amsgrad: false,
            maximize: false,
        }
    }
}

impl AdamWConfig {
    /// PyTorch's defaults with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        AdamWConfig {
            lr,
            ..Self::default()
        }
    }

    /// Sets the moment decay rates (β1, β2).
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.betas = (beta1, beta2);
        self
    }

    /// Sets ε.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the decoupled weight decay.
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Turns AMSGrad on or off.
    pub fn amsgrad(mut self, amsgrad: bool) -> Self {
        self.amsgrad = amsgrad;
        self
    }

    /// Turns maximization on or off.
    pub fn maximize(mut self, maximize: bool) -> Self {
        self.maximize = maximize;
        self
    }
}

impl From<AdamWConfig> for AdamConfig {
    fn from(c: AdamWConfig) -> Self {
        AdamConfig {
            lr: c.lr,
            betas: c.betas,
            eps: c.eps,
            weight_decay: c.weight_decay,
            amsgrad: c.amsgrad,
            maximize: c.maximize,
            decoupled_weight_decay: true,
        }
    }
}

/// AdamW, as PyTorch's `torch.optim.AdamW`: [`Adam`] with decoupled weight
/// decay. Each step first shrinks the parameter, θ ← θ (1 - lr λ), then
/// takes Adam's step with the unmodified gradient (see [`Adam`] for the
/// rest of the formula and the state's names).
///
/// ```
/// use nabla::optim::{AdamW, AdamWConfig, Optimizer};
/// use nabla::Tensor;
/// let w = Tensor::from_vec(vec![2.0f64], &[1]).requires_grad();
/// let mut opt = AdamW::new(vec![w.clone()], AdamWConfig::new(0.1).weight_decay(0.5));
/// opt.zero_grad();
/// (&w * 3.0).sum().backward(); // gradient 3
/// opt.step();
/// // θ = 2 (1 - 0.1 · 0.5) - 0.1 · 3 / (3 + ε) = 1.9 - 0.1
/// assert!((w.to_vec()[0] - 1.8).abs() < 1e-7);
/// ```
///
/// # Panics
/// [`AdamW::new`] panics where [`AdamW::try_new`] returns an error: on a
/// learning rate, ε or weight decay that is negative or not finite, or a β
/// outside [0, 1).
pub struct AdamW<T: Float = f32> {
    adam: Adam<T>,
}

impl<T: Float> AdamW<T> {
    /// AdamW over `parameters` (for instance `model.parameters()`).
    ///
    /// # Panics
    /// If the settings are invalid ([`AdamConfig::validate`]).
    pub fn new(parameters: Vec<Tensor<T>>, config: AdamWConfig) -> Self {
        Self::try_new(parameters, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// AdamW over `parameters`, or the error of [`AdamConfig::validate`].
    ///
    /// # Errors
    /// [`Error::InvalidSetting`](crate::Error::InvalidSetting) naming the
    /// setting out of range.
    pub fn try_new(parameters: Vec<Tensor<T>>, config: AdamWConfig) -> Result<Self> {
        Ok(AdamW {
            adam: Adam::try_new(parameters, config.into())?,
        })
    }

    /// The settings, as Adam's (with `decoupled_weight_decay` on).
    pub fn config(&self) -> &AdamConfig {
        self.adam.config()
    }
}

impl<T: Float> Optimizer<T> for AdamW<T> {
    fn step(&mut self) {
        self.adam.step();
    }

    fn parameters(&self) -> &[Tensor<T>] {
        self.adam.parameters()
    }

    fn learning_rate(&self) -> f64 {
        self.adam.learning_rate()
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.adam.set_learning_rate(learning_rate);
    }

    fn state_dict(&self) -> Vec<(String, Tensor<T>)> {
        self.adam.state_dict()
    }

    fn load_state_dict(&mut self, state: &[(String, Tensor<T>)]) -> Result<()> {
        self.adam.load_state_dict(state)
    }
}
