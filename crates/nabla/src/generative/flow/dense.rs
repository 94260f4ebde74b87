//! [`RealNvp`]: a stack of affine couplings on vectors, with a standard
//! normal base distribution.

use serde::{Deserialize, Serialize};

use super::base::standard_normal_log_prob;
use super::coupling::AffineCoupling;
use crate::autograd::no_grad;
use crate::element::Float;
use crate::nn::Module;
use crate::tensor::{Generator, Tensor};

/// The sizes of a [`RealNvp`]; [`RealNvpConfig::moons`] is the Keras
/// RealNVP example's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealNvpConfig {
    /// Features of an example (2 for two moons).
    pub features: usize,
    /// Coupling layers, with alternating masks.
    pub couplings: usize,
    /// Units of each hidden layer of the `s` and `t` networks.
    pub hidden: usize,
    /// Hidden layers of the `s` and `t` networks.
    pub hidden_layers: usize,
}

impl RealNvpConfig {
    /// The Keras example's flow on two moons: 6 couplings whose `s` and `t`
    /// have 4 hidden layers of 256 units.
    pub fn moons() -> Self {
        RealNvpConfig {
            features: 2,
            couplings: 6,
            hidden: 256,
            hidden_layers: 4,
        }
    }

    /// Checks the sizes make a flow.
    ///
    /// # Errors
    /// A message naming the size that does not.
    pub fn validate(&self) -> Result<(), String> {
        if self.features < 2 {
            return Err(format!(
                "features must be at least 2 (a coupling splits them), got {}",
                self.features
            ));
        }
        if self.couplings == 0 || self.hidden == 0 || self.hidden_layers == 0 {
            return Err("couplings, hidden and hidden_layers must be at least 1".into());
        }
        Ok(())
    }
}

/// RealNVP on vectors `[B, D]` (Dinh, Sohl-Dickstein and Bengio, 2017):
/// `couplings` [`AffineCoupling`]s with alternating masks map data `x` to
/// latents `z`, whose base distribution is the standard normal. The
/// log-determinants of the couplings add up, so the log-likelihood is
/// exact: `log p(x) = log N(z; 0, I) + sum_k log |det J_k|`, and sampling
/// is exact too: `x = inverse(z)` for `z ~ N(0, I)`.
///
/// Parameters are named as a PyTorch module with `self.couplings =
/// nn.ModuleList(...)` of modules with `self.s` and `self.t`
/// `nn.Sequential`s: `couplings.0.s.0.weight`, ..., `couplings.5.t.8.bias`.
///
/// ```
/// use nabla::generative::flow::{RealNvp, RealNvpConfig};
/// use nabla::{Generator, Tensor};
/// let config = RealNvpConfig { hidden: 16, hidden_layers: 2, ..RealNvpConfig::moons() };
/// let flow = RealNvp::<f64>::new(&config, &mut Generator::new(0));
/// let x = Tensor::randn(&[5, 2], &mut Generator::new(1));
/// let (z, log_det) = flow.forward(&x);
/// let back = flow.inverse(&z);
/// assert!(back.to_vec().iter().zip(x.to_vec()).all(|(a, b)| (a - b).abs() < 1e-10));
/// assert_eq!(flow.log_prob(&x).shape(), &[5]);
/// assert_eq!(flow.sample(3, &mut Generator::new(2)).shape(), &[3, 2]);
/// # let _ = log_det;
/// ```
#[derive(Module)]
pub struct RealNvp<T: Float = f32> {
    /// The coupling layers, applied in order from data to latent.
    pub couplings: Vec<AffineCoupling<T>>,
    #[module(skip)]
    config: RealNvpConfig,
}

impl<T: Float> RealNvp<T> {
    /// A new flow of `config`, initialised as PyTorch initialises
    /// `nn.Linear`.
    ///
    /// # Panics
    /// If the config does not validate.
    pub fn new(config: &RealNvpConfig, generator: &mut Generator) -> Self {
        if let Err(message) = config.validate() {
            panic!("RealNvp: {message}");
        }
        let couplings = (0..config.couplings)
            .map(|k| AffineCoupling::new(config.features, config.hidden, config.hidden_layers, k, generator))
            .collect();
        RealNvp {
            couplings,
            config: config.clone(),
        }
    }

    /// The sizes.
    pub fn config(&self) -> &RealNvpConfig {
        &self.config
    }

    /// The latents `z` `[B, D]` of data `x` `[B, D]`, and log |det dz/dx| `[B]`,
    /// accumulated through the couplings.
    ///
    /// # Panics
    /// If `x` is not `[B, features]`.
    pub fn forward(&self, x: &Tensor<T>) -> (Tensor<T>, Tensor<T>) {
        assert!(
            x.ndim() == 2 && x.shape()[1] == self.config.features,
            "RealNvp: input of shape {:?} is not [batch, {}]",
            x.shape(),
            self.config.features
        );
        let mut log_det = Tensor::zeros(&[x.shape()[0]]);
        let mut z = x.clone();
        for coupling in &self.couplings {
            let (next, ld) = coupling.forward(&z);
            z = next;
            log_det = &log_det + &ld;
        }
        (z, log_det)
    }

    /// The data `x` `[B, D]` of latents `z` `[B, D]`: the couplings inverted
    /// in reverse order.
    pub fn inverse(&self, z: &Tensor<T>) -> Tensor<T> {
        self.couplings
            .iter()
            .rev()
            .fold(z.clone(), |x, coupling| coupling.inverse(&x))
    }

    /// The exact log-density (in nats) of each example of `x` `[B, D]`, `[B]`.
    pub fn log_prob(&self, x: &Tensor<T>) -> Tensor<T> {
        let (z, log_det) = self.forward(x);
        &standard_normal_log_prob(&z) + &log_det
    }

    /// `n` examples `[n, D]` drawn from the flow: standard normal latents
    /// from `generator` through the inverse (nothing recorded).
    pub fn sample(&self, n: usize, generator: &mut Generator) -> Tensor<T> {
        let z = Tensor::randn(&[n, self.config.features], generator);
        no_grad(|| self.inverse(&z))
    }
}
