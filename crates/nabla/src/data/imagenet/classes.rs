//! The names of ImageNet's 1,000 classes, in the order of the models'
//! logits.

use std::sync::OnceLock;

/// torchvision's `_IMAGENET_CATEGORIES`, one per line (written by
/// `scripts/make_imagenet_zoo_fixtures.py`).
const CLASSES: &str = include_str!("classes.txt");

/// The 1,000 ImageNet class names as torchvision lists them
/// (`torchvision.models._meta._IMAGENET_CATEGORIES`): `imagenet_classes()[i]`
/// names logit `i` of an ImageNet classifier.
///
/// ```
/// use nabla::data::imagenet::imagenet_classes;
/// let classes = imagenet_classes();
/// assert_eq!(classes.len(), 1000);
/// assert_eq!(classes[281], "tabby");
/// assert_eq!(classes[207], "golden retriever");
/// ```
pub fn imagenet_classes() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| CLASSES.lines().collect())
}
