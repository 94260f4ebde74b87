//! Sampling indices from a seeded [`Generator`]: `multinomial` (categories
//! by their weights) and `randint` (uniform integers).
//!
//! Both draw on the host, where the generator lives: `multinomial` reads
//! the weights out of the tensor (for language-model sampling, one row of
//! vocabulary probabilities per step). The streams are nabla's own
//! (ChaCha8), so the draws differ from PyTorch's for the same seed; the
//! distributions are the same.

use super::{Generator, IndexTensor, Tensor};
use crate::backend;
use crate::element::Float;

impl<T: Float> Tensor<T> {
    /// Draws `num_samples` category indices from each row of these
    /// non-negative weights (probabilities, not necessarily normalised),
    /// as `torch.multinomial(weights, num_samples, replacement, generator)`.
    ///
    /// Shapes: weights `[C]` or `[N, C]`; indices `[num_samples]` or
    /// `[N, num_samples]`. With `replacement` each draw picks category `c`
    /// with probability `w_c / Σ w`, independently. Without it the draws
    /// are distinct categories, each picked with probability proportional
    /// to its weight among those not yet drawn (computed, as PyTorch does,
    /// as the `num_samples` largest `w_c / e_c` with `e_c` exponential
    /// draws); zero-weight categories come last, only when every positive
    /// one is drawn.
    ///
    /// ```
    /// use nabla::{Generator, Tensor};
    /// let probs = Tensor::from_vec(vec![0.0f32, 0.2, 0.8], &[3]);
    /// let mut g = Generator::new(0);
    /// let draws = probs.multinomial(1000, true, &mut g).to_vec();
    /// assert!(!draws.contains(&0)); // weight 0 is never drawn
    /// let threes = draws.iter().filter(|&&c| c == 2).count();
    /// assert!((700..900).contains(&threes)); // about 800
    /// let all = probs.multinomial(2, false, &mut g).to_vec();
    /// assert!(all == vec![1, 2] || all == vec![2, 1]);
    /// ```
    ///
    /// # Panics
    /// If the weights are not `[C]` or `[N, C]` with `C > 0`, a weight is
    /// negative or not finite, a row sums to 0, or (without replacement)
    /// `num_samples > C`.
    pub fn multinomial(
        &self,
        num_samples: usize,
        replacement: bool,
        generator: &mut Generator,
    ) -> IndexTensor {
        let shape = self.shape();
        assert!(
            matches!(shape.len(), 1 | 2) && shape[shape.len() - 1] > 0,
            "multinomial: weights must be [C] or [N, C] with C > 0, got shape {shape:?}"
        );
        let categories = shape[shape.len() - 1];
        assert!(
            replacement || num_samples <= categories,
            "multinomial: cannot draw {num_samples} samples without replacement from {categories} categories"
        );
        let samples = backend::read_host(self, |weights| {
            let mut samples = Vec::with_capacity(weights.len() / categories * num_samples);
            for (r, row) in weights.chunks(categories).enumerate() {
                let row: Vec<f64> = row.iter().map(|w| w.as_f64()).collect();
                if let Some((c, w)) = row
                    .iter()
                    .enumerate()
                    .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
                {
                    panic!("multinomial: weight {w} (row {r}, category {c}) is negative or not finite");
                }
                let total: f64 = row.iter().sum();
                assert!(total > 0.0, "multinomial: the weights of row {r} sum to 0");
                if replacement {
                    draw_with_replacement(&row, total, num_samples, generator, &mut samples);
                } else {
                    draw_without_replacement(&row, num_samples, generator, &mut samples);
                }
            }
            samples
        });
        let mut out_shape = shape[..shape.len() - 1].to_vec();
        out_shape.push(num_samples);
        IndexTensor::from_vec(samples, &out_shape)
    }
}

/// `count` independent draws from the categorical distribution of `row`
/// (summing to `total`): the first category whose cumulative weight
/// exceeds a uniform draw from `[0, total)`.
fn draw_with_replacement(
    row: &[f64],
    total: f64,
    count: usize,
    generator: &mut Generator,
    out: &mut Vec<usize>,
) {
    let cumulative: Vec<f64> = row
        .iter()
        .scan(0.0, |sum, w| {
            *sum += w;
            Some(*sum)
        })
        .collect();
    let last_positive = row.iter().rposition(|&w| w > 0.0).expect("a positive weight");
    for _ in 0..count {
        let u = generator.uniform() * total;
        // Rounding may put u at or past the last sum: take the last
        // category that can be drawn.
        out.push(cumulative.partition_point(|&c| c <= u).min(last_positive));
    }
}

/// `count` distinct categories: the largest keys `w / e` with `e` a unit
/// exponential draw per category, which is sequential sampling without
/// replacement (the exponential race).
fn draw_without_replacement(row: &[f64], count: usize, generator: &mut Generator, out: &mut Vec<usize>) {
    let keys: Vec<f64> = row
        .iter()
        .map(|&w| {
            let e = -(1.0 - generator.uniform()).ln();
            if w == 0.0 {
                0.0
            } else {
                w / e
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..row.len()).collect();
    // Stable, so that zero keys keep their index order.
    order.sort_by(|&a, &b| keys[b].total_cmp(&keys[a]));
    out.extend_from_slice(&order[..count]);
}

impl IndexTensor {
    /// Integers drawn uniformly from `low..high` (`high` excluded), as
    /// `torch.randint(low, high, shape, generator=g)`: token ids, random
    /// offsets into a text.
    ///
    /// ```
    /// use nabla::{Generator, IndexTensor};
    /// let mut g = Generator::new(7);
    /// let offsets = IndexTensor::randint(10, 20, &[4, 3], &mut g);
    /// assert_eq!(offsets.shape(), &[4, 3]);
    /// assert!(offsets.to_vec().iter().all(|i| (10..20).contains(i)));
    /// ```
    ///
    /// # Panics
    /// If `low >= high`.
    pub fn randint(low: usize, high: usize, shape: &[usize], generator: &mut Generator) -> IndexTensor {
        assert!(low < high, "randint: low {low} must be below high {high}");
        let n: usize = shape.iter().product();
        let values = (0..n).map(|_| low + generator.below(high - low)).collect();
        IndexTensor::from_vec(values, shape)
    }
}
