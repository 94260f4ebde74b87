//! Ready-made models: LeNet-5 (section 5.4 of the course) in its modern and
//! 1998 forms and with batch normalisation, the MNIST model of Madry et al.'s
//! robustness challenge, a small VGG-style CNN for
//! 3x32x32 images, torchvision's ImageNet classifiers ResNet-18/34
//! ([`resnet18`], [`resnet`]), VGG-16 ([`vgg16`], [`vgg`]) and
//! EfficientNet-Lite0 ([`efficientnet_lite0`], with ImageNet weights in
//! `data/pretrained/`), and two
//! character-level language models: an LSTM ([`char_lstm`]) and nanoGPT's
//! transformer ([`char_gpt`]).
//!
//! Parameter names follow the PyTorch reference definitions, so weights move
//! both ways through safetensors checkpoints.

use super::{
    AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, Padding,
    Relu, Sequential, Tanh,
};
use crate::element::Float;
use crate::tensor::Generator;

mod char_gpt;
mod char_lstm;
mod efficientnet;
mod resnet;
mod vgg;

pub use char_gpt::{
    char_gpt, CausalSelfAttention, CharGpt, CharGptCache, CharGptConfig, FrozenCache, FrozenCharGpt,
    GptBlock, GptMlp, GptTransformer,
};
pub use char_lstm::{char_lstm, CharLstm, CharLstmConfig};
pub use efficientnet::{
    efficientnet_lite0, efficientnet_lite0_with, EfficientNetLite, EfficientNetLiteConfig, MbConvBlock,
    EFFICIENTNET_LITE0_FEATURES, EFFICIENTNET_LITE0_IMAGE_SIZE,
};
pub use resnet::{resnet, resnet18, resnet34, BasicBlock, ResNet};
pub use vgg::{vgg, vgg16, Vgg};

/// LeNet-5 as this PyTorch reference, for `[N, 1, 28, 28]` inputs and 10
/// classes (61,706 parameters):
///
/// ```text
/// conv1 = Conv2d(1, 6, 5, padding=2), ReLU, MaxPool2d(2)
/// conv2 = Conv2d(6, 16, 5),           ReLU, MaxPool2d(2)
/// flatten to 400
/// fc1 = Linear(400, 120), ReLU
/// fc2 = Linear(120, 84),  ReLU
/// fc3 = Linear(84, 10)
/// ```
///
/// with state-dict names `conv1.weight`, `conv1.bias`, `conv2.*`, `fc1.*`,
/// `fc2.*`, `fc3.*`.
///
/// ```
/// use nabla::nn::{zoo, Layer, Module};
/// use nabla::{Generator, Tensor};
/// let model = zoo::lenet5::<f32>(&mut Generator::new(0));
/// assert_eq!(model.num_parameters(), 61_706);
/// let logits = model.forward(&Tensor::zeros(&[2, 1, 28, 28]));
/// assert_eq!(logits.shape(), &[2, 10]);
/// let names: Vec<String> = model.state_dict().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names[..2], ["conv1.weight", "conv1.bias"]);
/// ```
pub fn lenet5<T: Float>(generator: &mut Generator) -> Sequential<T> {
    Sequential::new()
        .add_named("conv1", Conv2d::new(1, 6, 5, generator).padding(2))
        .add_named("relu1", Relu)
        .add_named("pool1", MaxPool2d::new(2))
        .add_named("conv2", Conv2d::new(6, 16, 5, generator))
        .add_named("relu2", Relu)
        .add_named("pool2", MaxPool2d::new(2))
        .add_named("flatten", Flatten::default())
        .add_named("fc1", Linear::new(400, 120, true, generator))
        .add_named("relu3", Relu)
        .add_named("fc2", Linear::new(120, 84, true, generator))
        .add_named("relu4", Relu)
        .add_named("fc3", Linear::new(84, 10, true, generator))
}

/// The 1998 LeNet-5 shape with its original nonlinearity and subsampling:
/// tanh activations and 2x2 average pooling, otherwise as [`lenet5`] (same
/// names, same 61,706 parameters).
pub fn lenet5_classic<T: Float>(generator: &mut Generator) -> Sequential<T> {
    Sequential::new()
        .add_named("conv1", Conv2d::new(1, 6, 5, generator).padding(2))
        .add_named("tanh1", Tanh)
        .add_named("pool1", AvgPool2d::new(2))
        .add_named("conv2", Conv2d::new(6, 16, 5, generator))
        .add_named("tanh2", Tanh)
        .add_named("pool2", AvgPool2d::new(2))
        .add_named("flatten", Flatten::default())
        .add_named("fc1", Linear::new(400, 120, true, generator))
        .add_named("tanh3", Tanh)
        .add_named("fc2", Linear::new(120, 84, true, generator))
        .add_named("tanh4", Tanh)
        .add_named("fc3", Linear::new(84, 10, true, generator))
}

/// [`lenet5`] with batch normalisation (section 5.5 of the course) after
/// each convolution and each hidden linear layer, before its ReLU:
///
/// ```text
/// conv1 = Conv2d(1, 6, 5, padding=2), bn1 = BatchNorm2d(6),  ReLU, MaxPool2d(2)
/// conv2 = Conv2d(6, 16, 5),           bn2 = BatchNorm2d(16), ReLU, MaxPool2d(2)
/// flatten to 400
/// fc1 = Linear(400, 120), bn3 = BatchNorm1d(120), ReLU
/// fc2 = Linear(120, 84),  bn4 = BatchNorm1d(84),  ReLU
/// fc3 = Linear(84, 10)
/// ```
///
/// 62,158 parameters (the 61,706 of LeNet-5 and a scale and shift per
/// normalised channel), and each norm's running mean and variance as buffers.
///
/// ```
/// use nabla::nn::{zoo, Layer, Module};
/// use nabla::{Generator, Tensor};
/// let model = zoo::lenet5_bn::<f32>(&mut Generator::new(0));
/// assert_eq!(model.num_parameters(), 61_706 + 2 * (6 + 16 + 120 + 84));
/// assert_eq!(model.forward(&Tensor::zeros(&[2, 1, 28, 28])).shape(), &[2, 10]);
/// assert!(model.state_dict().iter().any(|(n, _)| n == "bn1.running_mean"));
/// ```
pub fn lenet5_bn<T: Float>(generator: &mut Generator) -> Sequential<T> {
    Sequential::new()
        .add_named("conv1", Conv2d::new(1, 6, 5, generator).padding(2))
        .add_named("bn1", BatchNorm2d::new(6))
        .add_named("relu1", Relu)
        .add_named("pool1", MaxPool2d::new(2))
        .add_named("conv2", Conv2d::new(6, 16, 5, generator))
        .add_named("bn2", BatchNorm2d::new(16))
        .add_named("relu2", Relu)
        .add_named("pool2", MaxPool2d::new(2))
        .add_named("flatten", Flatten::default())
        .add_named("fc1", Linear::new(400, 120, true, generator))
        .add_named("bn3", BatchNorm1d::new(120))
        .add_named("relu3", Relu)
        .add_named("fc2", Linear::new(120, 84, true, generator))
        .add_named("bn4", BatchNorm1d::new(84))
        .add_named("relu4", Relu)
        .add_named("fc3", Linear::new(84, 10, true, generator))
}

/// The MNIST model of Madry et al.'s robustness challenge
/// (MadryLab/mnist_challenge), for `[N, 1, 28, 28]` pixels in `[0, 1]` and
/// 10 classes (3,274,634 parameters):
///
/// ```text
/// conv1 = Conv2d(1, 32, 5, padding=2),  ReLU, MaxPool2d(2)
/// conv2 = Conv2d(32, 64, 5, padding=2), ReLU, MaxPool2d(2)
/// flatten to 3136
/// fc1 = Linear(3136, 1024), ReLU
/// fc2 = Linear(1024, 10)
/// ```
///
/// with state-dict names `conv1.*`, `conv2.*`, `fc1.*`, `fc2.*`. Its
/// adversarial training is [`AdversarialClassification`](crate::adversarial::AdversarialClassification).
///
/// ```
/// use nabla::nn::{zoo, Layer, Module};
/// use nabla::{Generator, Tensor};
/// let model = zoo::madry_cnn::<f32>(&mut Generator::new(0));
/// assert_eq!(model.num_parameters(), 3_274_634);
/// assert_eq!(model.forward(&Tensor::zeros(&[2, 1, 28, 28])).shape(), &[2, 10]);
/// ```
pub fn madry_cnn<T: Float>(generator: &mut Generator) -> Sequential<T> {
    Sequential::new()
        .add_named("conv1", Conv2d::new(1, 32, 5, generator).padding(2))
        .add_named("relu1", Relu)
        .add_named("pool1", MaxPool2d::new(2))
        .add_named("conv2", Conv2d::new(32, 64, 5, generator).padding(2))
        .add_named("relu2", Relu)
        .add_named("pool2", MaxPool2d::new(2))
        .add_named("flatten", Flatten::default())
        .add_named("fc1", Linear::new(3136, 1024, true, generator))
        .add_named("relu3", Relu)
        .add_named("fc2", Linear::new(1024, 10, true, generator))
}

/// A small VGG-style CNN for `[N, 3, 32, 32]` images (the CIFAR-10 shape):
/// three blocks of two 3x3 convolutions (32, 64, 128 channels, padding 1)
/// each followed by BatchNorm and ReLU, with 2x2 max pooling after each
/// block; then global average pooling and a linear classifier.
///
/// Names: `features.{i}.*` (convolutions and BatchNorm, PyTorch's
/// `nn.Sequential` numbering) and `classifier.*`.
///
/// ```
/// use nabla::nn::{zoo, Layer};
/// use nabla::{Generator, Tensor};
/// let model = zoo::vgg_small::<f32>(10, &mut Generator::new(0));
/// assert_eq!(model.forward(&Tensor::zeros(&[2, 3, 32, 32])).shape(), &[2, 10]);
/// ```
pub fn vgg_small<T: Float>(num_classes: usize, generator: &mut Generator) -> Sequential<T> {
    let mut features = Sequential::new();
    let mut in_channels = 3;
    for out_channels in [32, 64, 128] {
        for _ in 0..2 {
            features = features
                .add(Conv2d::new(in_channels, out_channels, 3, generator).padding(Padding::Same))
                .add(BatchNorm2d::new(out_channels))
                .add(Relu);
            in_channels = out_channels;
        }
        features = features.add(MaxPool2d::new(2));
    }
    Sequential::new()
        .add_named("features", features)
        .add_named("pool", AdaptiveAvgPool2d::new(1))
        .add_named("flatten", Flatten::default())
        .add_named(
            "classifier",
            Linear::new(in_channels, num_classes, true, generator),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{summary, Module, ReceptiveField};

    #[test]
    fn lenet5_matches_the_reference_names_and_shapes() {
        let model = lenet5::<f32>(&mut Generator::new(1));
        let shapes: Vec<(String, Vec<usize>)> = model
            .state_dict()
            .into_iter()
            .map(|(n, t)| (n, t.shape().to_vec()))
            .collect();
        let expected = [
            ("conv1.weight", vec![6, 1, 5, 5]),
            ("conv1.bias", vec![6]),
            ("conv2.weight", vec![16, 6, 5, 5]),
            ("conv2.bias", vec![16]),
            ("fc1.weight", vec![120, 400]),
            ("fc1.bias", vec![120]),
            ("fc2.weight", vec![84, 120]),
            ("fc2.bias", vec![84]),
            ("fc3.weight", vec![10, 84]),
            ("fc3.bias", vec![10]),
        ];
        assert_eq!(shapes.len(), expected.len());
        for ((name, shape), (want_name, want_shape)) in shapes.iter().zip(expected) {
            assert_eq!((name.as_str(), shape), (want_name, &want_shape));
        }
        assert_eq!(
            lenet5_classic::<f32>(&mut Generator::new(1)).num_parameters(),
            61_706
        );
    }

    #[test]
    fn lenet5_summary_reports_receptive_fields_and_multiply_adds() {
        let s = summary(&lenet5::<f32>(&mut Generator::new(1)), &[1, 1, 28, 28]);
        let row = |name: &str| s.layers.iter().find(|l| l.name == name).unwrap();
        assert_eq!(row("conv1").output_shape, vec![1, 6, 28, 28]);
        assert_eq!(row("conv1").receptive_field, ReceptiveField::Size(5, 5));
        // pool1 (2x2, stride 2): 5 + 1 * 1 = 6; conv2: 6 + 4 * 2 = 14; pool2: 14 + 1 * 2 = 16.
        assert_eq!(row("pool1").receptive_field, ReceptiveField::Size(6, 6));
        assert_eq!(row("conv2").receptive_field, ReceptiveField::Size(14, 14));
        assert_eq!(row("pool2").receptive_field, ReceptiveField::Size(16, 16));
        assert_eq!(row("fc1").receptive_field, ReceptiveField::Whole);
        assert_eq!(row("conv1").multiply_adds, 6 * 28 * 28 * 25);
        assert_eq!(row("conv2").multiply_adds, 16 * 10 * 10 * 150);
        assert_eq!(row("fc1").multiply_adds, 400 * 120);
        assert_eq!(s.total_parameters, 61_706);
        assert_eq!(s.total_multiply_adds, 117_600 + 240_000 + 48_000 + 10_080 + 840);
    }
}
