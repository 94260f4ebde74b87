//! User-defined blocks with a hand-written forward and backward (section
//! 2.4.5 of the course: "we can define blocks, such as Sigmoid, and
//! hard-code their gradients").

use std::sync::Arc;

use super::graph::record;
use super::mode::no_grad;
use crate::element::Float;
use crate::tensor::Tensor;

/// What a [`Function`]'s backward sees.
pub struct FunctionCtx<'a, T: Float> {
    inputs: &'a [Tensor<T>],
    output: Tensor<T>,
    grad: &'a Tensor<T>,
    needs: Vec<bool>,
}

impl<T: Float> FunctionCtx<'_, T> {
    /// The inputs the block was applied to.
    pub fn inputs(&self) -> &[Tensor<T>] {
        self.inputs
    }

    /// The block's output, as its forward computed it.
    pub fn output(&self) -> &Tensor<T> {
        &self.output
    }

    /// The upstream gradient, of the output's shape.
    pub fn grad(&self) -> &Tensor<T> {
        self.grad
    }

    /// Whether input `i` needs a gradient; a backward may return `None` for
    /// the others.
    pub fn needs_input_grad(&self, i: usize) -> bool {
        self.needs[i]
    }
}

/// A block with a hand-written forward and backward.
///
/// `forward` runs with recording off, so it may compute however it likes
/// (here with [`Tensor::map`], an untracked elementwise map); `backward`
/// returns, per input, the downstream gradient = local gradient x upstream
/// gradient. Writing `backward` with tensor ops keeps the block
/// differentiable twice.
///
/// The course's Sigmoid block, whose local gradient is
/// sigma(x) (1 - sigma(x)):
///
/// ```
/// use nabla::autograd::{apply_function, Function, FunctionCtx};
/// use nabla::Tensor;
///
/// struct Sigmoid;
///
/// impl Function<f64> for Sigmoid {
///     fn name(&self) -> &'static str {
///         "Sigmoid"
///     }
///     fn forward(&self, inputs: &[Tensor<f64>]) -> Tensor<f64> {
///         inputs[0].map(|x| 1.0 / (1.0 + (-x).exp()))
///     }
///     fn backward(&self, ctx: &FunctionCtx<'_, f64>) -> Vec<Option<Tensor<f64>>> {
///         let s = ctx.output();
///         let local = s * &(1.0 - s); // d sigma / dx
///         vec![Some(&local * ctx.grad())]
///     }
/// }
///
/// // The neuron of figure 2.6: sigma(w0 x0 + w1 x1 + w2).
/// let w = Tensor::from_vec(vec![2.0f64, -3.0, -3.0], &[3]).requires_grad();
/// let x = Tensor::from_vec(vec![-1.0f64, -2.0, 1.0], &[3]);
/// let f = apply_function(Sigmoid, &[&(&w * &x).sum()]);
/// assert!((f.item() - 0.731).abs() < 1e-3);
/// f.backward();
/// let gw = w.grad().unwrap().to_vec();
/// assert!((gw[0] + 0.197).abs() < 1e-3 && (gw[1] + 0.393).abs() < 1e-3 && (gw[2] - 0.197).abs() < 1e-3);
/// ```
pub trait Function<T: Float>: Send + Sync + 'static {
    /// The block's name, shown as its `grad_fn`.
    fn name(&self) -> &'static str;

    /// Computes the output from the inputs (recording is off).
    fn forward(&self, inputs: &[Tensor<T>]) -> Tensor<T>;

    /// The gradient of each input, one entry per input, each of that
    /// input's shape (or `None`).
    fn backward(&self, ctx: &FunctionCtx<'_, T>) -> Vec<Option<Tensor<T>>>;
}

/// Applies a [`Function`] block to `inputs`, recording it in the graph.
pub fn apply_function<T: Float, F: Function<T>>(function: F, inputs: &[&Tensor<T>]) -> Tensor<T> {
    let saved: Vec<Tensor<T>> = inputs.iter().map(|t| (*t).clone()).collect();
    let out = no_grad(|| function.forward(&saved));
    let name = function.name();
    let function = Arc::new(function);
    record(name, out, inputs, move |ctx| {
        let fctx = FunctionCtx {
            inputs: &saved,
            output: ctx.output(),
            grad: ctx.grad(),
            needs: (0..saved.len()).map(|i| ctx.needs_input_grad(i)).collect(),
        };
        function.backward(&fctx)
    })
}
