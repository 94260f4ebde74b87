//! Elementwise operations: unary and binary (broadcasting) named
//! operations, comparisons into masks, selection by a mask, in-place
//! updates (`+=`, `-=`, `*=`), the element-type cast, and `map_host` for
//! user closures.

use super::ops::{BinaryOp, Triangle, UnaryOp};
use super::{device_of, on_device};
use crate::element::Float;
use crate::layout::{broadcast_shapes, Dims};
use crate::tensor::Tensor;

/// The elementwise operations of a backend.
pub(crate) trait ElementwiseOps {
    /// `op` applied to every element, as a new contiguous tensor of `x`'s
    /// shape.
    fn unary<T: Float>(op: UnaryOp, x: &Tensor<T>) -> Tensor<T>;
    /// `op` applied to the elements of `a` and `b` broadcast to `shape`
    /// (their broadcast shape), as a new contiguous tensor.
    fn binary<T: Float>(op: BinaryOp, a: &Tensor<T>, b: &Tensor<T>, shape: &[usize]) -> Tensor<T>;
    /// `target ← op(target, source)` in place, elementwise, with `source`
    /// broadcast to `target`'s shape. `target` repeats no element;
    /// `source` may share its storage.
    fn binary_assign<T: Float>(op: BinaryOp, target: &Tensor<T>, source: &Tensor<T>);
    /// `on_true` where `condition` is nonzero and `on_false` elsewhere, all
    /// three broadcast to `shape`, as a new contiguous tensor.
    fn where_<T: Float>(
        condition: &Tensor<T>,
        on_true: &Tensor<T>,
        on_false: &Tensor<T>,
        shape: &[usize],
    ) -> Tensor<T>;
    /// The `triangle` of every matrix of `x` (its last two dimensions; `x`
    /// has rank at least 2) kept and the rest set to 0, as a new contiguous
    /// tensor.
    fn triangle<T: Float>(x: &Tensor<T>, triangle: Triangle) -> Tensor<T>;
    /// Every element converted to `U` (rounded to nearest), as a new
    /// contiguous tensor.
    fn cast<T: Float, U: Float>(x: &Tensor<T>) -> Tensor<U>;
    /// A user closure applied to every element (the public
    /// [`Tensor::map`]): a host operation, which a device backend runs by
    /// download, map and upload.
    fn map_host<T: Float>(x: &Tensor<T>, f: impl Fn(T) -> T + Sync) -> Tensor<T>;
}

/// `op` applied to every element of `x`, unrecorded.
pub(crate) fn unary<T: Float>(op: UnaryOp, x: &Tensor<T>) -> Tensor<T> {
    on_device!(device_of("unary op", &[x]), B => B::unary(op, x))
}

/// `op` applied elementwise over the broadcast of `a` and `b`, unrecorded.
///
/// # Panics
/// If the shapes do not broadcast: `mul: shapes [2, 3] and [4] cannot be
/// broadcast together`.
pub(crate) fn binary<T: Float>(op: BinaryOp, a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
    let shape = broadcast_shape(op.name(), &[a, b]);
    on_device!(device_of(op.name(), &[a, b]), B => B::binary(op, a, b, &shape))
}

/// `target ← op(target, source)` in place, with `source` broadcast to
/// `target`'s shape, unrecorded (`+=` is `BinaryOp::Add`).
///
/// # Panics
/// If `target` repeats elements (a broadcast view) or `source` does not
/// broadcast to its shape: `*=: cannot update a tensor of shape [2] in
/// place with one of shape [3]`.
pub(crate) fn binary_assign<T: Float>(op: BinaryOp, target: &Tensor<T>, source: &Tensor<T>) {
    let label = match op {
        BinaryOp::Add => "+=",
        BinaryOp::Sub => "-=",
        BinaryOp::Mul => "*=",
        other => other.name(),
    };
    let layout = target.layout();
    let repeats = layout
        .strides
        .iter()
        .zip(&layout.shape)
        .any(|(&s, &n)| s == 0 && n > 1);
    let fits = broadcast_shapes(source.shape(), target.shape()).as_deref() == Some(target.shape());
    assert!(
        !repeats && fits,
        "{label}: cannot update a tensor of shape {:?} in place with one of shape {:?}",
        target.shape(),
        source.shape()
    );
    on_device!(device_of(label, &[target, source]), B => B::binary_assign(op, target, source))
}

/// `on_true` where `condition` is nonzero and `on_false` elsewhere, all
/// broadcast together, unrecorded.
///
/// # Panics
/// If the three shapes do not broadcast together.
pub(crate) fn where_<T: Float>(
    condition: &Tensor<T>,
    on_true: &Tensor<T>,
    on_false: &Tensor<T>,
) -> Tensor<T> {
    let tensors = [condition, on_true, on_false];
    let shape = broadcast_shape("where", &tensors);
    on_device!(device_of("where", &tensors), B => B::where_(condition, on_true, on_false, &shape))
}

/// The `triangle` of every matrix of `x` (its last two dimensions) kept,
/// the rest set to 0, unrecorded.
///
/// # Panics
/// If `x` has fewer than two dimensions.
pub(crate) fn triangle<T: Float>(x: &Tensor<T>, triangle: Triangle) -> Tensor<T> {
    let name = match triangle {
        Triangle::Lower { .. } => "tril",
        Triangle::Upper { .. } => "triu",
    };
    assert!(
        x.ndim() >= 2,
        "{name}: the input must have at least two dimensions, got shape {:?}",
        x.shape()
    );
    on_device!(device_of(name, &[x]), B => B::triangle(x, triangle))
}

/// `x` converted to element type `U`, unrecorded.
pub(crate) fn cast<T: Float, U: Float>(x: &Tensor<T>) -> Tensor<U> {
    on_device!(device_of("cast", &[x]), B => B::cast::<T, U>(x))
}

/// `f` applied to every element on the host, unrecorded (see
/// [`ElementwiseOps::map_host`]).
pub(crate) fn map_host<T: Float>(x: &Tensor<T>, f: impl Fn(T) -> T + Sync) -> Tensor<T> {
    on_device!(device_of("map", &[x]), B => B::map_host(x, f))
}

/// The shape all of `tensors` broadcast to.
fn broadcast_shape<T: Float>(op: &str, tensors: &[&Tensor<T>]) -> Dims {
    let first = Dims::from_slice(tensors[0].shape());
    let shape = tensors[1..].iter().try_fold(first, |shape, t| {
        if t.shape() == shape.as_slice() {
            Some(shape)
        } else {
            broadcast_shapes(&shape, t.shape())
        }
    });
    shape.unwrap_or_else(|| {
        let shapes: Vec<String> = tensors.iter().map(|t| format!("{:?}", t.shape())).collect();
        let (last, rest) = shapes.split_last().expect("at least two tensors");
        panic!(
            "{op}: shapes {} and {last} cannot be broadcast together",
            rest.join(", ")
        )
    })
}

#[cfg(test)]
impl<B: ElementwiseOps> ElementwiseOps for super::counting::Counting<B> {
    fn unary<T: Float>(op: UnaryOp, x: &Tensor<T>) -> Tensor<T> {
        super::counting::count("unary");
        B::unary(op, x)
    }
    fn binary<T: Float>(op: BinaryOp, a: &Tensor<T>, b: &Tensor<T>, shape: &[usize]) -> Tensor<T> {
        super::counting::count("binary");
        B::binary(op, a, b, shape)
    }
    fn binary_assign<T: Float>(op: BinaryOp, target: &Tensor<T>, source: &Tensor<T>) {
        super::counting::count("binary_assign");
        B::binary_assign(op, target, source)
    }
    fn where_<T: Float>(
        condition: &Tensor<T>,
        on_true: &Tensor<T>,
        on_false: &Tensor<T>,
        shape: &[usize],
    ) -> Tensor<T> {
        super::counting::count("where");
        B::where_(condition, on_true, on_false, shape)
    }
    fn triangle<T: Float>(x: &Tensor<T>, triangle: Triangle) -> Tensor<T> {
        super::counting::count("triangle");
        B::triangle(x, triangle)
    }
    fn cast<T: Float, U: Float>(x: &Tensor<T>) -> Tensor<U> {
        super::counting::count("cast");
        B::cast::<T, U>(x)
    }
    fn map_host<T: Float>(x: &Tensor<T>, f: impl Fn(T) -> T + Sync) -> Tensor<T> {
        super::counting::count("map_host");
        B::map_host(x, f)
    }
}
