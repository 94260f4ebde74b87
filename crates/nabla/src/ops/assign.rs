//! The in-place operators `+=`, `-=`, `*=` on tensors outside the graph:
//! parameter updates, as PyTorch's `p += x` under `torch.no_grad()`.

use std::ops::{AddAssign, MulAssign, SubAssign};

use crate::autograd::is_grad_enabled;
use crate::backend::binary_assign;
use crate::backend::ops::BinaryOp;
use crate::element::Float;
use crate::tensor::Tensor;

impl<T: Float> Tensor<T> {
    /// Overwrites every element with `op(element, other's element)`,
    /// broadcasting `other` to this tensor's shape, unrecorded.
    fn update_with(&self, symbol: &str, op: BinaryOp, other: &Tensor<T>) {
        if self.is_requires_grad() && is_grad_enabled() {
            panic!(
                "{symbol}: the tensor of shape {:?} requires grad, so changing it in place would make its gradients wrong; update it inside no_grad (as optimizers do) or write `x = &x {} &y`",
                self.shape(),
                &symbol[..1]
            );
        }
        binary_assign(op, self, other);
    }

    fn update_with_scalar(&self, symbol: &str, op: BinaryOp, value: T) {
        self.update_with(symbol, op, &Tensor::scalar(value));
    }
}

/// Defines `tensor op= tensor`, `tensor op= &tensor` and `tensor op= scalar`.
macro_rules! assign_operator {
    ($trait:ident, $method:ident, $symbol:literal, $op:expr) => {
        impl<T: Float> $trait<&Tensor<T>> for Tensor<T> {
            /// In place, broadcasting the right side; unrecorded.
            ///
            /// # Panics
            /// If the tensor requires grad while recording is on (use
            /// `no_grad`), or the right side does not broadcast to its shape.
            fn $method(&mut self, rhs: &Tensor<T>) {
                self.update_with($symbol, $op, rhs);
            }
        }
        impl<T: Float> $trait<Tensor<T>> for Tensor<T> {
            fn $method(&mut self, rhs: Tensor<T>) {
                self.update_with($symbol, $op, &rhs);
            }
        }
        impl<T: Float> $trait<T> for Tensor<T> {
            fn $method(&mut self, rhs: T) {
                self.update_with_scalar($symbol, $op, rhs);
            }
        }
    };
}

assign_operator!(AddAssign, add_assign, "+=", BinaryOp::Add);
assign_operator!(SubAssign, sub_assign, "-=", BinaryOp::Sub);
assign_operator!(MulAssign, mul_assign, "*=", BinaryOp::Mul);

#[cfg(test)]
mod tests {
    use crate::{no_grad, Tensor};

    #[test]
    fn updates_every_view_of_the_storage() {
        let w = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]);
        let mut column = w.narrow(1, 1, 1);
        column += &Tensor::from_vec(vec![10.0, 20.0], &[2, 1]);
        column *= 2.0;
        assert_eq!(w.to_vec(), vec![1.0, 24.0, 3.0, 48.0]);
        let mut all = w.clone();
        all -= Tensor::from_vec(vec![1.0, 0.0], &[2]);
        assert_eq!(w.to_vec(), vec![0.0, 24.0, 2.0, 48.0]);
    }

    #[test]
    fn a_tensor_may_update_itself() {
        let mut x = Tensor::from_vec(vec![1.0f64, 2.0], &[2]);
        let same = x.clone();
        x += &same;
        assert_eq!(x.to_vec(), vec![2.0, 4.0]);
        let mut t = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]);
        let transposed = t.t();
        t += &transposed;
        assert_eq!(t.to_vec(), vec![2.0, 5.0, 5.0, 8.0]);
    }

    #[test]
    fn parameters_update_under_no_grad() {
        let mut p = Tensor::from_vec(vec![1.0f32, 2.0], &[2]).requires_grad();
        (&p * &p).sum().backward();
        let step = p.grad().unwrap();
        no_grad(|| p -= &step * 0.5);
        assert_eq!(p.to_vec(), vec![0.0, 0.0]);
        assert!(p.is_requires_grad());
    }

    #[test]
    #[should_panic(
        expected = "+=: the tensor of shape [2] requires grad, so changing it in place would make its gradients wrong"
    )]
    fn a_tensor_that_requires_grad_panics_outside_no_grad() {
        let mut p = Tensor::from_vec(vec![1.0f32, 2.0], &[2]).requires_grad();
        p += 1.0;
    }

    #[test]
    #[should_panic(expected = "*=: cannot update a tensor of shape [2] in place with one of shape [3]")]
    fn the_right_side_must_broadcast_to_the_left() {
        let mut x = Tensor::<f32>::zeros(&[2]);
        x *= Tensor::zeros(&[3]);
    }
}
