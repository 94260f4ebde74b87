//! Indexing on the CPU: the copies of [`crate::kernels::index`].

use super::{contiguous_elements, Cpu};
use crate::backend::IndexOps;
use crate::element::Float;
use crate::kernels::index;
use crate::layout::{contiguous_strides, Dims};
use crate::tensor::{IndexTensor, Tensor};

impl IndexOps for Cpu {
    fn cat<T: Float>(tensors: &[&Tensor<T>], dim: usize) -> Tensor<T> {
        let first = tensors[0].shape();
        let mut shape = Dims::from_slice(first);
        shape[dim] = tensors.iter().map(|t| t.shape()[dim]).sum();
        let outer: usize = first[..dim].iter().product();
        let inner: usize = first[dim + 1..].iter().product();
        let row = shape[dim] * inner;
        let mut out = vec![T::zero(); shape.iter().product()];
        let mut start = 0;
        for t in tensors {
            let block = t.shape()[dim] * inner;
            contiguous_elements(t, |src| {
                index::copy_blocks(&mut out, outer, row, start, block, src)
            });
            start += block;
        }
        Tensor::from_contiguous(out, &shape)
    }

    fn index_select<T: Float>(x: &Tensor<T>, dim: usize, indices: &IndexTensor) -> Tensor<T> {
        let shape = x.shape();
        let outer = shape[..dim].iter().product();
        let inner = shape[dim + 1..].iter().product();
        let out = contiguous_elements(x, |src| {
            index::index_select(src, outer, shape[dim], inner, indices.as_slice())
        });
        let mut out_shape = Dims::from_slice(shape);
        out_shape[dim] = indices.numel();
        Tensor::from_contiguous(out, &out_shape)
    }

    fn gather<T: Float>(x: &Tensor<T>, dim: usize, index: &IndexTensor) -> Tensor<T> {
        let strides = contiguous_strides(x.shape());
        let out = contiguous_elements(x, |src| {
            index::gather(src, &strides, dim, index.shape(), index.as_slice())
        });
        Tensor::from_contiguous(out, index.shape())
    }

    fn flip<T: Float>(x: &Tensor<T>, dims: &[usize]) -> Tensor<T> {
        let out = index::flip(&x.inner.storage.read(), x.layout(), dims);
        Tensor::from_contiguous(out, x.shape())
    }
}
