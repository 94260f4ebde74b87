//! The computational graph as Graphviz DOT, with every value of the forward
//! pass and every gradient of the backward pass, like the course's figures
//! 2.3 to 2.6.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use super::engine;
use super::graph::{Edge, Node};
use crate::element::Float;
use crate::tensor::Tensor;

/// A short text for a tensor's value: the number for one element, else
/// the shape and the first few values.
fn describe_value<T: Float>(t: &Tensor<T>) -> String {
    let values = t.to_vec();
    let show = |v: &T| {
        let x = v.as_f64();
        if x == x.trunc() && x.abs() < 1e6 {
            format!("{x:.0}")
        } else {
            format!("{x:.4}")
        }
    };
    if values.len() == 1 {
        show(&values[0])
    } else {
        let head: Vec<String> = values.iter().take(4).map(show).collect();
        let more = if values.len() > 4 { ", ..." } else { "" };
        format!("{:?} [{}{more}]", t.shape(), head.join(", "))
    }
}

enum Vertex<T: Float> {
    Leaf(Tensor<T>),
    Op(Arc<Node<T>>),
}

/// The graph that computed `output` as Graphviz DOT: one box per leaf (with
/// its name from `names`, or `leaf0`, `leaf1`, ...), one ellipse per op, and
/// on every edge the value that flows forward and, in red, the gradient of
/// `output` with respect to it that flows back.
///
/// `output` must have one element. The graph is kept (as with
/// `retain_graph`), and no `.grad` is touched.
///
/// ```
/// use nabla::autograd::to_dot;
/// use nabla::Tensor;
/// // The course's figure 2.4: f(x, y, z) = (x + y) z at (-2, 5, -4).
/// let x = Tensor::scalar(-2.0f64).requires_grad();
/// let y = Tensor::scalar(5.0f64).requires_grad();
/// let z = Tensor::scalar(-4.0f64).requires_grad();
/// let f = &(&x + &y) * &z;
/// let dot = to_dot(&f, &[("x", &x), ("y", &y), ("z", &z)]);
/// assert!(dot.contains("x = -2") && dot.contains("grad -4"));
/// assert!(dot.contains("Mul") && dot.contains("= -12"));
/// ```
///
/// # Panics
/// If `output` does not have exactly one element or does not require grad.
pub fn to_dot<T: Float>(output: &Tensor<T>, names: &[(&str, &Tensor<T>)]) -> String {
    assert!(
        output.numel() == 1,
        "to_dot: the output must have one element, got shape {:?}",
        output.shape()
    );
    assert!(
        output.is_requires_grad(),
        "to_dot: the output does not require grad, so it has no graph"
    );
    // Walk the graph: vertices in discovery order, edges input -> consumer.
    let mut vertices: Vec<Vertex<T>> = Vec::new();
    let mut index: HashMap<usize, usize> = HashMap::new();
    let mut edges: Vec<(usize, usize)> = Vec::new();
    let key_of_leaf = |t: &Tensor<T>| Arc::as_ptr(&t.inner) as usize;
    let key_of_node = |n: &Arc<Node<T>>| Arc::as_ptr(n) as usize;
    let mut stack: Vec<usize> = Vec::new();
    match &output.inner.grad_fn {
        Some(node) => {
            index.insert(key_of_node(node), 0);
            vertices.push(Vertex::Op(Arc::clone(node)));
            stack.push(0);
        }
        None => {
            index.insert(key_of_leaf(output), 0);
            vertices.push(Vertex::Leaf(output.clone()));
        }
    }
    while let Some(v) = stack.pop() {
        let Vertex::Op(node) = &vertices[v] else { continue };
        let node = Arc::clone(node);
        let state = node.state.lock().unwrap_or_else(|p| p.into_inner());
        let state = state
            .as_ref()
            .expect("to_dot: the graph was freed by a backward pass");
        for edge in state.edges.iter().flatten() {
            let (key, vertex) = match edge {
                Edge::Leaf(t) => (key_of_leaf(t), Vertex::Leaf(t.clone())),
                Edge::Node(n) => (key_of_node(n), Vertex::Op(Arc::clone(n))),
            };
            let from = *index.entry(key).or_insert_with(|| {
                vertices.push(vertex);
                if matches!(vertices.last(), Some(Vertex::Op(_))) {
                    stack.push(vertices.len() - 1);
                }
                vertices.len() - 1
            });
            edges.push((from, v));
        }
    }
    // The value of every vertex, re-attached so the engine can report the
    // gradient flowing into it.
    let values: Vec<Tensor<T>> = vertices
        .iter()
        .map(|vertex| match vertex {
            Vertex::Leaf(t) => t.clone(),
            Vertex::Op(node) => {
                let state = node.state.lock().unwrap_or_else(|p| p.into_inner());
                let (storage, layout) = &state.as_ref().expect("graph kept").output;
                Tensor::from_parts(Arc::clone(storage), layout.clone(), true, Some(Arc::clone(node)))
            }
        })
        .collect();
    let refs: Vec<&Tensor<T>> = values.iter().collect();
    let grads = engine::grad(&[output], vec![Tensor::ones(output.shape())], &refs, true, false);

    let leaf_name = |t: &Tensor<T>| {
        names
            .iter()
            .find(|(_, n)| Arc::ptr_eq(&n.inner, &t.inner))
            .map(|(name, _)| *name)
    };
    let mut out = String::from("digraph computation {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n");
    let mut unnamed = 0;
    for (i, vertex) in vertices.iter().enumerate() {
        let grad = grads[i]
            .as_ref()
            .map(describe_value)
            .unwrap_or_else(|| "none".into());
        let value = describe_value(&values[i]);
        let (label, shape) = match vertex {
            Vertex::Leaf(t) => {
                let name = leaf_name(t).map(str::to_string).unwrap_or_else(|| {
                    unnamed += 1;
                    format!("leaf{}", unnamed - 1)
                });
                (format!("{name} = {value}\\ngrad {grad}"), "box")
            }
            Vertex::Op(node) => (format!("{}\\n= {value}\\ngrad {grad}", node.name), "ellipse"),
        };
        let _ = writeln!(out, "  v{i} [shape={shape}, label=\"{label}\"];");
    }
    for (from, to) in edges {
        let value = describe_value(&values[from]);
        let grad = grads[from]
            .as_ref()
            .map(describe_value)
            .unwrap_or_else(|| "none".into());
        let _ = writeln!(
            out,
            "  v{from} -> v{to} [label=<<font color=\"darkgreen\">{value}</font><br/><font color=\"red\">{grad}</font>>];"
        );
    }
    out.push_str("}\n");
    out
}
