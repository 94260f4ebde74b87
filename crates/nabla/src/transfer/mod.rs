//! Pretrained models and transfer learning (section 1.2.1 of the course:
//! cats versus dogs from an ImageNet network and a new last layer).
//!
//! - [`Architecture`] and [`ImageClassifier`]: EfficientNet-Lite0,
//!   ResNet-18 and VGG-16 as one type, with their backbone features, head
//!   and the preprocessing their weights expect.
//! - [`load_pretrained`] reads published weights (safetensors or `.pth`);
//!   [`save_classifier`] / [`load_classifier`] write and read a checkpoint
//!   that records the architecture, the class names and the preprocessing.
//! - [`extract_features`], [`fit_head`] (frozen backbone, features cached)
//!   and [`fine_tune`] (all layers, the backbone at a lower rate).
//!
//! ```no_run
//! use nabla::data::ImageFolder;
//! use nabla::transfer::{self, Architecture, ClassifierRecord, TransferConfig};
//! use nabla::Generator;
//! let (mut model, _) = transfer::load_pretrained(
//!     Architecture::EfficientnetLite0, "data/pretrained/efficientnet-lite0.safetensors")?;
//! let (classes, files) = ImageFolder::list("cats-vs-dogs/train")?;
//! let preprocess = Architecture::EfficientnetLite0.preprocess();
//! let paths: Vec<_> = files.iter().map(|(p, _)| p.clone()).collect();
//! let labels: Vec<usize> = files.iter().map(|(_, l)| *l).collect();
//! let images = preprocess.load_batch(&paths)?;
//! model.replace_head(classes.len(), &mut Generator::new(0))?;
//! let features = transfer::extract_features(&mut model, &images, 32)?;
//! transfer::fit_head(&mut model, &features, &labels, &TransferConfig::default(), |_| {})?;
//! let record = ClassifierRecord { architecture: Architecture::EfficientnetLite0, class_names: classes, preprocess };
//! transfer::save_classifier(&model, &record, "cats-vs-dogs.safetensors")?;
//! # Ok::<(), nabla::Error>(())
//! ```

mod checkpoint;
mod fit;
mod model;

pub use checkpoint::{
    load_classifier, load_pretrained, read_record, save_classifier, ClassifierRecord, IMAGE_CLASSIFIER,
};
pub use fit::{
    accuracy, extract_features, fine_tune, fit_head, predict, probabilities, EpochReport, TransferConfig,
};
pub use model::{Architecture, ImageClassifier};
