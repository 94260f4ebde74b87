//! The [`Tensor`] type: shared storage seen through a shape, strides and an
//! offset, so that views (transpose, slices, broadcasts) copy nothing.

mod creation;
mod display;
mod index_tensor;
mod random;

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use crate::autograd::Node;
use crate::element::Float;
use crate::layout::{self, Layout};
pub use index_tensor::IndexTensor;
pub use random::Generator;

/// The buffer behind one or more tensors. Views share it.
pub(crate) type Storage<T> = Arc<RwLock<Vec<T>>>;

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

/// A read lock on a tensor's storage, dereferencing to the storage from the
/// tensor's offset on.
pub(crate) struct StorageRead<'a, T> {
    guard: RwLockReadGuard<'a, Vec<T>>,
}

impl<T> Deref for StorageRead<'_, T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.guard
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
            Arc::new(RwLock::new(data)),
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

    /// Reads the whole storage; index it with the layout's offsets.
    pub(crate) fn storage(&self) -> StorageRead<'_, T> {
        StorageRead {
            guard: self
                .inner
                .storage
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        }
    }

    /// Runs `f` on the elements in row-major order as one slice, copying only
    /// when the tensor is not contiguous.
    pub(crate) fn with_contiguous<R>(&self, f: impl FnOnce(&[T]) -> R) -> R {
        let layout = self.layout();
        let data = self.storage();
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
        self.with_contiguous(|s| s.to_vec())
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
        self.storage()[self.layout().offset]
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
        self.storage()[offset]
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
        let layout = self.layout();
        assert!(
            layout.is_contiguous(),
            "update_data: the tensor of shape {:?} is a strided view; update its base tensor",
            layout.shape
        );
        let mut data = self
            .inner
            .storage
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut data[layout.offset..layout.offset + layout.numel()])
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
        // Read before locking for writing: `source` may share this storage.
        let values = source.to_vec();
        self.update_data(|data| data.copy_from_slice(&values));
    }
}
