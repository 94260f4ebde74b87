//! Dropout: zeroes elements at random in training, the identity in eval mode.

use std::marker::PhantomData;
use std::sync::Mutex;

use super::{Layer, Module};
use crate::backend::{self, ops::RandomFill};
use crate::element::Float;
use crate::tensor::{Generator, Tensor};

/// Zeroes each element with probability `p` during training and scales the
/// survivors by `1 / (1 - p)`, so that evaluation (the identity) sees the
/// same expected activation. Seeded: the same seed gives the same masks.
///
/// ```
/// use nabla::nn::{Dropout, Layer, Module};
/// use nabla::Tensor;
/// let mut dropout: Dropout = Dropout::new(0.5, 7); // Dropout<f32>
/// let y = dropout.forward(&Tensor::ones(&[1000]));
/// let kept = y.to_vec().iter().filter(|&&v| v == 2.0).count();
/// assert!(kept > 400 && kept < 600);
/// dropout.eval();
/// assert_eq!(dropout.forward(&Tensor::ones(&[3])).to_vec(), vec![1.0; 3]);
/// ```
#[derive(Module)]
pub struct Dropout<T: Float = f32> {
    p: f64,
    #[module(training)]
    training: bool,
    #[module(skip)]
    generator: MaskGenerator,
    element: PhantomData<T>,
}

/// The generator of the masks, shared by `forward(&self)` calls; a copy of
/// the layer (another element type) continues from the same state.
struct MaskGenerator(Mutex<Generator>);

impl Clone for MaskGenerator {
    fn clone(&self) -> Self {
        MaskGenerator(Mutex::new(
            self.0.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        ))
    }
}

impl<T: Float> Dropout<T> {
    /// Dropout with drop probability `p` in `[0, 1)`, drawing masks from a
    /// generator seeded with `seed`.
    ///
    /// # Panics
    /// If `p` is outside `[0, 1)`.
    pub fn new(p: f64, seed: u64) -> Self {
        assert!((0.0..1.0).contains(&p), "Dropout: p = {p} is not in [0, 1)");
        Dropout {
            p,
            training: true,
            generator: MaskGenerator(Mutex::new(Generator::new(seed))),
            element: PhantomData,
        }
    }
}

impl<T: Float> Layer<T> for Dropout<T> {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        if !self.training || self.p == 0.0 {
            return input.clone();
        }
        let scale = 1.0 / (1.0 - self.p);
        let mut generator = self.generator.0.lock().unwrap_or_else(|p| p.into_inner());
        let mask = backend::random(
            input.shape(),
            RandomFill::Bernoulli { p: self.p, scale },
            &mut generator,
        );
        input * &mask
    }
}
