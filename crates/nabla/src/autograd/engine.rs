//! The backward pass: walks the graph from the outputs in reverse
//! topological order, calling each node's backward formula once all the
//! gradient that flows into it has been summed.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Weak};

use smallvec::SmallVec;

use super::accumulate::{accumulate, accumulate_sparse};
use super::graph::{BackwardCtx, Edge, Node, NodeState};
use super::mode::with_grad_mode;
use super::sparse_grad::SparseGrad;
use crate::element::Float;
use crate::tensor::Tensor;

fn node_key<T: Float>(node: &Arc<Node<T>>) -> usize {
    Arc::as_ptr(node) as usize
}

fn leaf_key<T: Float>(t: &Tensor<T>) -> usize {
    Arc::as_ptr(&t.inner) as usize
}

/// What flows into a tensor from one use of it.
enum Incoming<'a, T: Float> {
    Dense(Tensor<T>),
    Sparse(&'a SparseGrad<T>),
}

impl<T: Float> Incoming<'_, T> {
    fn shape(&self) -> &[usize] {
        match self {
            Incoming::Dense(g) => g.shape(),
            Incoming::Sparse(g) => &g.shape,
        }
    }

    fn add_to(self, slot: &mut Option<Tensor<T>>, in_place: bool) {
        match self {
            Incoming::Dense(g) => accumulate(slot, g, in_place),
            Incoming::Sparse(g) => accumulate_sparse(slot, g),
        }
    }
}

/// Adds `g` into the gradient being summed for the node with `key`.
fn add_to_node<T: Float>(
    grads: &mut HashMap<usize, Tensor<T>>,
    key: usize,
    g: Incoming<'_, T>,
    in_place: bool,
) {
    let mut slot = grads.remove(&key);
    g.add_to(&mut slot, in_place);
    grads.insert(key, slot.expect("just accumulated"));
}

fn freed_graph_panic(name: &str) -> ! {
    panic!(
        "backward: the graph through {name} was already freed by an earlier backward pass; \
         pass retain_graph = true to the first one to backpropagate twice"
    )
}

/// Where the gradients reaching the graph's inputs go.
enum Sink<'a, T: Float> {
    /// Accumulate into each leaf's `.grad` (what `backward` does).
    LeafGrads,
    /// Return the gradients of these tensors, touching no `.grad` (what
    /// [`grad`](super::grad) does).
    Capture {
        leaves: HashMap<usize, usize>,
        nodes: HashMap<usize, usize>,
        captured: &'a mut Vec<Option<Tensor<T>>>,
    },
}

impl<T: Float> Sink<'_, T> {
    fn deliver_to_leaf(&mut self, leaf: &Tensor<T>, g: Incoming<'_, T>, in_place: bool) {
        if g.shape() != leaf.shape() {
            panic!(
                "backward: gradient of shape {:?} for a leaf of shape {:?}",
                g.shape(),
                leaf.shape()
            );
        }
        match self {
            Sink::LeafGrads => {
                let mut slot = leaf.inner.grad.lock().unwrap_or_else(|p| p.into_inner());
                let g = match g {
                    Incoming::Dense(g) => Incoming::Dense(g.contiguous()),
                    sparse => sparse,
                };
                g.add_to(&mut slot, in_place);
            }
            Sink::Capture { leaves, captured, .. } => {
                if let Some(&i) = leaves.get(&leaf_key(leaf)) {
                    g.add_to(&mut captured[i], in_place);
                }
            }
        }
    }

    fn observe_node(&mut self, node: &Arc<Node<T>>, g: &Tensor<T>) {
        match self {
            Sink::LeafGrads => {
                if let Some(tensor) = node.retained_by.get().and_then(Weak::upgrade) {
                    let mut slot = tensor.grad.lock().unwrap_or_else(|p| p.into_inner());
                    accumulate(&mut slot, g.clone(), false);
                }
            }
            Sink::Capture { nodes, captured, .. } => {
                if let Some(&i) = nodes.get(&node_key(node)) {
                    captured[i] = Some(g.clone());
                }
            }
        }
    }
}

/// Counts, for each leaf, the uses whose gradient is still to come, and
/// calls the hook on a leaf when its last one has been delivered.
struct ReadyLeaves<'h, T: Float> {
    pending: HashMap<usize, usize>,
    hook: &'h mut dyn FnMut(&Tensor<T>),
}

impl<T: Float> ReadyLeaves<'_, T> {
    fn count_use(&mut self, leaf: &Tensor<T>) {
        *self.pending.entry(leaf_key(leaf)).or_insert(0) += 1;
    }

    fn delivered(&mut self, leaf: &Tensor<T>) {
        let count = self
            .pending
            .get_mut(&leaf_key(leaf))
            .expect("every use of a leaf was counted");
        *count -= 1;
        if *count == 0 {
            (self.hook)(leaf);
        }
    }
}

/// Backpropagates `root_grads` from `roots` through the graph; `ready`, if
/// given, hears of each leaf once its gradient is final.
fn run<T: Float>(
    roots: &[&Tensor<T>],
    root_grads: Vec<Tensor<T>>,
    retain_graph: bool,
    create_graph: bool,
    sink: &mut Sink<'_, T>,
    mut ready_leaves: Option<ReadyLeaves<'_, T>>,
) {
    // Under create_graph the sums are recorded; otherwise they may reuse
    // buffers in place.
    let in_place = !create_graph;
    with_grad_mode(create_graph, || {
        // Discover the graph and count, for each node, the edges into it.
        let mut dependencies: HashMap<usize, usize> = HashMap::new();
        let mut stack: Vec<Arc<Node<T>>> = Vec::new();
        let mut grads: HashMap<usize, Tensor<T>> = HashMap::new();
        let mut ready: Vec<Arc<Node<T>>> = Vec::new();
        for (root, g) in roots.iter().zip(root_grads) {
            assert!(
                root.inner.requires_grad(),
                "backward: the tensor of shape {:?} does not require grad and has no grad_fn",
                root.shape()
            );
            assert!(
                g.shape() == root.shape(),
                "backward: gradient of shape {:?} for an output of shape {:?}",
                g.shape(),
                root.shape()
            );
            match &root.inner.grad_fn {
                None => {
                    sink.deliver_to_leaf(root, Incoming::Dense(g), in_place);
                    if let Some(r) = ready_leaves.as_mut() {
                        r.count_use(root);
                        r.delivered(root);
                    }
                }
                Some(node) => {
                    let key = node_key(node);
                    if let std::collections::hash_map::Entry::Vacant(slot) = dependencies.entry(key) {
                        slot.insert(0);
                        stack.push(Arc::clone(node));
                        ready.push(Arc::clone(node));
                    }
                    add_to_node(&mut grads, key, Incoming::Dense(g), in_place);
                }
            }
        }
        while let Some(node) = stack.pop() {
            let state = node.state.lock().unwrap_or_else(|p| p.into_inner());
            let state = state.as_ref().unwrap_or_else(|| freed_graph_panic(node.name));
            for edge in state.edges.iter().flatten() {
                match edge {
                    // An entry means the node was seen (roots start at 0);
                    // only a first sighting is explored.
                    Edge::Node(next) => match dependencies.entry(node_key(next)) {
                        std::collections::hash_map::Entry::Occupied(mut count) => *count.get_mut() += 1,
                        std::collections::hash_map::Entry::Vacant(slot) => {
                            slot.insert(1);
                            stack.push(Arc::clone(next));
                        }
                    },
                    Edge::Leaf(leaf) => {
                        if let Some(r) = ready_leaves.as_mut() {
                            r.count_use(leaf);
                        }
                    }
                }
            }
        }
        // A root that another root depends on is not ready yet.
        ready.retain(|n| dependencies[&node_key(n)] == 0);

        while let Some(node) = ready.pop() {
            let key = node_key(&node);
            let grad = grads.remove(&key);
            let mut guard = node.state.lock().unwrap_or_else(|p| p.into_inner());
            let taken: Option<NodeState<T>> = if retain_graph { None } else { guard.take() };
            let state = match &taken {
                Some(s) => s,
                None => guard.as_ref().unwrap_or_else(|| freed_graph_panic(node.name)),
            };
            if let Some(grad) = grad {
                assert!(
                    grad.shape() == &state.output.1.shape[..],
                    "backward: {} received a gradient of shape {:?} for its output of shape {:?}",
                    node.name,
                    grad.shape(),
                    state.output.1.shape
                );
                sink.observe_node(&node, &grad);
                let needs: SmallVec<[bool; 4]> = state.edges.iter().map(Option::is_some).collect();
                let sparse = RefCell::new(Vec::new());
                let ctx = BackwardCtx {
                    grad: &grad,
                    needs: &needs,
                    node: &node,
                    output: &state.output,
                    create_graph,
                    into_leaf_grads: matches!(sink, Sink::LeafGrads),
                    sparse: &sparse,
                };
                let input_grads = (state.backward)(&ctx);
                assert!(
                    input_grads.len() == state.edges.len(),
                    "backward: {} returned {} gradients for {} inputs",
                    node.name,
                    input_grads.len(),
                    state.edges.len()
                );
                let dense = input_grads
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, g)| Some((i, Incoming::Dense(g?))));
                let sparse = sparse.into_inner();
                let sparse = sparse.iter().map(|(i, g)| (*i, Incoming::Sparse(g)));
                for (i, g) in dense.chain(sparse) {
                    match &state.edges[i] {
                        Some(Edge::Leaf(leaf)) => sink.deliver_to_leaf(leaf, g, in_place),
                        Some(Edge::Node(next)) => add_to_node(&mut grads, node_key(next), g, in_place),
                        None => {}
                    }
                }
            }
            for edge in state.edges.iter().flatten() {
                match edge {
                    Edge::Node(next) => {
                        let count = dependencies
                            .get_mut(&node_key(next))
                            .expect("every reachable node was counted");
                        *count -= 1;
                        if *count == 0 {
                            ready.push(Arc::clone(next));
                        }
                    }
                    Edge::Leaf(leaf) => {
                        if let Some(r) = ready_leaves.as_mut() {
                            r.delivered(leaf);
                        }
                    }
                }
            }
            drop(guard);
            // Dropping `taken` here frees this node's saved tensors.
        }
    });
}

/// Backpropagates into the `.grad` of every leaf that requires a gradient.
pub(crate) fn backward<T: Float>(
    roots: &[&Tensor<T>],
    root_grads: Vec<Tensor<T>>,
    retain_graph: bool,
    create_graph: bool,
) {
    run(
        roots,
        root_grads,
        retain_graph,
        create_graph,
        &mut Sink::LeafGrads,
        None,
    );
}

/// [`backward`] calling `hook` on each leaf as soon as its `.grad` is
/// final: after the last node that feeds it has run, while the rest of the
/// graph is still being walked.
pub(crate) fn backward_with_ready_hook<T: Float>(
    root: &Tensor<T>,
    root_grad: Tensor<T>,
    hook: &mut dyn FnMut(&Tensor<T>),
) {
    let ready = ReadyLeaves {
        pending: HashMap::new(),
        hook,
    };
    run(
        &[root],
        vec![root_grad],
        false,
        false,
        &mut Sink::LeafGrads,
        Some(ready),
    );
}

/// Returns the gradients of `roots` with respect to `inputs`.
pub(crate) fn grad<T: Float>(
    roots: &[&Tensor<T>],
    root_grads: Vec<Tensor<T>>,
    inputs: &[&Tensor<T>],
    retain_graph: bool,
    create_graph: bool,
) -> Vec<Option<Tensor<T>>> {
    let mut captured = vec![None; inputs.len()];
    let mut leaves = HashMap::new();
    let mut nodes = HashMap::new();
    for (i, t) in inputs.iter().enumerate() {
        match &t.inner.grad_fn {
            Some(node) => nodes.insert(node_key(node), i),
            None => leaves.insert(leaf_key(t), i),
        };
    }
    let mut sink = Sink::Capture {
        leaves,
        nodes,
        captured: &mut captured,
    };
    run(roots, root_grads, retain_graph, create_graph, &mut sink, None);
    captured
}
