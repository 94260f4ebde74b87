//! VGG (Simonyan and Zisserman, 2014) without batch normalisation, as
//! torchvision's `vgg11`, `vgg13`, `vgg16` and `vgg19`: the same
//! `features.{i}` / `classifier.{i}` numbering and initialisation, so
//! torchvision's weights load as they are.

use super::resnet::relu_conv;
use crate::element::Float;
use crate::nn::init::{constant_, normal_};
use crate::nn::{
    AdaptiveAvgPool2d, Dropout, Flatten, Layer, Linear, MaxPool2d, Module, Relu, Sequential, Summarize,
};
use crate::ops::Conv2dOptions;
use crate::tensor::{Generator, Tensor};

/// The channels of VGG's five stages of 3x3 convolutions.
const STAGE_CHANNELS: [usize; 5] = [64, 128, 256, 512, 512];

/// torchvision's `VGG` (without BatchNorm) for `[N, 3, H, W]` images (224x224
/// for ImageNet; any size of at least 32x32 works, the pooling before the
/// classifier is adaptive):
///
/// ```text
/// features: five stages of (Conv2d(3x3, padding 1), ReLU) x k, MaxPool2d(2)
///           with 64, 128, 256, 512, 512 channels; torchvision's numbering
///           (vgg16: convolutions at 0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
/// avgpool = AdaptiveAvgPool2d((7, 7)), flatten to 25088
/// classifier: 0 Linear(25088, 4096), 1 ReLU, 2 Dropout(0.5),
///             3 Linear(4096, 4096),  4 ReLU, 5 Dropout(0.5),
///             6 Linear(4096, num_classes)
/// ```
///
/// Build it with [`vgg16`] or [`vgg`]. The fields are public: a new last
/// layer for transfer learning replaces `classifier`.
#[derive(Module)]
#[module(custom_summary)]
pub struct Vgg<T: Float = f32> {
    /// The convolutional stages.
    pub features: Sequential<T>,
    /// Adaptive average pooling to 7x7.
    pub avgpool: AdaptiveAvgPool2d,
    /// `[N, 512, 7, 7]` to `[N, 25088]` (torch.flatten in torchvision's forward).
    pub flatten: Flatten,
    /// The three linear layers with their ReLUs and dropouts.
    pub classifier: Sequential<T>,
}

impl<T: Float> Vgg<T> {
    /// The `[N, 25088]` features before the classifier (`features`, then
    /// the 7x7 pooling, flattened).
    pub fn pooled_features(&self, input: &Tensor<T>) -> Tensor<T> {
        let s = input.shape();
        assert!(
            s.len() == 4 && s[1] == 3,
            "VGG: expects images [N, 3, H, W], got {s:?}"
        );
        let pooled = self.avgpool.forward(&self.features.forward(input));
        self.flatten.forward(&pooled)
    }
}

impl<T: Float> Summarize<T> for Vgg<T> {
    fn sequential_layers(&self) -> Option<Vec<(&str, &dyn Layer<T>)>> {
        Some(vec![
            ("features", &self.features),
            ("avgpool", &self.avgpool),
            ("flatten", &self.flatten),
            ("classifier", &self.classifier),
        ])
    }
}

impl<T: Float> Layer<T> for Vgg<T> {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        self.classifier.forward(&self.pooled_features(input))
    }
}

/// A `Linear` initialised as torchvision's VGG: weight N(0, 0.01), bias 0.
fn vgg_linear<T: Float>(inputs: usize, outputs: usize, generator: &mut Generator) -> Linear<T> {
    let layer = Linear::new(inputs, outputs, true, generator);
    normal_(&layer.weight, 0.0, 0.01, generator);
    if let Some(b) = &layer.bias {
        constant_(b, 0.0);
    }
    layer
}

/// A VGG with `convs_per_stage[i]` 3x3 convolutions in stage `i` (`[1, 1,
/// 2, 2, 2]` is VGG-11, `[2, 2, 2, 2, 2]` VGG-13, `[2, 2, 3, 3, 3]`
/// VGG-16, `[2, 2, 4, 4, 4]` VGG-19), initialised as torchvision:
/// Kaiming-normal (fan-out, ReLU) convolutions with zero bias, linear
/// weights N(0, 0.01) with zero bias. The dropouts are seeded from
/// `generator`.
///
/// ```no_run
/// use nabla::nn::{zoo, Layer, Module};
/// use nabla::{Generator, Tensor};
/// // 129 million parameters, whatever the stages: the first linear layer is 25088x4096.
/// let mut model = zoo::vgg::<f32>([1, 1, 1, 1, 1], 10, &mut Generator::new(0));
/// model.eval();
/// assert_eq!(model.forward(&Tensor::zeros(&[1, 3, 32, 32])).shape(), &[1, 10]);
/// assert_eq!(model.features.len(), 15); // five (conv, ReLU, pool)
/// ```
pub fn vgg<T: Float>(convs_per_stage: [usize; 5], num_classes: usize, generator: &mut Generator) -> Vgg<T> {
    let mut features = Sequential::new();
    let mut in_channels = 3;
    let three = Conv2dOptions::default().padding(1);
    for (convs, out_channels) in convs_per_stage.into_iter().zip(STAGE_CHANNELS) {
        for _ in 0..convs {
            features = features
                .add(relu_conv(in_channels, out_channels, 3, three, true, generator))
                .add(Relu);
            in_channels = out_channels;
        }
        features = features.add(MaxPool2d::new(2));
    }
    let mut dropout_seed = || generator.below(usize::MAX) as u64;
    let (first, second) = (dropout_seed(), dropout_seed());
    let classifier = Sequential::new()
        .add(vgg_linear(512 * 7 * 7, 4096, generator))
        .add(Relu)
        .add(Dropout::new(0.5, first))
        .add(vgg_linear(4096, 4096, generator))
        .add(Relu)
        .add(Dropout::new(0.5, second))
        .add(vgg_linear(4096, num_classes, generator));
    Vgg {
        features,
        avgpool: AdaptiveAvgPool2d::new(7),
        flatten: Flatten::default(),
        classifier,
    }
}

/// torchvision's `vgg16(num_classes=...)` (configuration D, no
/// BatchNorm): 138,357,544 parameters with 1,000 classes (553 MB in
/// `f32`), names `features.{0,2,5,7,10,12,14,17,19,21,24,26,28}.{weight,bias}`
/// and `classifier.{0,3,6}.{weight,bias}`.
///
/// ```no_run
/// use nabla::nn::{zoo, Module};
/// use nabla::Generator;
/// let model = zoo::vgg16::<f32>(1000, &mut Generator::new(0));
/// assert_eq!(model.num_parameters(), 138_357_544);
/// ```
pub fn vgg16<T: Float>(num_classes: usize, generator: &mut Generator) -> Vgg<T> {
    vgg([2, 2, 3, 3, 3], num_classes, generator)
}
