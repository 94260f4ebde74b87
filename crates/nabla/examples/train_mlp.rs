//! Trains a two-layer perceptron (chapter 1.3 of the course) on a non-linear
//! 2-D problem, two concentric rings, by full-batch gradient descent with
//! hand-written parameter updates: the smallest end-to-end use of tensors and
//! autodiff.
//!
//! Run with `cargo run --release -p nabla --example train_mlp`.

use nabla::{no_grad, Generator, Tensor};

/// `n` points per class: class 0 on a ring of radius 1, class 1 on a ring
/// of radius 2, both with Gaussian noise.
fn rings(n: usize, generator: &mut Generator) -> (Tensor, Tensor) {
    let mut points = Vec::with_capacity(4 * n);
    let mut labels = Vec::with_capacity(2 * n);
    for class in 0..2 {
        for _ in 0..n {
            let angle = generator.uniform() * std::f64::consts::TAU;
            let radius = 1.0 + class as f64 + 0.15 * generator.normal();
            points.push((radius * angle.cos()) as f32);
            points.push((radius * angle.sin()) as f32);
            labels.push(class as f32);
        }
    }
    (
        Tensor::from_vec(points, &[2 * n, 2]),
        Tensor::from_vec(labels, &[2 * n, 1]),
    )
}

/// A fresh leaf with uniform values in [-bound, bound).
fn parameter(shape: &[usize], bound: f32, generator: &mut Generator) -> Tensor {
    Tensor::uniform(shape, -bound, bound, generator).requires_grad()
}

fn main() {
    let mut generator = Generator::new(0);
    let (x, y) = rings(200, &mut generator);
    let hidden = 16;
    let mut params = vec![
        parameter(&[2, hidden], 1.0 / 2f32.sqrt(), &mut generator),
        parameter(&[hidden], 1.0 / 2f32.sqrt(), &mut generator),
        parameter(&[hidden, 1], 1.0 / (hidden as f32).sqrt(), &mut generator),
        parameter(&[1], 1.0 / (hidden as f32).sqrt(), &mut generator),
    ];
    let forward = |p: &[Tensor], x: &Tensor| (&x.matmul(&p[0]) + &p[1]).tanh().matmul(&p[2]) + &p[3];
    let learning_rate = 0.5f32;
    for step in 0..=1500 {
        let logits = forward(&params, &x);
        // Logistic loss, in its stable form from logits:
        // mean(max(z, 0) - z y + log(1 + exp(-|z|))).
        let loss = (&(&logits.relu() - &(&logits * &y)) + &(1.0 + &(-&logits.abs()).exp()).log()).mean();
        loss.backward();
        if step % 300 == 0 {
            println!("step {step:5}  loss {:.4}", loss.item());
        }
        params = no_grad(|| {
            params
                .iter()
                .map(|p| (p - &(&p.grad().expect("every parameter is used") * learning_rate)).requires_grad())
                .collect()
        });
    }
    let predictions = no_grad(|| forward(&params, &x).gt_scalar(0.0));
    let accuracy = predictions.eq(&y).mean().item();
    println!("training accuracy {:.1}%", 100.0 * accuracy);
}
