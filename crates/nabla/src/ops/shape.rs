//! Shape ops. All of them are views (no copy) except `reshape` of a
//! non-contiguous tensor and `contiguous`, which copy once.

use std::ops::Range;

use crate::autograd::record;
use crate::autograd::sparse_grad::SparseGrad;
use crate::backend::{self, ops::Placement};
use crate::element::Float;
use crate::layout::{broadcast_strides, contiguous_strides, normalize_dim, Dims, Layout};
use crate::tensor::Tensor;

impl<T: Float> Tensor<T> {
    /// A view of the same storage read as `shape` (broadcast of the own
    /// shape), with no autograd history.
    pub(crate) fn broadcast_view(&self, shape: &[usize]) -> Tensor<T> {
        self.with_layout(Layout {
            shape: Dims::from_slice(shape),
            strides: broadcast_strides(self.layout(), shape),
            offset: self.layout().offset,
        })
    }

    /// A contiguous copy (or the tensor itself), with no autograd history.
    pub(crate) fn contiguous_untracked(&self) -> Tensor<T> {
        if self.is_contiguous() {
            self.detach()
        } else {
            backend::copy(self)
        }
    }

    /// The tensor itself if it is contiguous, else a row-major copy.
    pub fn contiguous(&self) -> Tensor<T> {
        if self.is_contiguous() {
            return self.clone();
        }
        let out = self.contiguous_untracked();
        record("Contiguous", out, &[self], |ctx| vec![Some(ctx.grad().clone())])
    }

    /// The same elements in row-major order with another shape of the same
    /// size: a view when the tensor is contiguous, else a copy.
    ///
    /// # Panics
    /// If the sizes differ: `reshape: cannot reshape [2, 3] (6 elements) to [4]`.
    pub fn reshape(&self, shape: &[usize]) -> Tensor<T> {
        let numel: usize = shape.iter().product();
        assert!(
            numel == self.numel(),
            "reshape: cannot reshape {:?} ({} elements) to {shape:?}",
            self.shape(),
            self.numel()
        );
        if shape == self.shape() {
            return self.clone();
        }
        let source = self.contiguous_untracked();
        let out = source.with_layout(Layout {
            shape: Dims::from_slice(shape),
            strides: contiguous_strides(shape),
            offset: source.layout().offset,
        });
        let original = Dims::from_slice(self.shape());
        record("Reshape", out, &[self], move |ctx| {
            vec![Some(ctx.grad().reshape(&original))]
        })
    }

    /// Merges dimensions `start..=end` into one (negative counts from the end).
    ///
    /// ```
    /// let x = nabla::Tensor::<f32>::zeros(&[2, 3, 4]);
    /// assert_eq!(x.flatten(1, -1).shape(), &[2, 12]);
    /// ```
    pub fn flatten(&self, start: isize, end: isize) -> Tensor<T> {
        if self.ndim() == 0 {
            return self.reshape(&[1]);
        }
        let s = normalize_dim("flatten", start, self.ndim());
        let e = normalize_dim("flatten", end, self.ndim());
        assert!(
            s <= e,
            "flatten: start dimension {start} comes after end dimension {end}"
        );
        let shape = self.shape();
        let mut new_shape = shape[..s].to_vec();
        new_shape.push(shape[s..=e].iter().product());
        new_shape.extend_from_slice(&shape[e + 1..]);
        self.reshape(&new_shape)
    }

    /// Swaps two dimensions (a view).
    pub fn transpose(&self, dim0: isize, dim1: isize) -> Tensor<T> {
        let a = normalize_dim("transpose", dim0, self.ndim());
        let b = normalize_dim("transpose", dim1, self.ndim());
        let mut layout = self.layout().clone();
        layout.shape.swap(a, b);
        layout.strides.swap(a, b);
        let out = self.with_layout(layout);
        record("Transpose", out, &[self], move |ctx| {
            vec![Some(ctx.grad().transpose(a as isize, b as isize))]
        })
    }

    /// The transpose of a matrix (a view).
    ///
    /// # Panics
    /// If the tensor is not 2-D.
    pub fn t(&self) -> Tensor<T> {
        assert!(
            self.ndim() == 2,
            "t: expects a 2-D tensor, got shape {:?}",
            self.shape()
        );
        self.transpose(0, 1)
    }

    /// Reorders the dimensions: dimension `i` of the result is dimension
    /// `dims[i]` of `self` (a view).
    pub fn permute(&self, dims: &[usize]) -> Tensor<T> {
        let rank = self.ndim();
        let mut seen = vec![false; rank];
        let valid = dims.len() == rank
            && dims
                .iter()
                .all(|&d| d < rank && !std::mem::replace(&mut seen[d], true));
        assert!(
            valid,
            "permute: {dims:?} is not a permutation of the {rank} dimensions of {:?}",
            self.shape()
        );
        let l = self.layout();
        let out = self.with_layout(Layout {
            shape: dims.iter().map(|&d| l.shape[d]).collect(),
            strides: dims.iter().map(|&d| l.strides[d]).collect(),
            offset: l.offset,
        });
        let mut inverse = vec![0; rank];
        for (i, &d) in dims.iter().enumerate() {
            inverse[d] = i;
        }
        record("Permute", out, &[self], move |ctx| {
            vec![Some(ctx.grad().permute(&inverse))]
        })
    }

    /// Inserts a dimension of size 1 at `dim` (a view).
    pub fn unsqueeze(&self, dim: isize) -> Tensor<T> {
        let rank = self.ndim() as isize;
        if dim < -rank - 1 || dim > rank {
            panic!(
                "unsqueeze: dimension {dim} is out of range for a tensor of rank {rank} (valid: {}..={rank})",
                -rank - 1
            );
        }
        let d = normalize_dim("unsqueeze", dim, self.ndim() + 1);
        let mut shape = self.shape().to_vec();
        shape.insert(d, 1);
        self.reshape_view(&shape)
    }

    /// Removes dimension `dim`, which must have size 1 (a view).
    pub fn squeeze(&self, dim: isize) -> Tensor<T> {
        let d = normalize_dim("squeeze", dim, self.ndim());
        assert!(
            self.shape()[d] == 1,
            "squeeze: dimension {dim} of {:?} has size {}, not 1",
            self.shape(),
            self.shape()[d]
        );
        let mut shape = self.shape().to_vec();
        shape.remove(d);
        self.reshape_view(&shape)
    }

    /// Removes every dimension of size 1 (a view).
    pub fn squeeze_all(&self) -> Tensor<T> {
        let shape: Vec<usize> = self.shape().iter().copied().filter(|&d| d != 1).collect();
        self.reshape_view(&shape)
    }

    /// Adds or removes size-1 dimensions without a copy, even for
    /// non-contiguous tensors.
    fn reshape_view(&self, shape: &[usize]) -> Tensor<T> {
        let l = self.layout();
        let kept: Vec<(usize, usize)> = l
            .shape
            .iter()
            .zip(&l.strides)
            .filter(|(&d, _)| d != 1)
            .map(|(&d, &s)| (d, s))
            .collect();
        let mut kept = kept.into_iter();
        let strides = shape
            .iter()
            .map(|&d| {
                if d == 1 {
                    0
                } else {
                    kept.next().expect("same non-unit dimensions").1
                }
            })
            .collect();
        let out = self.with_layout(Layout {
            shape: Dims::from_slice(shape),
            strides,
            offset: l.offset,
        });
        let original = Dims::from_slice(self.shape());
        record("View", out, &[self], move |ctx| {
            vec![Some(ctx.grad().reshape(&original))]
        })
    }

    /// Repeats size-1 dimensions (and adds leading ones) to reach `shape`,
    /// without copying: the repeated elements have stride 0.
    ///
    /// # Panics
    /// If `self` does not broadcast to `shape`.
    pub fn expand(&self, shape: &[usize]) -> Tensor<T> {
        let own = self.shape();
        let lead = shape.len().wrapping_sub(own.len());
        let ok = shape.len() >= own.len()
            && own
                .iter()
                .enumerate()
                .all(|(i, &d)| d == shape[lead + i] || d == 1);
        assert!(ok, "expand: shape {own:?} cannot be broadcast to {shape:?}");
        if own == shape {
            return self.clone();
        }
        let out = self.broadcast_view(shape);
        let original = own.to_vec();
        record("Expand", out, &[self], move |ctx| {
            vec![Some(ctx.grad().sum_to(&original))]
        })
    }

    /// Same as [`expand`](Tensor::expand), under NumPy's name.
    pub fn broadcast_to(&self, shape: &[usize]) -> Tensor<T> {
        self.expand(shape)
    }

    /// Elements `start..start + length` along `dim` (a view).
    ///
    /// ```
    /// let x = nabla::Tensor::<f32>::arange(0.0, 6.0, 1.0).reshape(&[2, 3]);
    /// assert_eq!(x.narrow(1, 1, 2).to_vec(), vec![1.0, 2.0, 4.0, 5.0]);
    /// ```
    pub fn narrow(&self, dim: isize, start: usize, length: usize) -> Tensor<T> {
        let d = normalize_dim("narrow", dim, self.ndim());
        let size = self.shape()[d];
        assert!(
            start + length <= size,
            "narrow: {start}..{} is out of range for dimension {dim} of size {size} (shape {:?})",
            start + length,
            self.shape()
        );
        let mut layout = self.layout().clone();
        layout.offset += start * layout.strides[d];
        layout.shape[d] = length;
        let out = self.with_layout(layout);
        let full = Dims::from_slice(self.shape());
        record("Narrow", out, &[self], move |ctx| {
            // The gradient of a slice is the upstream gradient in the
            // slice's region of the input and zero elsewhere.
            let grad = SparseGrad {
                shape: full.clone(),
                values: ctx.grad().clone(),
                placement: Placement::Narrow { dim: d, start },
            };
            vec![ctx.sparse_grad(0, grad)]
        })
    }

    /// Elements `range` along `dim`: `x.slice(0, 1..3)` is `x[1:3]`.
    pub fn slice(&self, dim: isize, range: Range<usize>) -> Tensor<T> {
        assert!(range.start <= range.end, "slice: empty-reversed range {range:?}");
        self.narrow(dim, range.start, range.end - range.start)
    }

    /// Index `index` along `dim`, removing that dimension: `x.select(0, 2)` is `x[2]`.
    pub fn select(&self, dim: isize, index: usize) -> Tensor<T> {
        self.narrow(dim, index, 1).squeeze(dim)
    }

    /// Reverses the order of the elements along each of `dims` (a copy), as
    /// `torch.flip`.
    ///
    /// ```
    /// let x = nabla::Tensor::<f32>::arange(0.0, 6.0, 1.0).reshape(&[2, 3]);
    /// assert_eq!(x.flip(&[1]).to_vec(), vec![2.0, 1.0, 0.0, 5.0, 4.0, 3.0]);
    /// ```
    pub fn flip(&self, dims: &[isize]) -> Tensor<T> {
        let rank = self.ndim();
        let flipped: Vec<usize> = dims.iter().map(|&d| normalize_dim("flip", d, rank)).collect();
        let out = backend::flip(self, &flipped);
        let dims = dims.to_vec();
        record("Flip", out, &[self], move |ctx| {
            vec![Some(ctx.grad().flip(&dims))]
        })
    }
}
