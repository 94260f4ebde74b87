//! The computational graph: one [`Node`] per recorded operation, holding the
//! edges to its inputs and the closure that turns the upstream gradient into
//! downstream gradients (downstream = local x upstream).

use std::sync::{Arc, Mutex};

use super::mode::is_grad_enabled;
use crate::element::Float;
use crate::layout::Layout;
use crate::tensor::{Storage, Tensor};

/// Computes the gradients of an op's inputs from the gradient of its output.
pub(crate) type BackwardFn<T> = Box<dyn Fn(&BackwardCtx<'_, T>) -> Vec<Option<Tensor<T>>> + Send + Sync>;

/// Where a gradient goes next: into a leaf's `.grad`, or into another node.
pub(crate) enum Edge<T: Float> {
    Leaf(Tensor<T>),
    Node(Arc<Node<T>>),
}

/// One recorded operation.
pub struct Node<T: Float> {
    pub(crate) name: &'static str,
    /// `None` once the graph has been freed by a backward pass.
    pub(crate) state: Mutex<Option<NodeState<T>>>,
}

pub(crate) struct NodeState<T: Float> {
    /// One per input; `None` for inputs that need no gradient.
    pub edges: Vec<Option<Edge<T>>>,
    pub backward: BackwardFn<T>,
    /// The output's storage and layout, kept without its history so that a
    /// backward formula can use the output without a reference cycle.
    pub output: (Storage<T>, Layout),
}

/// What a backward formula sees: the upstream gradient, which inputs need a
/// gradient, and the op's own output.
pub struct BackwardCtx<'a, T: Float> {
    pub(crate) grad: &'a Tensor<T>,
    pub(crate) needs: &'a [bool],
    pub(crate) node: &'a Arc<Node<T>>,
    pub(crate) output: &'a (Storage<T>, Layout),
}

impl<T: Float> BackwardCtx<'_, T> {
    /// The upstream gradient: the gradient of the loss with respect to this
    /// op's output, with the output's shape.
    pub fn grad(&self) -> &Tensor<T> {
        self.grad
    }

    /// Whether input `i` needs a gradient (others may return `None`).
    pub fn needs_input_grad(&self, i: usize) -> bool {
        self.needs[i]
    }

    /// The op's output, still attached to the graph, so that formulas using
    /// it (sigmoid, exp, tanh) are differentiable a second time.
    pub fn output(&self) -> Tensor<T> {
        Tensor::from_parts(
            Arc::clone(&self.output.0),
            self.output.1.clone(),
            true,
            Some(Arc::clone(self.node)),
        )
    }
}

impl<T: Float> Drop for Node<T> {
    /// Frees the graph behind this node iteratively: a recursive drop of a
    /// long chain (an unrolled RNN, a forward pass never backpropagated)
    /// would overflow the stack.
    fn drop(&mut self) {
        let mut pending: Vec<NodeState<T>> = Vec::new();
        pending.extend(self.state.get_mut().unwrap_or_else(|p| p.into_inner()).take());
        while let Some(state) = pending.pop() {
            let NodeState {
                edges,
                backward,
                output,
            } = state;
            // The closure first: the tensors it saved hold their own nodes,
            // and releasing those references lets the edges below be the
            // last owners.
            drop(backward);
            drop(output);
            for edge in edges.into_iter().flatten() {
                if let Edge::Node(node) = edge {
                    if let Some(mut inner) = Arc::into_inner(node) {
                        pending.extend(inner.state.get_mut().unwrap_or_else(|p| p.into_inner()).take());
                    }
                }
            }
        }
    }
}

fn edge_of<T: Float>(t: &Tensor<T>) -> Option<Edge<T>> {
    if !t.inner.requires_grad() {
        None
    } else if let Some(node) = &t.inner.grad_fn {
        Some(Edge::Node(Arc::clone(node)))
    } else {
        Some(Edge::Leaf(t.clone()))
    }
}

/// Attaches `out` to the graph as the result of op `name` applied to
/// `inputs`, when recording is on and some input requires a gradient.
///
/// `backward` returns one entry per input, in order: the downstream gradient,
/// with that input's shape, or `None` when it is not needed.
pub(crate) fn record<T: Float>(
    name: &'static str,
    out: Tensor<T>,
    inputs: &[&Tensor<T>],
    backward: impl Fn(&BackwardCtx<'_, T>) -> Vec<Option<Tensor<T>>> + Send + Sync + 'static,
) -> Tensor<T> {
    if !is_grad_enabled() || !inputs.iter().any(|t| t.inner.requires_grad()) {
        return out;
    }
    let storage = Arc::clone(&out.inner.storage);
    let layout = out.inner.layout.clone();
    let node = Arc::new(Node {
        name,
        state: Mutex::new(Some(NodeState {
            edges: inputs.iter().map(|t| edge_of(t)).collect(),
            backward: Box::new(backward),
            output: (Arc::clone(&storage), layout.clone()),
        })),
    });
    Tensor::from_parts(storage, layout, true, Some(node))
}
