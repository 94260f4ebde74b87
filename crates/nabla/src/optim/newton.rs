//! Newton's method (section 2.2.4 of the course): step by the inverse
//! Hessian times the gradient, with damping and a backtracking line search.

use crate::autograd::{grad, grad_with, no_grad};
use crate::element::Float;
use crate::tensor::Tensor;

/// How the Newton direction solves (H + damping I) d = -g.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NewtonSolver {
    /// Forms the exact Hessian (one backward pass per parameter element)
    /// and factors it: for small models.
    ExactHessian,
    /// Conjugate gradient on Hessian-vector products (two backward passes
    /// per iteration, never forming H): for larger models.
    ConjugateGradient {
        /// Iteration cap.
        max_iterations: usize,
        /// Stop when the residual norm falls below this times |g|.
        relative_tolerance: f64,
    },
}

/// Settings of [`Newton`].
#[derive(Clone, Debug)]
pub struct NewtonConfig {
    /// Added to the Hessian's diagonal (Levenberg-Marquardt damping); raised
    /// tenfold, for one step, until the damped Hessian is positive definite.
    pub damping: f64,
    /// Whether to backtrack along the Newton direction until the loss
    /// decreases enough (Armijo's condition); without it the full step is taken.
    pub line_search: bool,
    /// Armijo's sufficient-decrease constant c1.
    pub armijo: f64,
    /// Factor by which a rejected step is shortened.
    pub backtrack: f64,
    /// How many times a step may be shortened before the step is skipped.
    pub max_backtracks: usize,
    /// How the direction is solved for.
    pub solver: NewtonSolver,
}

impl Default for NewtonConfig {
    fn default() -> Self {
        NewtonConfig {
            damping: 0.0,
            line_search: true,
            armijo: 1e-4,
            backtrack: 0.5,
            max_backtracks: 40,
            solver: NewtonSolver::ExactHessian,
        }
    }
}

/// What one Newton step did.
#[derive(Clone, Debug)]
pub struct NewtonStep {
    /// The loss before the step.
    pub loss: f64,
    /// The loss after it.
    pub new_loss: f64,
    /// The Euclidean norm of the gradient before the step.
    pub gradient_norm: f64,
    /// The fraction of the Newton step taken (1 unless the line search shortened it).
    pub step_size: f64,
    /// The damping actually used.
    pub damping: f64,
}

/// Newton's method: x <- x - t (H + damping I)^-1 g, with the Hessian H from
/// the engine's second derivatives and t from a backtracking line search.
///
/// Unlike first-order optimizers, a step needs to re-evaluate the loss, so
/// [`step`](Newton::step) takes a closure that computes it from the
/// current parameters (as PyTorch's `LBFGS.step(closure)`).
///
/// ```
/// use nabla::optim::{Newton, NewtonConfig};
/// use nabla::Tensor;
/// // A quadratic: Newton lands on the minimum in one step.
/// let x = Tensor::from_vec(vec![5.0f64, -3.0], &[2]).requires_grad();
/// let mut newton = Newton::new(vec![x.clone()], NewtonConfig::default());
/// let target = Tensor::from_vec(vec![1.0f64, 2.0], &[2]);
/// newton.step(|| (&x - &target).square().sum());
/// let landed = x.to_vec();
/// assert!((landed[0] - 1.0).abs() < 1e-12 && (landed[1] - 2.0).abs() < 1e-12);
/// ```
pub struct Newton<T: Float = f32> {
    parameters: Vec<Tensor<T>>,
    config: NewtonConfig,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Solves `(h + damping I) x = rhs` for a symmetric `n x n` matrix by
/// Cholesky factorisation, or returns `None` if the damped matrix is not
/// positive definite.
fn cholesky_solve(h: &[f64], n: usize, damping: f64, rhs: &[f64]) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut sum = h[i * n + j] + if i == j { damping } else { 0.0 };
            for k in 0..j {
                sum -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if sum <= 0.0 || !sum.is_finite() {
                    return None;
                }
                l[i * n + i] = sum.sqrt();
            } else {
                l[i * n + j] = sum / l[j * n + j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        y[i] = (rhs[i] - (0..i).map(|k| l[i * n + k] * y[k]).sum::<f64>()) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        x[i] = (y[i] - (i + 1..n).map(|k| l[k * n + i] * x[k]).sum::<f64>()) / l[i * n + i];
    }
    Some(x)
}

impl<T: Float> Newton<T> {
    /// Newton's method over `parameters`.
    pub fn new(parameters: Vec<Tensor<T>>, config: NewtonConfig) -> Self {
        Newton { parameters, config }
    }

    /// The parameters being optimized.
    pub fn parameters(&self) -> &[Tensor<T>] {
        &self.parameters
    }

    fn flat_values(&self) -> Vec<f64> {
        self.parameters
            .iter()
            .flat_map(|p| p.to_vec())
            .map(|v| v.as_f64())
            .collect()
    }

    fn set_values(&self, values: &[f64]) {
        let mut start = 0;
        for p in &self.parameters {
            let n = p.numel();
            let data = values[start..start + n].iter().map(|&v| T::from_f64(v)).collect();
            p.copy_from(&Tensor::from_vec(data, p.shape()));
            start += n;
        }
    }

    /// Splits a flat vector into tensors shaped like the parameters.
    fn unflatten(&self, flat: &[f64]) -> Vec<Tensor<T>> {
        let mut start = 0;
        self.parameters
            .iter()
            .map(|p| {
                let n = p.numel();
                let data = flat[start..start + n].iter().map(|&v| T::from_f64(v)).collect();
                start += n;
                Tensor::from_vec(data, p.shape())
            })
            .collect()
    }

    /// The Newton direction for gradient `g` (a recorded graph for second
    /// derivatives) and its flat values `g_flat`; returns it with the damping used.
    fn direction(&self, g: &[Tensor<T>], g_flat: &[f64]) -> (Vec<f64>, f64) {
        let params: Vec<&Tensor<T>> = self.parameters.iter().collect();
        let n = g_flat.len();
        let minus_g: Vec<f64> = g_flat.iter().map(|v| -v).collect();
        match self.config.solver {
            NewtonSolver::ExactHessian => {
                let flat_g = Tensor::cat(
                    &g.iter()
                        .map(|t| t.reshape(&[t.numel()]))
                        .collect::<Vec<_>>()
                        .iter()
                        .collect::<Vec<_>>(),
                    0,
                );
                let mut h = Vec::with_capacity(n * n);
                for i in 0..n {
                    let gi = flat_g.select(0, i);
                    let row = if gi.is_requires_grad() {
                        grad_with(&[&gi], &[&Tensor::ones(&[])], &params, true, false)
                    } else {
                        vec![None; params.len()]
                    };
                    for (r, p) in row.into_iter().zip(&self.parameters) {
                        match r {
                            Some(r) => h.extend(r.to_vec().into_iter().map(|v| v.as_f64())),
                            None => h.extend(std::iter::repeat_n(0.0, p.numel())),
                        }
                    }
                }
                let mut damping = self.config.damping;
                let scale = (0..n).map(|i| h[i * n + i].abs()).fold(0.0, f64::max).max(1e-12);
                loop {
                    if let Some(d) = cholesky_solve(&h, n, damping, &minus_g) {
                        return (d, damping);
                    }
                    damping = if damping == 0.0 {
                        1e-8 * scale
                    } else {
                        damping * 10.0
                    };
                    if !damping.is_finite() || damping > 1e12 * scale {
                        // Not positive definite at any sensible damping: gradient descent.
                        return (minus_g, f64::INFINITY);
                    }
                }
            }
            NewtonSolver::ConjugateGradient {
                max_iterations,
                relative_tolerance,
            } => {
                let damping = self.config.damping;
                let g_refs: Vec<&Tensor<T>> = g.iter().collect();
                let hessian_times = |v: &[f64]| -> Vec<f64> {
                    let vs = self.unflatten(v);
                    let v_refs: Vec<&Tensor<T>> = vs.iter().collect();
                    let hv = grad_with(&g_refs, &v_refs, &params, true, false);
                    let mut out = Vec::with_capacity(n);
                    for (r, p) in hv.into_iter().zip(&self.parameters) {
                        match r {
                            Some(r) => out.extend(r.to_vec().into_iter().map(|x| x.as_f64())),
                            None => out.extend(std::iter::repeat_n(0.0, p.numel())),
                        }
                    }
                    out.iter_mut().zip(v).for_each(|(o, vi)| *o += damping * vi);
                    out
                };
                // Conjugate gradient from d = 0; stops early on negative
                // curvature, keeping the last descent direction (Steihaug).
                let mut d = vec![0.0; n];
                let mut r = minus_g.clone();
                let mut p = r.clone();
                let mut rr = dot(&r, &r);
                let tolerance = relative_tolerance * rr.sqrt();
                for _ in 0..max_iterations {
                    if rr.sqrt() <= tolerance {
                        break;
                    }
                    let hp = hessian_times(&p);
                    let curvature = dot(&p, &hp);
                    if curvature <= 0.0 {
                        if d.iter().all(|&v| v == 0.0) {
                            d = minus_g.clone();
                        }
                        break;
                    }
                    let alpha = rr / curvature;
                    d.iter_mut().zip(&p).for_each(|(di, pi)| *di += alpha * pi);
                    r.iter_mut().zip(&hp).for_each(|(ri, hi)| *ri -= alpha * hi);
                    let rr_next = dot(&r, &r);
                    let beta = rr_next / rr;
                    p.iter_mut().zip(&r).for_each(|(pi, ri)| *pi = ri + beta * *pi);
                    rr = rr_next;
                }
                (d, damping)
            }
        }
    }

    /// One Newton step. `loss` computes the loss from the current parameter
    /// values, with recording on; it is called once with the graph (for the
    /// gradient and Hessian) and then, without, for each line-search trial.
    ///
    /// # Panics
    /// If `loss` does not return a one-element tensor.
    pub fn step(&mut self, mut loss: impl FnMut() -> Tensor<T>) -> NewtonStep {
        let value = loss();
        assert!(
            value.numel() == 1,
            "Newton::step: the loss must have one element, got shape {:?}",
            value.shape()
        );
        let f0 = value.item().as_f64();
        let params: Vec<&Tensor<T>> = self.parameters.iter().collect();
        let g: Vec<Tensor<T>> = if value.is_requires_grad() {
            grad(&[&value], &params, true)
                .into_iter()
                .zip(&self.parameters)
                .map(|(g, p)| g.unwrap_or_else(|| p.zeros_like()))
                .collect()
        } else {
            self.parameters.iter().map(Tensor::zeros_like).collect()
        };
        let g_flat: Vec<f64> = g.iter().flat_map(|t| t.to_vec()).map(|v| v.as_f64()).collect();
        let gradient_norm = dot(&g_flat, &g_flat).sqrt();
        if gradient_norm == 0.0 {
            return NewtonStep {
                loss: f0,
                new_loss: f0,
                gradient_norm,
                step_size: 0.0,
                damping: self.config.damping,
            };
        }
        let (mut d, damping) = self.direction(&g, &g_flat);
        let mut slope = dot(&g_flat, &d);
        if slope.is_nan() || slope >= 0.0 {
            // Not a descent direction (or NaN): fall back to -g.
            d = g_flat.iter().map(|v| -v).collect();
            slope = -gradient_norm * gradient_norm;
        }
        drop(g);
        let x0 = self.flat_values();
        let mut t = 1.0;
        let mut backtracks = 0;
        loop {
            let trial: Vec<f64> = x0.iter().zip(&d).map(|(x, di)| x + t * di).collect();
            self.set_values(&trial);
            let f = no_grad(&mut loss).item().as_f64();
            if !self.config.line_search || f <= f0 + self.config.armijo * t * slope {
                return NewtonStep {
                    loss: f0,
                    new_loss: f,
                    gradient_norm,
                    step_size: t,
                    damping,
                };
            }
            backtracks += 1;
            if backtracks > self.config.max_backtracks {
                self.set_values(&x0);
                return NewtonStep {
                    loss: f0,
                    new_loss: f0,
                    gradient_norm,
                    step_size: 0.0,
                    damping,
                };
            }
            t *= self.config.backtrack;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_and_rejects_indefinite() {
        let h = [4.0, 2.0, 2.0, 3.0];
        let x = cholesky_solve(&h, 2, 0.0, &[2.0, 1.0]).unwrap();
        assert!((4.0 * x[0] + 2.0 * x[1] - 2.0).abs() < 1e-14);
        assert!((2.0 * x[0] + 3.0 * x[1] - 1.0).abs() < 1e-14);
        assert!(cholesky_solve(&[1.0, 0.0, 0.0, -1.0], 2, 0.0, &[1.0, 1.0]).is_none());
        assert!(cholesky_solve(&[1.0, 0.0, 0.0, -1.0], 2, 2.0, &[1.0, 1.0]).is_some());
    }
}
