//! A lower bound of a network's L2 Lipschitz constant from data: the
//! largest spectral norm of its Jacobian over a set of inputs.
//!
//! Why it bounds the same constant from below: where `f` is differentiable
//! at `x`, for a unit direction `v`,
//! `||J(x) v|| = lim_{t -> 0} ||f(x + t v) - f(x)|| / t <= L`, and the
//! largest of these over `v` is `||J(x)||_2`. So every example's
//! `||J(x)||_2` is at most the `L` that
//! [`lipschitz_upper_bound`](super::lipschitz_upper_bound) bounds from
//! above (the logit map from the model's inputs, L2 to L2). A ReLU
//! network is differentiable everywhere but on a set of measure zero, the
//! kinks (a ReLU input of exactly 0, a tie inside a max-pooling window);
//! at a kink autograd's convention (ReLU'(0) = 0, the first maximum) need
//! not be a derivative, so an example sitting exactly on one is not
//! covered by the argument. Data points practically never do.
//!
//! The Jacobian is computed exactly, one vector-Jacobian product per logit
//! (`K` backward passes for `K` classes, each for the whole batch: examples
//! do not interact in evaluation mode), and its norm as the square root of
//! the largest eigenvalue of the `K x K` Gram matrix `J J^T`. This is
//! stronger than the gradient of the margin between the top two logits,
//! whose norm divided by `sqrt(2)` is at most `||J||_2` too.

use nalgebra::{DMatrix, SymmetricEigen};

use crate::autograd::{grad_with, with_grad_mode};
use crate::element::Float;
use crate::error::{Error, Result};
use crate::nn::Layer;
use crate::tensor::Tensor;

/// The spectral norm of the Jacobian of `model`'s logits `[B, K]` with
/// respect to each example of `inputs` `[B, ...]`, one per example. The
/// model is used as it is: put it in evaluation mode first (BatchNorm with
/// batch statistics would mix the examples). Parameters' `.grad` are not
/// touched.
///
/// ```
/// use nabla::lipschitz::jacobian_norms;
/// use nabla::nn::Linear;
/// use nabla::Tensor;
/// // A linear model's Jacobian is its weight everywhere: norm 5 here.
/// let w = Tensor::from_vec(vec![3.0f64, 0.0, 4.0, 0.0], &[2, 2]);
/// let model = Linear::from_parameters(w, None);
/// let norms = jacobian_norms(&model, &Tensor::ones(&[3, 2])).unwrap();
/// assert_eq!(norms.len(), 3);
/// assert!(norms.iter().all(|n| (n - 5.0).abs() < 1e-12));
/// ```
///
/// # Errors
/// If the model's output is not `[B, K]` for a batch of `B`.
pub fn jacobian_norms<T: Float>(model: &dyn Layer<T>, inputs: &Tensor<T>) -> Result<Vec<f64>> {
    let batch = inputs.shape().first().copied().unwrap_or(0);
    let per_example: usize = inputs.shape().iter().skip(1).product();
    with_grad_mode(true, || {
        let x = inputs.detach().requires_grad();
        let logits = model.forward(&x);
        let classes = match logits.shape() {
            [b, k] if *b == batch => *k,
            other => {
                return Err(Error::InvalidSetting {
                    context: "jacobian_norms".to_string(),
                    message: format!(
                        "the model maps inputs of shape {:?} to {other:?}, not to [{batch}, classes] logits",
                        inputs.shape()
                    ),
                })
            }
        };
        // rows[k][b * d + i] = d logit_k / d x_i of example b.
        let rows: Vec<Vec<f64>> = (0..classes)
            .map(|k| {
                let mut pick = vec![T::zero(); batch * classes];
                for b in 0..batch {
                    pick[b * classes + k] = T::one();
                }
                let pick = Tensor::from_vec(pick, &[batch, classes]);
                let retain = k + 1 < classes;
                let g = grad_with(&[&logits], &[&pick], &[&x], retain, false)
                    .pop()
                    .flatten()
                    .unwrap_or_else(|| Tensor::zeros(inputs.shape()));
                g.to_vec().iter().map(|v| v.as_f64()).collect()
            })
            .collect();
        Ok((0..batch)
            .map(|b| {
                let span = b * per_example..(b + 1) * per_example;
                let gram = DMatrix::from_fn(classes, classes, |i, j| {
                    rows[i][span.clone()]
                        .iter()
                        .zip(&rows[j][span.clone()])
                        .map(|(a, c)| a * c)
                        .sum::<f64>()
                });
                let largest = SymmetricEigen::new(gram)
                    .eigenvalues
                    .iter()
                    .copied()
                    .fold(0.0, f64::max);
                largest.sqrt()
            })
            .collect())
    })
}

/// The data lower bound over several batches: the largest Jacobian norm
/// and where it was found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DataLowerBound {
    /// The largest `||J(x)||_2` seen (0 before any example).
    pub value: f64,
    /// Its example's position among those seen, counting from 0.
    pub example: Option<usize>,
    /// How many examples were seen.
    pub examples: usize,
}

/// The largest Jacobian spectral norm of `model` over the batches of
/// inputs (see [`jacobian_norms`]): a lower bound of its L2 Lipschitz
/// constant. The model is put in evaluation mode and back.
///
/// ```
/// use nabla::lipschitz::{lipschitz_lower_bound, lipschitz_upper_bound, PowerIteration};
/// use nabla::nn::{Linear, Relu, Sequential};
/// use nabla::{Generator, Tensor};
/// let mut g = Generator::new(0);
/// let mut model: Sequential<f64> = Sequential::new()
///     .add(Linear::new(4, 16, true, &mut g))
///     .add(Relu)
///     .add(Linear::new(16, 3, true, &mut g));
/// let batches = (0..2).map(|i| Tensor::randn(&[8, 4], &mut Generator::new(i)));
/// let lower = lipschitz_lower_bound(&mut model, batches).unwrap();
/// let upper = lipschitz_upper_bound(&model, &[4], &PowerIteration::default()).unwrap();
/// assert_eq!(lower.examples, 16);
/// assert!(0.0 < lower.value && lower.value <= upper.upper_bound);
/// ```
///
/// # Errors
/// As [`jacobian_norms`].
pub fn lipschitz_lower_bound<T: Float>(
    model: &mut dyn Layer<T>,
    batches: impl IntoIterator<Item = Tensor<T>>,
) -> Result<DataLowerBound> {
    let was_training = model.is_training();
    model.eval();
    let mut bound = DataLowerBound {
        value: 0.0,
        example: None,
        examples: 0,
    };
    let mut outcome = Ok(());
    for inputs in batches {
        match jacobian_norms(&*model, &inputs) {
            Ok(norms) => {
                for (i, norm) in norms.iter().enumerate() {
                    if *norm > bound.value {
                        bound.value = *norm;
                        bound.example = Some(bound.examples + i);
                    }
                }
                bound.examples += norms.len();
            }
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    model.train(was_training);
    outcome.map(|()| bound)
}
