//! The [`Tensor`] type: shared storage seen through a shape, strides and an
//! offset, so that views (transpose, slices, broadcasts) copy nothing.

mod creation;
mod display;
mod index_tensor;
mod random;
mod sampling;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::autograd::Node;
use crate::backend;
use crate::element::Float;
use crate::layout::{self, Layout};
pub use index_tensor::IndexTensor;
pub use random::Generator;

/// The buffer behind one or more tensors. Views share it.
pub(crate) type Storage<T> = Arc<backend::Storage<T>>;

/// An n-dimensional array of `f32` (the default) or `f64` that remembers how
/// it was computed, so that gradients can flow back through it.
///
/// Cloning a `Tensor` is cheap: it clones a handle, not the data.
///
/// ```
/// use nabla::Tensor;
/// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
/// assert_eq!(x.shape(), &[2, 3]);
/// let t = x.transpose(0, 1); // a view: no copy
/// assert_eq!(t.shape(), &[3, 2]);
/// assert_eq!(t.to_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
/// ```
pub struct Tensor<T: Float = f32> {
    pub(crate) inner: Arc<TensorImpl<T>>,
}

pub(crate) struct TensorImpl<T: Float> {
    pub storage: Storage<T>,
    pub layout: Layout,
    /// Atomic so that a parameter can be frozen in place, as
    /// `requires_grad_(False)` does in PyTorch.
    pub requires_grad: AtomicBool,
    /// The node that produced this tensor; `None` for leaves.
    pub grad_fn: Option<Arc<Node<T>>>,
    /// The accumulated gradient of a leaf.
    pub grad: Mutex<Option<Tensor<T>>>,
}

impl<T: Float> TensorImpl<T> {
    pub fn requires_grad(&self) -> bool {
        self.requires_grad.load(Ordering::Relaxed)
    }
}

impl<T: Float> Clone for Tensor<T> {
    fn clone(&self) -> Self {
        Tensor {
            inner: Arc::clone(&self.inner),
        }
    }
}

/// Lets functions that take tensors ([`Tensor::cat`], [`Tensor::stack`])
/// accept owned tensors and references alike.
impl<T: Float> AsRef<Tensor<T>> for Tensor<T> {
    fn as_ref(&self) -> &Tensor<T> {
        self
    }
}
impl<T: Float> Tensor<T> {
    pub(crate) fn from_parts(
        storage: Storage<T>,
        layout: Layout,
        requires_grad: bool,
        grad_fn: Option<Arc<Node<T>>>,
    ) -> Self {
        Tensor {
            inner: Arc::new(TensorImpl {
                storage,
                layout,
                requires_grad: AtomicBool::new(requires_grad),
                grad_fn,
                grad: Mutex::new(None),
            }),
        }
    }

    /// A fresh contiguous tensor that owns `data`; no autograd history.
    pub(crate) fn from_contiguous(data: Vec<T>, shape: &[usize]) -> Self {
        debug_assert_eq!(data.len(), shape.iter().product::<usize>());
        Self::from_parts(
            Arc::new(backend::Storage::from_host(data)),
            Layout::contiguous(shape),
            false,
            None,
        )
    }

    /// A view of the same storage with another layout (no autograd history;
    /// the shape ops in [`crate::ops`] add it).
    pub(crate) fn with_layout(&self, layout: Layout) -> Self {
        Self::from_parts(Arc::clone(&self.inner.storage), layout, false, None)
    }

    pub(crate) fn layout(&self) -> &Layout {
        &self.inner.layout
    }

    /// The shape, outermost dimension first.
    pub fn shape(&self) -> &[usize] {
        &self.inner.layout.shape
    }

    /// The strides in elements (0 for broadcast dimensions).
    pub fn strides(&self) -> &[usize] {
        &self.inner.layout.strides
    }

    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape().len()
    }

    /// The size of dimension `dim` (negative counts from the end).
    pub fn size(&self, dim: isize) -> usize {
        self.shape()[layout::normalize_dim("size", dim, self.ndim())]
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.inner.layout.numel()
    }

    /// True when the elements are laid out densely in row-major order.
    pub fn is_contiguous(&self) -> bool {
        self.inner.layout.is_contiguous()
    }

    /// The element type's name, `"float32"` or `"float64"`.
    pub fn dtype(&self) -> &'static str {
        T::DTYPE
    }

    /// The elements in row-major order.
    pub fn to_vec(&self) -> Vec<T> {
        backend::read_host(self, <[T]>::to_vec)
    }

    /// The value of a one-element tensor.
    ///
    /// # Panics
    /// If the tensor does not have exactly one element.
    pub fn item(&self) -> T {
        assert!(
            self.numel() == 1,
            "item: only a one-element tensor has an item, this one has shape {:?}",
            self.shape()
        );
        backend::element(self, self.layout().offset)
    }

    /// The element at a multi-index.
    ///
    /// ```
    /// let x = nabla::Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!(x.at(&[1, 0]), 3.0);
    /// ```
    pub fn at(&self, index: &[usize]) -> T {
        assert!(
            index.len() == self.ndim() && index.iter().zip(self.shape()).all(|(i, d)| i < d),
            "at: index {index:?} is out of bounds for shape {:?}",
            self.shape()
        );
        let l = self.layout();
        let offset = l.offset + index.iter().zip(&l.strides).map(|(i, s)| i * s).sum::<usize>();
        backend::element(self, offset)
    }

    /// True when no other tensor handle or view can observe a change to
    /// this tensor's elements: what may be written in place unseen.
    pub(crate) fn is_exclusive(&self) -> bool {
        Arc::strong_count(&self.inner) == 1 && Arc::strong_count(&self.inner.storage) == 1
    }

    /// True when both tensors are views of the same storage.
    pub fn shares_storage_with(&self, other: &Tensor<T>) -> bool {
        Arc::ptr_eq(&self.inner.storage, &other.inner.storage)
    }

    /// Overwrites the elements of this contiguous tensor in place, through
    /// `f`, without recording anything: what optimizers do to parameters
    /// (PyTorch's updates under `torch.no_grad()`).
    ///
    /// Changing a tensor that a recorded graph saved makes that graph's
    /// gradients wrong; update parameters only between backward passes.
    ///
    /// ```
    /// let w = nabla::Tensor::from_vec(vec![1.0f32, 2.0], &[2]);
    /// w.update_data(|data| data.iter_mut().for_each(|v| *v *= 10.0));
    /// assert_eq!(w.to_vec(), vec![10.0, 20.0]);
    /// ```
    ///
    /// # Panics
    /// If the tensor is not contiguous (a strided view).
    pub fn update_data<R>(&self, f: impl FnOnce(&mut [T]) -> R) -> R {
        backend::update_host(self, f)
    }

    /// Copies `source`'s elements into this contiguous tensor in place,
    /// unrecorded (PyTorch's `with torch.no_grad(): p.copy_(source)`).
    ///
    /// # Panics
    /// If the shapes differ, or the tensor is a strided view.
    pub fn copy_from(&self, source: &Tensor<T>) {
        assert!(
            self.shape() == source.shape(),
            "copy_from: cannot copy a tensor of shape {:?} into one of shape {:?}",
            source.shape(),
            self.shape()
        );
        backend::copy_into(self, source);
    }
}
