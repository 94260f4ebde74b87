//! The product-of-norms upper bound of a network's L2 Lipschitz constant:
//! each layer's constant, walking the layers with their input shapes.

use super::max_pool::max_pool_constant;
use super::operators::{conv2d_norm, linear_layer_norm, linear_norm};
use super::power_iteration::{OperatorNorm, PowerIteration};
use crate::element::Float;
use crate::error::{Error, Result};
use crate::nn::{
    AdaptiveAvgPool2d, AsAny, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten, Identity, Layer,
    LeakyRelu, Linear, MaxPool2d, Relu, Sigmoid, SpectralNorm, Tanh,
};
use crate::no_grad;
use crate::ops::pool_output_size;
use crate::tensor::Tensor;

/// How a layer's constant was found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BoundMethod {
    /// By power iteration on the layer as a linear operator.
    PowerIteration(OperatorNorm),
    /// In closed form (activations, max pooling, BatchNorm, shape changes).
    ClosedForm,
}

/// One layer's L2 Lipschitz constant, on one example of `input_shape`.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerBound {
    /// The layer's name in the model (`conv1`, `features.0`).
    pub name: String,
    /// What the layer is, as [`Summarize::describe`](crate::nn::Summarize::describe) says.
    pub kind: String,
    /// The shape of one example at the layer's input (no batch dimension).
    pub input_shape: Vec<usize>,
    /// The constant: `||f(x) - f(y)|| <= constant * ||x - y||`.
    pub constant: f64,
    /// How it was found.
    pub method: BoundMethod,
}

/// Every layer's constant and their product: an upper bound of the
/// network's L2 Lipschitz constant, the largest `||f(x) - f(y)|| / ||x - y||`
/// over inputs of the given shape (the logit map in evaluation mode).
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkBound {
    /// The layers in the order they run.
    pub layers: Vec<LayerBound>,
    /// The product of the layers' constants.
    pub upper_bound: f64,
}

/// The per-layer L2 Lipschitz constants of `model` on examples of
/// `input_shape` (no batch dimension), and their product, an upper bound
/// of the model's constant (a composition's constant is at most the
/// product of its parts').
///
/// The model is bounded as it computes in evaluation mode: Dropout is the
/// identity and BatchNorm uses its running statistics, whatever the
/// model's mode. Containers that apply their children in order
/// (`Sequential`, nested too) are walked; the layers it knows are
///
/// - `Linear`: its weight's spectral norm; `Conv2d`: its spectral norm as
///   an operator on its input size, padding and stride included; average
///   pooling (fixed or adaptive): its operator norm (power iteration, the
///   adjoint being the vector-Jacobian product); the bias never counts;
/// - ReLU, Tanh: 1; Sigmoid: 1/4; LeakyReLU: `max(1, |slope|)`;
/// - Flatten, Identity, Dropout: 1;
/// - MaxPool2d: `sqrt(m)` with `m` the largest number of windows sharing an
///   input element, 1 for non-overlapping windows (see `max_pool`'s
///   derivation in the source);
/// - BatchNorm1d/2d: `max_c |gamma_c| / sqrt(running_var_c + eps)`;
/// - a [`SpectralNorm`]-wrapped Linear or Conv2d: as the layer with its
///   normalised weight `weight_orig / sigma`.
///
/// The layers' norms from power iteration approach their true values from
/// below (to the tolerance), so the product is the bound up to that
/// tolerance.
///
/// ```
/// use nabla::lipschitz::{lipschitz_upper_bound, PowerIteration};
/// use nabla::nn::zoo;
/// use nabla::Generator;
/// let model = zoo::lenet5::<f64>(&mut Generator::new(0));
/// let bound = lipschitz_upper_bound(&model, &[1, 28, 28], &PowerIteration::default()).unwrap();
/// assert_eq!(bound.layers.len(), 12);
/// assert_eq!(bound.layers[0].name, "conv1");
/// assert_eq!(bound.layers[2].constant, 1.0); // pool1: 2x2 windows do not overlap
/// assert_eq!(bound.layers[7].input_shape, [400]); // fc1
/// let product: f64 = bound.layers.iter().map(|l| l.constant).product();
/// assert_eq!(bound.upper_bound, product);
/// ```
///
/// # Errors
/// A layer it cannot bound (Softmax, attention, a custom layer), naming the
/// layer; a BatchNorm without running statistics; an input shape that does
/// not fit a layer.
pub fn lipschitz_upper_bound<T: Float>(
    model: &dyn Layer<T>,
    input_shape: &[usize],
    settings: &PowerIteration,
) -> Result<NetworkBound> {
    let mut layers = Vec::new();
    walk(model, "", input_shape.to_vec(), settings, &mut layers)?;
    let upper_bound = layers.iter().map(|l| l.constant).product();
    Ok(NetworkBound { layers, upper_bound })
}

/// Bounds `layer` (walking into containers), appending to `out`; returns
/// the shape of its output.
fn walk<T: Float>(
    layer: &dyn Layer<T>,
    name: &str,
    input: Vec<usize>,
    settings: &PowerIteration,
    out: &mut Vec<LayerBound>,
) -> Result<Vec<usize>> {
    if let Some(children) = layer.sequential_layers() {
        let mut shape = input;
        for (child_name, child) in children {
            let full = if name.is_empty() {
                child_name.to_string()
            } else {
                format!("{name}.{child_name}")
            };
            shape = walk(child, &full, shape, settings, out)?;
        }
        return Ok(shape);
    }
    if let Some(inner) = AsAny::as_any(layer).downcast_ref::<Box<dyn Layer<T>>>() {
        return walk(inner.as_ref(), name, input, settings, out);
    }
    let kind = layer.describe();
    let name = if name.is_empty() {
        kind.clone()
    } else {
        name.to_string()
    };
    let (constant, method, output) = bound_one(layer, &name, &kind, &input, settings)?;
    out.push(LayerBound {
        name,
        kind,
        input_shape: input,
        constant,
        method,
    });
    Ok(output)
}

/// One layer's constant, how it was found, and its output shape.
fn bound_one<T: Float>(
    layer: &dyn Layer<T>,
    name: &str,
    kind: &str,
    input: &[usize],
    settings: &PowerIteration,
) -> Result<(f64, BoundMethod, Vec<usize>)> {
    let refuse = |message: String| Error::InvalidSetting {
        context: format!("Lipschitz bound: layer {name} ({kind})"),
        message,
    };
    let any = AsAny::as_any(layer);
    // A spectrally normalised layer computes with weight_orig / sigma.
    if let Some(normalized) = any.downcast_ref::<SpectralNorm<Linear<T>, T>>() {
        let plain = Linear::from_parameters(no_grad(|| normalized.normalized_weight()), None);
        return bound_one(&plain, name, kind, input, settings);
    }
    if let Some(normalized) = any.downcast_ref::<SpectralNorm<Conv2d<T>, T>>() {
        let plain = Conv2d {
            weight: no_grad(|| normalized.normalized_weight()),
            bias: None,
            options: normalized.layer.options,
            padding: normalized.layer.padding,
        };
        return bound_one(&plain, name, kind, input, settings);
    }
    let same = input.to_vec();
    let closed = |constant: f64| Ok((constant, BoundMethod::ClosedForm, same.clone()));
    if any.is::<Relu>() || any.is::<Tanh>() || any.is::<Identity>() || any.is::<Dropout<T>>() {
        return closed(1.0);
    }
    if any.is::<Sigmoid>() {
        return closed(0.25);
    }
    if let Some(leaky) = any.downcast_ref::<LeakyRelu>() {
        return closed(leaky.negative_slope.abs().max(1.0));
    }
    if any.is::<Flatten>() {
        return Ok((1.0, BoundMethod::ClosedForm, shape_after(layer, input)));
    }
    if let Some(linear) = any.downcast_ref::<Linear<T>>() {
        if input.last() != Some(&linear.in_features()) {
            return Err(refuse(format!(
                "an input of shape {input:?} does not end in its {} features",
                linear.in_features()
            )));
        }
        let norm = linear_norm(linear, settings);
        let mut output = input.to_vec();
        *output.last_mut().expect("checked non-empty") = linear.out_features();
        return Ok((norm.sigma, BoundMethod::PowerIteration(norm), output));
    }
    if let Some(conv) = any.downcast_ref::<Conv2d<T>>() {
        let in_channels = conv.weight.shape()[1] * conv.options.groups;
        let size = match input {
            [c, h, w] if *c == in_channels => conv.output_size((*h, *w)).map(|out| ((*h, *w), out)),
            _ => None,
        };
        let Some((size, (oh, ow))) = size else {
            return Err(refuse(format!(
                "an input of shape {input:?} is not [{in_channels}, H, W] with H and W at least the kernel {:?}",
                conv.kernel_size()
            )));
        };
        let norm = conv2d_norm(conv, size, settings);
        return Ok((
            norm.sigma,
            BoundMethod::PowerIteration(norm),
            vec![conv.weight.shape()[0], oh, ow],
        ));
    }
    let not_an_image = || {
        refuse(format!(
            "an input of shape {input:?} is not a [C, H, W] image its windows fit"
        ))
    };
    if let Some(pool) = any.downcast_ref::<MaxPool2d>() {
        let constant = match input {
            [_, h, w] => max_pool_constant(pool, (*h, *w)),
            _ => None,
        };
        let constant = constant.ok_or_else(not_an_image)?;
        return Ok((constant, BoundMethod::ClosedForm, shape_after(layer, input)));
    }
    let fits = |o: &crate::Pool2dOptions, h: usize, w: usize| {
        let size = |n, k, s, p| pool_output_size(n, k, s, p, 1, o.ceil_mode);
        size(h, o.kernel.0, o.stride.0, o.padding.0).is_some()
            && size(w, o.kernel.1, o.stride.1, o.padding.1).is_some()
    };
    let average = match (any.downcast_ref::<AvgPool2d>(), input) {
        (Some(pool), [_, h, w]) => Some(fits(&pool.options, *h, *w)),
        (Some(_), _) => Some(false),
        (None, [_, h, w]) if any.is::<AdaptiveAvgPool2d>() => Some(*h > 0 && *w > 0),
        (None, _) if any.is::<AdaptiveAvgPool2d>() => Some(false),
        _ => None,
    };
    if let Some(fits) = average {
        if !fits {
            return Err(not_an_image());
        }
        let norm = linear_layer_norm(layer, input, settings);
        return Ok((
            norm.sigma,
            BoundMethod::PowerIteration(norm),
            shape_after(layer, input),
        ));
    }
    let batch_norm = if let Some(bn) = any.downcast_ref::<BatchNorm2d<T>>() {
        Some((bn.weight.as_ref(), bn.running_var.as_ref(), bn.eps()))
    } else {
        any.downcast_ref::<BatchNorm1d<T>>()
            .map(|bn| (bn.weight.as_ref(), bn.running_var.as_ref(), bn.eps()))
    };
    if let Some((gamma, running_var, eps)) = batch_norm {
        let Some(running_var) = running_var else {
            return Err(refuse(
                "it keeps no running statistics, so it normalises by each batch's statistics even in \
                 evaluation mode: a function of the whole batch, not of one example"
                    .to_string(),
            ));
        };
        return closed(batch_norm_constant(gamma, running_var, eps));
    }
    Err(refuse(
        "no Lipschitz bound is known for this type of layer (bounded: Linear, Conv2d, MaxPool2d, AvgPool2d, \
         AdaptiveAvgPool2d, BatchNorm1d/2d, ReLU, LeakyReLU, Tanh, Sigmoid, Flatten, Identity, Dropout, \
         spectrally normalised Linear and Conv2d, and Sequential containers of them)"
            .to_string(),
    ))
}

/// BatchNorm in evaluation mode is `gamma_c (x - mean_c) / sqrt(var_c + eps) + beta_c`
/// per channel: a diagonal map whose norm is its largest scale.
fn batch_norm_constant<T: Float>(gamma: Option<&Tensor<T>>, running_var: &Tensor<T>, eps: f64) -> f64 {
    let var: Vec<f64> = running_var.to_vec().iter().map(|v| v.as_f64()).collect();
    let gamma: Vec<f64> = match gamma {
        Some(g) => g.to_vec().iter().map(|v| v.as_f64()).collect(),
        None => vec![1.0; var.len()],
    };
    gamma
        .iter()
        .zip(&var)
        .map(|(g, v)| g.abs() / (v + eps).sqrt())
        .fold(0.0, f64::max)
}

/// The shape of one example after `layer` (a layer without state: pooling,
/// flatten, on an input it has been checked to accept), from a forward pass
/// on zeros.
fn shape_after<T: Float>(layer: &dyn Layer<T>, input: &[usize]) -> Vec<usize> {
    let mut batched = vec![1];
    batched.extend_from_slice(input);
    let output = crate::no_grad(|| layer.forward(&Tensor::<T>::zeros(&batched)));
    output.shape()[1..].to_vec()
}
