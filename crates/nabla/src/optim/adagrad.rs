//! Adagrad, as PyTorch's `torch.optim.Adagrad`.

use super::settings::non_negative;
use super::state::OptimizerState;
use super::Optimizer;
use crate::backend::ops::OptimizerUpdate;
use crate::element::Float;
use crate::error::Result;
use crate::tensor::Tensor;

/// Settings of [`Adagrad`]. `Default` gives PyTorch's defaults: `lr` 1e-2,
/// `eps` 1e-10, and every other option 0 or off.
///
/// ```
/// use nabla::optim::AdagradConfig;
/// let c = AdagradConfig::new(0.1).lr_decay(1e-3).initial_accumulator_value(0.1);
/// assert_eq!(c.eps, 1e-10);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdagradConfig {
    /// Learning rate (default 1e-2).
    pub lr: f64,
    /// Learning-rate decay δ: step t uses lr / (1 + (t - 1) δ) (default 0).
    pub lr_decay: f64,
    /// L2 penalty λ, added to the gradient (default 0).
    pub weight_decay: f64,
    /// The starting value of the sum of squared gradients (default 0).
    pub initial_accumulator_value: f64,
    /// Added to the denominator for numerical stability (default 1e-10).
    pub eps: f64,
    /// Maximize the objective instead of minimizing it (default off).
    pub maximize: bool,
}

impl Default for AdagradConfig {
    fn default() -> Self {
        AdagradConfig {
            lr: 1e-2,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            maximize: false,
        }
    }
}

impl AdagradConfig {
    /// PyTorch's defaults with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        AdagradConfig {
            lr,
            ..Self::default()
        }
    }

    /// Sets the learning-rate decay.
    pub fn lr_decay(mut self, lr_decay: f64) -> Self {
        self.lr_decay = lr_decay;
        self
    }

    /// Sets the L2 penalty.
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Sets the starting value of the accumulated squares.
    pub fn initial_accumulator_value(mut self, value: f64) -> Self {
        self.initial_accumulator_value = value;
        self
    }

    /// Sets ε.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Turns maximization on or off.
    pub fn maximize(mut self, maximize: bool) -> Self {
        self.maximize = maximize;
        self
    }

    /// Checks the settings: the learning rate, its decay, the weight decay,
    /// the initial accumulator value and ε finite and at least 0.
    ///
    /// ```
    /// use nabla::optim::AdagradConfig;
    /// assert!(AdagradConfig::new(0.1).validate().is_ok());
    /// assert!(AdagradConfig::new(f64::INFINITY).validate().is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidSetting`](crate::Error::InvalidSetting) naming the
    /// first setting out of range.
    pub fn validate(&self) -> Result<()> {
        non_negative("Adagrad", "learning rate", self.lr)?;
        non_negative("Adagrad", "lr_decay", self.lr_decay)?;
        non_negative("Adagrad", "weight_decay", self.weight_decay)?;
        non_negative(
            "Adagrad",
            "initial_accumulator_value",
            self.initial_accumulator_value,
        )?;
        non_negative("Adagrad", "epsilon", self.eps)
    }
}

/// Adagrad, as PyTorch's `torch.optim.Adagrad`. For each parameter θ with
/// gradient g, at its step t (counted per parameter, from 1):
///
/// ```text
/// g ← -g                          if maximize
/// g ← g + λ θ                     if weight_decay λ ≠ 0
/// S ← S + g²                      (S starts at initial_accumulator_value)
/// θ ← θ - lr / (1 + (t - 1) δ) · g / (√S + ε)
/// ```
///
/// Unlike the other optimizers, and as in PyTorch, the state exists from
/// construction: `state.{i}.step` (a scalar, 0) and `state.{i}.sum` for
/// every parameter `i`, so [`load_state_dict`](Optimizer::load_state_dict)
/// needs both for every parameter.
///
/// ```
/// use nabla::optim::{Adagrad, AdagradConfig, Optimizer};
/// use nabla::Tensor;
/// let w = Tensor::from_vec(vec![1.0f64, -2.0], &[2]).requires_grad();
/// let mut opt = Adagrad::new(vec![w.clone()], AdagradConfig::new(0.5));
/// assert_eq!(opt.state_dict().len(), 2); // step and sum, before any step
/// opt.zero_grad();
/// (&w * &w).sum().backward();
/// opt.step();
/// // First step: S = g², so each coordinate moves by lr against its sign.
/// let v = w.to_vec();
/// assert!((v[0] - 0.5).abs() < 1e-9 && (v[1] + 1.5).abs() < 1e-9);
/// ```
///
/// # Panics
/// [`Adagrad::new`] panics where [`Adagrad::try_new`] returns an error: on
/// a learning rate, learning-rate decay, weight decay, initial accumulator
/// value or ε that is negative or not finite.
pub struct Adagrad<T: Float = f32> {
    parameters: Vec<Tensor<T>>,
    config: AdagradConfig,
    state: OptimizerState<T>,
}

impl<T: Float> Adagrad<T> {
    /// Adagrad over `parameters` (for instance `model.parameters()`).
    ///
    /// # Panics
    /// If the settings are invalid ([`AdagradConfig::validate`]).
    pub fn new(parameters: Vec<Tensor<T>>, config: AdagradConfig) -> Self {
        Self::try_new(parameters, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Adagrad over `parameters`, or the error of [`AdagradConfig::validate`].
    ///
    /// # Errors
    /// [`Error::InvalidSetting`](crate::Error::InvalidSetting) naming the
    /// setting out of range.
    pub fn try_new(parameters: Vec<Tensor<T>>, config: AdagradConfig) -> Result<Self> {
        config.validate()?;
        Ok(Adagrad {
            state: OptimizerState::eager(&parameters, true, vec!["sum"], config.initial_accumulator_value),
            parameters,
            config,
        })
    }

    /// The settings (the learning rate as last set).
    pub fn config(&self) -> &AdagradConfig {
        &self.config
    }
}

impl<T: Float> Optimizer<T> for Adagrad<T> {
    fn step(&mut self) {
        let c = self.config;
        self.state
            .step(&self.parameters, |step, _| OptimizerUpdate::Adagrad {
                clr: c.lr / (1.0 + (step - 1.0) * c.lr_decay),
                weight_decay: c.weight_decay,
                eps: c.eps,
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
