//! The seeded random-number generator every random thing in nabla draws from.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// A seeded, reproducible source of random numbers (ChaCha8): the same seed
/// gives the same draws on every machine.
///
/// ```
/// let mut g = nabla::Generator::new(42);
/// let x = nabla::Tensor::<f32>::randn(&[2, 2], &mut g);
/// assert_eq!(x.shape(), &[2, 2]);
/// ```
#[derive(Clone, Debug)]
pub struct Generator {
    rng: ChaCha8Rng,
}

impl Generator {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Generator {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// A uniform draw from `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        self.rng.random::<f64>()
    }

    /// A standard normal draw.
    pub fn normal(&mut self) -> f64 {
        self.rng.sample(StandardNormal)
    }

    /// A uniform integer in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n)
    }

    /// A uniformly random permutation of `0..n` (Fisher-Yates), as
    /// `torch.randperm` (not the same draws).
    ///
    /// ```
    /// let mut order = nabla::Generator::new(0).permutation(5);
    /// order.sort();
    /// assert_eq!(order, vec![0, 1, 2, 3, 4]);
    /// ```
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, self.below(i + 1));
        }
        order
    }
}
