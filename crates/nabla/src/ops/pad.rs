//! Constant padding of the trailing dimensions: `pad`, as
//! `torch.nn.functional.pad` in its constant mode (the asymmetric "same"
//! padding of TensorFlow-trained networks is a pad before a convolution).

use crate::autograd::{no_grad, record};
use crate::backend::ops::Placement;
use crate::backend::{add_at, full};
use crate::element::Float;
use crate::tensor::Tensor;

impl<T: Float> Tensor<T> {
    /// Pads the trailing dimensions with `value`, with PyTorch's argument
    /// order: `pads = [before_last, after_last, before_second_last,
    /// after_second_last, ...]`, so `x.pad(&[left, right, top, bottom], v)`
    /// pads `[N, C, H, W]` images on their sides. The output grows by
    /// `before + after` in each padded dimension; the gradient is the
    /// upstream gradient's interior (the padding's elements are constants).
    ///
    /// ```
    /// use nabla::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]);
    /// // one column on the left, none on the right, one row below:
    /// let y = x.pad(&[1, 0, 0, 1], 0.0);
    /// assert_eq!(y.shape(), &[3, 3]);
    /// assert_eq!(y.to_vec(), vec![0.0, 1.0, 2.0, 0.0, 3.0, 4.0, 0.0, 0.0, 0.0]);
    /// assert_eq!(x.pad(&[1, 1], -1.0).to_vec(), vec![-1.0, 1.0, 2.0, -1.0, -1.0, 3.0, 4.0, -1.0]);
    /// ```
    ///
    /// # Panics
    /// If `pads` has an odd length or pads more dimensions than the tensor has.
    pub fn pad(&self, pads: &[usize], value: T) -> Tensor<T> {
        let rank = self.ndim();
        assert!(
            pads.len() % 2 == 0 && pads.len() / 2 <= rank,
            "pad: {pads:?} must hold (before, after) pairs for at most the {rank} dimensions of a tensor of shape {:?}",
            self.shape()
        );
        // (dimension, before, after), last dimension first, as PyTorch orders them.
        let sides: Vec<(usize, usize, usize)> = pads
            .chunks_exact(2)
            .enumerate()
            .map(|(k, p)| (rank - 1 - k, p[0], p[1]))
            .filter(|&(_, before, after)| before + after > 0)
            .collect();
        if sides.is_empty() {
            return self.clone();
        }
        let out = no_grad(|| constant_pad(self, &sides, value));
        let sizes: Vec<(usize, usize, usize)> = sides
            .iter()
            .map(|&(dim, before, _)| (dim, before, self.shape()[dim]))
            .collect();
        record("Pad", out, &[self], move |ctx| {
            let interior = sizes.iter().fold(ctx.grad().clone(), |g, &(dim, start, length)| {
                g.narrow(dim as isize, start, length)
            });
            vec![Some(interior)]
        })
    }
}

/// `x` inside `value`, grown by `(before, after)` in each listed dimension
/// (unrecorded: one fresh buffer per padded dimension, `x` added into its
/// interior, less `value` unless that is 0).
fn constant_pad<T: Float>(x: &Tensor<T>, sides: &[(usize, usize, usize)], value: T) -> Tensor<T> {
    sides.iter().fold(x.clone(), |inner, &(dim, before, after)| {
        let mut shape = inner.shape().to_vec();
        shape[dim] += before + after;
        let padded = full(&shape, value);
        let interior = if value == T::zero() {
            inner
        } else {
            inner.add_scalar(-value)
        };
        add_at(&padded, &Placement::Narrow { dim, start: before }, &interior);
        padded
    })
}
