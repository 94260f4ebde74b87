//! Spectral normalisation (Miyato et al. 2018) as a re-parametrisation of a
//! layer's weight, as PyTorch's hook-based `torch.nn.utils.spectral_norm`:
//! the weight used is `weight_orig / sigma`, with `sigma` the largest
//! singular value of `weight_orig` estimated by power iteration whose
//! vectors `weight_u` and `weight_v` persist from step to step.

use super::{Conv2d, ConvTranspose2d, Geometry, Layer, Linear, Module, Summarize, ToDtype};
use crate::autograd::no_grad;
use crate::element::Float;
use crate::tensor::{Generator, Tensor};

/// A layer whose weight [`spectral_norm`] can re-parametrise: it runs its
/// forward with a weight it is given.
pub trait SpectrallyNormalizable<T: Float>: Layer<T> + 'static {
    /// The weight.
    fn weight(&self) -> &Tensor<T>;

    /// The weight's output dimension, which becomes the rows of the matrix
    /// whose norm is taken: 0, but 1 for transposed convolutions (PyTorch's
    /// defaults).
    fn output_dim(&self) -> usize {
        0
    }

    /// The forward pass with `weight` (of the weight's shape) in place of
    /// the layer's own.
    fn forward_with_weight(&self, input: &Tensor<T>, weight: &Tensor<T>) -> Tensor<T>;
}

impl<T: Float> SpectrallyNormalizable<T> for Linear<T> {
    fn weight(&self) -> &Tensor<T> {
        &self.weight
    }

    fn forward_with_weight(&self, input: &Tensor<T>, weight: &Tensor<T>) -> Tensor<T> {
        let y = input.matmul(&weight.t());
        match &self.bias {
            Some(b) => &y + b,
            None => y,
        }
    }
}

impl<T: Float> SpectrallyNormalizable<T> for Conv2d<T> {
    fn weight(&self) -> &Tensor<T> {
        &self.weight
    }

    fn forward_with_weight(&self, input: &Tensor<T>, weight: &Tensor<T>) -> Tensor<T> {
        let options = self.options.padding(self.resolved_padding());
        input.conv2d(weight, self.bias.as_ref(), options)
    }
}

impl<T: Float> SpectrallyNormalizable<T> for ConvTranspose2d<T> {
    fn weight(&self) -> &Tensor<T> {
        &self.weight
    }

    fn output_dim(&self) -> usize {
        1
    }

    fn forward_with_weight(&self, input: &Tensor<T>, weight: &Tensor<T>) -> Tensor<T> {
        input.conv_transpose2d(weight, self.bias.as_ref(), self.options)
    }
}

/// A layer whose weight is divided by its spectral norm at every forward
/// pass: see [`spectral_norm`].
///
/// Its state has PyTorch's names: the layer's weight is the parameter
/// `weight_orig`, and the power iteration's vectors are the buffers
/// `weight_u` `[rows]` and `weight_v` `[columns]` of the weight as a matrix
/// (`[out, in]` for Linear, `[out, in * kh * kw]` for Conv2d, `[out / groups,
/// in * kh * kw]` for ConvTranspose2d).
pub struct SpectralNorm<L, T: Float = f32> {
    /// The wrapped layer, which holds `weight_orig` as its weight.
    pub layer: L,
    /// The left singular vector estimate, `[rows]`.
    pub weight_u: Tensor<T>,
    /// The right singular vector estimate, `[columns]`.
    pub weight_v: Tensor<T>,
    /// Power iterations per training-mode forward pass (PyTorch's default 1).
    pub n_power_iterations: usize,
    /// The floor of the norms vectors are divided by (PyTorch's 1e-12).
    pub eps: f64,
    /// The weight dimension that becomes the matrix's rows.
    pub dim: usize,
    training: bool,
}

/// Wraps `layer` in spectral normalisation with PyTorch's defaults (one
/// power iteration per training forward, eps 1e-12), its vectors `u` and
/// `v` drawn from a standard normal with `generator` and normalised, as
/// `torch.nn.utils.spectral_norm(layer)`.
///
/// In training mode, each forward pass first runs the power iteration
/// `v = normalize(W^T u)`, `u = normalize(W v)` without recording, updating
/// the buffers; then, in both modes, `sigma = u^T W v` and the layer runs
/// with `W / sigma`. The gradient flows through `sigma` (with `u` and `v`
/// constants), as in PyTorch. In evaluation mode nothing is updated.
///
/// ```
/// use nabla::nn::{spectral_norm, Layer, Linear, Module};
/// use nabla::{Generator, Tensor};
/// let mut g = Generator::new(0);
/// let layer = spectral_norm(Linear::<f64>::new(20, 10, true, &mut g), &mut g);
/// let names: Vec<String> = layer.state_dict().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["bias", "weight_orig", "weight_u", "weight_v"]);
/// let x = Tensor::randn(&[4, 20], &mut g);
/// for _ in 0..50 {
///     layer.forward(&x); // each training-mode pass sharpens u and v
/// }
/// // The weight actually used has spectral norm 1.
/// let w = layer.normalized_weight().detach();
/// let sigma = nabla::lipschitz::linear_norm(
///     &Linear::from_parameters(w, None),
///     &nabla::lipschitz::PowerIteration::default().tolerance(1e-12),
/// );
/// assert!((sigma.sigma - 1.0).abs() < 1e-6);
/// ```
pub fn spectral_norm<T: Float, L: SpectrallyNormalizable<T>>(
    layer: L,
    generator: &mut Generator,
) -> SpectralNorm<L, T> {
    let dim = layer.output_dim();
    SpectralNorm::with_options(layer, 1, dim, 1e-12, generator)
}

impl<T: Float, L: SpectrallyNormalizable<T>> SpectralNorm<L, T> {
    /// [`spectral_norm`] with PyTorch's other arguments.
    ///
    /// # Panics
    /// If `n_power_iterations` is 0 (PyTorch refuses it too) or `dim` is not
    /// a dimension of the weight.
    pub fn with_options(
        layer: L,
        n_power_iterations: usize,
        dim: usize,
        eps: f64,
        generator: &mut Generator,
    ) -> Self {
        assert!(
            n_power_iterations > 0,
            "spectral_norm: n_power_iterations must be positive, got 0"
        );
        let shape = layer.weight().shape().to_vec();
        assert!(
            dim < shape.len(),
            "spectral_norm: dim {dim} is not a dimension of a weight of shape {shape:?}"
        );
        let rows = shape[dim];
        let columns = shape.iter().product::<usize>() / rows.max(1);
        let u = normalize(&Tensor::randn(&[rows], generator), eps);
        let v = normalize(&Tensor::randn(&[columns], generator), eps);
        SpectralNorm {
            layer,
            weight_u: u,
            weight_v: v,
            n_power_iterations,
            eps,
            dim,
            training: true,
        }
    }

    /// `weight_orig`, the wrapped layer's own weight.
    pub fn weight_orig(&self) -> &Tensor<T> {
        self.layer.weight()
    }

    /// `weight_orig` as the matrix whose norm is taken, `[rows, columns]`.
    fn weight_matrix(&self) -> Tensor<T> {
        let w = self.weight_orig();
        let rows = w.shape()[self.dim];
        let moved = if self.dim == 0 {
            w.clone()
        } else {
            let mut order = vec![self.dim];
            order.extend((0..w.ndim()).filter(|&d| d != self.dim));
            w.permute(&order)
        };
        let columns = w.numel() / rows.max(1);
        moved.reshape(&[rows, columns])
    }

    /// Runs the power iteration `n_power_iterations` times, updating
    /// `weight_u` and `weight_v` in place, unrecorded.
    pub fn power_iteration(&self) {
        no_grad(|| {
            let matrix = self.weight_matrix();
            let (rows, columns) = (matrix.shape()[0], matrix.shape()[1]);
            let (mut u, mut v) = (self.weight_u.clone(), self.weight_v.clone());
            for _ in 0..self.n_power_iterations {
                v = normalize(
                    &matrix.t().matmul(&u.reshape(&[rows, 1])).reshape(&[columns]),
                    self.eps,
                );
                u = normalize(
                    &matrix.matmul(&v.reshape(&[columns, 1])).reshape(&[rows]),
                    self.eps,
                );
            }
            self.weight_u.copy_from(&u);
            self.weight_v.copy_from(&v);
        });
    }

    /// `sigma = u^T W v` with the current `u` and `v` (copies, so later
    /// in-place updates do not change a recorded graph), recorded in `W`.
    pub fn sigma(&self) -> Tensor<T> {
        let matrix = self.weight_matrix();
        let (rows, columns) = (matrix.shape()[0], matrix.shape()[1]);
        let u = crate::backend::copy(&self.weight_u.detach());
        let v = crate::backend::copy(&self.weight_v.detach());
        u.reshape(&[1, rows])
            .matmul(&matrix.matmul(&v.reshape(&[columns, 1])))
            .reshape(&[])
    }

    /// `weight_orig / sigma`: the weight the forward pass uses (without
    /// running the power iteration).
    pub fn normalized_weight(&self) -> Tensor<T> {
        self.weight_orig() / &self.sigma()
    }

    /// The layer with `weight_orig / sigma` as its own weight, as PyTorch's
    /// `remove_spectral_norm`.
    pub fn remove(self) -> L {
        let weight = no_grad(|| self.normalized_weight());
        self.layer.weight().copy_from(&weight);
        self.layer
    }
}

/// `x / max(||x||, eps)`, as `torch.nn.functional.normalize` of a vector.
fn normalize<T: Float>(x: &Tensor<T>, eps: f64) -> Tensor<T> {
    let norm = x.to_vec().iter().map(|v| v.as_f64().powi(2)).sum::<f64>().sqrt();
    x.div_scalar(T::from_f64(norm.max(eps)))
}

impl<T: Float, L: SpectrallyNormalizable<T>> Layer<T> for SpectralNorm<L, T> {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        if self.training {
            self.power_iteration();
        }
        self.layer.forward_with_weight(input, &self.normalized_weight())
    }
}

impl<T: Float, L: SpectrallyNormalizable<T>> Module<T> for SpectralNorm<L, T> {
    /// The layer's parameters, its `weight` renamed `weight_orig` and put
    /// last, as PyTorch re-registers it.
    fn own_parameters(&self) -> Vec<(String, Tensor<T>)> {
        let mut out: Vec<(String, Tensor<T>)> = Vec::new();
        let mut weight = None;
        for (name, tensor) in self.layer.own_parameters() {
            if name == "weight" {
                weight = Some(tensor);
            } else {
                out.push((name, tensor));
            }
        }
        out.extend(weight.map(|w| ("weight_orig".to_string(), w)));
        out
    }

    fn own_buffers(&self) -> Vec<(String, Tensor<T>)> {
        let mut out = self.layer.own_buffers();
        out.push(("weight_u".to_string(), self.weight_u.clone()));
        out.push(("weight_v".to_string(), self.weight_v.clone()));
        out
    }

    fn children(&self) -> Vec<(String, &dyn Module<T>)> {
        self.layer.children()
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module<T>)> {
        self.layer.children_mut()
    }

    fn set_own_training(&mut self, training: bool) {
        self.training = training;
        self.layer.set_own_training(training);
    }

    fn is_training(&self) -> bool {
        self.training
    }
}

impl<T: Float, L: SpectrallyNormalizable<T>> Summarize<T> for SpectralNorm<L, T> {
    fn describe(&self) -> String {
        format!("SpectralNorm({})", self.layer.describe())
    }

    fn geometry(&self) -> Geometry {
        self.layer.geometry()
    }

    fn multiply_adds(&self, input: &[usize], output: &[usize]) -> usize {
        self.layer.multiply_adds(input, output)
    }
}

/// Converts the layer and both vectors, keeping the settings and the mode.
impl<T: Float, L: ToDtype> ToDtype for SpectralNorm<L, T> {
    type Output<U: Float> = SpectralNorm<L::Output<U>, U>;

    fn to_dtype<U: Float>(&self) -> SpectralNorm<L::Output<U>, U> {
        SpectralNorm {
            layer: self.layer.to_dtype::<U>(),
            weight_u: self.weight_u.to_dtype::<U>(),
            weight_v: self.weight_v.to_dtype::<U>(),
            n_power_iterations: self.n_power_iterations,
            eps: self.eps,
            dim: self.dim,
            training: self.training,
        }
    }
}
