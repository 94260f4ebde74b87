//! The models the command line knows by name.

use std::fmt;
use std::str::FromStr;

use nabla::nn::{zoo, Flatten, Linear, Relu, Sequential};
use nabla::transfer::Architecture;
use nabla::Generator;

/// A model of the zoo, by its command-line name (also in checkpoints'
/// records).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// A multi-layer perceptron: flatten, 256, 128, classes.
    Mlp,
    /// LeNet-5 with ReLU and max pooling.
    Lenet5,
    /// LeNet-5 of 1998: tanh and average pooling.
    Lenet5Classic,
    /// LeNet-5 with batch normalisation before each hidden ReLU.
    Lenet5Bn,
    /// The small VGG-style CNN with BatchNorm.
    Cnn,
    /// The MNIST model of Madry et al.'s robustness challenge.
    MadryCnn,
    /// nanoGPT's character-level transformer (a language model).
    CharGpt,
    /// The character-level LSTM (a language model).
    CharLstm,
    /// DCGAN at 28x28 (a generative model: `nabla sample` draws from it).
    Dcgan,
    /// WGAN-GP with the DCGAN generator and a critic without BatchNorm.
    WganGp,
    /// The MLP autoencoder (a generative model).
    Ae,
    /// The convolutional autoencoder (a generative model).
    ConvAe,
    /// The variational autoencoder of PyTorch's examples/vae (a generative model).
    Vae,
    /// RealNVP, a normalizing flow (a generative model of moons or MNIST).
    Realnvp,
    /// EfficientNet-Lite0, an ImageNet classifier (pretrained weights, transfer learning).
    EfficientnetLite0,
    /// torchvision's ResNet-18, an ImageNet classifier.
    Resnet18,
    /// torchvision's VGG-16, an ImageNet classifier.
    Vgg16,
}

impl FromStr for ModelKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "mlp" => Ok(ModelKind::Mlp),
            "lenet5" => Ok(ModelKind::Lenet5),
            "lenet5-classic" => Ok(ModelKind::Lenet5Classic),
            "lenet5-bn" => Ok(ModelKind::Lenet5Bn),
            "cnn" => Ok(ModelKind::Cnn),
            "madry-cnn" => Ok(ModelKind::MadryCnn),
            "char-gpt" => Ok(ModelKind::CharGpt),
            "char-lstm" => Ok(ModelKind::CharLstm),
            "dcgan" => Ok(ModelKind::Dcgan),
            "wgan-gp" => Ok(ModelKind::WganGp),
            "ae" => Ok(ModelKind::Ae),
            "conv-ae" => Ok(ModelKind::ConvAe),
            "vae" => Ok(ModelKind::Vae),
            "realnvp" => Ok(ModelKind::Realnvp),
            "efficientnet-lite0" => Ok(ModelKind::EfficientnetLite0),
            "resnet18" => Ok(ModelKind::Resnet18),
            "vgg16" => Ok(ModelKind::Vgg16),
            other => Err(format!(
                "unknown model {other:?} (expected mlp, lenet5, lenet5-classic, lenet5-bn, cnn, madry-cnn, char-gpt, char-lstm, \
                 ae, conv-ae, vae, dcgan, wgan-gp, realnvp, efficientnet-lite0, resnet18 or vgg16)"
            )),
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ModelKind::Mlp => "mlp",
            ModelKind::Lenet5 => "lenet5",
            ModelKind::Lenet5Classic => "lenet5-classic",
            ModelKind::Lenet5Bn => "lenet5-bn",
            ModelKind::Cnn => "cnn",
            ModelKind::MadryCnn => "madry-cnn",
            ModelKind::CharGpt => "char-gpt",
            ModelKind::CharLstm => "char-lstm",
            ModelKind::Dcgan => "dcgan",
            ModelKind::WganGp => "wgan-gp",
            ModelKind::Ae => "ae",
            ModelKind::ConvAe => "conv-ae",
            ModelKind::Vae => "vae",
            ModelKind::Realnvp => "realnvp",
            ModelKind::EfficientnetLite0 => "efficientnet-lite0",
            ModelKind::Resnet18 => "resnet18",
            ModelKind::Vgg16 => "vgg16",
        })
    }
}

impl ModelKind {
    /// True for the models that read text (`char-gpt`, `char-lstm`).
    pub fn is_language_model(self) -> bool {
        matches!(self, ModelKind::CharGpt | ModelKind::CharLstm)
    }

    /// True for the image classifiers trained from scratch (the models
    /// of no other family: language models, GANs, autoencoders, flows,
    /// transfer learning).
    pub fn is_classifier(self) -> bool {
        !(self.is_language_model()
            || self.is_gan()
            || self.is_autoencoder()
            || self.is_flow()
            || self.architecture().is_some())
    }

    /// True for the GANs (`dcgan`, `wgan-gp`).
    pub fn is_gan(self) -> bool {
        matches!(self, ModelKind::Dcgan | ModelKind::WganGp)
    }

    /// True for the autoencoders and the VAE (`ae`, `conv-ae`, `vae`).
    pub fn is_autoencoder(self) -> bool {
        matches!(self, ModelKind::Ae | ModelKind::ConvAe | ModelKind::Vae)
    }

    /// The ImageNet architecture of `efficientnet-lite0`, `resnet18` and
    /// `vgg16` (pretrained models, transfer learning); `None` otherwise.
    pub fn architecture(self) -> Option<Architecture> {
        match self {
            ModelKind::EfficientnetLite0 => Some(Architecture::EfficientnetLite0),
            ModelKind::Resnet18 => Some(Architecture::Resnet18),
            ModelKind::Vgg16 => Some(Architecture::Vgg16),
            _ => None,
        }
    }

    /// True for the normalizing flows (`realnvp`).
    pub fn is_flow(self) -> bool {
        self == ModelKind::Realnvp
    }

    /// The input shape of one example the model expects by default.
    pub fn default_input(self) -> Vec<usize> {
        match self {
            ModelKind::Cnn => vec![3, 32, 32],
            _ => vec![1, 28, 28],
        }
    }

    /// A freshly initialised model for examples of `input` shape and `classes` classes.
    ///
    /// # Errors
    /// When the model cannot take that input (LeNet-5 needs 1x28x28).
    pub fn build(self, input: &[usize], classes: usize, seed: u64) -> Result<Sequential, String> {
        let mut g = Generator::new(seed);
        let lenet_input = input == [1, 28, 28];
        match self {
            ModelKind::Mlp => {
                let features: usize = input.iter().product();
                Ok(Sequential::new()
                    .add_named("flatten", Flatten::default())
                    .add_named("fc1", Linear::new(features, 256, true, &mut g))
                    .add_named("relu1", Relu)
                    .add_named("fc2", Linear::new(256, 128, true, &mut g))
                    .add_named("relu2", Relu)
                    .add_named("fc3", Linear::new(128, classes, true, &mut g)))
            }
            ModelKind::Lenet5 | ModelKind::Lenet5Classic | ModelKind::Lenet5Bn | ModelKind::MadryCnn
                if !lenet_input || classes != 10 =>
            {
                Err(format!(
                    "{self} takes 1x28x28 images in 10 classes, not {input:?} in {classes}"
                ))
            }
            ModelKind::Lenet5 => Ok(zoo::lenet5(&mut g)),
            ModelKind::Lenet5Classic => Ok(zoo::lenet5_classic(&mut g)),
            ModelKind::Lenet5Bn => Ok(zoo::lenet5_bn(&mut g)),
            ModelKind::MadryCnn => Ok(zoo::madry_cnn(&mut g)),
            ModelKind::Cnn if input.len() != 3 || input[0] != 3 => {
                Err(format!("cnn takes 3-channel images, not {input:?}"))
            }
            ModelKind::Cnn => Ok(zoo::vgg_small(classes, &mut g)),
            ModelKind::CharGpt | ModelKind::CharLstm => Err(format!(
                "{self} is a language model: it trains on text (nabla train --model {self} --dataset \
                 tinyshakespeare) and writes with nabla generate"
            )),
            ModelKind::Dcgan | ModelKind::WganGp => Err(format!(
                "{self} is a GAN: it trains with nabla train --model {self} --dataset mnist and draws digits \
                 with nabla sample"
            )),
            ModelKind::Ae | ModelKind::ConvAe | ModelKind::Vae => Err(format!(
                "{self} is a generative model, not a classifier: it trains with nabla train --model {self} and \
                 draws with nabla sample"
            )),
            ModelKind::Realnvp => Err(format!(
                "{self} is a normalizing flow: it trains on moons or mnist (nabla train --model {self} \
                 --dataset moons) and draws with nabla sample"
            )),
            ModelKind::EfficientnetLite0 | ModelKind::Resnet18 | ModelKind::Vgg16 => Err(format!(
                "{self} is an ImageNet classifier: it classifies photos with its pretrained weights (nabla predict \
                 --model {self} --checkpoint F photo.jpg) and learns a new task from them (nabla train --model \
                 {self} --pretrained F --dataset folder)"
            )),
        }
    }
}
