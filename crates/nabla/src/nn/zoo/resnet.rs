//! ResNet (He et al., 2015) with basic blocks, as torchvision's `resnet18`
//! and `resnet34`: the same modules, state-dict names and initialisation, so
//! torchvision's weights (converted to safetensors, or read from a `.pth`)
//! load as they are.

use crate::element::Float;
use crate::nn::init::{constant_, kaiming_normal_, FanMode};
use crate::nn::{
    AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Flatten, Geometry, Layer, Linear, MaxPool2d, Module, Relu,
    Sequential, Summarize,
};
use crate::ops::{Conv2dOptions, Pool2dOptions};
use crate::tensor::{Generator, Tensor};

/// torchvision's `BasicBlock`: two 3x3 convolutions without bias, each
/// followed by BatchNorm, with the input added before the last ReLU:
///
/// ```text
/// out = relu(bn1(conv1(x)))          conv1 strided when the block downsamples
/// out = relu(bn2(conv2(out)) + identity)
/// identity = x, or downsample(x) = BatchNorm(1x1 strided conv(x)) when the
///            block changes the resolution or the channel count
/// ```
///
/// Input `[N, C, H, W]`, output `[N, C', H / stride, W / stride]` (rounded
/// up). Names `conv1.weight`, `bn1.*`, `conv2.weight`, `bn2.*`,
/// `downsample.0.weight`, `downsample.1.*`.
#[derive(Module)]
#[module(custom_summary)]
pub struct BasicBlock<T: Float = f32> {
    /// 3x3, `stride`, padding 1, no bias.
    pub conv1: Conv2d<T>,
    /// BatchNorm after `conv1`.
    pub bn1: BatchNorm2d<T>,
    /// 3x3, stride 1, padding 1, no bias.
    pub conv2: Conv2d<T>,
    /// BatchNorm after `conv2`.
    pub bn2: BatchNorm2d<T>,
    /// The 1x1 strided convolution and BatchNorm of the shortcut, when the
    /// block changes the resolution or the channel count.
    pub downsample: Option<Sequential<T>>,
}

/// A convolution initialised as torchvision's ResNet and VGG:
/// Kaiming-normal weights (fan-out, ReLU gain), a zero bias if it has one.
pub(super) fn relu_conv<T: Float>(
    in_channels: usize,
    out_channels: usize,
    kernel: usize,
    options: Conv2dOptions,
    bias: bool,
    generator: &mut Generator,
) -> Conv2d<T> {
    let conv = Conv2d::with_options(in_channels, out_channels, kernel, options, bias, generator);
    kaiming_normal_(&conv.weight, 0.0, FanMode::FanOut, "relu", generator);
    if let Some(b) = &conv.bias {
        constant_(b, 0.0);
    }
    conv
}

impl<T: Float> BasicBlock<T> {
    /// A block from `in_channels` to `out_channels` whose first convolution
    /// has `stride`; it has a `downsample` shortcut if the stride is not 1
    /// or the channel counts differ (as torchvision's `_make_layer`).
    pub fn new(in_channels: usize, out_channels: usize, stride: usize, generator: &mut Generator) -> Self {
        let three = |stride| Conv2dOptions::default().stride(stride).padding(1);
        let downsample = (stride != 1 || in_channels != out_channels).then(|| {
            let one = Conv2dOptions::default().stride(stride);
            Sequential::new()
                .add(relu_conv(in_channels, out_channels, 1, one, false, generator))
                .add(BatchNorm2d::new(out_channels))
        });
        BasicBlock {
            conv1: relu_conv(in_channels, out_channels, 3, three(stride), false, generator),
            bn1: BatchNorm2d::new(out_channels),
            conv2: relu_conv(out_channels, out_channels, 3, three(1), false, generator),
            bn2: BatchNorm2d::new(out_channels),
            downsample,
        }
    }
}

impl<T: Float> Summarize<T> for BasicBlock<T> {
    fn describe(&self) -> String {
        let w = self.conv1.weight.shape();
        format!(
            "BasicBlock({}, {}, stride={})",
            w[1], w[0], self.conv1.options.stride.0
        )
    }

    /// A (3 + 2s)-wide window with stride s: conv1 (3x3, stride s, one
    /// pixel of padding) then conv2 (3x3, stride 1, one pixel of padding);
    /// the 1x1 shortcut lies inside it.
    fn geometry(&self) -> Geometry {
        let (sh, sw) = self.conv1.options.stride;
        Geometry::Window {
            kernel: (3 + 2 * sh, 3 + 2 * sw),
            stride: (sh, sw),
            padding: (1 + sh, 1 + sw),
            dilation: (1, 1),
        }
    }

    /// The products of the three convolutions, all with the block's output
    /// shape.
    fn multiply_adds(&self, input: &[usize], output: &[usize]) -> usize {
        let shortcut: usize = self
            .downsample
            .iter()
            .flat_map(|s| s.layers())
            .map(|l| l.multiply_adds(input, output))
            .sum();
        self.conv1.multiply_adds(input, output) + self.conv2.multiply_adds(output, output) + shortcut
    }
}

impl<T: Float> Layer<T> for BasicBlock<T> {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        let out = self.bn1.forward(&self.conv1.forward(input)).relu();
        let out = self.bn2.forward(&self.conv2.forward(&out));
        let identity = match &self.downsample {
            Some(shortcut) => shortcut.forward(input),
            None => input.clone(),
        };
        (&out + &identity).relu()
    }
}

/// torchvision's `ResNet` with [`BasicBlock`]s, for `[N, 3, H, W]` images
/// (224x224 for ImageNet; any size of at least 32x32 works, the pooling
/// before `fc` is adaptive) and `num_classes` logits:
///
/// ```text
/// conv1 = Conv2d(3, 64, 7, stride 2, padding 3, no bias), bn1, ReLU
/// maxpool = MaxPool2d(3, stride 2, padding 1)
/// layer1..layer4: blocks of 64, 128, 256, 512 channels (strides 1, 2, 2, 2)
/// avgpool = AdaptiveAvgPool2d(1), flatten to 512
/// fc = Linear(512, num_classes)
/// ```
///
/// Build it with [`resnet18`], [`resnet34`] or [`resnet`]. `fc` is public,
/// so a new head for transfer learning is one assignment. [`summary`](crate::nn::summary())
/// lists the stem layers, each block and the head.
#[derive(Module)]
#[module(custom_summary)]
pub struct ResNet<T: Float = f32> {
    /// The 7x7 stem convolution.
    pub conv1: Conv2d<T>,
    /// BatchNorm after the stem.
    pub bn1: BatchNorm2d<T>,
    /// The stem's ReLU.
    pub relu: Relu,
    /// 3x3 max pooling, stride 2, padding 1.
    pub maxpool: MaxPool2d,
    /// The 64-channel blocks.
    pub layer1: Sequential<T>,
    /// The 128-channel blocks.
    pub layer2: Sequential<T>,
    /// The 256-channel blocks.
    pub layer3: Sequential<T>,
    /// The 512-channel blocks.
    pub layer4: Sequential<T>,
    /// Global average pooling.
    pub avgpool: AdaptiveAvgPool2d,
    /// `[N, 512, 1, 1]` to `[N, 512]` (torch.flatten in torchvision's forward).
    pub flatten: Flatten,
    /// The classifier, `[num_classes, 512]`.
    pub fc: Linear<T>,
}

impl<T: Float> ResNet<T> {
    /// The layers of the forward pass before `fc`, in order.
    fn backbone(&self) -> [(&str, &dyn Layer<T>); 10] {
        [
            ("conv1", &self.conv1),
            ("bn1", &self.bn1),
            ("relu", &self.relu),
            ("maxpool", &self.maxpool),
            ("layer1", &self.layer1),
            ("layer2", &self.layer2),
            ("layer3", &self.layer3),
            ("layer4", &self.layer4),
            ("avgpool", &self.avgpool),
            ("flatten", &self.flatten),
        ]
    }

    /// The `[N, 512]` features before `fc` (the pooled output of `layer4`).
    pub fn features(&self, input: &Tensor<T>) -> Tensor<T> {
        let s = input.shape();
        assert!(
            s.len() == 4 && s[1] == 3,
            "ResNet: expects images [N, 3, H, W], got {s:?}"
        );
        self.backbone()
            .into_iter()
            .fold(input.clone(), |x, (_, layer)| layer.forward(&x))
    }
}

impl<T: Float> Summarize<T> for ResNet<T> {
    fn sequential_layers(&self) -> Option<Vec<(&str, &dyn Layer<T>)>> {
        let mut layers = self.backbone().to_vec();
        layers.push(("fc", &self.fc));
        Some(layers)
    }
}

impl<T: Float> Layer<T> for ResNet<T> {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        self.fc.forward(&self.features(input))
    }
}

/// A ResNet of [`BasicBlock`]s with `blocks[i]` blocks in `layer{i+1}`
/// (`[2, 2, 2, 2]` is ResNet-18, `[3, 4, 6, 3]` ResNet-34), initialised as
/// torchvision: Kaiming-normal (fan-out, ReLU) convolutions, BatchNorm
/// weight 1 and bias 0, `fc` as `Linear`'s default.
///
/// ```
/// use nabla::nn::{zoo, Layer, Module};
/// use nabla::{Generator, Tensor};
/// let model = zoo::resnet::<f32>([1, 1, 1, 1], 10, &mut Generator::new(0));
/// // Training mode: BatchNorm needs more than one value per channel, and
/// // layer4 of a 32x32 image is 1x1, so a batch of two.
/// assert_eq!(model.forward(&Tensor::zeros(&[2, 3, 32, 32])).shape(), &[2, 10]);
/// assert_eq!(model.layer4.len(), 1);
/// ```
///
/// # Panics
/// If a stage has no blocks.
pub fn resnet<T: Float>(blocks: [usize; 4], num_classes: usize, generator: &mut Generator) -> ResNet<T> {
    let mut in_channels = 64;
    let mut stage = |index: usize, out_channels: usize, stride: usize, generator: &mut Generator| {
        let count = blocks[index];
        assert!(count > 0, "resnet: layer{} needs at least one block", index + 1);
        let mut layer = Sequential::new().add(BasicBlock::new(in_channels, out_channels, stride, generator));
        for _ in 1..count {
            layer = layer.add(BasicBlock::new(out_channels, out_channels, 1, generator));
        }
        in_channels = out_channels;
        layer
    };
    let stem = Conv2dOptions::default().stride(2).padding(3);
    let conv1 = relu_conv(3, 64, 7, stem, false, generator);
    let layer1 = stage(0, 64, 1, generator);
    let layer2 = stage(1, 128, 2, generator);
    let layer3 = stage(2, 256, 2, generator);
    let layer4 = stage(3, 512, 2, generator);
    ResNet {
        conv1,
        bn1: BatchNorm2d::new(64),
        relu: Relu,
        maxpool: MaxPool2d::new(Pool2dOptions::new(3).stride(2).padding(1)),
        layer1,
        layer2,
        layer3,
        layer4,
        avgpool: AdaptiveAvgPool2d::new(1),
        flatten: Flatten::default(),
        fc: Linear::new(512, num_classes, true, generator),
    }
}

/// torchvision's `resnet18(num_classes=...)`: 11,689,512 parameters with
/// 1,000 classes, and torchvision's state-dict names (`conv1.weight`,
/// `bn1.running_mean`, `layer1.0.conv1.weight`,
/// `layer2.0.downsample.0.weight`, `fc.bias`, ...; 122 entries, the
/// BatchNorm buffers `running_mean`, `running_var` and `num_batches_tracked`
/// included).
///
/// ```
/// use nabla::nn::{zoo, Layer, Linear, Module};
/// use nabla::{Generator, Tensor};
/// let mut g = Generator::new(0);
/// let mut model = zoo::resnet18::<f32>(1000, &mut g);
/// assert_eq!(model.num_parameters(), 11_689_512);
/// let names: Vec<String> = model.state_dict().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names.len(), 122);
/// assert_eq!(names[..2], ["conv1.weight", "bn1.weight"]);
/// assert!(names.iter().any(|n| n == "layer2.0.downsample.1.running_var"));
/// // Transfer learning: freeze the backbone, new head for 2 classes.
/// model.freeze(true);
/// model.fc = Linear::new(512, 2, true, &mut g);
/// assert_eq!(model.num_trainable_parameters(), 512 * 2 + 2);
/// model.eval();
/// assert_eq!(model.forward(&Tensor::zeros(&[1, 3, 64, 64])).shape(), &[1, 2]);
/// ```
pub fn resnet18<T: Float>(num_classes: usize, generator: &mut Generator) -> ResNet<T> {
    resnet([2, 2, 2, 2], num_classes, generator)
}

/// torchvision's `resnet34(num_classes=...)`: [`resnet`] with
/// `[3, 4, 6, 3]` blocks, 21,797,672 parameters with 1,000 classes.
pub fn resnet34<T: Float>(num_classes: usize, generator: &mut Generator) -> ResNet<T> {
    resnet([3, 4, 6, 3], num_classes, generator)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{summary, ReceptiveField};

    #[test]
    fn blocks_downsample_only_where_torchvision_does() {
        let model = resnet18::<f32>(10, &mut Generator::new(0));
        let shortcut = |layer: &Sequential<f32>, block: usize| {
            layer
                .named_parameters()
                .iter()
                .any(|(n, _)| n.starts_with(&format!("{block}.downsample.")))
        };
        assert!(!shortcut(&model.layer1, 0) && !shortcut(&model.layer1, 1));
        for layer in [&model.layer2, &model.layer3, &model.layer4] {
            assert!(shortcut(layer, 0) && !shortcut(layer, 1));
        }
        assert_eq!(model.layer3.named_parameters()[0].1.shape(), &[256, 128, 3, 3]);
    }

    #[test]
    fn initialisation_is_torchvisions() {
        let model = resnet18::<f64>(10, &mut Generator::new(3));
        // Kaiming normal, fan-out, ReLU gain: std = sqrt(2 / (64 * 7 * 7)).
        let w = model.conv1.weight.to_vec();
        let std = (w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64).sqrt();
        let want = (2.0 / (64.0 * 49.0f64)).sqrt();
        assert!((std / want - 1.0).abs() < 0.05, "std {std}, want {want}");
        assert!(model
            .bn1
            .weight
            .as_ref()
            .unwrap()
            .to_vec()
            .iter()
            .all(|&v| v == 1.0));
        assert!(model
            .bn1
            .bias
            .as_ref()
            .unwrap()
            .to_vec()
            .iter()
            .all(|&v| v == 0.0));
        assert!(model.conv1.bias.is_none());
    }

    #[test]
    fn summary_lists_the_blocks_with_their_products_and_receptive_fields() {
        let model = resnet18::<f32>(1000, &mut Generator::new(0));
        let s = summary(&model, &[1, 3, 224, 224]);
        let row = |name: &str| s.layers.iter().find(|l| l.name == name).unwrap();
        assert_eq!(row("layer1.0").output_shape, [1, 64, 56, 56]);
        assert_eq!(row("layer4.1").output_shape, [1, 512, 7, 7]);
        assert_eq!(row("fc").output_shape, [1, 1000]);
        // layer2.0: two 3x3 convolutions and the 1x1 shortcut onto 28x28x128.
        let plane = 28 * 28 * 128;
        assert_eq!(row("layer2.0").multiply_adds, plane * (64 * 9 + 128 * 9 + 64));
        // torchvision's resnet18: 1.81 G multiply-adds at 224x224.
        assert_eq!(s.total_multiply_adds / 10_000_000, 181);
        // conv1 7, maxpool 11, layer1.0 (5-wide windows at jump 4) 27.
        assert_eq!(row("layer1.0").receptive_field, ReceptiveField::Size(27, 27));
    }

    #[test]
    fn converts_to_f64_with_the_same_outputs() {
        use crate::nn::ToDtype;
        let mut model = resnet([1, 1, 1, 1], 5, &mut Generator::new(2));
        model.eval();
        let wide: ResNet<f64> = model.to_f64();
        assert!(!wide.is_training());
        let x = Tensor::<f32>::randn(&[1, 3, 32, 32], &mut Generator::new(3));
        let (narrow, wide) = (model.forward(&x).to_vec(), wide.forward(&x.to_f64()).to_vec());
        for (a, b) in narrow.iter().zip(&wide) {
            assert!((f64::from(*a) - b).abs() < 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }

    #[test]
    fn resnet34_has_torchvisions_parameter_count() {
        assert_eq!(
            resnet34::<f32>(1000, &mut Generator::new(0)).num_parameters(),
            21_797_672
        );
    }
}
