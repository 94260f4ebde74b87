//! Comparisons, which produce masks (1 where true, 0 where false, in the
//! tensor's element type), and `where_` and `masked_fill`, which select by
//! a mask.
//!
//! Masks are piecewise constant, so they carry no gradient.

use crate::autograd::record;
use crate::backend::ops::{BinaryOp, Comparison, UnaryOp};
use crate::backend::{self, binary, unary};
use crate::element::Float;
use crate::layout::{broadcast_shapes, Dims};
use crate::tensor::Tensor;

macro_rules! comparisons {
    ($($name:ident, $scalar_name:ident, $cmp:ident, $doc:literal;)*) => {
        impl<T: Float> Tensor<T> {
            $(
                #[doc = concat!("Mask of `self ", $doc, " other`, broadcasting.")]
                pub fn $name(&self, other: &Tensor<T>) -> Tensor<T> {
                    binary(BinaryOp::Compare(Comparison::$cmp), self, other)
                }

                #[doc = concat!("Mask of `self ", $doc, " value`.")]
                pub fn $scalar_name(&self, value: T) -> Tensor<T> {
                    unary(UnaryOp::Compare(Comparison::$cmp, value.as_f64()), self)
                }
            )*
        }
    };
}

comparisons! {
    eq, eq_scalar, Eq, "==";
    ne, ne_scalar, Ne, "!=";
    lt, lt_scalar, Lt, "<";
    le, le_scalar, Le, "<=";
    gt, gt_scalar, Gt, ">";
    ge, ge_scalar, Ge, ">=";
}

impl<T: Float> Tensor<T> {
    /// `self` with `value` wherever `mask` is nonzero, as PyTorch's
    /// `x.masked_fill(mask, value)`. The mask is a float tensor, nonzero
    /// (1) where to fill and 0 where to keep, as the comparisons above make
    /// them (nabla has no bool tensors). `self` and `mask` broadcast
    /// together, giving the output's shape. The gradient flows to `self`
    /// where the mask is 0.
    ///
    /// ```
    /// use nabla::Tensor;
    /// let scores = Tensor::<f32>::zeros(&[2, 2]);
    /// let future = Tensor::<f32>::ones(&[2, 2]).triu(1); // a causal mask
    /// let masked = scores.masked_fill(&future, f32::NEG_INFINITY);
    /// assert_eq!(masked.to_vec(), vec![0.0, f32::NEG_INFINITY, 0.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// If the shapes do not broadcast together.
    pub fn masked_fill(&self, mask: &Tensor<T>, value: T) -> Tensor<T> {
        assert!(
            broadcast_shapes(self.shape(), mask.shape()).is_some(),
            "masked_fill: a mask of shape {:?} does not broadcast with the input of shape {:?}",
            mask.shape(),
            self.shape()
        );
        Tensor::where_(mask, &Tensor::scalar(value), self)
    }

    /// `on_true` where `condition` is nonzero and `on_false` elsewhere, all
    /// three broadcast together (`torch.where`). The gradient flows to the
    /// selected side only.
    ///
    /// ```
    /// use nabla::Tensor;
    /// let x = Tensor::from_vec(vec![-1.0f32, 2.0, -3.0], &[3]);
    /// let y = Tensor::where_(&x.gt_scalar(0.0), &x, &Tensor::scalar(0.0));
    /// assert_eq!(y.to_vec(), vec![0.0, 2.0, 0.0]);
    /// ```
    pub fn where_(condition: &Tensor<T>, on_true: &Tensor<T>, on_false: &Tensor<T>) -> Tensor<T> {
        let out = backend::where_(condition, on_true, on_false);
        let cond = condition.clone();
        let zero = Tensor::scalar(T::zero());
        let (shape_t, shape_f) = (
            Dims::from_slice(on_true.shape()),
            Dims::from_slice(on_false.shape()),
        );
        record("Where", out, &[on_true, on_false], move |ctx| {
            let g = ctx.grad();
            vec![
                ctx.needs_input_grad(0)
                    .then(|| Tensor::where_(&cond, g, &zero).sum_to(&shape_t)),
                ctx.needs_input_grad(1)
                    .then(|| Tensor::where_(&cond, &zero, g).sum_to(&shape_f)),
            ]
        })
    }
}
