//! Host transfers, fills and copies on the CPU: the data is already on the
//! host, so transfers are borrows.

use super::{contiguous_elements, contiguous_elements_mut, elements_vec, Cpu};
use crate::backend::ops::RandomFill;
use crate::backend::MemoryOps;
use crate::element::Float;
use crate::kernels;
use crate::tensor::{Generator, Tensor};

impl MemoryOps for Cpu {
    fn read_host<T: Float, R>(x: &Tensor<T>, f: impl FnOnce(&[T]) -> R) -> R {
        contiguous_elements(x, f)
    }

    fn update_host<T: Float, R>(x: &Tensor<T>, f: impl FnOnce(&mut [T]) -> R) -> R {
        contiguous_elements_mut(x, f)
    }

    fn element<T: Float>(x: &Tensor<T>, offset: usize) -> T {
        x.inner.storage.read()[offset]
    }

    fn full<T: Float>(shape: &[usize], value: T) -> Tensor<T> {
        Tensor::from_contiguous(vec![value; shape.iter().product()], shape)
    }

    fn fill<T: Float>(x: &Tensor<T>, value: T) {
        contiguous_elements_mut(x, |data| data.fill(value));
    }

    fn random_fill<T: Float>(x: &Tensor<T>, fill: RandomFill, generator: &mut Generator) {
        contiguous_elements_mut(x, |data| {
            if fill.draws_normal() {
                kernels::fill::random_fill(data, &fill, || generator.normal());
            } else {
                kernels::fill::random_fill(data, &fill, || generator.uniform());
            }
        });
    }

    fn copy<T: Float>(x: &Tensor<T>) -> Tensor<T> {
        Tensor::from_contiguous(elements_vec(x), x.shape())
    }

    fn copy_into<T: Float>(target: &Tensor<T>, source: &Tensor<T>) {
        // Read before locking for writing: `source` may share this storage.
        let values = elements_vec(source);
        contiguous_elements_mut(target, |data| data.copy_from_slice(&values));
    }
}
