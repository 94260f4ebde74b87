//! User-defined blocks with several outputs and tensors saved by the
//! forward for the backward, as PyTorch's `torch.autograd.Function` with
//! `ctx.save_for_backward`.
//!
//! A graph node has one output, so the block records one node whose output
//! is all the block's outputs flattened and joined; each output is a
//! recorded view of its part. Gradients from every use of every output sum
//! into that joint buffer (in place), and the block's backward receives
//! them split per output (zeros for an output that was not used).

use std::sync::Arc;

use super::graph::record;
use super::mode::no_grad;
use crate::element::Float;
use crate::tensor::Tensor;

/// What a [`MultiOutputFunction`]'s backward sees.
pub struct MultiOutputCtx<'a, T: Float> {
    inputs: &'a [Tensor<T>],
    saved: &'a [Tensor<T>],
    outputs: Vec<Tensor<T>>,
    grads: Vec<Tensor<T>>,
    needs: Vec<bool>,
}

impl<T: Float> MultiOutputCtx<'_, T> {
    /// The inputs the block was applied to.
    pub fn inputs(&self) -> &[Tensor<T>] {
        self.inputs
    }

    /// The tensors the forward saved, in the order it saved them.
    pub fn saved(&self) -> &[Tensor<T>] {
        self.saved
    }

    /// The block's outputs, still attached to the graph (so a backward
    /// written with them can be differentiated again).
    pub fn outputs(&self) -> &[Tensor<T>] {
        &self.outputs
    }

    /// The upstream gradient of each output, of that output's shape.
    pub fn grads(&self) -> &[Tensor<T>] {
        &self.grads
    }

    /// Whether input `i` needs a gradient; a backward may return `None` for
    /// the others.
    pub fn needs_input_grad(&self, i: usize) -> bool {
        self.needs[i]
    }
}

/// A block with a hand-written forward that returns several outputs and
/// saves tensors for its backward.
///
/// The forward runs with recording off; `backward` returns one gradient
/// per input from the gradients of all the outputs.
///
/// ```
/// use nabla::autograd::{apply_multi_output, MultiOutputCtx, MultiOutputFunction};
/// use nabla::Tensor;
///
/// /// (sin x, cos x), saving x's cosine and sine for the backward.
/// struct SinCos;
///
/// impl MultiOutputFunction<f64> for SinCos {
///     fn name(&self) -> &'static str {
///         "SinCos"
///     }
///     fn forward(&self, inputs: &[Tensor<f64>], saved: &mut Vec<Tensor<f64>>) -> Vec<Tensor<f64>> {
///         let (sin, cos) = (inputs[0].map(f64::sin), inputs[0].map(f64::cos));
///         saved.extend([cos.clone(), sin.clone()]);
///         vec![sin, cos]
///     }
///     fn backward(&self, ctx: &MultiOutputCtx<'_, f64>) -> Vec<Option<Tensor<f64>>> {
///         let (cos, sin) = (&ctx.saved()[0], &ctx.saved()[1]);
///         let (g_sin, g_cos) = (&ctx.grads()[0], &ctx.grads()[1]);
///         vec![Some(&(g_sin * cos) - &(g_cos * sin))]
///     }
/// }
///
/// let x = Tensor::from_vec(vec![0.3f64, 1.2], &[2]).requires_grad();
/// let outs = apply_multi_output(SinCos, &[&x]);
/// (&outs[0] * 2.0 + &outs[1]).sum().backward(); // d/dx = 2 cos x - sin x
/// let expected: Vec<f64> = [0.3f64, 1.2].iter().map(|v| 2.0 * v.cos() - v.sin()).collect();
/// assert_eq!(x.grad().unwrap().to_vec(), expected);
/// ```
pub trait MultiOutputFunction<T: Float>: Send + Sync + 'static {
    /// The block's name, shown as its joint node's `grad_fn`.
    fn name(&self) -> &'static str;

    /// Computes the outputs from the inputs (recording is off), pushing
    /// onto `saved` whatever the backward needs.
    fn forward(&self, inputs: &[Tensor<T>], saved: &mut Vec<Tensor<T>>) -> Vec<Tensor<T>>;

    /// The gradient of each input, one entry per input, each of that
    /// input's shape (or `None`).
    fn backward(&self, ctx: &MultiOutputCtx<'_, T>) -> Vec<Option<Tensor<T>>>;
}

/// Applies a [`MultiOutputFunction`] block to `inputs`, recording it in the
/// graph; returns its outputs.
pub fn apply_multi_output<T: Float, F: MultiOutputFunction<T>>(
    function: F,
    inputs: &[&Tensor<T>],
) -> Vec<Tensor<T>> {
    let inputs_owned: Vec<Tensor<T>> = inputs.iter().map(|t| (*t).clone()).collect();
    let mut saved = Vec::new();
    let outputs = no_grad(|| function.forward(&inputs_owned, &mut saved));
    let shapes: Vec<Vec<usize>> = outputs.iter().map(|o| o.shape().to_vec()).collect();
    let sizes: Vec<usize> = outputs.iter().map(Tensor::numel).collect();
    let joined = no_grad(|| Tensor::cat(outputs.iter().map(|o| o.reshape(&[o.numel()])), 0));
    let parts = {
        let (shapes, sizes) = (shapes.clone(), sizes.clone());
        move |joint: &Tensor<T>| split(joint, &shapes, &sizes)
    };
    let function = Arc::new(function);
    let split_parts = parts.clone();
    let joint = record(function.name(), joined, inputs, move |ctx| {
        let mctx = MultiOutputCtx {
            inputs: &inputs_owned,
            saved: &saved,
            outputs: split_parts(&ctx.output()),
            grads: split_parts(ctx.grad()),
            needs: (0..inputs_owned.len()).map(|i| ctx.needs_input_grad(i)).collect(),
        };
        function.backward(&mctx)
    });
    parts(&joint)
}

/// The parts of a flat `joint` tensor, of the given sizes and shapes.
fn split<T: Float>(joint: &Tensor<T>, shapes: &[Vec<usize>], sizes: &[usize]) -> Vec<Tensor<T>> {
    let mut offset = 0;
    shapes
        .iter()
        .zip(sizes)
        .map(|(shape, &n)| {
            let part = joint.narrow(0, offset, n).reshape(shape);
            offset += n;
            part
        })
        .collect()
}
