//! Accumulation on the CPU: the in-place adds of
//! [`crate::kernels::accumulate`].

use super::{contiguous_elements, contiguous_elements_mut, Cpu};
use crate::backend::ops::Placement;
use crate::backend::AccumulateOps;
use crate::element::Float;
use crate::kernels::accumulate::{add_assign_strided, index_add_assign, scatter_add_assign};
use crate::layout::contiguous_strides;
use crate::tensor::Tensor;

impl AccumulateOps for Cpu {
    fn add_into<T: Float>(target: &Tensor<T>, source: &Tensor<T>) {
        let src = source.inner.storage.read();
        let mut dst = target.inner.storage.write();
        add_assign_strided(&mut dst, target.layout(), &src, source.layout());
    }

    fn add_at<T: Float>(target: &Tensor<T>, placement: &Placement, values: &Tensor<T>) {
        match placement {
            Placement::Narrow { dim, start } => {
                let mut region = target.layout().clone();
                region.offset += start * region.strides[*dim];
                region.shape[*dim] = values.shape()[*dim];
                let src = values.inner.storage.read();
                let mut dst = target.inner.storage.write();
                add_assign_strided(&mut dst, &region, &src, values.layout());
            }
            Placement::IndexAdd { dim, indices } => {
                let shape = target.shape();
                let inner = shape[dim + 1..].iter().product();
                contiguous_elements(values, |src| {
                    contiguous_elements_mut(target, |dst| {
                        index_add_assign(dst, shape[*dim], inner, indices.as_slice(), src)
                    })
                });
            }
            Placement::ScatterAdd { dim, index } => {
                let strides = contiguous_strides(target.shape());
                contiguous_elements(values, |src| {
                    contiguous_elements_mut(target, |dst| {
                        scatter_add_assign(dst, &strides, *dim, index.shape(), index.as_slice(), src)
                    })
                });
            }
        }
    }
}
