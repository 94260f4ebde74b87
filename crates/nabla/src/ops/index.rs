//! Joining and indexing: cat, stack, index_select / index_add, gather /
//! scatter_add. Each pair is the other's backward.

use crate::autograd::record;
use crate::autograd::sparse_grad::SparseGrad;
use crate::backend::{self, ops::Placement};
use crate::element::Float;
use crate::layout::{normalize_dim, Dims};
use crate::tensor::{IndexTensor, Tensor};

/// Panics unless `indices` is a 1-D list of positions along dimension
/// `dim` of `shape`.
fn check_index_list(op: &str, shape: &[usize], dim: usize, indices: &IndexTensor) {
    if indices.ndim() != 1 {
        panic!("{op}: indices must be 1-D, not of shape {:?}", indices.shape());
    }
    let size = shape[dim];
    if let Some(&bad) = indices.as_slice().iter().find(|&&i| i >= size) {
        panic!("{op}: index {bad} is out of range for dimension {dim} of size {size} (shape {shape:?})");
    }
}

fn check_gather_index<T: Float>(op: &str, x: &Tensor<T>, dim: usize, index: &IndexTensor) {
    let ok = index.shape().len() == x.ndim()
        && index
            .shape()
            .iter()
            .zip(x.shape())
            .enumerate()
            .all(|(d, (&i, &s))| d == dim || i <= s);
    assert!(
        ok,
        "{op}: index of shape {:?} does not fit input of shape {:?} along dimension {dim}",
        index.shape(),
        x.shape()
    );
    let size = x.shape()[dim];
    if let Some(&bad) = index.as_slice().iter().find(|&&i| i >= size) {
        panic!("{op}: index {bad} is out of range for dimension {dim} of size {size}");
    }
}

impl<T: Float> Tensor<T> {
    /// Joins tensors along an existing dimension; all other sizes must
    /// match. Takes a slice of tensors or of references, or any iterator of
    /// either.
    ///
    /// ```
    /// use nabla::Tensor;
    /// let a = Tensor::<f32>::ones(&[2, 1]);
    /// let b = Tensor::<f32>::zeros(&[2, 2]);
    /// assert_eq!(Tensor::cat(&[&a, &b], 1).to_vec(), vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    /// let rows = (0..3).map(|i| Tensor::<f32>::full(&[1, 2], i as f32));
    /// assert_eq!(Tensor::cat(rows, 0).shape(), &[3, 2]);
    /// ```
    pub fn cat<I>(tensors: I, dim: isize) -> Tensor<T>
    where
        I: IntoIterator,
        I::Item: AsRef<Tensor<T>>,
    {
        let owned: Vec<I::Item> = tensors.into_iter().collect();
        let tensors: Vec<&Tensor<T>> = owned.iter().map(AsRef::as_ref).collect();
        assert!(!tensors.is_empty(), "cat: needs at least one tensor");
        let d = normalize_dim("cat", dim, tensors[0].ndim());
        let out = backend::cat(&tensors, d);
        let sizes: Vec<usize> = tensors.iter().map(|t| t.shape()[d]).collect();
        record("Cat", out, &tensors, move |ctx| {
            let mut offset = 0;
            sizes
                .iter()
                .enumerate()
                .map(|(i, &n)| {
                    let g = ctx
                        .needs_input_grad(i)
                        .then(|| ctx.grad().narrow(d as isize, offset, n));
                    offset += n;
                    g
                })
                .collect()
        })
    }

    /// Joins tensors of one shape along a new dimension `dim`. Takes a
    /// slice of tensors or of references, or any iterator of either.
    ///
    /// ```
    /// use nabla::Tensor;
    /// let steps: Vec<Tensor> = (0..4).map(|t| Tensor::full(&[2], t as f32)).collect();
    /// assert_eq!(Tensor::stack(&steps, 1).shape(), &[2, 4]);
    /// ```
    pub fn stack<I>(tensors: I, dim: isize) -> Tensor<T>
    where
        I: IntoIterator,
        I::Item: AsRef<Tensor<T>>,
    {
        let owned: Vec<I::Item> = tensors.into_iter().collect();
        assert!(!owned.is_empty(), "stack: needs at least one tensor");
        let first = owned[0].as_ref();
        for t in &owned {
            let t = t.as_ref();
            if t.shape() != first.shape() {
                panic!("stack: shapes {:?} and {:?} differ", first.shape(), t.shape());
            }
        }
        let d = normalize_dim("stack", dim, first.ndim() + 1) as isize;
        Tensor::cat(owned.iter().map(|t| t.as_ref().unsqueeze(d)), d)
    }

    /// The slices at `indices` (a 1-D index tensor) along `dim`, in that
    /// order (repeats allowed); the result has `indices.numel()` entries
    /// along `dim`.
    ///
    /// ```
    /// use nabla::{IndexTensor, Tensor};
    /// let x = Tensor::<f32>::arange(0.0, 6.0, 1.0).reshape(&[3, 2]);
    /// let rows = IndexTensor::from(vec![2, 0]);
    /// assert_eq!(x.index_select(0, &rows).to_vec(), vec![4.0, 5.0, 0.0, 1.0]);
    /// ```
    pub fn index_select(&self, dim: isize, indices: &IndexTensor) -> Tensor<T> {
        let d = normalize_dim("index_select", dim, self.ndim());
        check_index_list("index_select", self.shape(), d, indices);
        let out = backend::index_select(self, d, indices);
        let (full, indices) = (Dims::from_slice(self.shape()), indices.clone());
        record("IndexSelect", out, &[self], move |ctx| {
            let grad = SparseGrad {
                shape: full.clone(),
                values: ctx.grad().clone(),
                placement: Placement::IndexAdd {
                    dim: d,
                    indices: indices.clone(),
                },
            };
            vec![ctx.sparse_grad(0, grad)]
        })
    }

    /// `self` with the slices of `source` added at `indices` (a 1-D index
    /// tensor) along `dim`, repeated indices accumulating, as
    /// `torch.index_add`. `source` has `indices.numel()` entries along `dim`
    /// and `self`'s sizes elsewhere.
    ///
    /// ```
    /// use nabla::{IndexTensor, Tensor};
    /// let x = Tensor::<f32>::zeros(&[3]);
    /// let y = x.index_add(0, &IndexTensor::from(vec![2, 2]), &Tensor::ones(&[2]));
    /// assert_eq!(y.to_vec(), vec![0.0, 0.0, 2.0]);
    /// ```
    pub fn index_add(&self, dim: isize, indices: &IndexTensor, source: &Tensor<T>) -> Tensor<T> {
        let d = normalize_dim("index_add", dim, self.ndim());
        check_index_list("index_add", self.shape(), d, indices);
        let mut expected = Dims::from_slice(self.shape());
        expected[d] = indices.numel();
        if source.shape() != &expected[..] {
            panic!(
                "index_add: source of shape {:?} does not fit {:?} with {} indices along {dim}",
                source.shape(),
                self.shape(),
                indices.numel()
            );
        }
        let out = backend::copy(self);
        let placement = Placement::IndexAdd {
            dim: d,
            indices: indices.clone(),
        };
        backend::add_at(&out, &placement, source);
        let indices = indices.clone();
        record("IndexAdd", out, &[self, source], move |ctx| {
            vec![
                ctx.needs_input_grad(0).then(|| ctx.grad().clone()),
                ctx.needs_input_grad(1)
                    .then(|| ctx.grad().index_select(d as isize, &indices)),
            ]
        })
    }

    /// `out[i][j][k] = self[i][index[i][j][k]][k]` for `dim = 1`, and likewise
    /// for other dimensions, as `torch.gather`. The result has the index's shape.
    ///
    /// ```
    /// use nabla::{IndexTensor, Tensor};
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]);
    /// let picked = x.gather(1, &IndexTensor::from_vec(vec![1, 0], &[2, 1]));
    /// assert_eq!(picked.to_vec(), vec![2.0, 3.0]);
    /// ```
    pub fn gather(&self, dim: isize, index: &IndexTensor) -> Tensor<T> {
        let d = normalize_dim("gather", dim, self.ndim());
        check_gather_index("gather", self, d, index);
        let out = backend::gather(self, d, index);
        let (full, index) = (Dims::from_slice(self.shape()), index.clone());
        record("Gather", out, &[self], move |ctx| {
            let grad = SparseGrad {
                shape: full.clone(),
                values: ctx.grad().clone(),
                placement: Placement::ScatterAdd {
                    dim: d,
                    index: index.clone(),
                },
            };
            vec![ctx.sparse_grad(0, grad)]
        })
    }

    /// `self` with `source[i][j][k]` added at `[i][index[i][j][k]][k]` for
    /// `dim = 1` (and likewise for other dimensions), as `torch.scatter_add`.
    pub fn scatter_add(&self, dim: isize, index: &IndexTensor, source: &Tensor<T>) -> Tensor<T> {
        let d = normalize_dim("scatter_add", dim, self.ndim());
        check_gather_index("scatter_add", self, d, index);
        assert!(
            source.shape() == index.shape(),
            "scatter_add: source of shape {:?} does not match index of shape {:?}",
            source.shape(),
            index.shape()
        );
        let out = backend::copy(self);
        let placement = Placement::ScatterAdd {
            dim: d,
            index: index.clone(),
        };
        backend::add_at(&out, &placement, source);
        let index = index.clone();
        record("ScatterAdd", out, &[self, source], move |ctx| {
            vec![
                ctx.needs_input_grad(0).then(|| ctx.grad().clone()),
                ctx.needs_input_grad(1)
                    .then(|| ctx.grad().gather(d as isize, &index)),
            ]
        })
    }
}
