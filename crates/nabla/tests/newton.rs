//! Newton's method (section 2.2.4): exact and Hessian-free, on problems with
//! known minima.

use nabla::autograd::{hessian, hvp};
use nabla::optim::{Newton, NewtonConfig, NewtonSolver};
use nabla::{Generator, Tensor};

fn rosenbrock(x: &Tensor<f64>) -> Tensor<f64> {
    let (a, b) = (x.select(0, 0), x.select(0, 1));
    let first = (1.0 - &a).square();
    let second = (&b - &a.square()).square() * 100.0;
    &first + &second
}

#[test]
fn exact_newton_solves_rosenbrock() {
    let x = Tensor::from_vec(vec![-1.2f64, 1.0], &[2]).requires_grad();
    let mut newton = Newton::new(vec![x.clone()], NewtonConfig::default());
    let mut iterations = 0;
    while iterations < 50 {
        iterations += 1;
        let step = newton.step(|| rosenbrock(&x));
        assert!(step.new_loss <= step.loss, "a step increased the loss: {step:?}");
        if step.gradient_norm < 1e-10 {
            break;
        }
    }
    let v = x.to_vec();
    assert!(
        (v[0] - 1.0).abs() < 1e-8 && (v[1] - 1.0).abs() < 1e-8,
        "ended at {v:?} after {iterations}"
    );
    // Damped Newton with line search takes ~20 steps from the classic start;
    // gradient descent would take thousands.
    assert!(iterations < 40, "took {iterations} iterations");
}

#[test]
fn hessian_free_newton_matches_exact_on_a_quadratic() {
    // f(x) = 0.5 x^T A x - b^T x with A SPD: the minimum is A^-1 b.
    let a = Tensor::from_vec(vec![4.0f64, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 2.0], &[3, 3]);
    let b = Tensor::from_vec(vec![1.0f64, -2.0, 0.5], &[3]);
    let f = |x: &Tensor<f64>| &(x.matmul(&a.matmul(x)) * 0.5) - &b.matmul(x);
    let exact = Tensor::from_vec(vec![0.0f64; 3], &[3]).requires_grad();
    Newton::new(vec![exact.clone()], NewtonConfig::default()).step(|| f(&exact));
    let cg = Tensor::from_vec(vec![0.0f64; 3], &[3]).requires_grad();
    let config = NewtonConfig {
        solver: NewtonSolver::ConjugateGradient {
            max_iterations: 10,
            relative_tolerance: 1e-12,
        },
        ..NewtonConfig::default()
    };
    Newton::new(vec![cg.clone()], config).step(|| f(&cg));
    // Check A x = b for both.
    for x in [&exact, &cg] {
        let residual = &a.matmul(&x.detach()) - &b;
        assert!(residual.abs().max().item() < 1e-12, "residual {residual}");
    }
}

#[test]
fn hessian_and_hvp_agree_with_each_other() {
    let x = Tensor::<f64>::randn(&[4], &mut Generator::new(3));
    let v = Tensor::<f64>::randn(&[4], &mut Generator::new(4));
    let f = |x: &Tensor<f64>| (x.tanh() * x.sigmoid()).sum() + x.square().sum().sqrt();
    let h = hessian(f, &x);
    let hv = hvp(f, &x, &v);
    let expected = h.matmul(&v);
    for (a, b) in hv.to_vec().iter().zip(expected.to_vec()) {
        assert!((a - b).abs() < 1e-12);
    }
    // Symmetric, as a Hessian must be.
    let ht = h.t().contiguous();
    assert!((&h - &ht).abs().max().item() < 1e-12);
}

#[test]
fn non_convex_directions_are_damped_into_descent() {
    // At the saddle-ish start of f = x^4 - x^2 + y^2 the Hessian in x is
    // negative; damping must make the step a descent step anyway.
    let p = Tensor::from_vec(vec![0.1f64, 1.0], &[2]).requires_grad();
    let mut newton = Newton::new(vec![p.clone()], NewtonConfig::default());
    let f = || {
        let (x, y) = (p.select(0, 0), p.select(0, 1));
        &(&x.pow_scalar(4.0) - &x.square()) + &y.square()
    };
    for _ in 0..30 {
        let step = newton.step(f);
        assert!(step.new_loss <= step.loss);
    }
    let v = p.to_vec();
    assert!(
        (v[0].abs() - 0.5f64.sqrt()).abs() < 1e-6 && v[1].abs() < 1e-6,
        "ended at {v:?}"
    );
}
