//! Memory: host transfers, fills, copies and random fills.

use super::ops::RandomFill;
use super::{device_of, on_device, Device};
use crate::element::Float;
use crate::tensor::{Generator, Tensor};

/// The memory operations of a backend.
pub(crate) trait MemoryOps {
    /// Runs `f` on the elements in row-major order as one host slice (a
    /// download; the CPU copies only a strided view).
    fn read_host<T: Float, R>(x: &Tensor<T>, f: impl FnOnce(&[T]) -> R) -> R;
    /// Runs `f` on the elements of a contiguous tensor as one mutable host
    /// slice, whose contents become the tensor's (a download and upload).
    fn update_host<T: Float, R>(x: &Tensor<T>, f: impl FnOnce(&mut [T]) -> R) -> R;
    /// The element at storage offset `offset`.
    fn element<T: Float>(x: &Tensor<T>, offset: usize) -> T;
    /// A new contiguous tensor of `shape` filled with `value`.
    fn full<T: Float>(shape: &[usize], value: T) -> Tensor<T>;
    /// Sets every element of a contiguous tensor to `value`.
    fn fill<T: Float>(x: &Tensor<T>, value: T);
    /// Overwrites every element of a contiguous tensor, in row-major order,
    /// with draws of `fill` from `generator`.
    fn random_fill<T: Float>(x: &Tensor<T>, fill: RandomFill, generator: &mut Generator);
    /// A copy in fresh contiguous storage.
    fn copy<T: Float>(x: &Tensor<T>) -> Tensor<T>;
    /// Copies `source`'s elements into the contiguous `target` (of as many
    /// elements), which may share `source`'s storage.
    fn copy_into<T: Float>(target: &Tensor<T>, source: &Tensor<T>);
}

/// Runs `f` on the elements in row-major order as one host slice. Only for
/// reading values out (`to_vec`, saving, metrics): computing on them here
/// would bypass the backend.
pub(crate) fn read_host<T: Float, R>(x: &Tensor<T>, f: impl FnOnce(&[T]) -> R) -> R {
    on_device!(device_of("read", &[x]), B => B::read_host(x, f))
}

/// Runs `f` on the elements of a contiguous tensor as one mutable host
/// slice (the public [`Tensor::update_data`]).
///
/// # Panics
/// If the tensor is a strided view.
pub(crate) fn update_host<T: Float, R>(x: &Tensor<T>, f: impl FnOnce(&mut [T]) -> R) -> R {
    let layout = x.layout();
    assert!(
        layout.is_contiguous(),
        "update_data: the tensor of shape {:?} is a strided view; update its base tensor",
        layout.shape
    );
    on_device!(device_of("update", &[x]), B => B::update_host(x, f))
}

/// The element at storage offset `offset` of a tensor's storage.
pub(crate) fn element<T: Float>(x: &Tensor<T>, offset: usize) -> T {
    on_device!(device_of("element", &[x]), B => B::element(x, offset))
}

/// A new contiguous tensor of `shape` filled with `value`.
pub(crate) fn full<T: Float>(shape: &[usize], value: T) -> Tensor<T> {
    on_device!(Device::Cpu, B => B::full(shape, value))
}

/// Sets every element of a contiguous tensor to `value`, in place.
///
/// # Panics
/// If the tensor is a strided view.
pub(crate) fn fill<T: Float>(x: &Tensor<T>, value: T) {
    assert_contiguous("fill", x);
    on_device!(device_of("fill", &[x]), B => B::fill(x, value))
}

/// Overwrites every element of a contiguous tensor, in row-major order,
/// with draws of `fill` from `generator`.
///
/// # Panics
/// If the tensor is a strided view.
pub(crate) fn random_fill<T: Float>(x: &Tensor<T>, fill: RandomFill, generator: &mut Generator) {
    assert_contiguous("random fill", x);
    on_device!(device_of("random fill", &[x]), B => B::random_fill(x, fill, generator))
}

/// A new contiguous tensor of `shape` holding draws of `fill`.
pub(crate) fn random<T: Float>(shape: &[usize], fill: RandomFill, generator: &mut Generator) -> Tensor<T> {
    let out = full(shape, T::zero());
    random_fill(&out, fill, generator);
    out
}

/// A copy of `x` in fresh contiguous storage, unrecorded.
pub(crate) fn copy<T: Float>(x: &Tensor<T>) -> Tensor<T> {
    on_device!(device_of("copy", &[x]), B => B::copy(x))
}

/// Copies `source`'s elements into the contiguous tensor `target` (of the
/// same number of elements), in place.
///
/// # Panics
/// If `target` is a strided view or the sizes differ.
pub(crate) fn copy_into<T: Float>(target: &Tensor<T>, source: &Tensor<T>) {
    assert_contiguous("copy", target);
    assert!(
        target.numel() == source.numel(),
        "copy: cannot copy {} elements into a tensor of {}",
        source.numel(),
        target.numel()
    );
    on_device!(device_of("copy", &[target, source]), B => B::copy_into(target, source))
}

fn assert_contiguous<T: Float>(op: &str, x: &Tensor<T>) {
    assert!(
        x.is_contiguous(),
        "{op}: the tensor of shape {:?} is a strided view; use its base tensor",
        x.shape()
    );
}

#[cfg(test)]
impl<B: MemoryOps> MemoryOps for super::counting::Counting<B> {
    fn read_host<T: Float, R>(x: &Tensor<T>, f: impl FnOnce(&[T]) -> R) -> R {
        super::counting::count("read_host");
        B::read_host(x, f)
    }
    fn update_host<T: Float, R>(x: &Tensor<T>, f: impl FnOnce(&mut [T]) -> R) -> R {
        super::counting::count("update_host");
        B::update_host(x, f)
    }
    fn element<T: Float>(x: &Tensor<T>, offset: usize) -> T {
        super::counting::count("element");
        B::element(x, offset)
    }
    fn full<T: Float>(shape: &[usize], value: T) -> Tensor<T> {
        super::counting::count("full");
        B::full(shape, value)
    }
    fn fill<T: Float>(x: &Tensor<T>, value: T) {
        super::counting::count("fill");
        B::fill(x, value)
    }
    fn random_fill<T: Float>(x: &Tensor<T>, fill: RandomFill, generator: &mut Generator) {
        super::counting::count("random_fill");
        B::random_fill(x, fill, generator)
    }
    fn copy<T: Float>(x: &Tensor<T>) -> Tensor<T> {
        super::counting::count("copy");
        B::copy(x)
    }
    fn copy_into<T: Float>(target: &Tensor<T>, source: &Tensor<T>) {
        super::counting::count("copy_into");
        B::copy_into(target, source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_fills_draw_in_row_major_order_from_the_generator() {
        let fills = [
            RandomFill::Uniform { low: -2.0, high: 3.0 },
            RandomFill::Normal { mean: 1.0, std: 0.5 },
            RandomFill::UnitUniform,
            RandomFill::UniformInElementType { low: -1.0, high: 1.0 },
            RandomFill::Bernoulli { p: 0.3, scale: 2.5 },
        ];
        for fill in fills {
            let got: Vec<f32> = random::<f32>(&[5, 7], fill, &mut Generator::new(3)).to_vec();
            let mut g = Generator::new(3);
            let want: Vec<f32> = (0..35)
                .map(|_| match fill {
                    RandomFill::Uniform { low, high } => (low + (high - low) * g.uniform()) as f32,
                    RandomFill::Normal { mean, std } => (mean + std * g.normal()) as f32,
                    RandomFill::UnitUniform => ((g.uniform() * 16777216.0).floor() / 16777216.0) as f32,
                    RandomFill::UniformInElementType { low, high } => {
                        low as f32 + (high - low) as f32 * g.uniform() as f32
                    }
                    RandomFill::Bernoulli { p, scale } => {
                        if g.uniform() < p {
                            0.0
                        } else {
                            scale as f32
                        }
                    }
                })
                .collect();
            assert_eq!(got, want, "{fill:?}");
        }
    }

    #[test]
    fn new_storage_lives_on_the_cpu() {
        let t = Tensor::<f64>::zeros(&[2]);
        assert_eq!(super::device_of("test", &[&t, &t.add_scalar(1.0)]), Device::Cpu);
    }
}
