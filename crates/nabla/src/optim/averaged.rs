//! A running average of a model's weights over training: PyTorch's
//! `torch.optim.swa_utils.AveragedModel`, with the equal average of
//! stochastic weight averaging or the exponential moving average
//! (`get_ema_multi_avg_fn(decay)`) that GANs sample from.

use super::settings::below_one;
use crate::autograd::no_grad;
use crate::element::Float;
use crate::error::Result;
use crate::nn::Module;

/// How [`AveragedModel::update_parameters`] folds in a new set of weights.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Averaging {
    /// The mean of every set seen so far (stochastic weight averaging,
    /// PyTorch's default `avg_fn`): `avg += (w - avg) / (n + 1)`.
    Equal,
    /// The exponential moving average, PyTorch's
    /// `get_ema_multi_avg_fn(decay)`: `avg = decay * avg + (1 - decay) * w`.
    Exponential {
        /// The weight kept of the average at each update, in `[0, 1)`.
        decay: f64,
    },
    /// The exponentially weighted mean of the weights seen so far,
    /// `avg_n = Σ_t decay^(n-t) w_t / Σ_t decay^(n-t)`: update n takes
    /// the share `(1 - decay) / (1 - decay^n)` (Adam's bias correction).
    /// Unlike [`Averaging::Exponential`], the first weights keep no
    /// lingering share: after n updates they weigh `decay^n` there (a third
    /// after 1,000 updates at decay 0.999), and nothing special here.
    BiasCorrected {
        /// The weight kept of the average at each update, in `[0, 1)`.
        decay: f64,
    },
}

/// A second copy of a model whose weights are a running average of the
/// trained model's, updated after each optimizer step.
///
/// PyTorch deep-copies the model; a Rust module cannot be cloned in
/// general, so `module` is another instance of the same architecture
/// (its initial weights do not matter: the first update copies the
/// trained model's). With `use_buffers`, buffers (BatchNorm's running
/// statistics) are averaged too; without, they are copied from the
/// trained model at each update, as in PyTorch.
///
/// ```
/// use nabla::nn::{Linear, Module};
/// use nabla::optim::{AveragedModel, Averaging};
/// use nabla::{Generator, Tensor};
/// let model = Linear::<f32>::new(2, 1, false, &mut Generator::new(0));
/// let copy = Linear::new(2, 1, false, &mut Generator::new(1));
/// let mut ema = AveragedModel::new(copy, Averaging::Exponential { decay: 0.9 }, true)?;
/// model.weight.update_data(|w| w.fill(1.0));
/// ema.update_parameters(&model); // the first update copies
/// model.weight.update_data(|w| w.fill(3.0));
/// ema.update_parameters(&model); // 0.9 * 1 + 0.1 * 3
/// assert!((ema.module.weight.to_vec()[0] - 1.2).abs() < 1e-6);
/// assert_eq!(ema.n_averaged(), 2);
/// # Ok::<(), nabla::Error>(())
/// ```
pub struct AveragedModel<M> {
    /// The model holding the averaged weights: call its `forward` to use them.
    pub module: M,
    averaging: Averaging,
    use_buffers: bool,
    n_averaged: u64,
}

impl<M> AveragedModel<M> {
    /// An average held in `module`, empty until the first
    /// [`update_parameters`](Self::update_parameters).
    ///
    /// # Errors
    /// [`Error::InvalidSetting`](crate::Error::InvalidSetting) for a decay
    /// outside `[0, 1)`.
    pub fn new(module: M, averaging: Averaging, use_buffers: bool) -> Result<Self> {
        if let Averaging::Exponential { decay } | Averaging::BiasCorrected { decay } = averaging {
            below_one("AveragedModel", "decay", decay)?;
        }
        Ok(AveragedModel {
            module,
            averaging,
            use_buffers,
            n_averaged: 0,
        })
    }

    /// How many sets of weights the average has taken in (PyTorch's
    /// `n_averaged` buffer).
    pub fn n_averaged(&self) -> u64 {
        self.n_averaged
    }

    /// Sets the count, for an average read back from a checkpoint: the
    /// next update averages into the loaded weights instead of copying.
    pub fn set_n_averaged(&mut self, n_averaged: u64) {
        self.n_averaged = n_averaged;
    }

    /// The averaging rule.
    pub fn averaging(&self) -> Averaging {
        self.averaging
    }

    /// Folds `model`'s current weights into the average (the first call
    /// copies them). Nothing is recorded.
    ///
    /// # Panics
    /// If `model` does not have the parameters (and buffers) of `module`,
    /// in the same order and shapes.
    pub fn update_parameters<T: Float>(&mut self, model: &dyn Module<T>)
    where
        M: Module<T>,
    {
        let weight = match self.averaging {
            _ if self.n_averaged == 0 => 1.0,
            Averaging::Equal => 1.0 / (self.n_averaged as f64 + 1.0),
            Averaging::Exponential { decay } => 1.0 - decay,
            Averaging::BiasCorrected { decay } => {
                let n = i32::try_from(self.n_averaged + 1).unwrap_or(i32::MAX);
                (1.0 - decay) / (1.0 - decay.powi(n))
            }
        };
        let mut averaged = self.module.named_parameters();
        let mut current = model.named_parameters();
        if self.use_buffers {
            averaged.extend(self.module.named_buffers());
            current.extend(model.named_buffers());
        } else {
            for ((name, target), (_, source)) in self.module.named_buffers().iter().zip(model.named_buffers())
            {
                assert_same(name, target.shape(), source.shape());
                target.copy_from(&source);
            }
        }
        assert!(
            averaged.len() == current.len(),
            "AveragedModel::update_parameters: the model has {} parameters and buffers, the average {}",
            current.len(),
            averaged.len()
        );
        no_grad(|| {
            for ((name, average), (_, value)) in averaged.iter().zip(&current) {
                assert_same(name, average.shape(), value.shape());
                if weight == 1.0 {
                    average.copy_from(value);
                } else {
                    let step = value.sub(average).mul_scalar(T::from_f64(weight));
                    average.copy_from(&average.add(&step));
                }
            }
        });
        self.n_averaged += 1;
    }
}

fn assert_same(name: &str, average: &[usize], value: &[usize]) {
    assert!(
        average == value,
        "AveragedModel::update_parameters: {name} has shape {value:?} in the model and {average:?} in the average"
    );
}
