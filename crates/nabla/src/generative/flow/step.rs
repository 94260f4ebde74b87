//! [`NegativeLogLikelihood`]: the training step of a flow.

use super::checkpoint::FlowModel;
use super::dense::RealNvp;
use super::multiscale::MultiScaleRealNvp;
use crate::tensor::Tensor;
use crate::train::{Step, StepOutput};

/// The step [`fit`](crate::train::fit) runs for a flow on batches of
/// examples `[B, ...]`: maximum likelihood. For a [`RealNvp`] the loss is
/// the mean negative log-likelihood in nats; for a [`MultiScaleRealNvp`]
/// (images, dequantised) the mean bits per dimension, which is the same
/// objective scaled by `1 / (D ln 2)` and shifted, and the figure image
/// flows are compared by.
///
/// ```
/// use nabla::generative::flow::{NegativeLogLikelihood, RealNvp, RealNvpConfig};
/// use nabla::train::Step;
/// use nabla::{Generator, Tensor};
/// let config = RealNvpConfig { hidden: 8, hidden_layers: 1, ..RealNvpConfig::moons() };
/// let mut flow = RealNvp::new(&config, &mut Generator::new(0));
/// let x = Tensor::zeros(&[4, 2]);
/// let out = NegativeLogLikelihood.train_step(&mut flow, &x);
/// assert_eq!(out.examples, 4);
/// assert!((out.loss.item() + flow.log_prob(&x).mean().item()).abs() < 1e-6);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct NegativeLogLikelihood;

impl Step<RealNvp, Tensor> for NegativeLogLikelihood {
    fn train_step(&mut self, model: &mut RealNvp, x: &Tensor) -> StepOutput {
        StepOutput::new(model.log_prob(x).mean().neg(), x.shape()[0])
    }
}

impl Step<MultiScaleRealNvp, Tensor> for NegativeLogLikelihood {
    fn train_step(&mut self, model: &mut MultiScaleRealNvp, x: &Tensor) -> StepOutput {
        StepOutput::new(model.bits_per_dim(x).mean(), x.shape()[0])
    }
}

impl Step<FlowModel, Tensor> for NegativeLogLikelihood {
    fn train_step(&mut self, model: &mut FlowModel, x: &Tensor) -> StepOutput {
        match model {
            FlowModel::Dense(m) => self.train_step(m, x),
            FlowModel::MultiScale(m) => self.train_step(m, x),
        }
    }
}
