//! Pooling: max pooling with the positions of its maxima, the scatter and
//! gather by those positions (its backward and double backward), and
//! average pooling by a plan of bins with its transpose.
//!
//! Tensors are `[N, C, H, W]` (inputs) and `[N, C, OH, OW]` (outputs),
//! seen as `N C` independent planes. The positions of the maxima are host
//! memory, as indices are (`h * W + w` within each plane, in the output's
//! order, [`super::ops::EMPTY_WINDOW`] for an empty window).

use super::ops::{AvgPlan, MaxPoolGeometry};
use super::{device_of, on_device};
use crate::element::Float;
use crate::tensor::Tensor;

/// The pooling operations of a backend. Inputs may have any layout and
/// have the shapes the geometry names; results are new contiguous tensors.
pub(crate) trait PoolOps {
    /// The maxima of `x`'s windows, and their positions when
    /// `with_indices`.
    fn max_pool2d<T: Float>(
        x: &Tensor<T>,
        g: &MaxPoolGeometry,
        with_indices: bool,
    ) -> (Tensor<T>, Option<Vec<usize>>);
    /// The input-shaped tensor with every element of `dy` added at its
    /// position (the max pooling's backward).
    fn max_pool2d_scatter<T: Float>(dy: &Tensor<T>, indices: &[usize], g: &MaxPoolGeometry) -> Tensor<T>;
    /// The output-shaped tensor of `v`'s elements at the positions (0 for
    /// an empty window): the adjoint of the scatter.
    fn max_pool2d_gather<T: Float>(v: &Tensor<T>, indices: &[usize], g: &MaxPoolGeometry) -> Tensor<T>;
    /// The average pooling `plan` applied to `x`.
    fn avg_pool2d<T: Float>(x: &Tensor<T>, plan: &AvgPlan) -> Tensor<T>;
    /// The transpose of the average pooling `plan` applied to `dy`.
    fn avg_pool2d_transpose<T: Float>(dy: &Tensor<T>, plan: &AvgPlan) -> Tensor<T>;
}

/// The max pooling of `x`, and the positions of the maxima when
/// `with_indices`, unrecorded.
///
/// # Panics
/// If `x`'s shape is not the geometry's input.
pub(crate) fn max_pool2d<T: Float>(
    x: &Tensor<T>,
    g: &MaxPoolGeometry,
    with_indices: bool,
) -> (Tensor<T>, Option<Vec<usize>>) {
    check_planes("max_pool2d", "input", x, g.planes, g.input);
    on_device!(device_of("max_pool2d", &[x]), B => B::max_pool2d(x, g, with_indices))
}

/// `dy` added at the positions of the maxima, unrecorded.
///
/// # Panics
/// If `dy`'s shape is not the geometry's output, or there is not one
/// position per element.
pub(crate) fn max_pool2d_scatter<T: Float>(
    dy: &Tensor<T>,
    indices: &[usize],
    g: &MaxPoolGeometry,
) -> Tensor<T> {
    check_planes("max_pool2d backward", "gradient", dy, g.planes, g.output);
    check_positions("max_pool2d backward", indices, g);
    on_device!(device_of("max_pool2d backward", &[dy]), B => B::max_pool2d_scatter(dy, indices, g))
}

/// `v` read at the positions of the maxima, unrecorded.
///
/// # Panics
/// If `v`'s shape is not the geometry's input, or there is not one
/// position per output element.
pub(crate) fn max_pool2d_gather<T: Float>(
    v: &Tensor<T>,
    indices: &[usize],
    g: &MaxPoolGeometry,
) -> Tensor<T> {
    check_planes("max_pool2d double backward", "input", v, g.planes, g.input);
    check_positions("max_pool2d double backward", indices, g);
    on_device!(device_of("max_pool2d double backward", &[v]), B => B::max_pool2d_gather(v, indices, g))
}

/// The average pooling `plan` applied to `x`, unrecorded.
///
/// # Panics
/// If `x`'s shape is not the plan's input.
pub(crate) fn avg_pool2d<T: Float>(x: &Tensor<T>, plan: &AvgPlan) -> Tensor<T> {
    check_planes("avg_pool2d", "input", x, plan.planes, plan.input);
    on_device!(device_of("avg_pool2d", &[x]), B => B::avg_pool2d(x, plan))
}

/// The transpose of the average pooling `plan` applied to `dy`, unrecorded.
///
/// # Panics
/// If `dy`'s shape is not the plan's output.
pub(crate) fn avg_pool2d_transpose<T: Float>(dy: &Tensor<T>, plan: &AvgPlan) -> Tensor<T> {
    check_planes("avg_pool2d backward", "gradient", dy, plan.planes, plan.output());
    on_device!(device_of("avg_pool2d backward", &[dy]), B => B::avg_pool2d_transpose(dy, plan))
}

fn check_planes<T: Float>(op: &str, what: &str, t: &Tensor<T>, planes: usize, size: (usize, usize)) {
    let s = t.shape();
    assert!(
        s.len() == 4 && s[0] * s[1] == planes && (s[2], s[3]) == size,
        "{op}: the {what} has shape {s:?} where the geometry needs {planes} planes of {size:?}"
    );
}

fn check_positions(op: &str, indices: &[usize], g: &MaxPoolGeometry) {
    assert!(
        indices.len() == g.output_numel(),
        "{op}: {} positions for an output of {} elements",
        indices.len(),
        g.output_numel()
    );
}

#[cfg(test)]
impl<B: PoolOps> PoolOps for super::counting::Counting<B> {
    fn max_pool2d<T: Float>(
        x: &Tensor<T>,
        g: &MaxPoolGeometry,
        with_indices: bool,
    ) -> (Tensor<T>, Option<Vec<usize>>) {
        super::counting::count("max_pool2d");
        B::max_pool2d(x, g, with_indices)
    }
    fn max_pool2d_scatter<T: Float>(dy: &Tensor<T>, indices: &[usize], g: &MaxPoolGeometry) -> Tensor<T> {
        super::counting::count("max_pool2d_scatter");
        B::max_pool2d_scatter(dy, indices, g)
    }
    fn max_pool2d_gather<T: Float>(v: &Tensor<T>, indices: &[usize], g: &MaxPoolGeometry) -> Tensor<T> {
        super::counting::count("max_pool2d_gather");
        B::max_pool2d_gather(v, indices, g)
    }
    fn avg_pool2d<T: Float>(x: &Tensor<T>, plan: &AvgPlan) -> Tensor<T> {
        super::counting::count("avg_pool2d");
        B::avg_pool2d(x, plan)
    }
    fn avg_pool2d_transpose<T: Float>(dy: &Tensor<T>, plan: &AvgPlan) -> Tensor<T> {
        super::counting::count("avg_pool2d_transpose");
        B::avg_pool2d_transpose(dy, plan)
    }
}
