//! The differentiable cast between element types (`f32` <-> `f64`).
//!
//! The graph is typed by element type (a `Node<f32>` has `f32` edges), so
//! a cast cannot be an ordinary edge. The cast's node in the output's graph
//! has no edges; its backward converts the gradient back to the input's
//! type and runs a backward pass of the input's graph from the input, into
//! the leaves' `.grad`. That pass keeps its graph (retain_graph), because
//! several casts may share the part of the graph before them.
//!
//! What this does not see through: [`grad`](super::grad) (which fills no
//! `.grad`) stops at a cast, so the gradient of an input of another element
//! type than the outputs comes only from `backward`.

use std::any::Any;

use super::engine;
use super::graph::{record, record_without_edges};
use super::mode::is_grad_enabled;
use crate::backend;
use crate::element::Float;
use crate::tensor::Tensor;

impl<T: Float> Tensor<T> {
    /// Converts to element type `U`, as PyTorch's `x.to(dtype)`: recorded,
    /// so that gradients flow back across the cast (converted to `T`). To
    /// the same type it is a copy whose gradient passes through unchanged.
    ///
    /// ```
    /// use nabla::Tensor;
    /// let x = Tensor::from_vec(vec![1.5f32, -2.0], &[2]).requires_grad();
    /// let y = x.to_dtype::<f64>();
    /// assert_eq!(y.dtype(), "float64");
    /// (&y * &y).sum().backward(); // d/dx of sum(x^2) = 2x, back in f32
    /// assert_eq!(x.grad().unwrap().to_vec(), vec![3.0f32, -4.0]);
    /// ```
    pub fn to_dtype<U: Float>(&self) -> Tensor<U> {
        if let Some(same) = (self as &dyn Any).downcast_ref::<Tensor<U>>() {
            // A copy, as to another type, in the same graph: its gradient
            // passes through unchanged, and `grad` sees through it.
            let out = backend::copy(same);
            return record("ToDtype", out, &[same], |ctx| vec![Some(ctx.grad().clone())]);
        }
        let out = backend::cast::<T, U>(self);
        if !is_grad_enabled() || !self.is_requires_grad() {
            return out;
        }
        let input = self.clone();
        record_without_edges("ToDtype", out, move |ctx| {
            if ctx.into_leaf_grads {
                let g = ctx.grad().to_dtype::<T>();
                engine::backward(&[&input], vec![g], true, ctx.create_graph);
            }
            Vec::new()
        })
    }

    /// [`to_dtype::<f64>`](Tensor::to_dtype): the cast to double precision
    /// (recorded).
    pub fn to_f64(&self) -> Tensor<f64> {
        self.to_dtype()
    }

    /// [`to_dtype::<f32>`](Tensor::to_dtype): the cast to single precision
    /// (recorded).
    pub fn to_f32(&self) -> Tensor<f32> {
        self.to_dtype()
    }
}
