//! Logistic regression trained two ways (section 2.2 of the course):
//! full-batch gradient descent, and Newton's method with the exact Hessian
//! from the engine's second derivatives. Newton converges quadratically: the
//! gradient norm squares at every iteration, and it lands on the optimum to
//! machine precision in a handful of iterations, where gradient descent
//! closes the gap linearly. Draws the distance to the optimum against the
//! iterations of both as `newton.png` (the guide's picture).
//!
//! Run with `cargo run --release -p nabla --example logistic_newton [OUT_DIR]`
//! (default `target/newton`).

#[path = "common/chart.rs"]
mod chart;

use std::path::PathBuf;

use nabla::nn::loss::{binary_cross_entropy_with_logits_with, Reduction};
use nabla::optim::{Newton, NewtonConfig, Optimizer, Sgd, SgdConfig};
use nabla::{Generator, Tensor};

/// Two overlapping Gaussian classes in 3-D, so the optimum is finite.
fn data(n: usize, generator: &mut Generator) -> (Tensor<f64>, Tensor<f64>) {
    let mut x = Vec::with_capacity(3 * n);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let class = (i % 2) as f64;
        let centre = [1.0 - 2.0 * class, 0.5 - class, 0.3];
        for c in centre {
            x.push(c + 1.2 * generator.normal());
        }
        y.push(class);
    }
    (Tensor::from_vec(x, &[n, 3]), Tensor::from_vec(y, &[n]))
}

fn loss(w: &Tensor<f64>, b: &Tensor<f64>, x: &Tensor<f64>, y: &Tensor<f64>) -> Tensor<f64> {
    binary_cross_entropy_with_logits_with(&(&x.matmul(w) + b), y, None, None, Reduction::Mean)
}

fn main() {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "target/newton".into()));
    std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("cannot create {}: {e}", out.display()));
    let (x, y) = data(400, &mut Generator::new(3));
    // Newton's method.
    let (w, b) = (
        Tensor::<f64>::zeros(&[3]).requires_grad(),
        Tensor::<f64>::zeros(&[1]).requires_grad(),
    );
    let mut newton = Newton::new(vec![w.clone(), b.clone()], NewtonConfig::default());
    let mut newton_loss = f64::NAN;
    let mut iterations = 0;
    // The loss after each iteration, the start being iteration 0.
    let mut newton_curve = Vec::new();
    for iteration in 1..=10 {
        iterations = iteration;
        let step = newton.step(|| loss(&w, &b, &x, &y));
        if newton_curve.is_empty() {
            newton_curve.push(step.loss);
        }
        newton_curve.push(step.new_loss);
        newton_loss = step.new_loss;
        println!(
            "newton {iteration:2}: loss {:.12}  |grad| {:.2e}  step {}",
            step.new_loss, step.gradient_norm, step.step_size
        );
        if step.gradient_norm < 1e-12 {
            break;
        }
    }
    // Gradient descent on the same problem, from the same start.
    let (wg, bg) = (
        Tensor::<f64>::zeros(&[3]).requires_grad(),
        Tensor::<f64>::zeros(&[1]).requires_grad(),
    );
    let mut sgd = Sgd::new(vec![wg.clone(), bg.clone()], SgdConfig::new(1.0));
    let mut steps = 0;
    let mut gd_loss = f64::INFINITY;
    let mut gd_curve = Vec::new();
    for gap in [1e-6, 1e-9, 1e-12] {
        while steps < 100_000 && gd_loss - newton_loss > gap {
            sgd.zero_grad();
            let l = loss(&wg, &bg, &x, &y);
            gd_loss = l.item();
            gd_curve.push(gd_loss);
            l.backward();
            sgd.step();
            steps += 1;
        }
        println!("gradient descent: within {gap:.0e} of Newton's loss after {steps} steps");
    }
    println!(
        "weights: newton {:?}, gradient descent {:?}",
        w.to_vec(),
        wg.to_vec()
    );
    assert!(
        iterations <= 10 && (gd_loss - newton_loss).abs() < 1e-6,
        "both reach the same optimum"
    );
    // Distance to the optimum, floored where it reaches f64's resolution.
    let gaps = |curve: &[f64]| -> Vec<(f64, f64)> {
        curve
            .iter()
            .enumerate()
            .map(|(i, l)| (i as f64, (l - newton_loss).max(1e-16)))
            .collect()
    };
    chart::draw(
        &out.join("newton.png"),
        &[chart::Panel {
            title: "logistic regression: loss - optimal loss".into(),
            x_label: "iteration".into(),
            y_label: "loss - optimum (1e-16: f64's resolution)".into(),
            log_x: false,
            log_y: true,
            series: vec![
                chart::Series {
                    name: "Newton's method".into(),
                    points: gaps(&newton_curve),
                },
                chart::Series {
                    name: "gradient descent (lr 1)".into(),
                    points: gaps(&gd_curve),
                },
            ],
        }],
    );
}
