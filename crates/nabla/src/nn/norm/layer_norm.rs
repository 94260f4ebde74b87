//! Layer normalization over the trailing dimensions: [`LayerNorm`].

use crate::element::Float;
use crate::nn::{Layer, Module};
use crate::tensor::Tensor;

/// The settings of [`LayerNorm`]; the defaults are PyTorch's.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerNormOptions {
    /// Added to the variance before the square root (default `1e-5`).
    pub eps: f64,
    /// Whether the layer has a learned `weight` (and `bias`, see below)
    /// of shape `normalized_shape` (default `true`).
    pub elementwise_affine: bool,
    /// Whether an elementwise-affine layer also has a `bias` (default
    /// `true`; PyTorch's `bias` argument).
    pub bias: bool,
}

impl Default for LayerNormOptions {
    fn default() -> Self {
        LayerNormOptions {
            eps: 1e-5,
            elementwise_affine: true,
            bias: true,
        }
    }
}

impl LayerNormOptions {
    /// Sets `eps`.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Sets `elementwise_affine`.
    pub fn elementwise_affine(mut self, elementwise_affine: bool) -> Self {
        self.elementwise_affine = elementwise_affine;
        self
    }

    /// Sets `bias`.
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }
}

/// Layer normalization, as `torch.nn.LayerNorm`: each sample is normalised
/// over its trailing dimensions `normalized_shape` (`D` of them),
///
/// ```text
/// y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias
/// ```
///
/// where `E` and `Var` (biased) are taken over the last `D` dimensions
/// separately for every index of the leading ones, and `weight` (ones
/// initially) and `bias` (zeros initially) have shape `normalized_shape`.
/// Input `[*, normalized_shape...]`, output of the same shape. The same in
/// training and evaluation mode: there are no running statistics.
///
/// ```
/// use nabla::nn::{Layer, LayerNorm, LayerNormOptions, Module};
/// use nabla::Tensor;
/// let ln: LayerNorm = LayerNorm::new(&[4]);
/// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 10.0, 10.0, 10.0, 10.0], &[2, 4]);
/// let y = ln.forward(&x);
/// assert!((y.at(&[0, 3]) - 1.3416).abs() < 1e-4); // (4 - 2.5) / sqrt(1.25)
/// assert_eq!(y.at(&[1, 0]), 0.0); // a constant row becomes 0
/// let names: Vec<String> = ln.state_dict().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["weight", "bias"]);
///
/// // Over the last two dimensions, without parameters:
/// let ln2: LayerNorm = LayerNorm::with_options(&[3, 4], LayerNormOptions::default().elementwise_affine(false));
/// assert_eq!(ln2.forward(&Tensor::ones(&[2, 3, 4])).shape(), &[2, 3, 4]);
/// assert_eq!(ln2.num_parameters(), 0);
/// ```
///
/// # Panics
/// [`new`](LayerNorm::new) if `normalized_shape` is empty; `forward` if the
/// input's shape does not end in `normalized_shape`.
#[derive(Module)]
pub struct LayerNorm<T: Float = f32> {
    /// Shape `normalized_shape`, ones initially; `None` without
    /// `elementwise_affine`.
    pub weight: Option<Tensor<T>>,
    /// Shape `normalized_shape`, zeros initially; `None` without
    /// `elementwise_affine` or `bias`.
    pub bias: Option<Tensor<T>>,
    normalized_shape: Vec<usize>,
    eps: f64,
}

impl<T: Float> LayerNorm<T> {
    /// A layer normalising over the trailing `normalized_shape`, with
    /// PyTorch's defaults (eps 1e-5, elementwise affine with bias).
    pub fn new(normalized_shape: &[usize]) -> Self {
        Self::with_options(normalized_shape, LayerNormOptions::default())
    }

    /// A layer normalising over the trailing `normalized_shape`, with the
    /// given options.
    pub fn with_options(normalized_shape: &[usize], options: LayerNormOptions) -> Self {
        assert!(
            !normalized_shape.is_empty(),
            "LayerNorm: normalized_shape must have at least one dimension"
        );
        let affine = options.elementwise_affine;
        LayerNorm {
            weight: affine.then(|| Tensor::ones(normalized_shape).requires_grad()),
            bias: (affine && options.bias).then(|| Tensor::zeros(normalized_shape).requires_grad()),
            normalized_shape: normalized_shape.to_vec(),
            eps: options.eps,
        }
    }

    /// The trailing shape normalised over.
    pub fn normalized_shape(&self) -> &[usize] {
        &self.normalized_shape
    }

    /// The constant added to the variance.
    pub fn eps(&self) -> f64 {
        self.eps
    }
}

impl<T: Float> Layer<T> for LayerNorm<T> {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        let ns = &self.normalized_shape;
        let shape = input.shape();
        assert!(
            shape.ends_with(ns),
            "LayerNorm({ns:?}): input of shape {shape:?} does not end in normalized_shape {ns:?}"
        );
        let check = |name: &str, t: &Tensor<T>| {
            assert!(
                t.shape() == ns.as_slice(),
                "LayerNorm({ns:?}): {name} has shape {:?}, expected {ns:?}",
                t.shape()
            );
        };
        for (name, t) in [("weight", &self.weight), ("bias", &self.bias)] {
            if let Some(t) = t {
                check(name, t);
            }
        }
        input.layer_norm(ns, self.weight.as_ref(), self.bias.as_ref(), self.eps)
    }
}
