//! Per-example transforms (normalisation and seeded augmentation) and the
//! [`Pipeline`] that composes them.

use std::fmt;

#[cfg(doc)]
use super::{example_generator, DataLoader, LabeledDataset};
use crate::tensor::Generator;

/// A transformation of one example, in place.
///
/// `example` is row-major with `shape` (the data set's
/// [`example_shape`](super::LabeledDataset::example_shape), `[C, H, W]` for
/// images); a transform keeps the number of elements.
///
/// # To-tensor
///
/// There is no separate to-tensor step: [`LabeledDataset::read_example`] already
/// turns an example into row-major `f32` (images as `[C, H, W]`, bytes
/// scaled from `0..=255` to `[0, 1]`, as torchvision's `ToTensor`), and the
/// transforms work on that buffer in place.
///
/// # Randomness
///
/// A random transform draws only from the generator it is given. The
/// [`DataLoader`] gives every example its own generator seeded from
/// `(seed, epoch, dataset index)` ([`example_generator`]), so augmentation is
/// reproducible and does not depend on which worker thread read the example.
///
/// ```
/// use nabla::data::{Normalize, Pipeline, RandomCrop, RandomHorizontalFlip};
/// use nabla::Generator;
/// let pipeline = Pipeline::new()
///     .add(Normalize::new(&[0.1307], &[0.3081]))
///     .add(RandomCrop::new((28, 28), 2))
///     .add(RandomHorizontalFlip::new(0.5));
/// let mut image = vec![0.5f32; 28 * 28];
/// pipeline.apply(&mut image, &[1, 28, 28], &mut Generator::new(7));
/// assert_eq!(pipeline.len(), 3);
/// ```
///
/// A closure can be a transform:
///
/// ```
/// use nabla::data::{Pipeline, Transform};
/// use nabla::Generator;
/// let invert = |x: &mut [f32], _shape: &[usize], _rng: &mut Generator| {
///     x.iter_mut().for_each(|v| *v = 1.0 - *v)
/// };
/// let mut x = vec![0.25f32, 1.0];
/// Pipeline::new().add(invert).apply(&mut x, &[2], &mut Generator::new(0));
/// assert_eq!(x, vec![0.75, 0.0]);
/// ```
pub trait Transform: Send + Sync {
    /// Transforms `example` (of `shape`) in place, drawing any randomness from `rng`.
    fn apply(&self, example: &mut [f32], shape: &[usize], rng: &mut Generator);

    /// A short name for debug output.
    fn name(&self) -> String {
        let full = std::any::type_name::<Self>();
        full.rsplit("::").next().unwrap_or(full).to_string()
    }
}

impl<F> Transform for F
where
    F: Fn(&mut [f32], &[usize], &mut Generator) + Send + Sync,
{
    fn apply(&self, example: &mut [f32], shape: &[usize], rng: &mut Generator) {
        self(example, shape, rng)
    }

    fn name(&self) -> String {
        "closure".to_string()
    }
}

/// Transforms applied one after another, in the order they were added.
///
/// An empty pipeline leaves examples unchanged. A pipeline is itself a
/// [`Transform`], so pipelines nest.
///
/// ```
/// use nabla::data::{Normalize, Pipeline, RandomHorizontalFlip};
/// use nabla::Generator;
/// let p = Pipeline::new().add(Normalize::new(&[0.5], &[0.5])).add(RandomHorizontalFlip::new(1.0));
/// let mut x = vec![0.0f32, 0.5, 1.0];
/// p.apply(&mut x, &[1, 1, 3], &mut Generator::new(0));
/// assert_eq!(x, vec![1.0, 0.0, -1.0]);
/// ```
#[derive(Default)]
pub struct Pipeline {
    transforms: Vec<Box<dyn Transform>>,
}

impl Pipeline {
    /// An empty pipeline.
    pub fn new() -> Self {
        Pipeline::default()
    }

    /// The pipeline with `transform` appended.
    #[allow(clippy::should_implement_trait)]
    pub fn add<T: Transform + 'static>(mut self, transform: T) -> Self {
        self.transforms.push(Box::new(transform));
        self
    }

    /// The number of transforms.
    pub fn len(&self) -> usize {
        self.transforms.len()
    }

    /// True when the pipeline has no transforms.
    pub fn is_empty(&self) -> bool {
        self.transforms.is_empty()
    }

    /// Applies every transform in order to `example` (of `shape`).
    ///
    /// # Panics
    /// If `example.len()` is not the product of `shape`, or a transform
    /// does not accept the shape.
    pub fn apply(&self, example: &mut [f32], shape: &[usize], rng: &mut Generator) {
        check_len("Pipeline", example, shape);
        for t in &self.transforms {
            t.apply(example, shape, rng);
        }
    }
}

impl Transform for Pipeline {
    fn apply(&self, example: &mut [f32], shape: &[usize], rng: &mut Generator) {
        Pipeline::apply(self, example, shape, rng)
    }
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.transforms.iter().map(|t| t.name()))
            .finish()
    }
}

pub(super) fn check_len(what: &str, example: &[f32], shape: &[usize]) {
    let n: usize = shape.iter().product();
    assert!(
        example.len() == n,
        "{what}: an example of {} values cannot have shape {shape:?}",
        example.len()
    );
}

/// Subtracts a mean and divides by a standard deviation, per channel:
/// `x = (x - mean[c]) / std[c]`, as torchvision's `Normalize`.
///
/// The channel is the first dimension of the example (`C` of `[C, H, W]`,
/// the feature of `[features]`); a single mean and std apply to every value.
///
/// ```
/// use nabla::data::{Normalize, Transform};
/// use nabla::Generator;
/// let n = Normalize::new(&[0.5, 0.0], &[0.5, 2.0]);
/// let mut x = vec![0.0f32, 1.0, 4.0, -2.0]; // [2, 2]: two channels of two values
/// n.apply(&mut x, &[2, 2], &mut Generator::new(0));
/// assert_eq!(x, vec![-1.0, 1.0, 2.0, -1.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Normalize {
    mean: Vec<f32>,
    std: Vec<f32>,
}

impl Normalize {
    /// Normalisation by per-channel `mean` and `std` (or one value of each for all channels).
    ///
    /// # Panics
    /// If the lengths differ or are zero, or a std is not positive and finite.
    pub fn new(mean: &[f32], std: &[f32]) -> Self {
        assert!(
            !mean.is_empty() && mean.len() == std.len(),
            "Normalize: {} means and {} stds (need the same number, at least one)",
            mean.len(),
            std.len()
        );
        if let Some(bad) = std.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            panic!("Normalize: std {bad} is not positive and finite");
        }
        if let Some(bad) = mean.iter().find(|m| !m.is_finite()) {
            panic!("Normalize: mean {bad} is not finite");
        }
        Normalize {
            mean: mean.to_vec(),
            std: std.to_vec(),
        }
    }

    /// The means, per channel.
    pub fn mean(&self) -> &[f32] {
        &self.mean
    }

    /// The standard deviations, per channel.
    pub fn std(&self) -> &[f32] {
        &self.std
    }
}

impl Transform for Normalize {
    fn apply(&self, example: &mut [f32], shape: &[usize], _rng: &mut Generator) {
        check_len("Normalize", example, shape);
        let channels = self.mean.len();
        if channels == 1 {
            let (m, s) = (self.mean[0], self.std[0]);
            example.iter_mut().for_each(|v| *v = (*v - m) / s);
            return;
        }
        assert!(
            shape.first() == Some(&channels),
            "Normalize: {channels} means and stds for an example of shape {shape:?} \
             (the first dimension is the channel)"
        );
        let per_channel = example.len() / channels;
        if per_channel == 0 {
            return;
        }
        for (c, chunk) in example.chunks_mut(per_channel).enumerate() {
            let (m, s) = (self.mean[c], self.std[c]);
            chunk.iter_mut().for_each(|v| *v = (*v - m) / s);
        }
    }
}

/// The height and width of an example `[..., H, W]` and how many `H x W`
/// planes it has.
pub(super) fn planes(what: &str, shape: &[usize]) -> (usize, usize, usize) {
    assert!(
        shape.len() >= 2,
        "{what}: needs an example of shape [C, H, W] or [H, W], got {shape:?}"
    );
    let (h, w) = (shape[shape.len() - 2], shape[shape.len() - 1]);
    (shape[..shape.len() - 2].iter().product(), h, w)
}

/// Pads an image with zeros and crops a window of the original size at a
/// random place, as torchvision's `RandomCrop(size, padding)`: the content
/// moves by up to `padding` pixels in each direction and zeros fill in.
///
/// The example is `[C, H, W]` (or `[H, W]`); every channel moves together.
/// Transforms work in place, so `size` must be the example's `(H, W)`. The
/// offsets are drawn as torchvision does: the top row of the window in the
/// padded image, `0..=2 * padding`, then the left column. The zeros are
/// zeros at this point of the pipeline (after a [`Normalize`], they are not
/// the normalised black).
///
/// ```
/// use nabla::data::RandomCrop;
/// let crop = RandomCrop::new((2, 3), 1);
/// let mut x = vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]; // [1, 2, 3]
/// // The window at row 0, column 0 of the padded image: content moves down and right.
/// crop.apply_at(&mut x, &[1, 2, 3], 0, 0);
/// assert_eq!(x, vec![0.0, 0.0, 0.0, 0.0, 1.0, 2.0]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RandomCrop {
    size: (usize, usize),
    padding: usize,
}

impl RandomCrop {
    /// A random crop of `size = (height, width)` from the image padded by
    /// `padding` zeros on every side.
    pub fn new(size: (usize, usize), padding: usize) -> Self {
        RandomCrop { size, padding }
    }

    /// The crop size `(height, width)`.
    pub fn size(&self) -> (usize, usize) {
        self.size
    }

    /// The padding on each side.
    pub fn padding(&self) -> usize {
        self.padding
    }

    /// Crops at a given place: the window's top-left corner is at row
    /// `top` and column `left` of the padded image (`0..=2 * padding` each;
    /// `(padding, padding)` leaves the image unchanged).
    ///
    /// # Panics
    /// If the example is not `[C, H, W]` or `[H, W]` with `(H, W)` the crop
    /// size, or an offset is past `2 * padding`.
    pub fn apply_at(&self, example: &mut [f32], shape: &[usize], top: usize, left: usize) {
        check_len("RandomCrop", example, shape);
        let (n, h, w) = planes("RandomCrop", shape);
        assert!(
            (h, w) == self.size,
            "RandomCrop: crop size {:?} differs from the example's (H, W) = ({h}, {w}) of shape {shape:?} \
             (transforms work in place and keep the size)",
            self.size
        );
        let p = self.padding;
        assert!(
            top <= 2 * p && left <= 2 * p,
            "RandomCrop: offset ({top}, {left}) is past twice the padding {p}"
        );
        if (top, left) == (p, p) || h == 0 || w == 0 {
            return;
        }
        // Output (y, x) reads input (y + top - p, x + left - p) when that is inside.
        let dy = top as isize - p as isize;
        let dx = left as isize - p as isize;
        // The output columns that read inside the input, and where they read.
        let x0 = (-dx).clamp(0, w as isize) as usize;
        let x1 = (w as isize - dx).clamp(0, w as isize) as usize;
        let mut plane_out = vec![0.0f32; h * w];
        for plane in example.chunks_mut(h * w).take(n) {
            plane_out.iter_mut().for_each(|v| *v = 0.0);
            for y in 0..h {
                let sy = y as isize + dy;
                if sy < 0 || sy >= h as isize || x0 >= x1 {
                    continue;
                }
                let sy = sy as usize;
                let sx0 = (x0 as isize + dx) as usize;
                let src = sy * w + sx0;
                plane_out[y * w + x0..y * w + x1].copy_from_slice(&plane[src..src + (x1 - x0)]);
            }
            plane.copy_from_slice(&plane_out);
        }
    }
}

impl Transform for RandomCrop {
    fn apply(&self, example: &mut [f32], shape: &[usize], rng: &mut Generator) {
        let range = 2 * self.padding + 1;
        let top = rng.below(range);
        let left = rng.below(range);
        self.apply_at(example, shape, top, left);
    }
}

/// Mirrors an image left to right (reverses the last, width, axis) with
/// probability `p`, as torchvision's `RandomHorizontalFlip(p)`.
///
/// It draws one uniform number per example whatever `p` is, and flips when
/// the draw is below `p`.
///
/// ```
/// use nabla::data::{RandomHorizontalFlip, Transform};
/// use nabla::Generator;
/// let mut x = vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]; // [1, 2, 3]
/// RandomHorizontalFlip::new(1.0).apply(&mut x, &[1, 2, 3], &mut Generator::new(0));
/// assert_eq!(x, vec![3.0, 2.0, 1.0, 6.0, 5.0, 4.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RandomHorizontalFlip {
    p: f64,
}

impl RandomHorizontalFlip {
    /// A flip with probability `p` in `[0, 1]`.
    ///
    /// # Panics
    /// If `p` is outside `[0, 1]`.
    pub fn new(p: f64) -> Self {
        assert!(
            (0.0..=1.0).contains(&p),
            "RandomHorizontalFlip: probability {p} is outside [0, 1]"
        );
        RandomHorizontalFlip { p }
    }

    /// The probability of a flip.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// Reverses the last axis of `example` (of `shape`), unconditionally.
    pub fn flip(example: &mut [f32], shape: &[usize]) {
        check_len("RandomHorizontalFlip", example, shape);
        let w = *shape
            .last()
            .unwrap_or_else(|| panic!("RandomHorizontalFlip: cannot flip a scalar example"));
        if w > 1 {
            example.chunks_mut(w).for_each(|row| row.reverse());
        }
    }
}

impl Transform for RandomHorizontalFlip {
    fn apply(&self, example: &mut [f32], shape: &[usize], rng: &mut Generator) {
        if rng.uniform() < self.p {
            RandomHorizontalFlip::flip(example, shape);
        }
    }
}
