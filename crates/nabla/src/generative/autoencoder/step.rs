//! [`Reconstruction`]: the training step of an autoencoder.

use crate::data::Batch;
use crate::generative::LatentModel;
use crate::nn::loss::{binary_cross_entropy_with, Reduction};
use crate::train::{Metric, Step, StepOutput};

/// The training step of an autoencoder (any [`LatentModel`]) on batches of
/// images with pixels in [0, 1] (labels unused): the binary cross-entropy
/// of the reconstruction against the input, summed over pixels and
/// averaged over the batch (nats per example, the reconstruction term of
/// the VAE's loss), logged as `loss`, and the mean squared error per pixel
/// as the metric `mse`.
///
/// ```
/// use nabla::data::{Batch, TensorDataset};
/// use nabla::generative::{Autoencoder, AutoencoderConfig, Reconstruction};
/// use nabla::train::Step;
/// use nabla::{Generator, IndexTensor, Tensor};
/// let images = Tensor::rand(&[4, 1, 28, 28], &mut Generator::new(0));
/// let data = TensorDataset::new(images, IndexTensor::from_vec(vec![0; 4], &[4]), 1);
/// let mut ae = Autoencoder::new(&AutoencoderConfig::mlp(8), &mut Generator::new(1));
/// let out = Reconstruction.train_step(&mut ae, &Batch::collect(&data, &[0, 1, 2, 3]));
/// assert!((out.loss.item() - 784.0 * 2f32.ln()).abs() < 60.0); // about 784 ln 2 untrained
/// assert_eq!(out.metrics[0].name, "mse");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reconstruction;

impl<M: LatentModel> Step<M, Batch> for Reconstruction {
    fn train_step(&mut self, model: &mut M, batch: &Batch) -> StepOutput {
        let examples = batch.inputs.shape()[0];
        let reconstruction = model.reconstruct(&batch.inputs);
        let target = batch.inputs.reshape(reconstruction.shape());
        let loss = binary_cross_entropy_with(&reconstruction, &target, None, Reduction::Sum)
            .div_scalar(examples as f32);
        let mse = reconstruction.sub(&target).square().mean().item();
        StepOutput::new(loss, examples).with(Metric::mean("mse", f64::from(mse), examples))
    }
}
