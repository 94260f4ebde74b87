//! ImageNet classifiers' inputs and outputs: the evaluation preprocessing
//! of torchvision's pretrained models ([`ImagePreprocess`]: resize the
//! shorter side to 256, centre crop 224, scale to [0, 1], normalise with
//! ImageNet's mean and standard deviation), pixel-exact with PIL, and the
//! 1,000 class names ([`imagenet_classes`]).
//!
//! The preprocessing needs the `data` feature (image decoding); the class
//! names do not.

mod classes;
#[cfg(feature = "data")]
mod preprocess;
#[cfg(feature = "data")]
mod resample;
#[cfg(feature = "data")]
mod rgb;

pub use classes::imagenet_classes;
/// The `image` crate nabla decodes with (its `DynamicImage` and `RgbImage`
/// are the types of [`ImagePreprocess`]'s methods), for callers without a
/// dependency on the same version.
#[cfg(feature = "data")]
pub use image;
#[cfg(feature = "data")]
pub use image::{DynamicImage, RgbImage};
#[cfg(feature = "data")]
pub use preprocess::{open_image, ImagePreprocess, IMAGENET_MEAN, IMAGENET_STD};
#[cfg(feature = "data")]
pub use rgb::to_rgb_like_pil;
