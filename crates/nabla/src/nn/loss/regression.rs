//! The squared error.

use super::{check_same_shape, reduce, Reduction};
use crate::element::Float;
use crate::tensor::Tensor;

/// The mean squared error between `input` and `target` (same shape):
/// PyTorch's `F.mse_loss(input, target)`; [`mse_loss_with`] takes the
/// reduction.
///
/// ```
/// use nabla::nn::loss::mse_loss;
/// use nabla::Tensor;
/// let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2]);
/// let y = Tensor::from_vec(vec![0.0f32, 4.0], &[2]);
/// assert_eq!(mse_loss(&x, &y).item(), 2.5);
/// ```
pub fn mse_loss<T: Float>(input: &Tensor<T>, target: &Tensor<T>) -> Tensor<T> {
    mse_loss_with(input, target, Reduction::Mean)
}

/// The squared error `(input - target)^2`, elementwise, then reduced: with
/// [`Reduction::Mean`] the mean squared error (MSE), as
/// `torch.nn.functional.mse_loss`.
///
/// Shapes: `input` and `target` of any one shape (unlike PyTorch, which
/// broadcasts with a warning, nabla requires them equal: a broadcast here,
/// `[N, 1]` against `[N]`, is almost always a bug). The output is
/// zero-dimensional for `Mean` and `Sum`, and of the input's shape for
/// `None`. Both arguments are differentiable.
///
/// ```
/// use nabla::nn::loss::{mse_loss_with, Reduction};
/// use nabla::Tensor;
/// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3]).requires_grad();
/// let y = Tensor::from_vec(vec![1.0f32, 0.0, 1.0], &[3]);
/// let loss = mse_loss_with(&x, &y, Reduction::Mean); // (0 + 4 + 4) / 3
/// assert!((loss.item() - 8.0 / 3.0).abs() < 1e-6);
/// loss.backward(); // 2 (x - y) / 3
/// assert_eq!(x.grad().unwrap().to_vec(), vec![0.0, 4.0 / 3.0, 4.0 / 3.0]);
/// assert_eq!(mse_loss_with(&x, &y, Reduction::None).to_vec(), vec![0.0, 4.0, 4.0]);
/// ```
///
/// # Panics
/// If the shapes differ: `mse_loss: input of shape [3] and target of shape
/// [3, 1] differ; they must have the same shape`.
#[track_caller]
pub fn mse_loss_with<T: Float>(input: &Tensor<T>, target: &Tensor<T>, reduction: Reduction) -> Tensor<T> {
    check_same_shape("mse_loss", "input", input.shape(), "target", target.shape());
    reduce(input.sub(target).square(), reduction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_values() {
        let x = Tensor::from_vec(vec![1.0f64, -2.0, 0.5, 4.0], &[2, 2]).requires_grad();
        let y = Tensor::from_vec(vec![0.0f64, 1.0, 0.5, 2.0], &[2, 2]);
        // squared errors 1, 9, 0, 4
        assert_eq!(
            mse_loss_with(&x, &y, Reduction::None).to_vec(),
            vec![1.0, 9.0, 0.0, 4.0]
        );
        assert_eq!(mse_loss_with(&x, &y, Reduction::None).shape(), &[2, 2]);
        assert_eq!(mse_loss_with(&x, &y, Reduction::Sum).item(), 14.0);
        let mean = mse_loss_with(&x, &y, Reduction::Mean);
        assert_eq!(mean.shape(), &[] as &[usize]);
        assert_eq!(mean.item(), 3.5);
        mean.backward();
        // 2 (x - y) / 4
        assert_eq!(x.grad().unwrap().to_vec(), vec![0.5, -1.5, 0.0, 1.0]);
    }

    #[test]
    fn target_gets_the_opposite_gradient() {
        let x = Tensor::from_vec(vec![3.0f64], &[1]).requires_grad();
        let y = Tensor::from_vec(vec![1.0f64], &[1]).requires_grad();
        mse_loss_with(&x, &y, Reduction::Sum).backward();
        assert_eq!(x.grad().unwrap().to_vec(), vec![4.0]);
        assert_eq!(y.grad().unwrap().to_vec(), vec![-4.0]);
    }

    #[test]
    #[should_panic(expected = "mse_loss: input of shape [3] and target of shape [3, 1] differ")]
    fn shapes_must_match() {
        mse_loss_with(
            &Tensor::<f32>::zeros(&[3]),
            &Tensor::zeros(&[3, 1]),
            Reduction::Mean,
        );
    }
}
