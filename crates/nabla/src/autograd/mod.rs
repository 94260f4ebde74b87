//! Reverse-mode automatic differentiation on a define-by-run graph.
//!
//! Every op on tensors that require a gradient records a node (see
//! [`graph`]); [`Tensor::backward`] walks the nodes in reverse, each turning
//! the upstream gradient into downstream gradients with its local derivative
//! (downstream = local x upstream). Backward formulas are written with tensor
//! ops, so with `create_graph` the backward pass is itself recorded and can
//! be differentiated again ([`grad`], Hessians, Hessian-vector products).

mod accumulate;
mod cast;
mod dot;
mod engine;
mod function;
mod functional;
mod gradcheck;
pub(crate) mod graph;
pub(crate) mod mode;
mod multi_output;
pub(crate) mod sparse_grad;

pub use dot::to_dot;
pub use function::{apply_function, Function, FunctionCtx};
pub use functional::{hessian, hvp};
pub use gradcheck::{
    gradcheck, gradgradcheck, jacobian, numerical_jacobian, GradcheckError, GradcheckOptions,
    GradcheckReport, JacobianEntry,
};
pub use graph::{BackwardCtx, Node};
pub(crate) use mode::with_grad_mode;
pub use mode::{is_grad_enabled, no_grad, NoGradGuard};
pub use multi_output::{apply_multi_output, MultiOutputCtx, MultiOutputFunction};

pub(crate) use graph::record;

use crate::element::Float;
use crate::tensor::Tensor;

impl<T: Float> Tensor<T> {
    /// Marks this leaf as a parameter, in place: operations on it are
    /// recorded and [`backward`](Tensor::backward) fills its
    /// [`grad`](Tensor::grad). Returns the same tensor, for chaining.
    ///
    /// # Panics
    /// If the tensor is the result of a recorded op (not a leaf); use
    /// [`detach`](Tensor::detach) first.
    pub fn requires_grad(self) -> Self {
        self.set_requires_grad(true);
        self
    }

    /// Sets, in place, whether this leaf requires a gradient; `false`
    /// freezes a parameter. Every clone of the handle sees the change.
    ///
    /// # Panics
    /// If the tensor is not a leaf.
    pub fn set_requires_grad(&self, requires_grad: bool) {
        assert!(
            self.is_leaf(),
            "requires_grad: only a leaf tensor can change requires_grad; this one comes from {}",
            self.grad_fn_name().unwrap_or("?")
        );
        self.inner
            .requires_grad
            .store(requires_grad, std::sync::atomic::Ordering::Relaxed);
    }

    /// True when operations on this tensor are recorded for backward.
    pub fn is_requires_grad(&self) -> bool {
        self.inner.requires_grad()
    }

    /// True for tensors not produced by a recorded op (inputs and parameters).
    pub fn is_leaf(&self) -> bool {
        self.inner.grad_fn.is_none()
    }

    /// The name of the op that produced this tensor, if it was recorded.
    pub fn grad_fn_name(&self) -> Option<&'static str> {
        self.inner.grad_fn.as_ref().map(|n| n.name)
    }

    /// Makes backward passes also store this non-leaf tensor's gradient in
    /// its [`grad`](Tensor::grad), as leaves' are, as PyTorch's
    /// `retain_grad()`. Does nothing for a leaf.
    ///
    /// ```
    /// use nabla::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2]).requires_grad();
    /// let h = &x * 3.0;
    /// h.retain_grad();
    /// (&h * &h).sum().backward(); // d/dh of sum(h^2) = 2h
    /// assert_eq!(h.grad().unwrap().to_vec(), vec![6.0, 12.0]);
    /// ```
    pub fn retain_grad(&self) {
        if let Some(node) = &self.inner.grad_fn {
            // A second call finds the tensor already registered.
            let _ = node.retained_by.set(std::sync::Arc::downgrade(&self.inner));
        }
    }

    /// The gradient accumulated by backward passes in this leaf, or in a
    /// tensor that called [`retain_grad`](Tensor::retain_grad), if any.
    pub fn grad(&self) -> Option<Tensor<T>> {
        self.inner.grad.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Clears the accumulated gradient (PyTorch's `zero_grad(set_to_none=True)`).
    pub fn zero_grad(&self) {
        *self.inner.grad.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The same data with no history: a new leaf that does not require grad.
    pub fn detach(&self) -> Self {
        Tensor::from_parts(self.inner.storage.clone(), self.inner.layout.clone(), false, None)
    }

    /// Backpropagates from this one-element tensor (the loss): every leaf
    /// that requires a gradient gets d(self)/d(leaf) added to its `grad`.
    /// The graph is freed afterwards.
    ///
    /// ```
    /// use nabla::Tensor;
    /// let x = Tensor::from_vec(vec![3.0f32], &[1]).requires_grad();
    /// let y = (&x * &x).sum(); // y = x^2
    /// y.backward();
    /// assert_eq!(x.grad().unwrap().to_vec(), vec![6.0]);
    /// ```
    ///
    /// # Panics
    /// If the tensor has more than one element (use
    /// [`backward_with`](Tensor::backward_with)), or does not require grad.
    pub fn backward(&self) {
        assert!(self.numel() == 1,
            "backward: a gradient can be implied only for a one-element output, this one has shape {:?}; use backward_with",
            self.shape()
        );
        engine::backward(&[self], vec![Tensor::ones(self.shape())], false, false);
    }

    /// Backpropagates the upstream gradient `grad` (same shape as `self`)
    /// from a tensor with any number of elements: vector-Jacobian product.
    pub fn backward_with(&self, grad: &Tensor<T>) {
        engine::backward(&[self], vec![grad.clone()], false, false);
    }

    /// [`backward`](Tensor::backward) that calls `hook` on each leaf as
    /// soon as its gradient is final, while the rest of the graph is still
    /// being walked (PyTorch's `register_post_accumulate_grad_hook`, for
    /// one pass): what data-parallel training uses to start averaging a
    /// bucket of gradients across processes during the backward pass. Each
    /// leaf reached is passed once; a leaf the output does not depend on is
    /// not passed.
    ///
    /// ```
    /// use nabla::Tensor;
    /// let w1 = Tensor::from_vec(vec![2.0f32], &[1]).requires_grad();
    /// let w2 = Tensor::from_vec(vec![3.0f32], &[1]).requires_grad();
    /// let y = (&(&w1 * &w1) * &w2).sum(); // w1 is used twice
    /// let mut ready = Vec::new();
    /// y.backward_with_ready_hook(&mut |leaf| ready.push(leaf.grad().unwrap().to_vec()[0]));
    /// // dy/dw2 = w1^2 = 4 is final first, then dy/dw1 = 2 w1 w2 = 12.
    /// assert_eq!(ready, vec![4.0, 12.0]);
    /// ```
    ///
    /// # Panics
    /// As [`backward`](Tensor::backward).
    pub fn backward_with_ready_hook(&self, hook: &mut dyn FnMut(&Tensor<T>)) {
        assert!(self.numel() == 1,
            "backward: a gradient can be implied only for a one-element output, this one has shape {:?}; use backward_with",
            self.shape()
        );
        engine::backward_with_ready_hook(self, Tensor::ones(self.shape()), hook);
    }

    /// The general backward: `grad` defaults to ones for a one-element
    /// output; `retain_graph` keeps the graph for another pass;
    /// `create_graph` records the backward pass itself, so the gradients
    /// can be differentiated again.
    pub fn backward_with_options(&self, grad: Option<&Tensor<T>>, retain_graph: bool, create_graph: bool) {
        let g = grad.cloned().unwrap_or_else(|| Tensor::ones(self.shape()));
        engine::backward(&[self], vec![g], retain_graph || create_graph, create_graph);
    }
}

/// The gradients of the one-element `outputs` with respect to `inputs`, as
/// `torch.autograd.grad`, without touching any `.grad`. An input the outputs
/// do not depend on gets `None`.
///
/// With `create_graph`, the gradients are themselves recorded, so they can
/// be differentiated again (the graph is then kept).
///
/// ```
/// use nabla::{autograd::grad, Tensor};
/// let x = Tensor::from_vec(vec![2.0f64], &[1]).requires_grad();
/// let y = x.pow_scalar(3.0).sum(); // y = x^3
/// let dy = grad(&[&y], &[&x], true)[0].clone().unwrap(); // 3x^2 = 12
/// let d2y = grad(&[&dy.sum()], &[&x], false)[0].clone().unwrap(); // 6x = 12
/// assert_eq!(dy.to_vec(), vec![12.0]);
/// assert_eq!(d2y.to_vec(), vec![12.0]);
/// ```
pub fn grad<T: Float>(
    outputs: &[&Tensor<T>],
    inputs: &[&Tensor<T>],
    create_graph: bool,
) -> Vec<Option<Tensor<T>>> {
    let grad_outputs = outputs
        .iter()
        .map(|o| {
            assert!(o.numel() == 1,
                "grad: a gradient can be implied only for one-element outputs, this one has shape {:?}; use grad_with",
                o.shape()
            );
            Tensor::ones(o.shape())
        })
        .collect();
    engine::grad(outputs, grad_outputs, inputs, create_graph, create_graph)
}

/// [`grad`] with explicit upstream gradients (one per output, of its shape)
/// and an explicit `retain_graph`: vector-Jacobian products of any outputs.
pub fn grad_with<T: Float>(
    outputs: &[&Tensor<T>],
    grad_outputs: &[&Tensor<T>],
    inputs: &[&Tensor<T>],
    retain_graph: bool,
    create_graph: bool,
) -> Vec<Option<Tensor<T>>> {
    assert!(
        outputs.len() == grad_outputs.len(),
        "grad_with: {} outputs but {} grad_outputs",
        outputs.len(),
        grad_outputs.len()
    );
    let grad_outputs = grad_outputs.iter().map(|g| (*g).clone()).collect();
    engine::grad(
        outputs,
        grad_outputs,
        inputs,
        retain_graph || create_graph,
        create_graph,
    )
}
