//! Reductions over all elements or over given dimensions (with `keepdim`):
//! sum, mean, max/min with their indices, var/std, logsumexp; and `sum_to`,
//! the reduction that undoes broadcasting in backward passes.

use crate::autograd::record;
use crate::backend::ops::{Extremum, ReduceOp};
use crate::backend::{self, reduce_all};
use crate::element::Float;
use crate::layout::{normalize_dim, Dims, Layout};
use crate::tensor::{IndexTensor, Tensor};

/// The normalized, sorted, deduplicated dimensions to reduce; empty means all.
fn reduced_dims(op: &str, dims: &[isize], rank: usize) -> Vec<usize> {
    if dims.is_empty() {
        return (0..rank).collect();
    }
    let mut out: Vec<usize> = dims.iter().map(|&d| normalize_dim(op, d, rank)).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The shape after reducing `dims` with `keepdim = true`.
fn kept_shape(shape: &[usize], dims: &[usize]) -> Vec<usize> {
    shape
        .iter()
        .enumerate()
        .map(|(i, &d)| if dims.contains(&i) { 1 } else { d })
        .collect()
}

/// The shape after reducing `dims`, with or without the reduced dimensions.
fn reduced_shape(shape: &[usize], dims: &[usize], keepdim: bool) -> Vec<usize> {
    if keepdim {
        kept_shape(shape, dims)
    } else {
        shape
            .iter()
            .enumerate()
            .filter(|(i, _)| !dims.contains(i))
            .map(|(_, &d)| d)
            .collect()
    }
}

impl<T: Float> Tensor<T> {
    /// The sum of all elements, as a zero-dimensional tensor.
    pub fn sum(&self) -> Tensor<T> {
        let total = reduce_all(ReduceOp::Sum, self);
        let shape = Dims::from_slice(self.shape());
        record("Sum", total, &[self], move |ctx| {
            vec![Some(ctx.grad().expand(&shape))]
        })
    }

    /// Sums over `dims` (negative counts from the end; empty means all),
    /// keeping them as size 1 when `keepdim`.
    ///
    /// ```
    /// let x = nabla::Tensor::<f32>::arange(0.0, 6.0, 1.0).reshape(&[2, 3]);
    /// assert_eq!(x.sum_dims(&[0], false).to_vec(), vec![3.0, 5.0, 7.0]);
    /// assert_eq!(x.sum_dims(&[-1], true).shape(), &[2, 1]);
    /// ```
    pub fn sum_dims(&self, dims: &[isize], keepdim: bool) -> Tensor<T> {
        let dims = reduced_dims("sum", dims, self.ndim());
        let kept = backend::sum_dims(self, &dims);
        let out = kept.with_layout(Layout::contiguous(&reduced_shape(self.shape(), &dims, keepdim)));
        let (shape, kept_shape) = (Dims::from_slice(self.shape()), Dims::from_slice(kept.shape()));
        record("Sum", out, &[self], move |ctx| {
            vec![Some(ctx.grad().reshape(&kept_shape).expand(&shape))]
        })
    }

    /// Sums over one dimension.
    pub fn sum_dim(&self, dim: isize, keepdim: bool) -> Tensor<T> {
        self.sum_dims(&[dim], keepdim)
    }

    /// Sums a broadcast result back to `shape`: the reduction that undoes
    /// broadcasting, used by every broadcasting op's backward.
    ///
    /// # Panics
    /// If `shape` does not broadcast to `self`'s shape.
    pub fn sum_to(&self, shape: &[usize]) -> Tensor<T> {
        if self.shape() == shape {
            return self.clone();
        }
        let own = self.shape();
        let lead = own
            .len()
            .checked_sub(shape.len())
            .unwrap_or_else(|| panic!("sum_to: cannot reduce {own:?} to the larger rank of {shape:?}"));
        let mut dims: Vec<isize> = (0..lead as isize).collect();
        for (i, &d) in shape.iter().enumerate() {
            let from = own[lead + i];
            if d == 1 && from != 1 {
                dims.push((lead + i) as isize);
            } else {
                assert!(d == from, "sum_to: cannot reduce {own:?} to {shape:?}");
            }
        }
        if dims.is_empty() {
            return self.reshape(shape);
        }
        self.sum_dims(&dims, true).reshape(shape)
    }

    /// `log Σ e^x` along `dim` (negative counts from the end), keeping it
    /// as size 1 when `keepdim`, as `torch.logsumexp(x, dim, keepdim)`:
    /// computed after subtracting the maximum, so large inputs do not
    /// overflow (all -inf gives -inf, as in PyTorch). The gradient is
    /// `softmax(x)` along `dim` times the upstream gradient.
    ///
    /// ```
    /// use nabla::Tensor;
    /// let x = Tensor::from_vec(vec![1000.0f64, 1000.0, 0.0, 0.0], &[2, 2]);
    /// let y = x.logsumexp(1, false).to_vec();
    /// assert!((y[0] - (1000.0 + 2f64.ln())).abs() < 1e-12);
    /// assert!((y[1] - 2f64.ln()).abs() < 1e-15);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range.
    pub fn logsumexp(&self, dim: isize, keepdim: bool) -> Tensor<T> {
        let d = normalize_dim("logsumexp", dim, self.ndim());
        let kept = backend::logsumexp(self, d);
        let kept_shape = Dims::from_slice(kept.shape());
        let out = if keepdim {
            kept
        } else {
            kept.with_layout(Layout::contiguous(&reduced_shape(self.shape(), &[d], false)))
        };
        let x = self.clone();
        record("LogSumExp", out, &[self], move |ctx| {
            let (g, y) = (ctx.grad().reshape(&kept_shape), ctx.output().reshape(&kept_shape));
            vec![Some(g.mul(&x.sub(&y).exp()))]
        })
    }

    /// The mean of all elements.
    pub fn mean(&self) -> Tensor<T> {
        self.sum().div_scalar(T::from_usize(self.numel()))
    }

    /// The mean over `dims` (empty means all).
    pub fn mean_dims(&self, dims: &[isize], keepdim: bool) -> Tensor<T> {
        let d = reduced_dims("mean", dims, self.ndim());
        let count: usize = d.iter().map(|&i| self.shape()[i]).product();
        self.sum_dims(dims, keepdim).div_scalar(T::from_usize(count))
    }

    /// The mean over one dimension.
    pub fn mean_dim(&self, dim: isize, keepdim: bool) -> Tensor<T> {
        self.mean_dims(&[dim], keepdim)
    }

    /// The variance over `dims` (empty means all) with Bessel's
    /// `correction` (1 for the unbiased estimate, PyTorch's default; 0 for
    /// the population variance).
    pub fn var_dims(&self, dims: &[isize], correction: usize, keepdim: bool) -> Tensor<T> {
        let d = reduced_dims("var", dims, self.ndim());
        let count: usize = d.iter().map(|&i| self.shape()[i]).product();
        let centered = self.sub(&self.mean_dims(dims, true));
        let denominator = T::from_usize(count.saturating_sub(correction));
        centered.square().sum_dims(dims, keepdim).div_scalar(denominator)
    }

    /// The unbiased variance of all elements.
    pub fn var(&self) -> Tensor<T> {
        self.var_dims(&[], 1, false)
    }

    /// The standard deviation over `dims`, with `correction` as in
    /// [`var_dims`](Tensor::var_dims).
    pub fn std_dims(&self, dims: &[isize], correction: usize, keepdim: bool) -> Tensor<T> {
        self.var_dims(dims, correction, keepdim).sqrt()
    }

    /// The unbiased standard deviation of all elements.
    pub fn std(&self) -> Tensor<T> {
        self.var().sqrt()
    }

    /// The largest element (NaN if any element is NaN, as in PyTorch). The
    /// gradient is shared evenly among ties, as in PyTorch's full reduction.
    pub fn max(&self) -> Tensor<T> {
        self.extremum("Max", ReduceOp::Max)
    }

    /// The smallest element; the gradient is shared evenly among ties.
    pub fn min(&self) -> Tensor<T> {
        self.extremum("Min", ReduceOp::Min)
    }

    fn extremum(&self, name: &'static str, op: ReduceOp) -> Tensor<T> {
        let value = reduce_all(op, self);
        let x = self.clone();
        record(name, value, &[self], move |ctx| {
            let hit = x.eq(&ctx.output().detach());
            let share = hit.div(&hit.sum().detach());
            vec![Some(ctx.grad().mul(&share))]
        })
    }

    /// The indices of the largest elements along `dim` (the first one at
    /// ties; NaN counts as largest).
    pub fn argmax(&self, dim: isize, keepdim: bool) -> IndexTensor {
        self.arg_extremum("argmax", Extremum::Max, dim, keepdim)
    }

    /// The indices of the smallest elements along `dim`.
    pub fn argmin(&self, dim: isize, keepdim: bool) -> IndexTensor {
        self.arg_extremum("argmin", Extremum::Min, dim, keepdim)
    }

    fn arg_extremum(&self, name: &str, op: Extremum, dim: isize, keepdim: bool) -> IndexTensor {
        let d = normalize_dim(name, dim, self.ndim());
        let indices = backend::arg_reduce(op, self, d);
        if keepdim {
            indices
        } else {
            indices.reshape(&reduced_shape(self.shape(), &[d], false))
        }
    }

    /// The largest elements along `dim` and their indices, as
    /// `torch.max(x, dim)`. The gradient goes to the selected element.
    ///
    /// ```
    /// let x = nabla::Tensor::from_vec(vec![1.0f32, 5.0, 2.0, 7.0, 0.0, 3.0], &[2, 3]);
    /// let (values, indices) = x.max_dim(1, false);
    /// assert_eq!(values.to_vec(), vec![5.0, 7.0]);
    /// assert_eq!(indices.to_vec(), vec![1, 0]);
    /// ```
    pub fn max_dim(&self, dim: isize, keepdim: bool) -> (Tensor<T>, IndexTensor) {
        let indices = self.argmax(dim, true);
        self.take_along(dim, indices, keepdim)
    }

    /// The smallest elements along `dim` and their indices.
    pub fn min_dim(&self, dim: isize, keepdim: bool) -> (Tensor<T>, IndexTensor) {
        let indices = self.argmin(dim, true);
        self.take_along(dim, indices, keepdim)
    }

    fn take_along(&self, dim: isize, kept_indices: IndexTensor, keepdim: bool) -> (Tensor<T>, IndexTensor) {
        let values = self.gather(dim, &kept_indices);
        if keepdim {
            (values, kept_indices)
        } else {
            let d = normalize_dim("max", dim, self.ndim());
            let shape = reduced_shape(self.shape(), &[d], false);
            (values.squeeze(dim), kept_indices.reshape(&shape))
        }
    }
}
