//! [`MultiScaleRealNvp`]: RealNVP's multi-scale architecture for images:
//! checkerboard couplings, a squeeze, channel couplings and half the
//! channels factored out, per scale; checkerboard couplings at the end.

use serde::{Deserialize, Serialize};

use super::base::standard_normal_log_prob;
use super::conv_coupling::{ConvCoupling, CouplingMask};
use super::logit::{from_logit, to_logit};
use crate::autograd::no_grad;
use crate::element::Float;
use crate::nn::Module;
use crate::tensor::{Generator, Tensor};

/// The sizes of a [`MultiScaleRealNvp`]; [`MultiScaleConfig::mnist`] is the
/// one trained on MNIST here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MultiScaleConfig {
    /// Channels of an image.
    pub channels: usize,
    /// Height of an image, divisible by `2^scales`.
    pub height: usize,
    /// Width of an image, divisible by `2^scales`.
    pub width: usize,
    /// Features of the hidden convolutions of each coupling's network.
    pub hidden: usize,
    /// Scales that squeeze the image and factor half its channels out.
    pub scales: usize,
    /// Checkerboard couplings before each squeeze, and channel couplings
    /// after it (3 in RealNVP).
    pub couplings: usize,
    /// Checkerboard couplings after the last scale (4 in RealNVP).
    pub final_couplings: usize,
    /// The margin of the logit transform ([`to_logit`]).
    pub alpha: f64,
}

impl MultiScaleConfig {
    /// The flow trained on MNIST here: one scale (3 checkerboard couplings
    /// on 1x28x28, a squeeze to 4x14x14, 3 channel couplings, 2 channels
    /// factored out), then 4 checkerboard couplings on 2x14x14; networks of
    /// 32 features; alpha = 0.05, RealNVP's.
    pub fn mnist() -> Self {
        MultiScaleConfig {
            channels: 1,
            height: 28,
            width: 28,
            hidden: 32,
            scales: 1,
            couplings: 3,
            final_couplings: 4,
            alpha: 0.05,
        }
    }

    /// Values per image.
    pub fn dimensions(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Checks the sizes make a flow.
    ///
    /// # Errors
    /// A message naming the size that does not.
    pub fn validate(&self) -> Result<(), String> {
        if [self.channels, self.height, self.width, self.hidden].contains(&0) {
            return Err("channels, height, width and hidden must be at least 1".into());
        }
        if self.scales >= usize::BITS as usize {
            return Err(format!("{} scales are too many", self.scales));
        }
        let factor = 1usize << self.scales;
        if self.height % factor != 0 || self.width % factor != 0 {
            return Err(format!(
                "a {}x{} image cannot be squeezed {} times (height and width must be divisible by {factor})",
                self.height, self.width, self.scales
            ));
        }
        if !(0.0..0.5).contains(&self.alpha) {
            return Err(format!("alpha must be in [0, 0.5), got {}", self.alpha));
        }
        if self.couplings + self.final_couplings == 0 {
            return Err("the flow needs at least one coupling".into());
        }
        Ok(())
    }
}

/// One scale of a [`MultiScaleRealNvp`]: checkerboard couplings, a
/// squeeze, channel couplings, then half the channels leave as latents.
#[derive(Module)]
pub struct ScaleBlock<T: Float = f32> {
    /// Before the squeeze, masks alternating from parity 0.
    pub checkerboard: Vec<ConvCoupling<T>>,
    /// After the squeeze, masks alternating from parity 0.
    pub channelwise: Vec<ConvCoupling<T>>,
}

/// `[B, C, H, W]` to `[B, 4C, H/2, W/2]`: each 2x2 patch of a channel
/// becomes 4 channels (channel `4c + 2i + j` holds offset `(i, j)` of
/// channel `c`), as RealNVP's squeeze and PyTorch's
/// `x.view(b, c, h//2, 2, w//2, 2).permute(0, 1, 3, 5, 2, 4)`.
///
/// ```
/// use nabla::generative::flow::{squeeze, unsqueeze};
/// use nabla::Tensor;
/// let x = Tensor::<f32>::arange(0.0, 16.0, 1.0).reshape(&[1, 1, 4, 4]);
/// let s = squeeze(&x);
/// assert_eq!(s.shape(), &[1, 4, 2, 2]);
/// assert_eq!(s.select(1, 1).to_vec(), vec![1.0, 3.0, 9.0, 11.0]); // offset (0, 1)
/// assert_eq!(unsqueeze(&s).to_vec(), x.to_vec());
/// ```
pub fn squeeze<T: Float>(x: &Tensor<T>) -> Tensor<T> {
    let &[b, c, h, w] = x.shape() else {
        panic!("squeeze: expected [B, C, H, W], got {:?}", x.shape());
    };
    assert!(
        h % 2 == 0 && w % 2 == 0,
        "squeeze: height and width must be even, got {h}x{w}"
    );
    x.reshape(&[b, c, h / 2, 2, w / 2, 2])
        .permute(&[0, 1, 3, 5, 2, 4])
        .reshape(&[b, 4 * c, h / 2, w / 2])
}

/// The inverse of [`squeeze`]: `[B, 4C, H, W]` to `[B, C, 2H, 2W]`.
pub fn unsqueeze<T: Float>(x: &Tensor<T>) -> Tensor<T> {
    let &[b, c4, h, w] = x.shape() else {
        panic!("unsqueeze: expected [B, C, H, W], got {:?}", x.shape());
    };
    assert!(
        c4 % 4 == 0,
        "unsqueeze: channels must be a multiple of 4, got {c4}"
    );
    x.reshape(&[b, c4 / 4, 2, 2, h, w])
        .permute(&[0, 1, 4, 2, 5, 3])
        .reshape(&[b, c4 / 4, 2 * h, 2 * w])
}

/// RealNVP's multi-scale flow on images `[B, C, H, W]` with values in
/// [0, 1] (dequantised pixels, see [`dequantize`](super::dequantize)):
/// the logit transform ([`to_logit`]), then per scale
/// `couplings` checkerboard [`ConvCoupling`]s, a [`squeeze`], `couplings`
/// channel couplings, and the second half of the channels factored out as
/// latents; then `final_couplings` checkerboard couplings on what is left.
/// The latents of every scale, flattened and concatenated, are `z` `[B, D]`,
/// standard normal under the model; log-determinants (the logit's
/// included) add up, so `log_prob` is the exact density of `x` in [0, 1]^D
/// and [`bits_per_dim`](Self::bits_per_dim) the usual figure.
///
/// Names as a PyTorch module with `scales` (a `ModuleList` of modules with
/// `checkerboard` and `channelwise` `ModuleList`s) and `final_couplings`:
/// `scales.0.checkerboard.0.net.0.weight`, ..., `final_couplings.3.scale`.
///
/// ```
/// use nabla::generative::flow::{MultiScaleConfig, MultiScaleRealNvp};
/// use nabla::{Generator, Tensor};
/// let config = MultiScaleConfig { height: 4, width: 4, hidden: 4, couplings: 1, final_couplings: 1, ..MultiScaleConfig::mnist() };
/// let flow = MultiScaleRealNvp::<f64>::new(&config, &mut Generator::new(0));
/// let x = Tensor::rand(&[2, 1, 4, 4], &mut Generator::new(1));
/// let (z, _) = flow.forward(&x);
/// assert_eq!(z.shape(), &[2, 16]);
/// let back = flow.inverse(&z);
/// assert!(back.to_vec().iter().zip(x.to_vec()).all(|(a, b)| (a - b).abs() < 1e-10));
/// assert_eq!(flow.sample(3, &mut Generator::new(2)).shape(), &[3, 1, 4, 4]);
/// ```
#[derive(Module)]
pub struct MultiScaleRealNvp<T: Float = f32> {
    /// The scales, from the full image down.
    pub scales: Vec<ScaleBlock<T>>,
    /// The checkerboard couplings after the last scale.
    pub final_couplings: Vec<ConvCoupling<T>>,
    #[module(skip)]
    config: MultiScaleConfig,
}

/// Checkerboard or channel couplings with masks alternating from parity 0.
fn couplings<T: Float>(
    count: usize,
    channels: usize,
    hidden: usize,
    mask: fn(usize) -> CouplingMask,
    generator: &mut Generator,
) -> Vec<ConvCoupling<T>> {
    (0..count)
        .map(|k| ConvCoupling::new(channels, hidden, mask(k % 2), generator))
        .collect()
}

fn checkerboard_mask(parity: usize) -> CouplingMask {
    CouplingMask::Checkerboard { parity }
}

fn channel_mask(parity: usize) -> CouplingMask {
    CouplingMask::Channels { parity }
}

/// Applies `couplings` in order, adding their log-determinants to `log_det`.
fn through<T: Float>(couplings: &[ConvCoupling<T>], x: Tensor<T>, log_det: &mut Tensor<T>) -> Tensor<T> {
    couplings.iter().fold(x, |x, coupling| {
        let (y, ld) = coupling.forward(&x);
        *log_det = &*log_det + &ld;
        y
    })
}

/// Inverts `couplings`, last first.
fn back_through<T: Float>(couplings: &[ConvCoupling<T>], y: Tensor<T>) -> Tensor<T> {
    couplings.iter().rev().fold(y, |y, coupling| coupling.inverse(&y))
}

impl<T: Float> MultiScaleRealNvp<T> {
    /// A new flow of `config`, initialised as PyTorch initialises
    /// `nn.Conv2d`, each coupling's last convolution at zero.
    ///
    /// # Panics
    /// If the config does not validate.
    pub fn new(config: &MultiScaleConfig, generator: &mut Generator) -> Self {
        if let Err(message) = config.validate() {
            panic!("MultiScaleRealNvp: {message}");
        }
        let (hidden, n) = (config.hidden, config.couplings);
        let mut channels = config.channels;
        let mut scales = Vec::with_capacity(config.scales);
        for _ in 0..config.scales {
            let checkerboard = couplings(n, channels, hidden, checkerboard_mask, generator);
            let channelwise = couplings(n, 4 * channels, hidden, channel_mask, generator);
            scales.push(ScaleBlock {
                checkerboard,
                channelwise,
            });
            channels *= 2;
        }
        let final_couplings = couplings(
            config.final_couplings,
            channels,
            hidden,
            checkerboard_mask,
            generator,
        );
        MultiScaleRealNvp {
            scales,
            final_couplings,
            config: config.clone(),
        }
    }

    /// The sizes.
    pub fn config(&self) -> &MultiScaleConfig {
        &self.config
    }

    /// The shapes `[C, H, W]` of the latents of each scale, then of what
    /// the final couplings leave.
    fn latent_shapes(&self) -> Vec<[usize; 3]> {
        let (mut c, mut h, mut w) = (self.config.channels, self.config.height, self.config.width);
        let mut shapes = Vec::with_capacity(self.config.scales + 1);
        for _ in 0..self.config.scales {
            (c, h, w) = (2 * c, h / 2, w / 2);
            shapes.push([c, h, w]);
        }
        shapes.push([c, h, w]);
        shapes
    }

    /// The latents `z` `[B, D]` of images `x` `[B, C, H, W]` in [0, 1], and
    /// log |det dz/dx| `[B]`, the logit transform's included.
    ///
    /// # Panics
    /// If `x` is not `[B, channels, height, width]`.
    pub fn forward(&self, x: &Tensor<T>) -> (Tensor<T>, Tensor<T>) {
        let c = &self.config;
        assert!(
            x.shape().len() == 4 && x.shape()[1..] == [c.channels, c.height, c.width],
            "MultiScaleRealNvp: input of shape {:?} is not [batch, {}, {}, {}]",
            x.shape(),
            c.channels,
            c.height,
            c.width
        );
        let (mut h, mut log_det) = to_logit(x, c.alpha);
        let mut latents = Vec::with_capacity(self.scales.len() + 1);
        for scale in &self.scales {
            h = through(&scale.checkerboard, h, &mut log_det);
            h = through(&scale.channelwise, squeeze(&h), &mut log_det);
            let mut halves = h.chunk(2, 1);
            latents.push(halves.pop().expect("two halves").flatten(1, -1));
            h = halves.pop().expect("two halves");
        }
        h = through(&self.final_couplings, h, &mut log_det);
        latents.push(h.flatten(1, -1));
        (Tensor::cat(&latents, 1), log_det)
    }

    /// The images `[B, C, H, W]` in [0, 1] of latents `z` `[B, D]`.
    ///
    /// # Panics
    /// If `z` is not `[B, channels * height * width]`.
    pub fn inverse(&self, z: &Tensor<T>) -> Tensor<T> {
        let d = self.config.dimensions();
        assert!(
            z.ndim() == 2 && z.shape()[1] == d,
            "MultiScaleRealNvp: latents of shape {:?} are not [batch, {d}]",
            z.shape()
        );
        let b = z.shape()[0];
        let shapes = self.latent_shapes();
        let sizes: Vec<usize> = shapes.iter().map(|s| s.iter().product()).collect();
        let pieces = z.split_with_sizes(&sizes, 1);
        let as_image = |piece: &Tensor<T>, s: &[usize; 3]| piece.reshape(&[b, s[0], s[1], s[2]]);
        let last = shapes.len() - 1;
        let mut h = back_through(&self.final_couplings, as_image(&pieces[last], &shapes[last]));
        for (k, scale) in self.scales.iter().enumerate().rev() {
            h = Tensor::cat(&[&h, &as_image(&pieces[k], &shapes[k])], 1);
            h = unsqueeze(&back_through(&scale.channelwise, h));
            h = back_through(&scale.checkerboard, h);
        }
        from_logit(&h, self.config.alpha)
    }

    /// The exact log-density (nats) of each image of `x` `[B, C, H, W]` in
    /// [0, 1], `[B]`.
    pub fn log_prob(&self, x: &Tensor<T>) -> Tensor<T> {
        let (z, log_det) = self.forward(x);
        &standard_normal_log_prob(&z) + &log_det
    }

    /// Bits per dimension of each dequantised 8-bit image of `x` `[B, C,
    /// H, W]` (see [`dequantize`](super::dequantize)), `[B]`:
    /// `(-log p(x) / D + ln 256) / ln 2`.
    pub fn bits_per_dim(&self, x: &Tensor<T>) -> Tensor<T> {
        let d = self.config.dimensions() as f64;
        self.log_prob(x)
            .mul_scalar(T::from_f64(-1.0 / (d * std::f64::consts::LN_2)))
            .add_scalar(T::from_f64(8.0))
    }

    /// `n` images `[n, C, H, W]` drawn from the flow (nothing recorded).
    pub fn sample(&self, n: usize, generator: &mut Generator) -> Tensor<T> {
        self.sample_with_temperature(n, 1.0, generator)
    }

    /// `n` images drawn with the latents' standard deviation `temperature`
    /// instead of 1 (below 1: smoother, more typical digits, as Glow shows
    /// its samples), clamped to [0, 1].
    pub fn sample_with_temperature(
        &self,
        n: usize,
        temperature: f64,
        generator: &mut Generator,
    ) -> Tensor<T> {
        let z = Tensor::<T>::randn(&[n, self.config.dimensions()], generator)
            .mul_scalar(T::from_f64(temperature));
        no_grad(|| self.inverse(&z)).clamp(Some(T::zero()), Some(T::one()))
    }
}
