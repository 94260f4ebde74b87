//! The three regimes of gradient descent of section 2.2 of the course,
//! from one training loop that differs only by its batch size: stochastic
//! (one example per step), minibatch (32) and full-batch gradient descent,
//! on the same least-squares problem. Writes each regime's loss curve (the
//! full-data loss after every epoch and the number of updates so far) as CSV,
//! and the three curves on one chart, `regimes.png` (the guide's picture).
//!
//! Run with `cargo run --release -p nabla --example gradient_descent_regimes [OUT_DIR]`
//! (default `target/regimes`).

#[path = "common/chart.rs"]
mod chart;

use std::fmt::Write;
use std::path::PathBuf;

use nabla::nn::loss::{mse_loss_with, Reduction};
use nabla::nn::{Layer, Linear, Module};
use nabla::optim::{Optimizer, Sgd, SgdConfig};
use nabla::{no_grad, Generator, IndexTensor, Tensor};

/// y = x . (2, -1, 0.5, 3) + 1 + noise, for `n` Gaussian x.
fn problem(n: usize, generator: &mut Generator) -> (Tensor, Tensor) {
    let x = Tensor::randn(&[n, 4], generator);
    let w = Tensor::from_vec(vec![2.0f32, -1.0, 0.5, 3.0], &[4, 1]);
    let noise = Tensor::randn(&[n, 1], generator) * 0.1;
    let y = &x.matmul(&w).add_scalar(1.0) + &noise;
    (x, y)
}

/// Trains a fresh linear model for `epochs` passes over the data in
/// shuffled batches of `batch_size`, with learning rate `lr`; returns
/// `(updates so far, full-data loss)` after each epoch, starting from epoch 0.
fn train(x: &Tensor, y: &Tensor, batch_size: usize, lr: f64, epochs: usize) -> Vec<(usize, f32)> {
    let mut generator = Generator::new(11);
    let model: Linear = Linear::new(4, 1, true, &mut generator);
    let mut optimizer = Sgd::new(model.parameters(), SgdConfig::new(lr));
    let n = x.shape()[0];
    let full_loss = || no_grad(|| mse_loss_with(&model.forward(x), y, Reduction::Mean).item());
    let mut curve = vec![(0, full_loss())];
    let mut updates = 0;
    for _ in 0..epochs {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, generator.below(i + 1));
        }
        for batch in order.chunks(batch_size) {
            optimizer.zero_grad();
            let batch = IndexTensor::from(batch);
            let loss = mse_loss_with(
                &model.forward(&x.index_select(0, &batch)),
                &y.index_select(0, &batch),
                Reduction::Mean,
            );
            loss.backward();
            optimizer.step();
            updates += 1;
        }
        curve.push((updates, full_loss()));
    }
    curve
}

fn main() {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "target/regimes".into()));
    std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("cannot create {}: {e}", out.display()));
    let (x, y) = problem(256, &mut Generator::new(10));
    let n = x.shape()[0];
    // Smaller batches give noisier gradients, so they take smaller steps.
    let regimes = [
        ("stochastic", 1, 0.01),
        ("minibatch", 32, 0.1),
        ("full_batch", n, 0.3),
    ];
    let (mut per_epoch, mut per_update) = (Vec::new(), Vec::new());
    for (name, batch_size, lr) in regimes {
        let curve = train(&x, &y, batch_size, lr, 30);
        let label = format!("{} (batch {batch_size}, lr {lr})", name.replace('_', " "));
        per_epoch.push(chart::Series {
            name: label.clone(),
            points: curve
                .iter()
                .enumerate()
                .map(|(e, &(_, l))| (e as f64, l as f64))
                .collect(),
        });
        per_update.push(chart::Series {
            name: label,
            points: curve.iter().skip(1).map(|&(u, l)| (u as f64, l as f64)).collect(),
        });
        let mut csv = String::from("epoch,updates,loss\n");
        for (epoch, (updates, loss)) in curve.iter().enumerate() {
            let _ = writeln!(csv, "{epoch},{updates},{loss}");
        }
        let path = out.join(format!("{name}.csv"));
        std::fs::write(&path, csv).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        let (updates, last) = curve.last().copied().expect("one point per epoch");
        let after_one = curve[1].1;
        println!(
            "{name:>10} (batch {batch_size:3}): loss {after_one:.4} after 1 epoch, {last:.4} after 30 epochs ({updates} updates) -> {}",
            path.display()
        );
    }
    let panel = |title: &str, x_label: &str, log_x: bool, series| chart::Panel {
        title: title.into(),
        x_label: x_label.into(),
        y_label: "mean squared error on all the data".into(),
        log_x,
        log_y: true,
        series,
    };
    chart::draw(
        &out.join("regimes.png"),
        &[
            panel("loss per epoch", "epoch (passes over the data)", false, per_epoch),
            panel("loss per update", "parameter updates", true, per_update),
        ],
    );
}
