//! Autoencoders: an MLP ([`Autoencoder`]) and a convolutional one
//! ([`ConvAutoencoder`]), trained to reconstruct their input through a
//! small latent code ([`Reconstruction`]).

mod checkpoint;
mod step;

pub use checkpoint::{load_autoencoder, save_autoencoder, AnyAutoencoder};
pub use step::Reconstruction;

use serde::{Deserialize, Serialize};

use super::LatentModel;
use crate::element::Float;
use crate::nn::{Conv2d, ConvTranspose2d, Flatten, Layer, Linear, Module, Relu, Sequential, Sigmoid};
use crate::ops::Conv2dOptions;
use crate::tensor::{Generator, Tensor};

/// The sizes of an autoencoder: the [`Autoencoder`] (an MLP) uses all of
/// them; the [`ConvAutoencoder`] takes 1x28x28 images (`input_size` 784)
/// and uses `hidden_sizes` as the channels of its two convolutions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoencoderConfig {
    /// Features of an input (784 for a 28x28 image).
    pub input_size: usize,
    /// The hidden layers' widths from the input inwards (the decoder
    /// mirrors them); the convolutional model's two channel counts.
    pub hidden_sizes: Vec<usize>,
    /// Features of the latent code.
    pub latent_size: usize,
}

impl AutoencoderConfig {
    /// The MLP for MNIST: 784 -> 512 -> 256 -> `latent_size` and back.
    pub fn mlp(latent_size: usize) -> Self {
        AutoencoderConfig {
            input_size: 784,
            hidden_sizes: vec![512, 256],
            latent_size,
        }
    }

    /// The convolutional model for MNIST: 1x28x28 -> 16x14x14 -> 32x7x7 ->
    /// `latent_size` and back.
    pub fn conv(latent_size: usize) -> Self {
        AutoencoderConfig {
            input_size: 784,
            hidden_sizes: vec![16, 32],
            latent_size,
        }
    }

    /// Checks the sizes for a model of `kind` (`ae` or `conv-ae`).
    ///
    /// # Errors
    /// A message naming the size that is wrong.
    pub fn validate(&self, kind: &str) -> Result<(), String> {
        if self.latent_size == 0 || self.input_size == 0 || self.hidden_sizes.contains(&0) {
            return Err("every size must be at least 1".into());
        }
        if kind == "conv-ae" && (self.input_size != 784 || self.hidden_sizes.len() != 2) {
            return Err(format!(
                "conv-ae takes 1x28x28 images (input_size 784) through two convolutions (two hidden_sizes), \
                 not input_size {} with {} hidden sizes",
                self.input_size,
                self.hidden_sizes.len()
            ));
        }
        let widths: Vec<f64> = std::iter::once(self.input_size)
            .chain(self.hidden_sizes.iter().copied())
            .chain(std::iter::once(self.latent_size))
            .map(|w| w as f64)
            .collect();
        let parameters: f64 = widths.windows(2).map(|w| 2.0 * w[0] * w[1]).sum();
        if parameters > 1e9 {
            return Err(format!("{parameters:.2e} parameters is too many (at most 1e9)"));
        }
        Ok(())
    }
}

/// Inputs `[B, ...]` as `[B, features]`.
///
/// # Panics
/// If an input does not have `features` features.
#[track_caller]
fn flatten<T: Float>(what: &str, inputs: &Tensor<T>, features: usize) -> Tensor<T> {
    let batch = inputs.shape().first().copied().unwrap_or(0);
    let found: usize = inputs.shape().iter().skip(1).product();
    assert!(
        inputs.ndim() >= 2 && found == features,
        "{what}: inputs of shape {:?} do not have {features} features per example",
        inputs.shape()
    );
    inputs.reshape(&[batch, features])
}

/// Panics unless `codes` are `[B, latent]`.
#[track_caller]
fn check_codes<T: Float>(what: &str, codes: &Tensor<T>, latent: usize) {
    assert!(
        codes.ndim() == 2 && codes.shape()[1] == latent,
        "{what}::decode: codes of shape {:?}, but the model has {latent} latents ([B, {latent}] expected)",
        codes.shape()
    );
}

/// An MLP autoencoder: `encoder` (Linear and ReLU layers down to the
/// code) and `decoder` (the mirror image, ending in a sigmoid), as two
/// `nn.Sequential`s would be in PyTorch, with their state-dict names
/// (`encoder.0.weight`, ..., `decoder.4.bias`).
///
/// ```
/// use nabla::generative::{Autoencoder, AutoencoderConfig, LatentModel};
/// use nabla::nn::Module;
/// use nabla::{Generator, Tensor};
/// let ae = Autoencoder::<f32>::new(&AutoencoderConfig::mlp(32), &mut Generator::new(0));
/// let x = Tensor::rand(&[4, 1, 28, 28], &mut Generator::new(1));
/// assert_eq!(ae.forward(&x).shape(), &[4, 784]);
/// assert_eq!(ae.state_dict()[0].0, "encoder.0.weight");
/// assert_eq!(ae.num_parameters(), 2 * (784 * 512 + 512 * 256 + 256 * 32) + 512 + 256 + 32 + 256 + 512 + 784);
/// ```
#[derive(Module)]
pub struct Autoencoder<T: Float = f32> {
    /// Input to code.
    pub encoder: Sequential<T>,
    /// Code to pixel probabilities.
    pub decoder: Sequential<T>,
    #[module(skip)]
    config: AutoencoderConfig,
}

impl<T: Float> Autoencoder<T> {
    /// An MLP autoencoder of `config`'s sizes, initialised as PyTorch
    /// initialises each layer, encoder first.
    ///
    /// # Panics
    /// If the config does not [`validate`](AutoencoderConfig::validate).
    pub fn new(config: &AutoencoderConfig, generator: &mut Generator) -> Self {
        if let Err(message) = config.validate("ae") {
            panic!("Autoencoder::new: {message}");
        }
        let widths: Vec<usize> = std::iter::once(config.input_size)
            .chain(config.hidden_sizes.iter().copied())
            .chain(std::iter::once(config.latent_size))
            .collect();
        let mut encoder = Sequential::new();
        for (i, pair) in widths.windows(2).enumerate() {
            encoder = encoder.add(Linear::new(pair[0], pair[1], true, generator));
            if i + 2 < widths.len() {
                encoder = encoder.add(Relu);
            }
        }
        let mut decoder = Sequential::new();
        for (i, pair) in widths.windows(2).rev().enumerate() {
            decoder = decoder.add(Linear::new(pair[1], pair[0], true, generator));
            decoder = if i + 2 < widths.len() {
                decoder.add(Relu)
            } else {
                decoder.add(Sigmoid)
            };
        }
        Autoencoder {
            encoder,
            decoder,
            config: config.clone(),
        }
    }

    /// The sizes.
    pub fn config(&self) -> &AutoencoderConfig {
        &self.config
    }

    /// The reconstruction `[B, input_size]` of inputs `[B, ...]`.
    #[track_caller]
    pub fn forward(&self, inputs: &Tensor<T>) -> Tensor<T> {
        self.reconstruct(inputs)
    }
}

impl<T: Float> LatentModel<T> for Autoencoder<T> {
    fn kind(&self) -> &'static str {
        "ae"
    }

    fn latent_size(&self) -> usize {
        self.config.latent_size
    }

    fn embed(&self, inputs: &Tensor<T>) -> Tensor<T> {
        self.encoder
            .forward(&flatten("Autoencoder", inputs, self.config.input_size))
    }

    fn decode(&self, codes: &Tensor<T>) -> Tensor<T> {
        check_codes("Autoencoder", codes, self.config.latent_size);
        self.decoder.forward(codes)
    }
}

/// The side of the feature maps at the bottleneck: 28 halved twice.
const BOTTLENECK_SIDE: usize = 7;

/// A convolutional autoencoder for 1x28x28 images: `encoder` (two
/// stride-2 3x3 convolutions with ReLU, 28 -> 14 -> 7, then a linear layer
/// to the code), `project` (a linear layer from the code back to the 7x7
/// feature maps, with ReLU) and `decoder` (two stride-2 transposed
/// convolutions, 7 -> 14 -> 28, ReLU between, a sigmoid at the end).
///
/// ```
/// use nabla::generative::{AutoencoderConfig, ConvAutoencoder, LatentModel};
/// use nabla::{Generator, Tensor};
/// let ae = ConvAutoencoder::<f32>::new(&AutoencoderConfig::conv(2), &mut Generator::new(0));
/// let x = Tensor::rand(&[4, 1, 28, 28], &mut Generator::new(1));
/// assert_eq!(ae.embed(&x).shape(), &[4, 2]);
/// assert_eq!(ae.forward(&x).shape(), &[4, 784]);
/// ```
#[derive(Module)]
pub struct ConvAutoencoder<T: Float = f32> {
    /// `Conv2d(1, c1, 3, 2, 1)`, ReLU, `Conv2d(c1, c2, 3, 2, 1)`, ReLU,
    /// flatten, `Linear(c2 * 49, latent)`.
    pub encoder: Sequential<T>,
    /// `Linear(latent, c2 * 49)`, followed by ReLU.
    pub project: Linear<T>,
    /// `ConvTranspose2d(c2, c1, 3, 2, 1, output_padding=1)`, ReLU,
    /// `ConvTranspose2d(c1, 1, 3, 2, 1, output_padding=1)`, sigmoid.
    pub decoder: Sequential<T>,
    #[module(skip)]
    config: AutoencoderConfig,
}

impl<T: Float> ConvAutoencoder<T> {
    /// A convolutional autoencoder with channels `hidden_sizes` and a code
    /// of `latent_size`, initialised as PyTorch initialises each layer.
    ///
    /// # Panics
    /// If the config does not [`validate`](AutoencoderConfig::validate)
    /// for `conv-ae`.
    pub fn new(config: &AutoencoderConfig, generator: &mut Generator) -> Self {
        if let Err(message) = config.validate("conv-ae") {
            panic!("ConvAutoencoder::new: {message}");
        }
        let (c1, c2, latent) = (config.hidden_sizes[0], config.hidden_sizes[1], config.latent_size);
        let down = Conv2dOptions::default().stride(2).padding(1);
        let up = down.output_padding(1);
        let flat = c2 * BOTTLENECK_SIDE * BOTTLENECK_SIDE;
        let encoder = Sequential::new()
            .add(Conv2d::with_options(1, c1, 3, down, true, generator))
            .add(Relu)
            .add(Conv2d::with_options(c1, c2, 3, down, true, generator))
            .add(Relu)
            .add(Flatten::default())
            .add(Linear::new(flat, latent, true, generator));
        let project = Linear::new(latent, flat, true, generator);
        let decoder = Sequential::new()
            .add(ConvTranspose2d::new(c2, c1, 3, up, true, generator))
            .add(Relu)
            .add(ConvTranspose2d::new(c1, 1, 3, up, true, generator))
            .add(Sigmoid);
        ConvAutoencoder {
            encoder,
            project,
            decoder,
            config: config.clone(),
        }
    }

    /// The sizes.
    pub fn config(&self) -> &AutoencoderConfig {
        &self.config
    }

    /// The reconstruction `[B, 784]` of images `[B, 1, 28, 28]` (or `[B, 784]`).
    #[track_caller]
    pub fn forward(&self, inputs: &Tensor<T>) -> Tensor<T> {
        self.reconstruct(inputs)
    }
}

impl<T: Float> LatentModel<T> for ConvAutoencoder<T> {
    fn kind(&self) -> &'static str {
        "conv-ae"
    }

    fn latent_size(&self) -> usize {
        self.config.latent_size
    }

    fn embed(&self, inputs: &Tensor<T>) -> Tensor<T> {
        let batch = flatten("ConvAutoencoder", inputs, 784).shape()[0];
        self.encoder.forward(&inputs.reshape(&[batch, 1, 28, 28]))
    }

    fn decode(&self, codes: &Tensor<T>) -> Tensor<T> {
        check_codes("ConvAutoencoder", codes, self.config.latent_size);
        let batch = codes.shape()[0];
        let maps = self.project.forward(codes).relu().reshape(&[
            batch,
            self.config.hidden_sizes[1],
            BOTTLENECK_SIDE,
            BOTTLENECK_SIDE,
        ]);
        self.decoder.forward(&maps).reshape(&[batch, 784])
    }
}
