//! Gradient checks (f64, central finite differences) for every
//! differentiable op, on plain, broadcast and non-contiguous inputs, and
//! second-derivative checks for the ops whose backward is itself
//! differentiable.

use nabla::autograd::{
    apply_function, grad_with, gradcheck, gradgradcheck, jacobian, numerical_jacobian, Function, FunctionCtx,
    GradcheckOptions,
};
use nabla::{no_grad, Generator, IndexTensor, Tensor};

// ---------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------

/// Standard normal draws.
fn randn(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::<f64>::randn(shape, &mut Generator::new(seed))
}

/// Uniform draws from [0.5, 2): safe for log, sqrt, pow with a real exponent.
fn positive(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::<f64>::uniform(shape, 0.5, 2.0, &mut Generator::new(seed))
}

/// Normal draws pushed at least 0.3 away from 0: safe for abs, relu,
/// division and other ops with a kink or pole at 0.
fn away_from_zero(shape: &[usize], seed: u64) -> Tensor<f64> {
    randn(shape, seed).map(|v| if v >= 0.0 { v + 0.3 } else { v - 0.3 })
}

fn idx(data: Vec<usize>, shape: &[usize]) -> IndexTensor {
    IndexTensor::from_vec(data, shape)
}

// ---------------------------------------------------------------------------
// First-order check
// ---------------------------------------------------------------------------

/// Runs `gradcheck` with the default (PyTorch) tolerances, panicking with
/// the report on failure, and makes sure every Jacobian entry was compared.
#[track_caller]
fn check(f: impl Fn(&[Tensor<f64>]) -> Tensor<f64>, inputs: &[Tensor<f64>]) {
    let n_out = no_grad(|| f(inputs)).numel();
    let n_in: usize = inputs.iter().map(Tensor::numel).sum();
    match gradcheck(&f, inputs, &GradcheckOptions::default()) {
        Ok(report) => assert_eq!(
            report.entries,
            n_out * n_in,
            "gradcheck compared {} entries, expected {n_out} outputs x {n_in} inputs",
            report.entries
        ),
        Err(e) => panic!("{e}"),
    }
}

// ---------------------------------------------------------------------------
// Second-order check
// ---------------------------------------------------------------------------

/// The vector-Jacobian product `v^T J_f(xs[..n])` with `v = xs[n]`, computed
/// with `create_graph` so that it can be differentiated again, flattened and
/// concatenated over the inputs.
fn flat_vjp(f: &dyn Fn(&[Tensor<f64>]) -> Tensor<f64>, xs: &[Tensor<f64>], n: usize) -> Tensor<f64> {
    let y = f(&xs[..n]);
    let refs: Vec<&Tensor<f64>> = xs[..n].iter().collect();
    let grads = if y.is_requires_grad() {
        grad_with(&[&y], &[&xs[n]], &refs, true, true)
    } else {
        vec![None; n]
    };
    let flat: Vec<Tensor<f64>> = grads
        .into_iter()
        .zip(&xs[..n])
        .map(|(g, x)| g.unwrap_or_else(|| x.zeros_like()).reshape(&[x.numel()]))
        .collect();
    Tensor::cat(&flat.iter().collect::<Vec<_>>(), 0)
}

/// A second-derivative check that does not depend on the library's
/// `gradgradcheck`: the Jacobian (by autodiff, through `create_graph`) of
/// `(xs, v) -> v^T J_f(xs)` is compared with central differences of the
/// same first-order gradients, each evaluated on fresh leaves with grad
/// recording on.
#[track_caller]
fn check2(f: impl Fn(&[Tensor<f64>]) -> Tensor<f64>, inputs: &[Tensor<f64>]) {
    let n = inputs.len();
    let out_shape = no_grad(|| f(inputs)).shape().to_vec();
    let v = randn(&out_shape, 4242);
    let mut all = inputs.to_vec();
    all.push(v);
    let g = |xs: &[Tensor<f64>]| flat_vjp(&f, xs, n);
    let analytic = jacobian(g, &all);
    let eval = |values: &[Vec<f64>]| -> Vec<f64> {
        let leaves: Vec<Tensor<f64>> = values
            .iter()
            .zip(&all)
            .map(|(d, x)| Tensor::from_vec(d.clone(), x.shape()).requires_grad())
            .collect();
        flat_vjp(&f, &leaves, n).to_vec()
    };
    let base: Vec<Vec<f64>> = all.iter().map(Tensor::to_vec).collect();
    let n_out = eval(&base).len();
    let h = 1e-6;
    let (atol, rtol) = (1e-5, 1e-3);
    let mut worst = (f64::NEG_INFINITY, String::new());
    let mut max_analytic: f64 = 0.0;
    for (i, jac) in analytic.iter().enumerate() {
        let a = jac.to_vec();
        let n_in = all[i].numel();
        assert_eq!(
            a.len(),
            n_out * n_in,
            "analytic Jacobian of input {i} has the wrong size"
        );
        for k in 0..n_in {
            let mut plus = base.clone();
            plus[i][k] += h;
            let mut minus = base.clone();
            minus[i][k] -= h;
            let (yp, ym) = (eval(&plus), eval(&minus));
            for j in 0..n_out {
                let num = (yp[j] - ym[j]) / (2.0 * h);
                let ana = a[j * n_in + k];
                max_analytic = max_analytic.max(ana.abs());
                let excess = if (ana - num).is_nan() {
                    f64::INFINITY
                } else {
                    (ana - num).abs() - (atol + rtol * num.abs())
                };
                if excess > worst.0 {
                    worst = (
                        excess,
                        format!("d vjp[{j}] / d input{i}[{k}]: analytic {ana:.10e}, numerical {num:.10e}"),
                    );
                }
            }
        }
    }
    assert!(worst.0 <= 0.0, "second-order check failed; worst: {}", worst.1);
    assert!(
        max_analytic > 0.0,
        "second-order check is vacuous: every entry is 0"
    );
}

/// The library's `gradgradcheck`, panicking with the report on failure.
#[track_caller]
fn check_gradgrad(f: impl Fn(&[Tensor<f64>]) -> Tensor<f64>, inputs: &[Tensor<f64>]) {
    if let Err(e) = gradgradcheck(&f, inputs, &GradcheckOptions::default()) {
        panic!("{e}");
    }
}

/// For every case: a second-order check with the test-side helper, and the
/// same function through the library's `gradgradcheck`.
macro_rules! second_order {
    ($name:ident, $f:expr, $inputs:expr) => {
        mod $name {
            use super::*;

            #[test]
            fn second_derivatives() {
                check2($f, &$inputs);
            }

            #[test]
            fn library_gradgradcheck() {
                check_gradgrad($f, &$inputs);
            }
        }
    };
}

// ---------------------------------------------------------------------------
// The checker itself is not vacuous
// ---------------------------------------------------------------------------

/// x^2 with a deliberately wrong backward (3x instead of 2x).
struct WrongSquare;

impl Function<f64> for WrongSquare {
    fn name(&self) -> &'static str {
        "WrongSquare"
    }
    fn forward(&self, inputs: &[Tensor<f64>]) -> Tensor<f64> {
        inputs[0].map(|x| x * x)
    }
    fn backward(&self, ctx: &FunctionCtx<'_, f64>) -> Vec<Option<Tensor<f64>>> {
        vec![Some(ctx.grad() * &(&ctx.inputs()[0] * 3.0))]
    }
}

#[test]
fn gradcheck_rejects_a_wrong_backward() {
    let x = Tensor::from_vec(vec![1.0f64, -2.0, 0.5], &[3]);
    let err = gradcheck(
        |xs| apply_function(WrongSquare, &[&xs[0]]),
        &[x],
        &GradcheckOptions::default(),
    )
    .expect_err("a wrong gradient must be caught");
    let worst = err
        .report
        .worst
        .clone()
        .expect("a failing report names its worst entry");
    // The worst entry is the diagonal one with the largest |x|: x = -2,
    // analytic 3x = -6, numerical 2x = -4.
    assert_eq!(worst.input_element, 1);
    assert_eq!(worst.output_element, 1);
    assert!((worst.analytic + 6.0).abs() < 1e-9, "{worst:?}");
    assert!((worst.numerical + 4.0).abs() < 1e-6, "{worst:?}");
    assert_eq!(err.report.entries, 9);
    assert!(err.to_string().starts_with("gradcheck failed"), "{err}");
}

#[test]
fn test_side_second_order_check_rejects_a_wrong_second_derivative() {
    // A backward whose first derivative is right but computed from a
    // detached input, so that differentiating it again loses the x-dependence.
    struct DetachedBackward;
    impl Function<f64> for DetachedBackward {
        fn name(&self) -> &'static str {
            "DetachedBackward"
        }
        fn forward(&self, inputs: &[Tensor<f64>]) -> Tensor<f64> {
            inputs[0].map(|x| x * x)
        }
        fn backward(&self, ctx: &FunctionCtx<'_, f64>) -> Vec<Option<Tensor<f64>>> {
            // Correct value 2x, but computed from a detached copy of x, so
            // the second derivative through it is lost.
            vec![Some(ctx.grad() * &(&ctx.inputs()[0].detach() * 2.0))]
        }
    }
    let x = Tensor::from_vec(vec![1.0f64, -2.0, 0.5], &[3]);
    let f = |xs: &[Tensor<f64>]| apply_function(DetachedBackward, &[&xs[0]]);
    check(f, std::slice::from_ref(&x));
    let result = std::panic::catch_unwind(|| check2(f, std::slice::from_ref(&x)));
    assert!(result.is_err(), "a missing second derivative must be caught");
    // The library's gradgradcheck must catch it too: analytic d(vjp)/dx is
    // 0, numerical is 2v.
    let err = gradgradcheck(f, std::slice::from_ref(&x), &GradcheckOptions::default())
        .expect_err("gradgradcheck must catch a missing second derivative");
    let worst = err.report.worst.expect("a failing report names its worst entry");
    assert_eq!(worst.input, 0, "the wrong entries are the x ones: {worst:?}");
    assert_eq!(worst.analytic, 0.0);
    assert!(worst.numerical.abs() > 1e-3, "{worst:?}");
}

#[test]
fn gradgradcheck_accepts_linear_maps() {
    // Regression: the finite-difference pass used to see a constant-zero
    // VJP, so even x -> 2x failed with "analytic 2, numerical 0".
    let x = Tensor::from_vec(vec![0.3f64, -1.2], &[2]);
    let report = gradgradcheck(
        |xs| xs[0].mul_scalar(2.0),
        std::slice::from_ref(&x),
        &GradcheckOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // (x, v) has 4 elements; the VJP has 2.
    assert_eq!(report.entries, 8);
    let w = randn(&[3, 2], 29);
    gradgradcheck(move |xs| w.matmul(&xs[0]), &[x], &GradcheckOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
}

// ---------------------------------------------------------------------------
// Binary ops: same shape, broadcast, non-contiguous
// ---------------------------------------------------------------------------

macro_rules! binary_op_checks {
    ($name:ident, $op:expr, $lhs:expr, $rhs:expr) => {
        mod $name {
            use super::*;

            fn op(a: &Tensor<f64>, b: &Tensor<f64>) -> Tensor<f64> {
                let f: fn(&Tensor<f64>, &Tensor<f64>) -> Tensor<f64> = $op;
                f(a, b)
            }

            #[test]
            fn same_shape() {
                check(
                    |xs| op(&xs[0], &xs[1]),
                    &[$lhs(&[2, 3], 1), $rhs(&[2, 3], 2)],
                );
            }

            #[test]
            fn broadcast_column_with_row() {
                check(
                    |xs| op(&xs[0], &xs[1]),
                    &[$lhs(&[3, 1], 3), $rhs(&[1, 4], 4)],
                );
            }

            #[test]
            fn broadcast_lower_rank_left() {
                check(
                    |xs| op(&xs[0], &xs[1]),
                    &[$lhs(&[4], 5), $rhs(&[2, 3, 4], 6)],
                );
            }

            #[test]
            fn broadcast_lower_rank_right() {
                check(
                    |xs| op(&xs[0], &xs[1]),
                    &[$lhs(&[2, 3, 4], 7), $rhs(&[3, 1], 8)],
                );
            }

            #[test]
            fn broadcast_scalar_tensor() {
                check(|xs| op(&xs[0], &xs[1]), &[$lhs(&[2, 3], 9), $rhs(&[], 10)]);
            }

            #[test]
            fn transposed_inputs() {
                check(
                    |xs| op(&xs[0].transpose(0, 1), &xs[1].t()),
                    &[$lhs(&[4, 3], 11), $rhs(&[4, 3], 12)],
                );
            }

            #[test]
            fn narrowed_and_expanded_inputs() {
                check(
                    |xs| op(&xs[0].narrow(1, 1, 3), &xs[1].expand(&[2, 3])),
                    &[$lhs(&[2, 5], 13), $rhs(&[1, 3], 14)],
                );
            }

            #[test]
            fn permuted_with_broadcast() {
                check(
                    |xs| op(&xs[0].permute(&[2, 0, 1]), &xs[1]),
                    &[$lhs(&[2, 3, 4], 15), $rhs(&[1, 3], 16)],
                );
            }
        }
    };
}

binary_op_checks!(add, |a, b| a.add(b), randn, randn);
binary_op_checks!(sub, |a, b| a.sub(b), randn, randn);
binary_op_checks!(mul, |a, b| a.mul(b), randn, randn);
binary_op_checks!(div, |a, b| a.div(b), randn, away_from_zero);
binary_op_checks!(pow, |a, b| a.pow(b), positive, randn);
binary_op_checks!(maximum, |a, b| a.maximum(b), randn, randn);
binary_op_checks!(minimum, |a, b| a.minimum(b), randn, randn);

#[test]
fn pow_gradient_wrt_exponent_only() {
    // Only the exponent requires grad through the closure: base is a constant.
    let base = positive(&[2, 3], 20);
    check(move |xs| base.pow(&xs[0]), &[randn(&[2, 3], 21)]);
}

#[test]
fn maximum_and_minimum_with_a_constant() {
    let c = randn(&[3], 22);
    let d = c.clone();
    check(move |xs| xs[0].maximum(&c), &[randn(&[2, 3], 23)]);
    check(move |xs| d.minimum(&xs[0]), &[randn(&[2, 3], 24)]);
}

#[test]
fn same_input_on_both_sides() {
    check(|xs| xs[0].mul(&xs[0]), &[randn(&[3, 2], 25)]);
    check(|xs| xs[0].div(&xs[0].add_scalar(3.0)), &[positive(&[4], 26)]);
    check(|xs| xs[0].sub(&xs[0].t()), &[randn(&[3, 3], 27)]);
}

// ---------------------------------------------------------------------------
// Operators
// ---------------------------------------------------------------------------

#[test]
fn tensor_tensor_operators() {
    let (a, b) = (randn(&[2, 3], 30), away_from_zero(&[3], 31));
    check(|xs| &xs[0] + &xs[1], &[a.clone(), b.clone()]);
    check(|xs| &xs[0] - &xs[1], &[a.clone(), b.clone()]);
    check(|xs| &xs[0] * &xs[1], &[a.clone(), b.clone()]);
    check(|xs| &xs[0] / &xs[1], &[a.clone(), b.clone()]);
    check(|xs| -&xs[0], std::slice::from_ref(&a));
}

#[test]
fn owned_and_mixed_operators() {
    let (a, b) = (randn(&[3, 1], 32), away_from_zero(&[1, 2], 33));
    check(|xs| xs[0].clone() + xs[1].clone(), &[a.clone(), b.clone()]);
    check(|xs| xs[0].clone() - &xs[1], &[a.clone(), b.clone()]);
    check(|xs| &xs[0] * xs[1].clone(), &[a.clone(), b.clone()]);
    check(|xs| xs[0].clone() / xs[1].clone(), &[a.clone(), b.clone()]);
    check(|xs| -xs[0].clone(), std::slice::from_ref(&a));
}

#[test]
fn tensor_scalar_operators() {
    let a = away_from_zero(&[2, 3], 34);
    check(|xs| &xs[0] + 2.0, std::slice::from_ref(&a));
    check(|xs| &xs[0] - 1.5, std::slice::from_ref(&a));
    check(|xs| &xs[0] * 3.0, std::slice::from_ref(&a));
    check(|xs| &xs[0] / 4.0, std::slice::from_ref(&a));
    check(|xs| xs[0].clone() * -0.5, std::slice::from_ref(&a));
}

#[test]
fn scalar_tensor_operators() {
    let a = away_from_zero(&[2, 3], 35);
    check(|xs| 2.0 + &xs[0], std::slice::from_ref(&a));
    check(|xs| 2.0 - &xs[0], std::slice::from_ref(&a));
    check(|xs| 3.0 * &xs[0], std::slice::from_ref(&a));
    check(|xs| 1.0 / &xs[0], std::slice::from_ref(&a));
    check(|xs| -2.5 / xs[0].clone(), std::slice::from_ref(&a));
    check(|xs| 1.0 - xs[0].t(), std::slice::from_ref(&a));
}

// ---------------------------------------------------------------------------
// Unary ops and scalar arithmetic
// ---------------------------------------------------------------------------

macro_rules! unary_op_checks {
    ($name:ident, $op:expr, $input:expr) => {
        mod $name {
            use super::*;

            fn op(a: &Tensor<f64>) -> Tensor<f64> {
                let f: fn(&Tensor<f64>) -> Tensor<f64> = $op;
                f(a)
            }

            #[test]
            fn contiguous() {
                check(|xs| op(&xs[0]), &[$input(&[2, 3], 40)]);
            }

            #[test]
            fn zero_dimensional() {
                check(|xs| op(&xs[0]), &[$input(&[], 41)]);
            }

            #[test]
            fn transposed() {
                check(|xs| op(&xs[0].transpose(0, 1)), &[$input(&[3, 4], 42)]);
            }

            #[test]
            fn narrowed() {
                check(|xs| op(&xs[0].narrow(1, 1, 2)), &[$input(&[3, 4], 43)]);
            }

            #[test]
            fn expanded() {
                check(|xs| op(&xs[0].expand(&[3, 2, 4])), &[$input(&[2, 4], 44)]);
                check(
                    |xs| op(&xs[0].unsqueeze(0).expand(&[3, 2, 4])),
                    &[$input(&[2, 4], 45)],
                );
            }
        }
    };
}

unary_op_checks!(neg, |a| a.neg(), randn);
unary_op_checks!(exp, |a| a.exp(), randn);
unary_op_checks!(log, |a| a.log(), positive);
unary_op_checks!(sqrt, |a| a.sqrt(), positive);
unary_op_checks!(recip, |a| a.recip(), away_from_zero);
unary_op_checks!(abs, |a| a.abs(), away_from_zero);
unary_op_checks!(erf, |a| a.erf(), randn);
unary_op_checks!(square, |a| a.square(), randn);
unary_op_checks!(add_scalar, |a| a.add_scalar(-1.25), randn);
unary_op_checks!(mul_scalar, |a| a.mul_scalar(-3.5), randn);
unary_op_checks!(div_scalar, |a| a.div_scalar(0.75), randn);
unary_op_checks!(rdiv_scalar, |a| a.rdiv_scalar(-2.0), away_from_zero);
unary_op_checks!(pow_scalar_2, |a| a.pow_scalar(2.0), randn);
unary_op_checks!(pow_scalar_3, |a| a.pow_scalar(3.0), randn);
unary_op_checks!(pow_scalar_half, |a| a.pow_scalar(0.5), positive);
unary_op_checks!(pow_scalar_negative, |a| a.pow_scalar(-1.5), positive);
unary_op_checks!(pow_scalar_one, |a| a.pow_scalar(1.0), randn);
unary_op_checks!(pow_scalar_zero, |a| a.pow_scalar(0.0), randn);
unary_op_checks!(relu, |a| a.relu(), away_from_zero);
unary_op_checks!(leaky_relu, |a| a.leaky_relu(0.1), away_from_zero);
unary_op_checks!(sigmoid, |a| a.sigmoid(), randn);
unary_op_checks!(tanh, |a| a.tanh(), randn);
unary_op_checks!(gelu, |a| a.gelu(), randn);

#[test]
fn pow_scalar_integer_exponent_on_negative_base() {
    let x = Tensor::from_vec(vec![-1.5f64, -0.7, 0.4, 2.0], &[4]);
    check(|xs| xs[0].pow_scalar(3.0), std::slice::from_ref(&x));
    check(|xs| xs[0].pow_scalar(4.0), std::slice::from_ref(&x));
}

/// Values on both sides of [-1, 1], none within 0.1 of a bound.
fn clamp_input() -> Tensor<f64> {
    Tensor::from_vec(vec![-2.0, -1.3, -0.7, -0.2, 0.3, 0.8, 1.4, 2.2], &[2, 4])
}

#[test]
fn clamp_both_bounds() {
    check(|xs| xs[0].clamp(Some(-1.0), Some(1.0)), &[clamp_input()]);
    check(|xs| xs[0].t().clamp(Some(-1.0), Some(1.0)), &[clamp_input()]);
}

#[test]
fn clamp_one_bound() {
    check(|xs| xs[0].clamp(Some(0.0), None), &[clamp_input()]);
    check(|xs| xs[0].clamp(None, Some(0.5)), &[clamp_input()]);
}

#[test]
fn relu_and_leaky_relu_on_both_sides() {
    let x = Tensor::from_vec(vec![-2.0f64, -0.5, 0.5, 3.0], &[4]);
    check(|xs| xs[0].relu(), std::slice::from_ref(&x));
    check(|xs| xs[0].leaky_relu(0.2), std::slice::from_ref(&x));
    check(|xs| xs[0].leaky_relu(-1.5), std::slice::from_ref(&x));
}

#[test]
fn activations_on_large_inputs() {
    // Saturated regions: both branches of the stable sigmoid.
    let x = Tensor::from_vec(vec![-8.0f64, -3.0, 3.0, 8.0], &[4]);
    check(|xs| xs[0].sigmoid(), std::slice::from_ref(&x));
    check(|xs| xs[0].tanh(), std::slice::from_ref(&x));
    check(|xs| xs[0].gelu(), std::slice::from_ref(&x));
}

// ---------------------------------------------------------------------------
// Softmax and log-softmax
// ---------------------------------------------------------------------------

#[test]
fn softmax_over_every_dim() {
    for (dim, seed) in [(0, 50), (1, 51), (2, 52), (-1, 53), (-2, 54)] {
        check(|xs| xs[0].softmax(dim), &[randn(&[2, 3, 4], seed)]);
    }
}

#[test]
fn log_softmax_over_every_dim() {
    for (dim, seed) in [(0, 55), (1, 56), (2, 57), (-1, 58), (-3, 59)] {
        check(|xs| xs[0].log_softmax(dim), &[randn(&[2, 3, 4], seed)]);
    }
}

#[test]
fn softmax_of_non_contiguous_views() {
    check(|xs| xs[0].transpose(0, 2).softmax(1), &[randn(&[2, 3, 4], 60)]);
    check(
        |xs| xs[0].narrow(2, 1, 2).log_softmax(-1),
        &[randn(&[2, 3, 4], 61)],
    );
    check(|xs| xs[0].expand(&[3, 4]).softmax(0), &[randn(&[4], 62)]);
}

#[test]
fn softmax_of_large_inputs() {
    let x = randn(&[2, 3], 63).mul_scalar(30.0).add_scalar(500.0);
    check(|xs| xs[0].softmax(1), std::slice::from_ref(&x));
    check(|xs| xs[0].log_softmax(0), std::slice::from_ref(&x));
}

#[test]
fn softmax_weighted_loss() {
    // A non-uniform upstream gradient through softmax and log_softmax.
    let w = randn(&[3, 4], 64);
    let w2 = w.clone();
    check(move |xs| xs[0].softmax(1).mul(&w).sum(), &[randn(&[3, 4], 65)]);
    check(
        move |xs| xs[0].log_softmax(0).mul(&w2).sum(),
        &[randn(&[3, 4], 66)],
    );
}

// ---------------------------------------------------------------------------
// Reductions
// ---------------------------------------------------------------------------

#[test]
fn sum_full() {
    check(|xs| xs[0].sum(), &[randn(&[2, 3, 4], 70)]);
    check(|xs| xs[0].transpose(0, 2).sum(), &[randn(&[2, 3, 4], 71)]);
    check(|xs| xs[0].sum(), &[randn(&[], 72)]);
}

#[test]
fn sum_dims_keepdim_both() {
    for keepdim in [false, true] {
        for dims in [&[0isize][..], &[1], &[-1], &[0, 2], &[2, 0, 1], &[]] {
            check(|xs| xs[0].sum_dims(dims, keepdim), &[randn(&[2, 3, 4], 73)]);
        }
        check(|xs| xs[0].sum_dim(1, keepdim), &[randn(&[2, 3], 74)]);
        check(|xs| xs[0].t().sum_dims(&[0], keepdim), &[randn(&[2, 3], 75)]);
    }
}

#[test]
fn sum_to_shapes() {
    for target in [&[3usize, 1][..], &[1, 4], &[4], &[1, 1], &[], &[3, 4], &[2, 1, 4]] {
        check(|xs| xs[0].sum_to(target), &[randn(&[2, 3, 4], 76)]);
    }
}

#[test]
fn mean_full_and_dims() {
    check(|xs| xs[0].mean(), &[randn(&[2, 3, 4], 77)]);
    for keepdim in [false, true] {
        for dims in [&[0isize][..], &[-1], &[0, 1], &[]] {
            check(|xs| xs[0].mean_dims(dims, keepdim), &[randn(&[2, 3, 4], 78)]);
        }
        check(|xs| xs[0].mean_dim(0, keepdim), &[randn(&[3, 2], 79)]);
    }
}

#[test]
fn var_and_std_full() {
    check(|xs| xs[0].var(), &[randn(&[2, 3], 80)]);
    check(|xs| xs[0].std(), &[randn(&[2, 3], 81)]);
}

#[test]
fn var_and_std_dims_both_corrections() {
    for correction in [0, 1] {
        for keepdim in [false, true] {
            for dims in [&[0isize][..], &[-1], &[0, 2], &[]] {
                check(
                    |xs| xs[0].var_dims(dims, correction, keepdim),
                    &[randn(&[2, 3, 4], 82)],
                );
                check(
                    |xs| xs[0].std_dims(dims, correction, keepdim),
                    &[randn(&[2, 3, 4], 83)],
                );
            }
        }
    }
}

#[test]
fn var_of_non_contiguous() {
    check(|xs| xs[0].t().var_dims(&[1], 1, false), &[randn(&[4, 3], 84)]);
    // Rows of the expanded view are constant, so reduce along the columns.
    check(
        |xs| xs[0].expand(&[3, 4]).std_dims(&[0], 0, true),
        &[randn(&[3, 1], 85)],
    );
}

#[test]
fn max_and_min_full_reduction() {
    check(|xs| xs[0].max(), &[randn(&[3, 4], 90)]);
    check(|xs| xs[0].min(), &[randn(&[3, 4], 91)]);
    check(|xs| xs[0].t().max(), &[randn(&[3, 4], 92)]);
    check(|xs| xs[0].narrow(0, 1, 2).min(), &[randn(&[3, 4], 93)]);
}

#[test]
fn max_dim_and_min_dim() {
    for keepdim in [false, true] {
        for dim in [0isize, 1, 2, -1] {
            check(|xs| xs[0].max_dim(dim, keepdim).0, &[randn(&[2, 3, 4], 94)]);
            check(|xs| xs[0].min_dim(dim, keepdim).0, &[randn(&[2, 3, 4], 95)]);
        }
        check(|xs| xs[0].t().max_dim(1, keepdim).0, &[randn(&[3, 4], 96)]);
    }
}

// ---------------------------------------------------------------------------
// Shape ops
// ---------------------------------------------------------------------------

#[test]
fn reshape_and_flatten() {
    check(|xs| xs[0].reshape(&[4, 6]), &[randn(&[2, 3, 4], 100)]);
    check(|xs| xs[0].reshape(&[24]), &[randn(&[2, 3, 4], 101)]);
    check(
        |xs| xs[0].transpose(0, 1).reshape(&[6, 2]),
        &[randn(&[2, 3, 2], 102)],
    );
    check(|xs| xs[0].flatten(0, -1), &[randn(&[2, 3, 4], 103)]);
    check(|xs| xs[0].flatten(1, 2), &[randn(&[2, 3, 4], 104)]);
    check(
        |xs| xs[0].permute(&[2, 0, 1]).flatten(0, 1),
        &[randn(&[2, 3, 4], 105)],
    );
    // reshape followed by an op that weights every element differently
    let w = randn(&[4, 6], 106);
    check(
        move |xs| xs[0].reshape(&[4, 6]).mul(&w),
        &[randn(&[2, 3, 4], 107)],
    );
}

#[test]
fn transpose_t_and_permute() {
    let w = randn(&[4, 3, 2], 110);
    check(move |xs| xs[0].transpose(0, 2).mul(&w), &[randn(&[2, 3, 4], 111)]);
    check(|xs| xs[0].transpose(-1, -2), &[randn(&[2, 3, 4], 112)]);
    check(|xs| xs[0].t(), &[randn(&[2, 3], 113)]);
    check(|xs| xs[0].t().t(), &[randn(&[2, 3], 114)]);
    check(|xs| xs[0].permute(&[1, 2, 0]), &[randn(&[2, 3, 4], 115)]);
    check(
        |xs| xs[0].permute(&[2, 0, 1]).permute(&[1, 0, 2]),
        &[randn(&[2, 3, 4], 116)],
    );
}

#[test]
fn squeeze_and_unsqueeze() {
    check(|xs| xs[0].squeeze(1), &[randn(&[3, 1, 2], 120)]);
    check(|xs| xs[0].squeeze(-1), &[randn(&[3, 2, 1], 121)]);
    check(|xs| xs[0].squeeze_all(), &[randn(&[1, 3, 1, 2], 122)]);
    check(|xs| xs[0].unsqueeze(0), &[randn(&[3, 2], 123)]);
    check(|xs| xs[0].unsqueeze(-1), &[randn(&[3, 2], 124)]);
    check(
        |xs| xs[0].t().unsqueeze(1).mul(&xs[1]),
        &[randn(&[3, 2], 125), randn(&[2, 4, 3], 126)],
    );
}

#[test]
fn expand_and_broadcast_to() {
    let w = randn(&[2, 3, 4], 130);
    let w2 = w.clone();
    check(move |xs| xs[0].expand(&[2, 3, 4]).mul(&w), &[randn(&[3, 1], 131)]);
    check(
        move |xs| xs[0].broadcast_to(&[2, 3, 4]).mul(&w2),
        &[randn(&[4], 132)],
    );
    check(|xs| xs[0].expand(&[5]), &[randn(&[], 133)]);
    check(|xs| xs[0].t().expand(&[2, 4, 3]), &[randn(&[3, 4], 134)]);
}

#[test]
fn narrow_slice_select() {
    check(|xs| xs[0].narrow(1, 1, 2), &[randn(&[3, 4], 140)]);
    check(|xs| xs[0].narrow(0, 0, 1), &[randn(&[3, 4], 141)]);
    check(|xs| xs[0].narrow(-1, 3, 1), &[randn(&[3, 4], 142)]);
    check(|xs| xs[0].slice(0, 1..3), &[randn(&[3, 4], 143)]);
    check(
        |xs| xs[0].slice(2, 0..2).slice(1, 1..3),
        &[randn(&[2, 3, 4], 144)],
    );
    check(|xs| xs[0].select(0, 2), &[randn(&[3, 4], 145)]);
    check(|xs| xs[0].select(1, 0), &[randn(&[3, 4], 146)]);
    check(|xs| xs[0].t().select(0, 1), &[randn(&[3, 4], 147)]);
    // Overlapping slices of the same input accumulate.
    check(
        |xs| xs[0].narrow(0, 0, 2).mul(&xs[0].narrow(0, 1, 2)),
        &[randn(&[3, 2], 148)],
    );
}

#[test]
fn contiguous_of_views() {
    check(|xs| xs[0].t().contiguous(), &[randn(&[3, 4], 150)]);
    check(|xs| xs[0].contiguous(), &[randn(&[3, 4], 151)]);
    check(
        |xs| xs[0].expand(&[3, 4]).contiguous().mul(&xs[1]),
        &[randn(&[4], 152), randn(&[3, 4], 153)],
    );
}

// ---------------------------------------------------------------------------
// Joining and indexing
// ---------------------------------------------------------------------------

#[test]
fn cat_along_every_dim() {
    check(
        |xs| Tensor::cat(&[&xs[0], &xs[1]], 0),
        &[randn(&[2, 3], 160), randn(&[1, 3], 161)],
    );
    check(
        |xs| Tensor::cat(&[&xs[0], &xs[1], &xs[2]], 1),
        &[randn(&[2, 1], 162), randn(&[2, 3], 163), randn(&[2, 2], 164)],
    );
    check(
        |xs| Tensor::cat(&[&xs[0], &xs[1]], -1),
        &[randn(&[2, 2, 1], 165), randn(&[2, 2, 3], 166)],
    );
    check(|xs| Tensor::cat(&[&xs[0], &xs[0]], 0), &[randn(&[2, 2], 167)]);
}

#[test]
fn cat_of_non_contiguous() {
    check(
        |xs| Tensor::cat(&[&xs[0].t(), &xs[1].narrow(0, 1, 2)], 0),
        &[randn(&[3, 2], 168), randn(&[4, 3], 169)],
    );
    let w = randn(&[2, 5], 170);
    check(
        move |xs| Tensor::cat(&[&xs[0].expand(&[2, 2]), &xs[1]], 1).mul(&w),
        &[randn(&[2, 1], 171), randn(&[2, 3], 172)],
    );
}

#[test]
fn stack_along_every_dim() {
    for dim in [0isize, 1, 2, -1] {
        check(
            |xs| Tensor::stack(&[&xs[0], &xs[1], &xs[2]], dim),
            &[randn(&[2, 3], 180), randn(&[2, 3], 181), randn(&[2, 3], 182)],
        );
    }
    check(
        |xs| Tensor::stack(&[&xs[0].t(), &xs[1]], 0),
        &[randn(&[3, 2], 183), randn(&[2, 3], 184)],
    );
}

#[test]
fn index_select_with_repeated_indices() {
    check(
        |xs| xs[0].index_select(0, &IndexTensor::from([2, 0, 2, 2])),
        &[randn(&[3, 4], 190)],
    );
    check(
        |xs| xs[0].index_select(1, &IndexTensor::from([1, 1, 3])),
        &[randn(&[3, 4], 191)],
    );
    check(
        |xs| xs[0].index_select(-1, &IndexTensor::from([0, 3, 0])),
        &[randn(&[2, 3, 4], 192)],
    );
    check(
        |xs| xs[0].t().index_select(0, &IndexTensor::from([3, 3, 1])),
        &[randn(&[3, 4], 193)],
    );
    let w = randn(&[5, 4], 194);
    check(
        move |xs| xs[0].index_select(0, &IndexTensor::from([0, 1, 0, 2, 0])).mul(&w),
        &[randn(&[3, 4], 195)],
    );
}

#[test]
fn index_add_with_repeated_indices() {
    check(
        |xs| xs[0].index_add(0, &IndexTensor::from([2, 0, 2]), &xs[1]),
        &[randn(&[3, 4], 200), randn(&[3, 4], 201)],
    );
    check(
        |xs| xs[0].index_add(1, &IndexTensor::from([1, 1]), &xs[1]),
        &[randn(&[3, 4], 202), randn(&[3, 2], 203)],
    );
    check(
        |xs| xs[0].t().index_add(0, &IndexTensor::from([0, 3, 0]), &xs[1].t()),
        &[randn(&[3, 4], 204), randn(&[3, 3], 205)],
    );
    let w = randn(&[3, 4], 206);
    check(
        move |xs| xs[0].index_add(0, &IndexTensor::from([1, 1]), &xs[1]).mul(&w),
        &[randn(&[3, 4], 207), randn(&[2, 4], 208)],
    );
}

#[test]
fn gather_along_dims() {
    let i1 = idx(vec![1, 1, 0, 3, 2, 2, 0, 0, 1], &[3, 3]);
    check(move |xs| xs[0].gather(1, &i1), &[randn(&[3, 4], 210)]);
    let i0 = idx(vec![2, 0, 1, 1, 0, 0, 2, 1], &[2, 4]);
    check(move |xs| xs[0].gather(0, &i0), &[randn(&[3, 4], 211)]);
    // Index smaller than the input along a non-gathered dim.
    let small = idx(vec![0, 2, 1, 1], &[2, 2, 1]);
    check(move |xs| xs[0].gather(1, &small), &[randn(&[2, 3, 4], 212)]);
    let it = idx(vec![2, 2, 0, 1, 0, 1], &[3, 2]);
    check(move |xs| xs[0].t().gather(1, &it), &[randn(&[3, 4], 213)]);
}

#[test]
fn scatter_add_with_collisions() {
    let i1 = idx(vec![1, 1, 0, 3, 3, 3], &[2, 3]);
    let i1b = i1.clone();
    check(
        move |xs| xs[0].scatter_add(1, &i1, &xs[1]),
        &[randn(&[2, 4], 220), randn(&[2, 3], 221)],
    );
    let w = randn(&[2, 4], 222);
    check(
        move |xs| xs[0].scatter_add(1, &i1b, &xs[1]).mul(&w),
        &[randn(&[2, 4], 223), randn(&[2, 3], 224)],
    );
    let i0 = idx(vec![0, 2, 2, 0, 0, 1], &[2, 3]);
    check(
        move |xs| xs[0].scatter_add(0, &i0, &xs[1]),
        &[randn(&[3, 3], 225), randn(&[2, 3], 226)],
    );
    let it = idx(vec![0, 0, 1, 2], &[2, 2]);
    check(
        move |xs| xs[0].t().scatter_add(1, &it, &xs[1].t()),
        &[randn(&[3, 2], 227), randn(&[2, 2], 228)],
    );
}

#[test]
fn where_with_broadcasting() {
    let cond = Tensor::from_vec(vec![1.0f64, 0.0, 0.0, 1.0, 1.0, 0.0], &[2, 3]);
    let c = cond.clone();
    check(
        move |xs| Tensor::where_(&c, &xs[0], &xs[1]),
        &[randn(&[2, 3], 230), randn(&[2, 3], 231)],
    );
    let c = cond.clone();
    check(
        move |xs| Tensor::where_(&c, &xs[0], &xs[1]),
        &[randn(&[3], 232), randn(&[2, 1], 233)],
    );
    let c = cond.clone();
    check(
        move |xs| Tensor::where_(&c, &xs[0], &xs[1]),
        &[randn(&[], 234), randn(&[2, 3], 235)],
    );
    let col = Tensor::from_vec(vec![0.0f64, 1.0, 1.0], &[3, 1]);
    check(
        move |xs| Tensor::where_(&col, &xs[0].t(), &xs[1]),
        &[randn(&[2, 3], 236), randn(&[2], 237)],
    );
    // A data-dependent mask, as in a hand-written relu.
    check(
        |xs| Tensor::where_(&xs[0].gt_scalar(0.0), &xs[0], &xs[0].mul_scalar(0.1)),
        &[away_from_zero(&[3, 2], 238)],
    );
}

// ---------------------------------------------------------------------------
// Matrix products
// ---------------------------------------------------------------------------

#[test]
fn matmul_vector_vector() {
    check(|xs| xs[0].matmul(&xs[1]), &[randn(&[4], 240), randn(&[4], 241)]);
}

#[test]
fn matmul_vector_matrix() {
    check(
        |xs| xs[0].matmul(&xs[1]),
        &[randn(&[3], 242), randn(&[3, 4], 243)],
    );
}

#[test]
fn matmul_matrix_vector() {
    check(
        |xs| xs[0].matmul(&xs[1]),
        &[randn(&[3, 4], 244), randn(&[4], 245)],
    );
}

#[test]
fn matmul_matrix_matrix() {
    check(
        |xs| xs[0].matmul(&xs[1]),
        &[randn(&[2, 3], 246), randn(&[3, 4], 247)],
    );
}

#[test]
fn matmul_batched() {
    check(
        |xs| xs[0].matmul(&xs[1]),
        &[randn(&[2, 3, 4], 248), randn(&[2, 4, 2], 249)],
    );
}

#[test]
fn matmul_broadcast_batch() {
    check(
        |xs| xs[0].matmul(&xs[1]),
        &[randn(&[2, 1, 3, 4], 250), randn(&[5, 4, 2], 251)],
    );
}

#[test]
fn matmul_mixed_ranks() {
    check(
        |xs| xs[0].matmul(&xs[1]),
        &[randn(&[2, 3, 4], 252), randn(&[4, 2], 253)],
    );
    check(
        |xs| xs[0].matmul(&xs[1]),
        &[randn(&[3, 4], 254), randn(&[2, 4, 2], 255)],
    );
    check(
        |xs| xs[0].matmul(&xs[1]),
        &[randn(&[4], 256), randn(&[2, 4, 3], 257)],
    );
    check(
        |xs| xs[0].matmul(&xs[1]),
        &[randn(&[2, 3, 4], 258), randn(&[4], 259)],
    );
}

#[test]
fn matmul_of_views() {
    check(
        |xs| xs[0].narrow(1, 1, 2).matmul(&xs[1].t()),
        &[randn(&[3, 4], 260), randn(&[5, 2], 261)],
    );
    check(
        |xs| xs[0].t().matmul(&xs[1].t()),
        &[randn(&[4, 3], 262), randn(&[2, 4], 263)],
    );
    check(
        |xs| xs[0].transpose(-1, -2).matmul(&xs[1]),
        &[randn(&[2, 4, 3], 264), randn(&[2, 4, 2], 265)],
    );
    check(
        |xs| xs[0].expand(&[3, 2, 4]).matmul(&xs[1]),
        &[randn(&[2, 4], 266), randn(&[3, 4, 2], 267)],
    );
    check(
        |xs| xs[0].matmul(&xs[1].expand(&[4, 3])),
        &[randn(&[2, 4], 268), randn(&[1, 3], 269)],
    );
    check(
        |xs| xs[0].select(0, 1).matmul(&xs[1].narrow(0, 2, 3)),
        &[randn(&[2, 3], 270), randn(&[5, 2], 271)],
    );
    check(|xs| xs[0].matmul(&xs[0].t()), &[randn(&[3, 2], 272)]);
}

// ---------------------------------------------------------------------------
// Compositions
// ---------------------------------------------------------------------------

#[test]
fn small_mlp_first_order() {
    let inputs = [
        randn(&[4, 3], 280),
        randn(&[3, 5], 281),
        randn(&[5], 282),
        randn(&[5, 2], 283),
    ];
    check(
        |xs| {
            xs[0]
                .matmul(&xs[1])
                .add(&xs[2])
                .relu()
                .matmul(&xs[3])
                .log_softmax(-1)
                .mean()
        },
        &inputs,
    );
}

#[test]
fn layer_norm_like_chain() {
    check(
        |xs| {
            let x = &xs[0];
            let centered = x.sub(&x.mean_dims(&[-1], true));
            centered.div(&x.var_dims(&[-1], 0, true).add_scalar(1e-5).sqrt())
        },
        &[randn(&[3, 5], 284)],
    );
}

// ---------------------------------------------------------------------------
// Second derivatives
// ---------------------------------------------------------------------------

second_order!(
    mul_2nd,
    |xs| xs[0].mul(&xs[1]),
    [randn(&[2, 3], 300), randn(&[3], 301)]
);
second_order!(
    div_2nd,
    |xs| xs[0].div(&xs[1]),
    [randn(&[2, 3], 302), away_from_zero(&[2, 1], 303)]
);
second_order!(exp_2nd, |xs| xs[0].exp(), [randn(&[2, 3], 304)]);
second_order!(log_2nd, |xs| xs[0].log(), [positive(&[2, 3], 305)]);
second_order!(sqrt_2nd, |xs| xs[0].sqrt(), [positive(&[4], 306)]);
second_order!(recip_2nd, |xs| xs[0].recip(), [away_from_zero(&[4], 307)]);
second_order!(rdiv_scalar_2nd, |xs| 3.0 / &xs[0], [away_from_zero(&[4], 308)]);
second_order!(erf_2nd, |xs| xs[0].erf(), [randn(&[4], 309)]);
second_order!(
    pow_2nd,
    |xs| xs[0].pow(&xs[1]),
    [positive(&[3], 310), randn(&[3], 311)]
);
second_order!(sigmoid_2nd, |xs| xs[0].sigmoid(), [randn(&[2, 3], 312)]);
second_order!(tanh_2nd, |xs| xs[0].tanh(), [randn(&[2, 3], 313)]);
second_order!(gelu_2nd, |xs| xs[0].gelu(), [randn(&[2, 3], 314)]);
second_order!(softmax_2nd, |xs| xs[0].softmax(-1), [randn(&[2, 4], 315)]);
second_order!(softmax_dim0_2nd, |xs| xs[0].softmax(0), [randn(&[3, 2], 316)]);
second_order!(log_softmax_2nd, |xs| xs[0].log_softmax(1), [randn(&[2, 4], 317)]);
second_order!(
    matmul_2nd,
    |xs| xs[0].matmul(&xs[1]),
    [randn(&[2, 3], 318), randn(&[3, 2], 319)]
);
second_order!(
    matmul_batched_2nd,
    |xs| xs[0].matmul(&xs[1]),
    [randn(&[2, 1, 2, 3], 320), randn(&[3, 3, 2], 321)]
);
second_order!(
    matmul_vector_2nd,
    |xs| xs[0].matmul(&xs[1]),
    [randn(&[3], 322), randn(&[2, 3], 323).t().contiguous()]
);
second_order!(pow_scalar_2nd, |xs| xs[0].pow_scalar(3.0), [randn(&[2, 3], 324)]);
second_order!(
    pow_scalar_frac_2nd,
    |xs| xs[0].pow_scalar(-0.5),
    [positive(&[4], 325)]
);
second_order!(square_2nd, |xs| xs[0].square(), [randn(&[4], 326)]);
second_order!(
    var_2nd,
    |xs| xs[0].var_dims(&[1], 1, false),
    [randn(&[2, 4], 327)]
);
second_order!(std_2nd, |xs| xs[0].std(), [randn(&[5], 328)]);
second_order!(
    max_dim_times_x_2nd,
    |xs| xs[0].max_dim(1, false).0.square(),
    [randn(&[2, 3], 329)]
);
second_order!(
    gather_2nd,
    |xs| xs[0]
        .gather(1, &IndexTensor::from_vec(vec![2, 0, 0, 1], &[2, 2]))
        .exp(),
    [randn(&[2, 3], 330)]
);
second_order!(
    narrow_cat_2nd,
    |xs| Tensor::cat(&[&xs[0].narrow(1, 0, 2), &xs[0].t().narrow(0, 0, 1).t()], 1).square(),
    [randn(&[2, 3], 331)]
);
second_order!(
    where_2nd,
    |xs| Tensor::where_(&xs[0].gt_scalar(0.0), &xs[0].exp(), &xs[0].square()),
    [away_from_zero(&[4], 332)]
);
second_order!(
    tanh_of_matmul_sum,
    |xs| xs[0].matmul(&xs[1]).tanh().sum(),
    [randn(&[2, 3], 333), randn(&[3, 2], 334)]
);
second_order!(sigmoid_times_x, |xs| xs[0].sigmoid() * &xs[0], [randn(&[3], 335)]);
second_order!(
    small_mlp_2nd,
    |xs| xs[0]
        .matmul(&xs[1])
        .add(&xs[2])
        .tanh()
        .matmul(&xs[3])
        .log_softmax(-1)
        .mean(),
    [
        randn(&[3, 2], 336),
        randn(&[2, 4], 337),
        randn(&[4], 338),
        randn(&[4, 3], 339)
    ]
);
second_order!(
    softmax_cross_entropy_like,
    |xs| xs[0].softmax(-1).log().mul(&xs[1]).sum_dims(&[-1], false).neg(),
    [randn(&[2, 3], 340), positive(&[2, 3], 341)]
);
second_order!(
    non_contiguous_chain_2nd,
    |xs| xs[0].t().exp().mul(&xs[1].expand(&[3, 2])).sigmoid(),
    [randn(&[2, 3], 342), randn(&[1, 2], 343)]
);

#[test]
fn flip_gradient_matches_finite_differences() {
    let x = Tensor::<f64>::randn(&[2, 3, 4], &mut nabla::Generator::new(404));
    let report = nabla::autograd::gradcheck(
        |xs| xs[0].transpose(0, 2).flip(&[0, 2]).exp(),
        &[x],
        &nabla::autograd::GradcheckOptions::default(),
    );
    report.unwrap();
}

/// The cast is checked with `backward` (a gradient crossing a cast reaches
/// the leaves' `.grad`, not `autograd::grad`), against central differences
/// of the f64 function, whose f32 middle part is linear so that a large
/// step gives an exact difference quotient up to f32 rounding.
#[test]
fn to_dtype_round_trip_gradient_matches_finite_differences() {
    let x = randn(&[2, 3], 301);
    let w = randn(&[2, 3], 302);
    let f = |x: &Tensor<f64>| (&x.to_f32().to_f64() * &w).tanh().sum();
    let leaf = x.detach().requires_grad();
    f(&leaf).backward();
    let analytic = leaf.grad().unwrap().to_vec();
    let numerical = numerical_jacobian(|xs| f(&xs[0]), std::slice::from_ref(&x), 1e-3)[0].to_vec();
    for (a, n) in analytic.iter().zip(&numerical) {
        assert!((a - n).abs() < 2e-4, "analytic {a} vs numerical {n}");
    }
}
