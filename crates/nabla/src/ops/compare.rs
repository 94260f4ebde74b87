//! Comparisons, which produce masks (1 where true, 0 where false, in the
//! tensor's element type), and `where_`, which selects by a mask.
//!
//! Masks are piecewise constant, so they carry no gradient.

use super::binary::broadcast_apply;
use super::unary::unary_apply;
use crate::autograd::record;
use crate::element::Float;
use crate::layout::{broadcast_shapes, Dims};
use crate::tensor::Tensor;

fn mask<T: Float>(condition: bool) -> T {
    if condition {
        T::one()
    } else {
        T::zero()
    }
}

macro_rules! comparisons {
    ($($name:ident, $scalar_name:ident, $op:tt, $doc:literal;)*) => {
        impl<T: Float> Tensor<T> {
            $(
                #[doc = concat!("Mask of `self ", $doc, " other`, broadcasting.")]
                pub fn $name(&self, other: &Tensor<T>) -> Tensor<T> {
                    broadcast_apply(stringify!($name), self, other, |x, y| mask(x $op y))
                }

                #[doc = concat!("Mask of `self ", $doc, " value`.")]
                pub fn $scalar_name(&self, value: T) -> Tensor<T> {
                    unary_apply(self, |x| mask(x $op value))
                }
            )*
        }
    };
}

comparisons! {
    eq, eq_scalar, ==, "==";
    ne, ne_scalar, !=, "!=";
    lt, lt_scalar, <, "<";
    le, le_scalar, <=, "<=";
    gt, gt_scalar, >, ">";
    ge, ge_scalar, >=, ">=";
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
        let shape = broadcast_shapes(condition.shape(), on_true.shape())
            .and_then(|s| broadcast_shapes(&s, on_false.shape()))
            .unwrap_or_else(|| {
                panic!(
                    "where: shapes {:?}, {:?} and {:?} cannot be broadcast together",
                    condition.shape(),
                    on_true.shape(),
                    on_false.shape()
                )
            });
        let cond = condition.broadcast_view(&shape).contiguous_untracked();
        let t = on_true.broadcast_view(&shape).to_vec();
        let f = on_false.broadcast_view(&shape).to_vec();
        let data = cond
            .to_vec()
            .into_iter()
            .zip(t.into_iter().zip(f))
            .map(|(c, (t, f))| if c != T::zero() { t } else { f })
            .collect();
        let out = Tensor::from_contiguous(data, &shape);
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
