//! The DCGAN generator and discriminator at 28x28 (MNIST), with PyTorch's
//! sub-module names, and the sizes that a checkpoint records.

use serde::{Deserialize, Serialize};

use crate::element::Float;
use crate::nn::init::{constant_, normal_};
use crate::nn::{BatchNorm2d, Conv2d, ConvTranspose2d, Layer, Linear, Module};
use crate::ops::Conv2dOptions;
use crate::tensor::{Generator, Tensor};

/// The side of the feature maps the generator starts from and the
/// discriminator ends with: 28 / 2 / 2.
const BASE_SIDE: usize = 7;
/// The side of the images: MNIST's 28.
pub const IMAGE_SIDE: usize = 28;

/// The sizes of a GAN: the latent vector's length and the width of both
/// networks. [`GanConfig::default`] is the DCGAN of the course (latent 100,
/// 64 feature maps: the generator goes 128x7x7 -> 64x14x14 -> 1x28x28, the
/// discriminator 1x28x28 -> 64x14x14 -> 128x7x7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GanConfig {
    /// The length of the noise vector z (100).
    pub latent_dim: usize,
    /// The channels of the 14x14 layer of both networks (64); the 7x7 layer
    /// has twice as many.
    pub feature_maps: usize,
}

impl Default for GanConfig {
    fn default() -> Self {
        GanConfig {
            latent_dim: 100,
            feature_maps: 64,
        }
    }
}

impl GanConfig {
    /// Checks that every size is at least 1.
    ///
    /// # Errors
    /// A message naming the size that is 0.
    pub fn validate(&self) -> Result<(), String> {
        match (self.latent_dim, self.feature_maps) {
            (0, _) => Err("latent_dim must be at least 1".into()),
            (_, 0) => Err("feature_maps must be at least 1".into()),
            _ => Ok(()),
        }
    }
}

/// DCGAN's initialisation (Radford et al., 2016, section 4): every
/// convolution and linear weight from N(0, 0.02), BatchNorm scales from
/// N(1, 0.02), biases 0 — as PyTorch's `examples/dcgan` `weights_init`.
fn dcgan_init<T: Float>(module: &dyn Module<T>, generator: &mut Generator) {
    for (name, tensor) in module.named_parameters() {
        let is_norm = name
            .split('.')
            .next()
            .is_some_and(|layer| layer.starts_with("bn"));
        match (name.ends_with("weight"), is_norm) {
            (true, false) => normal_(&tensor, 0.0, 0.02, generator),
            (true, true) => normal_(&tensor, 1.0, 0.02, generator),
            (false, _) => constant_(&tensor, 0.0),
        }
    }
}

/// The options of every strided layer: kernel 4, stride 2, padding 1, which
/// halves (convolution) or doubles (transposed convolution) the side.
fn halving() -> Conv2dOptions {
    Conv2dOptions::default().stride(2).padding(1)
}

/// The DCGAN generator: `z [N, latent_dim]` to images `[N, 1, 28, 28]` in
/// (-1, 1), as this PyTorch module (widths for the default config):
///
/// ```text
/// fc      = Linear(100, 128 * 7 * 7)            -> view [N, 128, 7, 7]
/// bn1     = BatchNorm2d(128), ReLU
/// deconv1 = ConvTranspose2d(128, 64, 4, 2, 1)   -> [N, 64, 14, 14]
/// bn2     = BatchNorm2d(64), ReLU
/// deconv2 = ConvTranspose2d(64, 1, 4, 2, 1)     -> [N, 1, 28, 28], tanh
/// ```
///
/// ```
/// use nabla::generative::{DcganGenerator, GanConfig};
/// use nabla::nn::Module;
/// use nabla::{Generator, Tensor};
/// let g = DcganGenerator::<f32>::new(&GanConfig::default(), &mut Generator::new(0));
/// let images = g.forward(&Tensor::randn(&[2, 100], &mut Generator::new(1)));
/// assert_eq!(images.shape(), &[2, 1, 28, 28]);
/// assert!(images.to_vec().iter().all(|v| v.abs() < 1.0));
/// let names: Vec<String> = g.state_dict().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names[..3], ["fc.weight", "fc.bias", "bn1.weight"]);
/// ```
#[derive(Module)]
pub struct DcganGenerator<T: Float = f32> {
    /// `Linear(latent_dim, 2 * feature_maps * 7 * 7)`.
    pub fc: Linear<T>,
    /// `BatchNorm2d(2 * feature_maps)`.
    pub bn1: BatchNorm2d<T>,
    /// `ConvTranspose2d(2 * feature_maps, feature_maps, 4, 2, 1)`.
    pub deconv1: ConvTranspose2d<T>,
    /// `BatchNorm2d(feature_maps)`.
    pub bn2: BatchNorm2d<T>,
    /// `ConvTranspose2d(feature_maps, 1, 4, 2, 1)`.
    pub deconv2: ConvTranspose2d<T>,
    #[module(skip)]
    config: GanConfig,
}

impl<T: Float> DcganGenerator<T> {
    /// A generator of `config`'s sizes with DCGAN's initialisation.
    ///
    /// # Panics
    /// If a size of `config` is 0.
    pub fn new(config: &GanConfig, generator: &mut Generator) -> Self {
        if let Err(message) = config.validate() {
            panic!("DcganGenerator: {message}");
        }
        let f = config.feature_maps;
        let model = DcganGenerator {
            fc: Linear::new(config.latent_dim, 2 * f * BASE_SIDE * BASE_SIDE, true, generator),
            bn1: BatchNorm2d::new(2 * f),
            deconv1: ConvTranspose2d::new(2 * f, f, 4, halving(), true, generator),
            bn2: BatchNorm2d::new(f),
            deconv2: ConvTranspose2d::new(f, 1, 4, halving(), true, generator),
            config: config.clone(),
        };
        dcgan_init(&model, generator);
        model
    }

    /// The sizes it was built with.
    pub fn config(&self) -> &GanConfig {
        &self.config
    }

    /// Images `[N, 1, 28, 28]` in (-1, 1) from noise `z [N, latent_dim]`.
    ///
    /// # Panics
    /// If `z` is not `[N, latent_dim]`.
    pub fn forward(&self, z: &Tensor<T>) -> Tensor<T> {
        assert!(
            z.ndim() == 2 && z.shape()[1] == self.config.latent_dim,
            "DcganGenerator: noise of shape {:?}, expected [N, {}]",
            z.shape(),
            self.config.latent_dim
        );
        let n = z.shape()[0];
        let h = self
            .fc
            .forward(z)
            .reshape(&[n, 2 * self.config.feature_maps, BASE_SIDE, BASE_SIDE]);
        let h = self.bn1.forward(&h).relu();
        let h = self.bn2.forward(&self.deconv1.forward(&h)).relu();
        self.deconv2.forward(&h).tanh()
    }
}

/// The DCGAN discriminator (with BatchNorm) or the WGAN-GP critic (without):
/// images `[N, 1, 28, 28]` to one logit (or critic value) each, `[N, 1]`,
/// as this PyTorch module (widths for the default config):
///
/// ```text
/// conv1 = Conv2d(1, 64, 4, 2, 1), LeakyReLU(0.2)   -> [N, 64, 14, 14]
/// conv2 = Conv2d(64, 128, 4, 2, 1)                  -> [N, 128, 7, 7]
/// bn2   = BatchNorm2d(128) (DCGAN only), LeakyReLU(0.2)
/// fc    = Linear(128 * 7 * 7, 1)
/// ```
///
/// The critic has no BatchNorm because the gradient penalty of WGAN-GP is a
/// penalty on each example's gradient, and BatchNorm makes each output
/// depend on the whole batch (Gulrajani et al., 2017, section 4: "we omit
/// batch normalization in the critic"; their MNIST critic has no
/// normalisation at all, which is what this one does).
///
/// ```
/// use nabla::generative::{DcganDiscriminator, GanConfig};
/// use nabla::nn::Module;
/// use nabla::{Generator, Tensor};
/// let config = GanConfig::default();
/// let d = DcganDiscriminator::<f32>::new(&config, true, &mut Generator::new(0));
/// assert_eq!(d.forward(&Tensor::zeros(&[3, 1, 28, 28])).shape(), &[3, 1]);
/// let critic = DcganDiscriminator::<f32>::new(&config, false, &mut Generator::new(0));
/// assert!(d.state_dict().iter().any(|(n, _)| n == "bn2.running_var"));
/// assert!(!critic.state_dict().iter().any(|(n, _)| n.starts_with("bn2")));
/// ```
#[derive(Module)]
pub struct DcganDiscriminator<T: Float = f32> {
    /// `Conv2d(1, feature_maps, 4, 2, 1)`.
    pub conv1: Conv2d<T>,
    /// `Conv2d(feature_maps, 2 * feature_maps, 4, 2, 1)`.
    pub conv2: Conv2d<T>,
    /// `BatchNorm2d(2 * feature_maps)`, absent in a WGAN-GP critic.
    pub bn2: Option<BatchNorm2d<T>>,
    /// `Linear(2 * feature_maps * 7 * 7, 1)`.
    pub fc: Linear<T>,
}

/// LeakyReLU's slope for negative inputs in the discriminator (DCGAN's 0.2).
const LEAKY_SLOPE: f64 = 0.2;

impl<T: Float> DcganDiscriminator<T> {
    /// A discriminator of `config`'s sizes, with BatchNorm after `conv2` or
    /// (`batch_norm` false, for WGAN-GP) without, with DCGAN's
    /// initialisation.
    ///
    /// # Panics
    /// If a size of `config` is 0.
    pub fn new(config: &GanConfig, batch_norm: bool, generator: &mut Generator) -> Self {
        if let Err(message) = config.validate() {
            panic!("DcganDiscriminator: {message}");
        }
        let f = config.feature_maps;
        let model = DcganDiscriminator {
            conv1: Conv2d::with_options(1, f, 4, halving(), true, generator),
            conv2: Conv2d::with_options(f, 2 * f, 4, halving(), true, generator),
            bn2: batch_norm.then(|| BatchNorm2d::new(2 * f)),
            fc: Linear::new(2 * f * BASE_SIDE * BASE_SIDE, 1, true, generator),
        };
        dcgan_init(&model, generator);
        model
    }

    /// One logit per image, `[N, 1]`, from images `[N, 1, 28, 28]`.
    ///
    /// # Panics
    /// If `images` is not `[N, 1, 28, 28]`.
    pub fn forward(&self, images: &Tensor<T>) -> Tensor<T> {
        assert!(
            images.ndim() == 4 && images.shape()[1..] == [1, IMAGE_SIDE, IMAGE_SIDE],
            "DcganDiscriminator: images of shape {:?}, expected [N, 1, 28, 28]",
            images.shape()
        );
        let slope = T::from_f64(LEAKY_SLOPE);
        let h = self.conv1.forward(images).leaky_relu(slope);
        let h = self.conv2.forward(&h);
        let h = match &self.bn2 {
            Some(bn) => bn.forward(&h),
            None => h,
        };
        self.fc.forward(&h.leaky_relu(slope).flatten(1, -1))
    }
}
