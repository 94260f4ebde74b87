//! The squared error, and the Huber (smooth L1) loss that is quadratic near
//! zero and linear beyond.

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

/// The smooth L1 loss: `0.5 x^2 / beta` where `|x| < beta`, else
/// `|x| - 0.5 beta`, with `x = input - target`, then reduced: PyTorch's
/// `F.smooth_l1_loss(input, target, reduction, beta)`. DQN's TD loss
/// (Stable-Baselines3's and the PyTorch tutorial's `SmoothL1Loss`): a
/// squared error for small errors and an absolute one for large, so an
/// outlier's gradient stays bounded by 1.
///
/// Shapes as [`mse_loss_with`]; both arguments are differentiable.
///
/// ```
/// use nabla::nn::loss::{smooth_l1_loss, Reduction};
/// use nabla::Tensor;
/// let x = Tensor::from_vec(vec![0.5f64, 3.0], &[2]).requires_grad();
/// let y = Tensor::zeros(&[2]);
/// let loss = smooth_l1_loss(&x, &y, Reduction::None, 1.0);
/// assert_eq!(loss.to_vec(), vec![0.125, 2.5]); // 0.5 * 0.5^2, 3 - 0.5
/// loss.sum().backward();
/// assert_eq!(x.grad().unwrap().to_vec(), vec![0.5, 1.0]);
/// ```
///
/// # Panics
/// If the shapes differ, or `beta` is negative or not finite.
#[track_caller]
pub fn smooth_l1_loss<T: Float>(
    input: &Tensor<T>,
    target: &Tensor<T>,
    reduction: Reduction,
    beta: f64,
) -> Tensor<T> {
    check_same_shape("smooth_l1_loss", "input", input.shape(), "target", target.shape());
    assert!(
        beta >= 0.0 && beta.is_finite(),
        "smooth_l1_loss: beta must be a non-negative number, got {beta}"
    );
    if beta == 0.0 {
        // PyTorch's definition at beta = 0: the L1 loss.
        return reduce(input.sub(target).abs(), reduction);
    }
    reduce(
        huber_elementwise(&input.sub(target), beta).div_scalar(T::from_f64(beta)),
        reduction,
    )
}

/// The Huber loss: `0.5 x^2` where `|x| < delta`, else `delta (|x| - 0.5
/// delta)`, then reduced: PyTorch's `F.huber_loss(input, target,
/// reduction, delta)`, which is `delta` times [`smooth_l1_loss`] with
/// `beta = delta`.
///
/// ```
/// use nabla::nn::loss::{huber_loss, Reduction};
/// use nabla::Tensor;
/// let x = Tensor::from_vec(vec![0.5f64, 3.0], &[2]);
/// let loss = huber_loss(&x, &Tensor::zeros(&[2]), Reduction::Mean, 2.0);
/// assert_eq!(loss.item(), (0.125 + 2.0 * (3.0 - 1.0)) / 2.0);
/// ```
///
/// # Panics
/// If the shapes differ, or `delta` is not a positive number.
#[track_caller]
pub fn huber_loss<T: Float>(
    input: &Tensor<T>,
    target: &Tensor<T>,
    reduction: Reduction,
    delta: f64,
) -> Tensor<T> {
    check_same_shape("huber_loss", "input", input.shape(), "target", target.shape());
    assert!(
        delta > 0.0 && delta.is_finite(),
        "huber_loss: delta must be a positive number, got {delta}"
    );
    reduce(huber_elementwise(&input.sub(target), delta), reduction)
}

/// `0.5 x^2` where `|x| < delta`, else `delta (|x| - 0.5 delta)`.
fn huber_elementwise<T: Float>(x: &Tensor<T>, delta: f64) -> Tensor<T> {
    let d = T::from_f64(delta);
    let abs = x.abs();
    let quadratic = x.square().mul_scalar(T::from_f64(0.5));
    let linear = abs.add_scalar(T::from_f64(-0.5 * delta)).mul_scalar(d);
    Tensor::where_(&abs.lt_scalar(d), &quadratic, &linear)
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
