//! Pooling on the CPU: the plane loops of [`crate::kernels::pool`].

use super::{contiguous_elements, Cpu};
use crate::backend::ops::{AvgPlan, MaxPoolGeometry};
use crate::backend::PoolOps;
use crate::element::Float;
use crate::kernels::pool;
use crate::tensor::Tensor;

/// `[N, C]` of `x` followed by a plane size.
fn planes_of<T: Float>(x: &Tensor<T>, size: (usize, usize)) -> [usize; 4] {
    [x.shape()[0], x.shape()[1], size.0, size.1]
}

impl PoolOps for Cpu {
    fn max_pool2d<T: Float>(
        x: &Tensor<T>,
        g: &MaxPoolGeometry,
        with_indices: bool,
    ) -> (Tensor<T>, Option<Vec<usize>>) {
        let (out, indices) = contiguous_elements(x, |xs| pool::max_pool2d_forward(xs, g, with_indices));
        (Tensor::from_contiguous(out, &planes_of(x, g.output)), indices)
    }

    fn max_pool2d_scatter<T: Float>(dy: &Tensor<T>, indices: &[usize], g: &MaxPoolGeometry) -> Tensor<T> {
        let out = contiguous_elements(dy, |ds| pool::scatter_by_indices(ds, indices, g));
        Tensor::from_contiguous(out, &planes_of(dy, g.input))
    }

    fn max_pool2d_gather<T: Float>(v: &Tensor<T>, indices: &[usize], g: &MaxPoolGeometry) -> Tensor<T> {
        let out = contiguous_elements(v, |vs| pool::gather_by_indices(vs, indices, g));
        Tensor::from_contiguous(out, &planes_of(v, g.output))
    }

    fn avg_pool2d<T: Float>(x: &Tensor<T>, plan: &AvgPlan) -> Tensor<T> {
        let out = contiguous_elements(x, |xs| pool::avg_pool2d_forward(xs, plan));
        Tensor::from_contiguous(out, &planes_of(x, plan.output()))
    }

    fn avg_pool2d_transpose<T: Float>(dy: &Tensor<T>, plan: &AvgPlan) -> Tensor<T> {
        let out = contiguous_elements(dy, |ds| pool::avg_pool2d_transpose(ds, plan));
        Tensor::from_contiguous(out, &planes_of(dy, plan.input))
    }
}
