//! Comparisons, which produce masks (1 where true, 0 where false, in the
//! tensor's element type), and `where_`, which selects by a mask.
//!
//! Masks are piecewise constant, so they carry no gradient.

use crate::autograd::record;
use crate::backend::ops::{BinaryOp, Comparison, UnaryOp};
use crate::backend::{self, binary, unary};
use crate::element::Float;
use crate::layout::Dims;
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
