//! [`ConvCoupling`]: RealNVP's affine coupling layer for images, with a
//! checkerboard or a channel mask.

use crate::element::Float;
use crate::nn::init::constant_;
use crate::nn::{Conv2d, Layer, Module, Relu, Sequential};
use crate::tensor::{Generator, Tensor};

/// Which half of an image `[B, C, H, W]` a [`ConvCoupling`] keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CouplingMask {
    /// Keeps the pixels `(i, j)` with `i + j + parity` even, in every
    /// channel: parity 0 keeps the pixel at (0, 0), parity 1 its neighbours.
    Checkerboard {
        /// 0 or 1.
        parity: usize,
    },
    /// Keeps the first half of the channels (parity 0) or the second
    /// (parity 1).
    Channels {
        /// 0 or 1.
        parity: usize,
    },
}

/// One affine coupling layer on images `[B, C, H, W]` (RealNVP, section
/// 3.4): the kept half `x1` passes through, the other half becomes
/// `x2 * exp(s) + t`, where `(s_raw, t)` are the two halves of the output
/// channels of `net(x1)` and `s = scale * tanh(s_raw)`, a learned per-channel
/// scale of a bounded log-scale. log |det| = the sum of `s` over the
/// changed half.
///
/// `net` is `Conv2d(c_in, hidden, 3, padding=1)`, ReLU,
/// `Conv2d(hidden, hidden, 1)`, ReLU, `Conv2d(hidden, 2 c_out, 3,
/// padding=1)` (Glow's coupling network: the 1x1 middle costs a ninth of a
/// 3x3 one), the last initialised to zero so that a new coupling is the
/// identity. With a checkerboard mask
/// `c_in = c_out = C` and `net` sees the image with the changed pixels
/// zeroed; with a channel mask `c_in = c_out = C / 2`. Names as PyTorch's:
/// `net.0.weight`, `net.2.weight`, `net.4.weight` (and biases), `scale`
/// (`[c_out, 1, 1]`, ones at first).
///
/// ```
/// use nabla::generative::flow::{ConvCoupling, CouplingMask};
/// use nabla::{Generator, Tensor};
/// let mut g = Generator::new(0);
/// let coupling = ConvCoupling::<f64>::new(4, 8, CouplingMask::Channels { parity: 1 }, &mut g);
/// let x = Tensor::randn(&[2, 4, 3, 3], &mut g);
/// let (y, log_det) = coupling.forward(&x);
/// // A new coupling is the identity: its last convolution is zero.
/// assert_eq!((y.to_vec(), log_det.to_vec()), (x.to_vec(), vec![0.0, 0.0]));
/// ```
#[derive(Module)]
pub struct ConvCoupling<T: Float = f32> {
    /// The network of the log-scale and translation.
    pub net: Sequential<T>,
    /// `[c_out, 1, 1]`: multiplies `tanh(s_raw)`.
    pub scale: Tensor<T>,
    #[module(skip)]
    mask: CouplingMask,
}

/// The checkerboard of an `h x w` image as values `[1, 1, h, w]`: 1 where a
/// pixel is kept, and its complement.
fn checkerboard<T: Float>(h: usize, w: usize, parity: usize) -> (Tensor<T>, Tensor<T>) {
    let board = |keep: bool| {
        let values = (0..h * w).map(|p| {
            let kept = (p / w + p % w + parity) % 2 == 0;
            if kept == keep {
                T::one()
            } else {
                T::zero()
            }
        });
        Tensor::from_vec(values.collect(), &[1, 1, h, w])
    };
    (board(true), board(false))
}

impl<T: Float> ConvCoupling<T> {
    /// A coupling of images with `channels` channels, its network `hidden`
    /// features wide, initialised as PyTorch initialises `nn.Conv2d` but
    /// for the last convolution (zeros).
    ///
    /// # Panics
    /// If a channel mask is asked of an odd number of channels, or the
    /// parity is not 0 or 1.
    pub fn new(channels: usize, hidden: usize, mask: CouplingMask, generator: &mut Generator) -> Self {
        let (CouplingMask::Checkerboard { parity } | CouplingMask::Channels { parity }) = mask;
        assert!(parity < 2, "ConvCoupling: parity must be 0 or 1, got {parity}");
        let width = match mask {
            CouplingMask::Checkerboard { .. } => channels,
            CouplingMask::Channels { .. } => {
                assert!(
                    channels % 2 == 0 && channels > 0,
                    "ConvCoupling: a channel mask needs an even number of channels, got {channels}"
                );
                channels / 2
            }
        };
        let last = Conv2d::new(hidden, 2 * width, 3, generator).padding(1);
        constant_(&last.weight, 0.0);
        if let Some(bias) = &last.bias {
            constant_(bias, 0.0);
        }
        let net = Sequential::new()
            .add(Conv2d::new(width, hidden, 3, generator).padding(1))
            .add(Relu)
            .add(Conv2d::new(hidden, hidden, 1, generator))
            .add(Relu)
            .add(last);
        ConvCoupling {
            net,
            scale: Tensor::ones(&[width, 1, 1]).requires_grad(),
            mask,
        }
    }

    /// The mask.
    pub fn mask(&self) -> CouplingMask {
        self.mask
    }

    /// `s = scale * tanh(s_raw)` and `t` from the kept half.
    fn scale_and_shift(&self, kept: &Tensor<T>) -> (Tensor<T>, Tensor<T>) {
        let out = self.net.forward(kept);
        let halves = out.chunk(2, 1);
        (&self.scale * &halves[0].tanh(), halves[1].clone())
    }

    /// The kept and changed channel halves of `x`, in that order.
    fn channel_halves(x: &Tensor<T>, parity: usize) -> (Tensor<T>, Tensor<T>) {
        let mut halves = x.chunk(2, 1);
        let second = halves.pop().expect("two halves");
        let first = halves.pop().expect("two halves");
        if parity == 0 {
            (first, second)
        } else {
            (second, first)
        }
    }

    /// The two channel halves back in their order.
    fn join(kept: &Tensor<T>, changed: &Tensor<T>, parity: usize) -> Tensor<T> {
        if parity == 0 {
            Tensor::cat(&[kept, changed], 1)
        } else {
            Tensor::cat(&[changed, kept], 1)
        }
    }

    /// `y` `[B, C, H, W]` and log |det dy/dx| `[B]` of `x` `[B, C, H, W]`.
    pub fn forward(&self, x: &Tensor<T>) -> (Tensor<T>, Tensor<T>) {
        match self.mask {
            CouplingMask::Checkerboard { parity } => {
                let (keep, change) = checkerboard::<T>(x.shape()[2], x.shape()[3], parity);
                let kept = x * &keep;
                let (s, t) = self.scale_and_shift(&kept);
                let (s, t) = (&s * &change, &t * &change);
                let y = &kept + &(&change * &(&(x * &s.exp()) + &t));
                (y, s.sum_dims(&[1, 2, 3], false))
            }
            CouplingMask::Channels { parity } => {
                let (kept, changed) = Self::channel_halves(x, parity);
                let (s, t) = self.scale_and_shift(&kept);
                let y = &(&changed * &s.exp()) + &t;
                (Self::join(&kept, &y, parity), s.sum_dims(&[1, 2, 3], false))
            }
        }
    }

    /// The `x` whose [`forward`](Self::forward) is `y`.
    pub fn inverse(&self, y: &Tensor<T>) -> Tensor<T> {
        match self.mask {
            CouplingMask::Checkerboard { parity } => {
                let (keep, change) = checkerboard::<T>(y.shape()[2], y.shape()[3], parity);
                let kept = y * &keep;
                let (s, t) = self.scale_and_shift(&kept);
                let (s, t) = (&s * &change, &t * &change);
                &kept + &(&change * &(&(y - &t) * &s.neg().exp()))
            }
            CouplingMask::Channels { parity } => {
                let (kept, changed) = Self::channel_halves(y, parity);
                let (s, t) = self.scale_and_shift(&kept);
                let x = &(&changed - &t) * &s.neg().exp();
                Self::join(&kept, &x, parity)
            }
        }
    }
}
