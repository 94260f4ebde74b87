//! Small random rotations and shifts of images, the distortions LeCun et
//! al. (1998) trained LeNet-5 with.

use super::transforms::{check_len, planes, Transform};
use crate::tensor::Generator;

/// Rotates an image by a random angle in `[-degrees, degrees]` about its
/// centre and shifts it by a random offset of up to `translate` times its
/// width (horizontally) and height (vertically), as torchvision's
/// `RandomAffine(degrees, translate=(translate, translate))`.
///
/// The example is `[C, H, W]` (or `[H, W]`); every channel moves together.
/// Pixels are resampled bilinearly (torchvision's default is nearest),
/// so shifts need not be whole pixels, and pixels brought in from outside
/// the image are 0: apply it before a `Normalize`, where 0 is black. A
/// positive angle turns the image counter-clockwise, as torchvision's.
///
/// ```
/// use nabla::data::RandomAffine;
/// // A bright pixel left of the centre of a 3x3 image.
/// let mut x = vec![0.0f32, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0];
/// // A quarter turn counter-clockwise takes it below the centre.
/// RandomAffine::new(10.0, 0.1).apply_with(&mut x, &[1, 3, 3], 90.0, (0.0, 0.0));
/// let rounded: Vec<f32> = x.iter().map(|v| v.round()).collect();
/// assert_eq!(rounded, vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[doc(alias = "RandomRotation")]
pub struct RandomAffine {
    degrees: f64,
    translate: f64,
}

impl RandomAffine {
    /// Rotations of up to `degrees` either way and shifts of up to
    /// `translate` (a fraction of the size) either way.
    ///
    /// # Panics
    /// If `degrees` is negative or not finite, or `translate` is outside `[0, 1)`.
    pub fn new(degrees: f64, translate: f64) -> Self {
        assert!(
            degrees.is_finite() && degrees >= 0.0,
            "RandomAffine: degrees {degrees} is not a non-negative angle"
        );
        assert!(
            (0.0..1.0).contains(&translate),
            "RandomAffine: translate {translate} is outside [0, 1) (a fraction of the image size)"
        );
        RandomAffine { degrees, translate }
    }

    /// The largest rotation, in degrees.
    pub fn degrees(&self) -> f64 {
        self.degrees
    }

    /// The largest shift, as a fraction of the image size.
    pub fn translate(&self) -> f64 {
        self.translate
    }

    /// Rotates by `angle` degrees (counter-clockwise) about the centre and
    /// shifts by `(dx, dy)` pixels (right and down), whatever the ranges.
    ///
    /// # Panics
    /// If the example is not `[C, H, W]` or `[H, W]` of `shape`.
    pub fn apply_with(&self, example: &mut [f32], shape: &[usize], angle: f64, (dx, dy): (f64, f64)) {
        check_len("RandomAffine", example, shape);
        let (n, h, w) = planes("RandomAffine", shape);
        if h == 0 || w == 0 || (angle == 0.0 && dx == 0.0 && dy == 0.0) {
            return;
        }
        let (sin, cos) = angle.to_radians().sin_cos();
        let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
        // Where each output pixel reads from: the inverse of the shift, then
        // of the rotation (in image coordinates, y pointing down).
        let sources: Vec<(f64, f64)> = (0..h * w)
            .map(|i| {
                let (ox, oy) = ((i % w) as f64 - cx - dx, (i / w) as f64 - cy - dy);
                (cos * ox - sin * oy + cx, sin * ox + cos * oy + cy)
            })
            .collect();
        let mut out = vec![0.0f32; h * w];
        for plane in example.chunks_mut(h * w).take(n) {
            for (o, &(sx, sy)) in out.iter_mut().zip(&sources) {
                *o = bilinear(plane, h, w, sx, sy);
            }
            plane.copy_from_slice(&out);
        }
    }
}

/// The value at `(x, y)` of an `h x w` plane, interpolated between its four
/// neighbours, 0 outside.
fn bilinear(plane: &[f32], h: usize, w: usize, x: f64, y: f64) -> f32 {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = ((x - x0) as f32, (y - y0) as f32);
    let at = |row: f64, col: f64| -> f32 {
        if row < 0.0 || col < 0.0 || row >= h as f64 || col >= w as f64 {
            0.0
        } else {
            plane[row as usize * w + col as usize]
        }
    };
    let top = at(y0, x0) * (1.0 - fx) + at(y0, x0 + 1.0) * fx;
    let bottom = at(y0 + 1.0, x0) * (1.0 - fx) + at(y0 + 1.0, x0 + 1.0) * fx;
    top * (1.0 - fy) + bottom * fy
}

impl Transform for RandomAffine {
    fn apply(&self, example: &mut [f32], shape: &[usize], rng: &mut Generator) {
        let (_, h, w) = planes("RandomAffine", shape);
        let angle = (2.0 * rng.uniform() - 1.0) * self.degrees;
        let dx = (2.0 * rng.uniform() - 1.0) * self.translate * w as f64;
        let dy = (2.0 * rng.uniform() - 1.0) * self.translate * h as f64;
        self.apply_with(example, shape, angle, (dx, dy));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(h: usize, w: usize) -> Vec<f32> {
        (0..h * w).map(|i| i as f32).collect()
    }

    #[test]
    fn no_rotation_and_no_shift_leave_the_image_unchanged() {
        let mut x = image(4, 5);
        RandomAffine::new(15.0, 0.1).apply_with(&mut x, &[1, 4, 5], 0.0, (0.0, 0.0));
        assert_eq!(x, image(4, 5));
    }

    #[test]
    fn a_whole_pixel_shift_moves_every_channel_exactly() {
        let mut x = [image(3, 4), image(3, 4)].concat();
        RandomAffine::new(0.0, 0.5).apply_with(&mut x, &[2, 3, 4], 0.0, (1.0, 0.0));
        // Right by one: the first column is filled with zeros.
        let shifted = vec![0.0, 0.0, 1.0, 2.0, 0.0, 4.0, 5.0, 6.0, 0.0, 8.0, 9.0, 10.0];
        assert_eq!(x, [shifted.clone(), shifted].concat());
        let mut y = image(3, 4);
        RandomAffine::new(0.0, 0.5).apply_with(&mut y, &[3, 4], 0.0, (0.0, -1.0));
        // Up by one: the last row is zeros.
        assert_eq!(
            y,
            vec![4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 0.0, 0.0, 0.0, 0.0]
        );
    }

    #[test]
    fn a_half_pixel_shift_averages_neighbours() {
        let mut x = vec![0.0f32, 2.0, 4.0];
        RandomAffine::new(0.0, 0.5).apply_with(&mut x, &[1, 3], 0.0, (0.5, 0.0));
        assert_eq!(x, vec![0.0, 1.0, 3.0]);
    }

    #[test]
    fn four_quarter_turns_come_back_and_one_turns_counter_clockwise() {
        let original = image(5, 5);
        let affine = RandomAffine::new(90.0, 0.0);
        let mut x = original.clone();
        affine.apply_with(&mut x, &[5, 5], 90.0, (0.0, 0.0));
        // Counter-clockwise: the top row (0..5) becomes the left column, read upwards.
        let left_column: Vec<f32> = (0..5).map(|r| x[r * 5].round()).collect();
        assert_eq!(left_column, vec![4.0, 3.0, 2.0, 1.0, 0.0]);
        for _ in 0..3 {
            affine.apply_with(&mut x, &[5, 5], 90.0, (0.0, 0.0));
        }
        for (a, b) in x.iter().zip(&original) {
            assert!((a - b).abs() < 1e-4, "{x:?}");
        }
    }

    #[test]
    fn random_draws_stay_in_range_and_repeat_with_the_seed() {
        let affine = RandomAffine::new(10.0, 0.1);
        let digit: Vec<f32> = (0..28 * 28)
            .map(|i| {
                if (10..18).contains(&(i % 28)) && (8..20).contains(&(i / 28)) {
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        let run = |seed| {
            let mut x = digit.clone();
            affine.apply(&mut x, &[1, 28, 28], &mut Generator::new(seed));
            x
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
        // A centred blob stays inside: its mass is kept to interpolation error.
        let mass: f32 = run(5).iter().sum();
        assert!((mass - 96.0).abs() < 3.0, "mass {mass}");
    }

    #[test]
    #[should_panic(expected = "RandomAffine: translate 1.5 is outside [0, 1)")]
    fn a_shift_of_more_than_the_image_is_refused() {
        RandomAffine::new(10.0, 1.5);
    }
}
