//! Gradient checking (section 2.3.2 of the course): the gradients autodiff
//! computes are compared with central finite differences,
//! f'(x) ~ (f(x + h) - f(x - h)) / 2h, which are trustworthy only in `f64`.

use std::fmt;

use super::grad_with;
use super::mode::no_grad;
use crate::element::Float;
use crate::tensor::{Generator, Tensor};

/// Step and tolerances of [`gradcheck`]; the defaults are PyTorch's.
#[derive(Clone, Debug)]
pub struct GradcheckOptions {
    /// The finite-difference step h.
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance, against the numerical value.
    pub rtol: f64,
}

impl Default for GradcheckOptions {
    fn default() -> Self {
        GradcheckOptions {
            eps: 1e-6,
            atol: 1e-5,
            rtol: 1e-3,
        }
    }
}

/// The outcome of a gradient check, including its worst entry.
#[derive(Clone, Debug, Default)]
pub struct GradcheckReport {
    /// Number of Jacobian entries compared.
    pub entries: usize,
    /// The largest |analytic - numerical| over all entries.
    pub max_abs_error: f64,
    /// The entry that came closest to (or went furthest past) its tolerance.
    pub worst: Option<JacobianEntry>,
}

/// One entry of a Jacobian, as autodiff and finite differences see it.
#[derive(Clone, Debug)]
pub struct JacobianEntry {
    /// Which input.
    pub input: usize,
    /// Row-major index of the input element.
    pub input_element: usize,
    /// Row-major index of the output element.
    pub output_element: usize,
    /// d output / d input from autodiff.
    pub analytic: f64,
    /// The same from central differences.
    pub numerical: f64,
}

impl fmt::Display for GradcheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} entries, max |analytic - numerical| = {:.3e}",
            self.entries, self.max_abs_error
        )?;
        if let Some(w) = &self.worst {
            write!(
                f,
                "; worst: d out[{}] / d input{}[{}]: analytic {:.10e}, numerical {:.10e}",
                w.output_element, w.input, w.input_element, w.analytic, w.numerical
            )?;
        }
        Ok(())
    }
}

/// A gradient check that failed, with its report.
#[derive(Clone, Debug)]
pub struct GradcheckError {
    /// What was compared, and the worst entry.
    pub report: GradcheckReport,
}

impl fmt::Display for GradcheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gradcheck failed: {}", self.report)
    }
}

impl std::error::Error for GradcheckError {}

fn fresh_leaves<T: Float>(inputs: &[Tensor<T>]) -> Vec<Tensor<T>> {
    inputs
        .iter()
        .map(|x| Tensor::from_vec(x.to_vec(), x.shape()).requires_grad())
        .collect()
}

/// The Jacobians of `f` at `inputs` by autodiff, one per input, each of
/// shape `output.shape ++ input.shape` (as `torch.autograd.functional.jacobian`).
///
/// ```
/// use nabla::{autograd::jacobian, Tensor};
/// let w = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
/// let x = Tensor::from_vec(vec![1.0f64, -1.0, 0.5], &[3]);
/// let j = jacobian(|xs| w.matmul(&xs[0]), &[x]);
/// assert_eq!(j[0].to_vec(), w.to_vec()); // the Jacobian of x -> Wx is W
/// ```
pub fn jacobian<T: Float>(f: impl Fn(&[Tensor<T>]) -> Tensor<T>, inputs: &[Tensor<T>]) -> Vec<Tensor<T>> {
    let leaves = fresh_leaves(inputs);
    let y = f(&leaves);
    let leaf_refs: Vec<&Tensor<T>> = leaves.iter().collect();
    let n_out = y.numel();
    let mut rows: Vec<Vec<T>> = vec![Vec::with_capacity(n_out * 16); inputs.len()];
    for j in 0..n_out {
        let mut onehot = vec![T::zero(); n_out];
        onehot[j] = T::one();
        let seed = Tensor::from_vec(onehot, y.shape());
        let grads = if y.is_requires_grad() {
            grad_with(&[&y], &[&seed], &leaf_refs, true, false)
        } else {
            vec![None; inputs.len()]
        };
        for (i, g) in grads.into_iter().enumerate() {
            match g {
                Some(g) => rows[i].extend(g.to_vec()),
                None => rows[i].extend(std::iter::repeat_n(T::zero(), inputs[i].numel())),
            }
        }
    }
    rows.into_iter()
        .zip(inputs)
        .map(|(data, x)| Tensor::from_vec(data, &[y.shape(), x.shape()].concat()))
        .collect()
}

/// The Jacobians of `f` at `inputs` by central differences with step `eps`,
/// shaped as [`jacobian`]'s.
///
/// `f` runs with recording on (its inputs do not require grad, so it records
/// nothing unless it differentiates inside, as [`gradgradcheck`]'s does).
pub fn numerical_jacobian<T: Float>(
    f: impl Fn(&[Tensor<T>]) -> Tensor<T>,
    inputs: &[Tensor<T>],
    eps: f64,
) -> Vec<Tensor<T>> {
    {
        let mut current: Vec<Tensor<T>> = inputs
            .iter()
            .map(|x| Tensor::from_vec(x.to_vec(), x.shape()))
            .collect();
        let out_shape = f(&current).shape().to_vec();
        let n_out: usize = out_shape.iter().product();
        let h = T::from_f64(eps);
        let mut result = Vec::with_capacity(inputs.len());
        for i in 0..inputs.len() {
            let base = inputs[i].to_vec();
            let n_in = base.len();
            // Column k of the Jacobian is (f(x + h e_k) - f(x - h e_k)) / 2h.
            let mut jac = vec![T::zero(); n_out * n_in];
            for k in 0..n_in {
                let mut plus = base.clone();
                plus[k] = base[k] + h;
                current[i] = Tensor::from_vec(plus, inputs[i].shape());
                let y_plus = f(&current).to_vec();
                let mut minus = base.clone();
                minus[k] = base[k] - h;
                current[i] = Tensor::from_vec(minus, inputs[i].shape());
                let y_minus = f(&current).to_vec();
                for j in 0..n_out {
                    jac[j * n_in + k] = (y_plus[j] - y_minus[j]) / (h + h);
                }
            }
            current[i] = inputs[i].clone();
            result.push(Tensor::from_vec(
                jac,
                &[&out_shape[..], inputs[i].shape()].concat(),
            ));
        }
        result
    }
}

/// Checks the gradients of `f` at `inputs` (every entry of every Jacobian)
/// against central finite differences, in `f64`.
///
/// An entry passes when |analytic - numerical| <= atol + rtol |numerical|.
/// The report names the worst entry either way.
///
/// ```
/// use nabla::autograd::{gradcheck, GradcheckOptions};
/// use nabla::Tensor;
/// let x = Tensor::from_vec(vec![0.3f64, -1.2, 2.0], &[3]);
/// let report = gradcheck(|xs| xs[0].tanh().exp(), &[x], &GradcheckOptions::default()).unwrap();
/// assert!(report.max_abs_error < 1e-8);
/// ```
pub fn gradcheck(
    f: impl Fn(&[Tensor<f64>]) -> Tensor<f64>,
    inputs: &[Tensor<f64>],
    options: &GradcheckOptions,
) -> Result<GradcheckReport, GradcheckError> {
    let analytic = jacobian(&f, inputs);
    let numerical = numerical_jacobian(&f, inputs, options.eps);
    let mut report = GradcheckReport::default();
    let mut worst_excess = f64::NEG_INFINITY;
    let mut failed = false;
    for (i, (a, n)) in analytic.iter().zip(&numerical).enumerate() {
        let n_in = inputs[i].numel().max(1);
        for (e, (&av, &nv)) in a.to_vec().iter().zip(n.to_vec().iter()).enumerate() {
            let err = (av - nv).abs();
            let tolerance = options.atol + options.rtol * nv.abs();
            report.entries += 1;
            report.max_abs_error = report.max_abs_error.max(err);
            // A NaN on either side is the worst possible entry.
            let excess = if err.is_nan() {
                f64::INFINITY
            } else {
                err - tolerance
            };
            if excess > worst_excess {
                worst_excess = excess;
                report.worst = Some(JacobianEntry {
                    input: i,
                    input_element: e % n_in,
                    output_element: e / n_in,
                    analytic: av,
                    numerical: nv,
                });
            }
            failed |= excess > 0.0;
        }
    }
    if failed {
        Err(GradcheckError { report })
    } else {
        Ok(report)
    }
}

/// Checks second derivatives: [`gradcheck`] of the map from
/// `(inputs, v)` to the vector-Jacobian product `v^T J_f(inputs)` computed
/// with `create_graph`, for a fixed random upstream gradient `v`.
///
/// ```
/// use nabla::autograd::{gradgradcheck, GradcheckOptions};
/// use nabla::Tensor;
/// let x = Tensor::from_vec(vec![0.3f64, -1.2], &[2]);
/// gradgradcheck(|xs| xs[0].sigmoid() * &xs[0], &[x], &GradcheckOptions::default()).unwrap();
/// ```
pub fn gradgradcheck(
    f: impl Fn(&[Tensor<f64>]) -> Tensor<f64>,
    inputs: &[Tensor<f64>],
    options: &GradcheckOptions,
) -> Result<GradcheckReport, GradcheckError> {
    let out_shape = no_grad(|| f(inputs)).shape().to_vec();
    let v = Tensor::<f64>::randn(&out_shape, &mut Generator::new(0));
    let n = inputs.len();
    let mut all = inputs.to_vec();
    all.push(v);
    let vjp = |xs: &[Tensor<f64>]| {
        // The finite-difference pass hands in plain tensors; the inner
        // gradient needs leaves that require grad.
        let primals: Vec<Tensor<f64>> = xs[..n]
            .iter()
            .map(|x| {
                if x.is_requires_grad() {
                    x.clone()
                } else {
                    x.detach().requires_grad()
                }
            })
            .collect();
        let y = f(&primals);
        let refs: Vec<&Tensor<f64>> = primals.iter().collect();
        let grads = if y.is_requires_grad() {
            grad_with(&[&y], &[&xs[n]], &refs, true, true)
        } else {
            vec![None; n]
        };
        let flat: Vec<Tensor<f64>> = grads
            .into_iter()
            .zip(&primals)
            .map(|(g, x)| g.unwrap_or_else(|| x.zeros_like()).reshape(&[x.numel()]))
            .collect();
        Tensor::cat(&flat.iter().collect::<Vec<_>>(), 0)
    };
    gradcheck(vjp, &all, options)
}
