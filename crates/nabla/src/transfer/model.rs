//! The pretrained ImageNet architectures as one type: their backbone's
//! pooled features, their classifier head, and a new head for another task.

use serde::{Deserialize, Serialize};

use crate::data::imagenet::ImagePreprocess;
use crate::error::{Error, Result};
use crate::nn::zoo::{self, EfficientNetLite, ResNet, Vgg, EFFICIENTNET_LITE0_FEATURES};
use crate::nn::{Layer, Linear, Module};
use crate::tensor::{Generator, Tensor};

/// An ImageNet architecture of the zoo, by the name the command line and
/// checkpoints use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Architecture {
    /// [`zoo::efficientnet_lite0`] (`efficientnet-lite-pytorch`'s names).
    EfficientnetLite0,
    /// [`zoo::resnet18`] (torchvision's names).
    Resnet18,
    /// [`zoo::vgg16`] (torchvision's names).
    Vgg16,
}

impl Architecture {
    /// Every architecture.
    pub const ALL: [Architecture; 3] = [
        Architecture::EfficientnetLite0,
        Architecture::Resnet18,
        Architecture::Vgg16,
    ];

    /// The name: `efficientnet-lite0`, `resnet18`, `vgg16`.
    pub fn name(self) -> &'static str {
        match self {
            Architecture::EfficientnetLite0 => "efficientnet-lite0",
            Architecture::Resnet18 => "resnet18",
            Architecture::Vgg16 => "vgg16",
        }
    }

    /// The architecture named `name`.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] naming the known ones.
    pub fn parse(name: &str) -> Result<Self> {
        Architecture::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| Error::InvalidSetting {
                context: "architecture".into(),
                message: format!(
                    "unknown architecture {name:?} (expected efficientnet-lite0, resnet18 or vgg16)"
                ),
            })
    }

    /// The preprocessing its ImageNet weights were trained with:
    /// torchvision's for ResNet-18 and VGG-16; for EfficientNet-Lite0,
    /// TensorFlow's `(x - 127) / 128` in 0..255, which its weights (converted
    /// from TensorFlow's checkpoint) expect.
    pub fn preprocess(self) -> ImagePreprocess {
        match self {
            Architecture::EfficientnetLite0 => ImagePreprocess::efficientnet_lite(),
            Architecture::Resnet18 | Architecture::Vgg16 => ImagePreprocess::imagenet(),
        }
    }
}

/// One of the [`Architecture`]s, built, in `f32`.
pub enum ImageClassifier {
    /// EfficientNet-Lite0.
    EfficientnetLite0(Box<EfficientNetLite>),
    /// ResNet-18.
    Resnet18(Box<ResNet>),
    /// VGG-16.
    Vgg16(Box<Vgg>),
}

impl ImageClassifier {
    /// A freshly initialised network with a classifier over `classes`.
    pub fn new(architecture: Architecture, classes: usize, generator: &mut Generator) -> Self {
        match architecture {
            Architecture::EfficientnetLite0 => {
                ImageClassifier::EfficientnetLite0(Box::new(zoo::efficientnet_lite0(classes, generator)))
            }
            Architecture::Resnet18 => ImageClassifier::Resnet18(Box::new(zoo::resnet18(classes, generator))),
            Architecture::Vgg16 => ImageClassifier::Vgg16(Box::new(zoo::vgg16(classes, generator))),
        }
    }

    /// Its architecture.
    pub fn architecture(&self) -> Architecture {
        match self {
            ImageClassifier::EfficientnetLite0(_) => Architecture::EfficientnetLite0,
            ImageClassifier::Resnet18(_) => Architecture::Resnet18,
            ImageClassifier::Vgg16(_) => Architecture::Vgg16,
        }
    }

    /// The module, for its parameters, state dict and train/eval mode.
    pub fn module(&self) -> &dyn Module {
        match self {
            ImageClassifier::EfficientnetLite0(m) => m.as_ref(),
            ImageClassifier::Resnet18(m) => m.as_ref(),
            ImageClassifier::Vgg16(m) => m.as_ref(),
        }
    }

    /// The module, mutably (for [`Module::train`] and [`Module::eval`]).
    pub fn module_mut(&mut self) -> &mut dyn Module {
        match self {
            ImageClassifier::EfficientnetLite0(m) => m.as_mut(),
            ImageClassifier::Resnet18(m) => m.as_mut(),
            ImageClassifier::Vgg16(m) => m.as_mut(),
        }
    }

    /// The classifier head a new task replaces: `_fc` or `fc`.
    ///
    /// # Errors
    /// For VGG-16, whose head is three layers (`classifier.{0,3,6}`):
    /// transfer learning is not offered for it.
    pub fn head(&self) -> Result<&Linear> {
        match self {
            ImageClassifier::EfficientnetLite0(m) => Ok(&m._fc),
            ImageClassifier::Resnet18(m) => Ok(&m.fc),
            ImageClassifier::Vgg16(_) => Err(vgg_head_error()),
        }
    }

    /// Puts a freshly initialised `Linear(features, classes)` in place of the head.
    ///
    /// # Errors
    /// For VGG-16, as [`head`](Self::head).
    pub fn replace_head(&mut self, classes: usize, generator: &mut Generator) -> Result<()> {
        let features = self.feature_size()?;
        let head = Linear::new(features, classes, true, generator);
        match self {
            ImageClassifier::EfficientnetLite0(m) => m._fc = head,
            ImageClassifier::Resnet18(m) => m.fc = head,
            ImageClassifier::Vgg16(_) => return Err(vgg_head_error()),
        }
        Ok(())
    }

    /// Features the head reads: 1,280 for EfficientNet-Lite0, 512 for ResNet-18.
    ///
    /// # Errors
    /// For VGG-16, as [`head`](Self::head).
    pub fn feature_size(&self) -> Result<usize> {
        match self {
            ImageClassifier::EfficientnetLite0(_) => Ok(EFFICIENTNET_LITE0_FEATURES),
            ImageClassifier::Resnet18(m) => Ok(m.fc.weight.shape()[1]),
            ImageClassifier::Vgg16(_) => Err(vgg_head_error()),
        }
    }

    /// The backbone's pooled features `[N, F]` of images `[N, 3, H, W]`:
    /// everything but the head (and the dropout before it).
    ///
    /// # Errors
    /// For VGG-16, as [`head`](Self::head).
    pub fn features(&self, images: &Tensor) -> Result<Tensor> {
        match self {
            ImageClassifier::EfficientnetLite0(m) => Ok(m.pooled_features(images)),
            ImageClassifier::Resnet18(m) => Ok(m.features(images)),
            ImageClassifier::Vgg16(_) => Err(vgg_head_error()),
        }
    }

    /// The head on pooled features `[N, F]`: logits `[N, classes]`
    /// (EfficientNet-Lite0's dropout first, in training mode).
    ///
    /// # Errors
    /// For VGG-16, as [`head`](Self::head).
    pub fn classify(&self, features: &Tensor) -> Result<Tensor> {
        match self {
            ImageClassifier::EfficientnetLite0(m) => Ok(m.classify(features)),
            ImageClassifier::Resnet18(m) => Ok(m.fc.forward(features)),
            ImageClassifier::Vgg16(_) => Err(vgg_head_error()),
        }
    }

    /// Logits `[N, classes]` of images `[N, 3, H, W]`.
    pub fn forward(&self, images: &Tensor) -> Tensor {
        match self {
            ImageClassifier::EfficientnetLite0(m) => m.forward(images),
            ImageClassifier::Resnet18(m) => m.forward(images),
            ImageClassifier::Vgg16(m) => m.forward(images),
        }
    }

    /// The backbone's parameters: all but the head's.
    pub fn backbone_parameters(&self) -> Vec<Tensor> {
        let head: Vec<Tensor> = self.head().map(|h| h.parameters()).unwrap_or_default();
        self.module()
            .parameters()
            .into_iter()
            .filter(|p| !head.iter().any(|h| h.shares_storage_with(p)))
            .collect()
    }
}

fn vgg_head_error() -> Error {
    Error::InvalidSetting {
        context: "vgg16".into(),
        message: "transfer learning takes efficientnet-lite0 or resnet18; vgg16's head is three layers \
                  (classifier.0, .3, .6) and is only used as trained on ImageNet"
            .into(),
    }
}
