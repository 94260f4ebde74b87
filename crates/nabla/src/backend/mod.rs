//! The backend seam: every loop over tensor memory is one of the named
//! operations of this module, and the CPU backend (the loops of
//! [`crate::kernels`]) implements them. Callers above (ops, layers,
//! optimizers, data) hand tensors and a named operation; the backend
//! matches on the operation once per call and runs a monomorphised loop.
//!
//! Tensor memory ([`Storage`]) carries a [`Device`] tag, and its elements
//! are private to this module: code elsewhere reaches them only through
//! these functions.

pub(crate) mod ops;
mod storage;

use std::ops::Deref;
use std::sync::{RwLockReadGuard, RwLockWriteGuard};

use crate::element::Float;
use crate::kernels;
use crate::tensor::{Generator, Tensor};
use ops::{OptimizerUpdate, RandomFill};
pub(crate) use storage::{Device, Storage};

/// A read lock on a tensor's whole storage, dereferencing to its elements;
/// index it with the layout's offsets.
pub(crate) struct StorageRead<'a, T> {
    guard: RwLockReadGuard<'a, Vec<T>>,
}

impl<T> Deref for StorageRead<'_, T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.guard
    }
}

/// The device all of `tensors` live on, where an operation on them runs.
///
/// # Panics
/// If they live on different devices.
fn device_of<T: Float>(op: &str, tensors: &[&Tensor<T>]) -> Device {
    let device = tensors[0].inner.storage.device();
    if let Some(other) = tensors.iter().find(|t| t.inner.storage.device() != device) {
        panic!(
            "{op}: tensors on {device:?} and {:?} cannot be used together",
            other.inner.storage.device()
        );
    }
    device
}

/// The host view of a tensor's whole storage, for the kernels called from
/// ops that have no named operation yet.
pub(crate) fn read_storage<T: Float>(tensor: &Tensor<T>) -> StorageRead<'_, T> {
    StorageRead {
        guard: tensor.inner.storage.read(),
    }
}

/// The host view of a tensor's whole storage, locked for writing, for the
/// in-place kernels that have no named operation yet (gradient
/// accumulation, `+=`).
pub(crate) fn write_storage<T: Float>(tensor: &Tensor<T>) -> RwLockWriteGuard<'_, Vec<T>> {
    tensor.inner.storage.write()
}

/// Runs `f` on the elements in row-major order as one host slice, copying
/// only when the tensor is not contiguous.
pub(crate) fn with_contiguous<T: Float, R>(tensor: &Tensor<T>, f: impl FnOnce(&[T]) -> R) -> R {
    let layout = tensor.layout();
    let data = tensor.inner.storage.read();
    if layout.is_contiguous() {
        f(&data[layout.offset..layout.offset + layout.numel()])
    } else {
        let mut copy = Vec::with_capacity(layout.numel());
        layout.for_each_run(|start, len, step| {
            if step == 1 {
                copy.extend_from_slice(&data[start..start + len]);
            } else if step == 0 {
                copy.extend(std::iter::repeat_n(data[start], len));
            } else {
                copy.extend((0..len).map(|i| data[start + i * step]));
            }
        });
        f(&copy)
    }
}

/// Runs `f` on the elements of a contiguous tensor as one mutable host
/// slice (the public [`Tensor::update_data`]).
///
/// # Panics
/// If the tensor is a strided view.
pub(crate) fn update_data<T: Float, R>(tensor: &Tensor<T>, f: impl FnOnce(&mut [T]) -> R) -> R {
    let layout = tensor.layout();
    assert!(
        layout.is_contiguous(),
        "update_data: the tensor of shape {:?} is a strided view; update its base tensor",
        layout.shape
    );
    let mut data = tensor.inner.storage.write();
    f(&mut data[layout.offset..layout.offset + layout.numel()])
}

/// The element at storage offset `offset` of a tensor's storage.
pub(crate) fn element<T: Float>(tensor: &Tensor<T>, offset: usize) -> T {
    tensor.inner.storage.read()[offset]
}

/// A new contiguous tensor of `shape` filled with `value`.
pub(crate) fn full<T: Float>(shape: &[usize], value: T) -> Tensor<T> {
    Tensor::from_contiguous(vec![value; shape.iter().product()], shape)
}

/// Sets every element of a contiguous tensor to `value`, in place.
pub(crate) fn fill<T: Float>(tensor: &Tensor<T>, value: T) {
    update_data(tensor, |data| data.fill(value));
}

/// Overwrites every element of a contiguous tensor, in row-major order,
/// with draws of `fill` from `generator`.
pub(crate) fn random_fill<T: Float>(tensor: &Tensor<T>, fill: RandomFill, generator: &mut Generator) {
    match device_of("random fill", &[tensor]) {
        Device::Cpu => update_data(tensor, |data| {
            if fill.draws_normal() {
                kernels::fill::random_fill(data, &fill, || generator.normal());
            } else {
                kernels::fill::random_fill(data, &fill, || generator.uniform());
            }
        }),
    }
}

/// A new contiguous tensor of `shape` holding draws of `fill`.
pub(crate) fn random<T: Float>(shape: &[usize], fill: RandomFill, generator: &mut Generator) -> Tensor<T> {
    let out = full(shape, T::zero());
    random_fill(&out, fill, generator);
    out
}

/// A copy of `tensor` in fresh contiguous storage, unrecorded.
pub(crate) fn copy<T: Float>(tensor: &Tensor<T>) -> Tensor<T> {
    Tensor::from_contiguous(with_contiguous(tensor, <[T]>::to_vec), tensor.shape())
}

/// Copies `source`'s elements into the contiguous tensor `target` (of the
/// same number of elements), in place.
pub(crate) fn copy_into<T: Float>(target: &Tensor<T>, source: &Tensor<T>) {
    // Read before locking for writing: `source` may share this storage.
    let values = with_contiguous(source, <[T]>::to_vec);
    update_data(target, |data| data.copy_from_slice(&values));
}

/// Updates `parameter` in place by `update` from `grad` (of the same shape)
/// and the update's state buffers (contiguous tensors of the parameter's
/// size that nothing else shares), unrecorded.
///
/// # Panics
/// If the parameter is a strided view, or the number of buffers is not the
/// update's.
pub(crate) fn optimizer_update<T: Float>(
    update: &OptimizerUpdate,
    parameter: &Tensor<T>,
    grad: &Tensor<T>,
    state: &[Tensor<T>],
) {
    assert!(
        state.len() == update.buffer_count(),
        "optimizer update: {update:?} takes {} state buffers, not {}",
        update.buffer_count(),
        state.len()
    );
    for buffer in state {
        let layout = buffer.layout();
        assert!(
            layout.is_contiguous() && layout.offset == 0 && buffer.numel() == parameter.numel(),
            "optimizer update: a state buffer of shape {:?} is not a whole contiguous tensor of the parameter's shape {:?}",
            layout.shape,
            parameter.shape()
        );
    }
    let mut tensors = vec![parameter, grad];
    tensors.extend(state);
    let Device::Cpu = device_of("optimizer update", &tensors);
    // A gradient that shares the parameter's storage is read from a copy:
    // the parameter is locked for writing while the gradient is read.
    let copied = grad.shares_storage_with(parameter).then(|| grad.to_vec());
    let n = parameter.numel();
    let mut buffers: Vec<_> = state.iter().map(|b| b.inner.storage.write()).collect();
    let mut slices: Vec<&mut [T]> = buffers.iter_mut().map(|b| &mut b[..n]).collect();
    let mut run = move |g: &[T]| {
        update_data(parameter, |data| {
            kernels::optimizer::optimizer_update(update, data, g, &mut slices)
        })
    };
    match copied {
        Some(g) => run(&g),
        None => with_contiguous(grad, run),
    }
}

#[cfg(test)]
mod tests {
    use super::ops::RandomFill;
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
        assert_eq!(device_of("test", &[&t, &t.add_scalar(1.0)]), Device::Cpu);
    }
}
