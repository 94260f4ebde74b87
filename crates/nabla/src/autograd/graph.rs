//! The computational graph: one [`Node`] per recorded operation, holding the
//! edges to its inputs and the closure that turns the upstream gradient into
//! downstream gradients (downstream = local x upstream).

use std::cell::RefCell;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use smallvec::SmallVec;

use super::mode::is_grad_enabled;
use super::sparse_grad::SparseGrad;
use crate::element::Float;
use crate::layout::Layout;
use crate::tensor::{Storage, Tensor, TensorImpl};

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
    /// The output tensor whose `.grad` receives this node's gradient, set
    /// by [`Tensor::retain_grad`]; weak, because the tensor owns the node.
    pub(crate) retained_by: OnceLock<Weak<TensorImpl<T>>>,
}

/// One per input; `None` for inputs that need no gradient. Inline for up
/// to two inputs, so that recording a unary or binary op does not allocate
/// for its edges.
pub(crate) type Edges<T> = SmallVec<[Option<Edge<T>>; 2]>;

pub(crate) struct NodeState<T: Float> {
    pub edges: Edges<T>,
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
    pub(crate) create_graph: bool,
    /// True when the pass fills the leaves' `.grad` (`backward`), false
    /// when it returns gradients (`grad`).
    pub(crate) into_leaf_grads: bool,
    /// Gradients handed over with [`BackwardCtx::sparse_grad`], by input.
    pub(crate) sparse: &'a RefCell<Vec<(usize, SparseGrad<T>)>>,
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

    /// Input `input`'s gradient given as values at a region of it (zero
    /// elsewhere); the formula returns what this returns in that input's
    /// slot. Outside `create_graph` the engine adds the values into the
    /// input's gradient buffer in place and this returns `None`; under it,
    /// the full gradient is built with recorded ops and returned.
    pub(crate) fn sparse_grad(&self, input: usize, grad: SparseGrad<T>) -> Option<Tensor<T>> {
        if self.create_graph {
            Some(grad.to_dense())
        } else {
            self.sparse.borrow_mut().push((input, grad));
            None
        }
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
///
/// Recording allocates the node and, when `backward` captures anything, its
/// closure; the edges of up to two inputs and the output's layout are
/// stored inline, and `out`'s own handle is reused when nothing else holds
/// it.
pub(crate) fn record<T: Float>(
    name: &'static str,
    out: Tensor<T>,
    inputs: &[&Tensor<T>],
    backward: impl Fn(&BackwardCtx<'_, T>) -> Vec<Option<Tensor<T>>> + Send + Sync + 'static,
) -> Tensor<T> {
    if !is_grad_enabled() || !inputs.iter().any(|t| t.inner.requires_grad()) {
        return out;
    }
    attach(
        name,
        out,
        inputs.iter().map(|t| edge_of(t)).collect(),
        Box::new(backward),
    )
}

/// Attaches `out` to the graph as the result of op `name` whose input lives
/// in another graph (of another element type): the node has no edges, and
/// `backward` (returning no gradients) carries the gradient over itself.
/// The caller checks that recording is on and the input requires grad.
pub(crate) fn record_without_edges<T: Float>(
    name: &'static str,
    out: Tensor<T>,
    backward: impl Fn(&BackwardCtx<'_, T>) -> Vec<Option<Tensor<T>>> + Send + Sync + 'static,
) -> Tensor<T> {
    attach(name, out, Edges::new(), Box::new(backward))
}

fn attach<T: Float>(
    name: &'static str,
    mut out: Tensor<T>,
    edges: Edges<T>,
    backward: BackwardFn<T>,
) -> Tensor<T> {
    let node = Arc::new(Node {
        name,
        retained_by: OnceLock::new(),
        state: Mutex::new(Some(NodeState {
            edges,
            backward,
            output: (Arc::clone(&out.inner.storage), out.inner.layout.clone()),
        })),
    });
    match Arc::get_mut(&mut out.inner) {
        Some(inner) => {
            inner.grad_fn = Some(node);
            *inner.requires_grad.get_mut() = true;
            out
        }
        None => Tensor::from_parts(
            Arc::clone(&out.inner.storage),
            out.inner.layout.clone(),
            true,
            Some(node),
        ),
    }
}
