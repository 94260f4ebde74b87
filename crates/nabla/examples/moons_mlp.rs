//! A multi-layer perceptron (section 1.3) classifies the two-moons problem,
//! generated with a seed, trained by minibatch Adam on the cross-entropy.
//!
//! Run with `cargo run --release -p nabla --example moons_mlp`.

use nabla::nn::loss::{cross_entropy_with, Reduction};
use nabla::nn::{Layer, Linear, Module, Relu, Sequential};
use nabla::optim::{Adam, AdamConfig, Optimizer};
use nabla::{no_grad, Generator, IndexTensor, Tensor};

/// `n` points of two interleaving half circles with Gaussian noise, as
/// scikit-learn's `make_moons`.
fn moons(n: usize, noise: f64, generator: &mut Generator) -> (Tensor, IndexTensor) {
    let mut points = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let class = i % 2;
        let t = std::f64::consts::PI * generator.uniform();
        let (x, y) = if class == 0 {
            (t.cos(), t.sin())
        } else {
            (1.0 - t.cos(), 0.5 - t.sin())
        };
        points.push((x + noise * generator.normal()) as f32);
        points.push((y + noise * generator.normal()) as f32);
        labels.push(class);
    }
    (
        Tensor::from_vec(points, &[n, 2]),
        IndexTensor::from_vec(labels, &[n]),
    )
}

fn accuracy(model: &dyn Layer, x: &Tensor, y: &IndexTensor) -> f64 {
    let predicted = no_grad(|| model.forward(x)).argmax(1, false);
    let hits = predicted
        .as_slice()
        .iter()
        .zip(y.as_slice())
        .filter(|(p, t)| p == t)
        .count();
    hits as f64 / y.as_slice().len() as f64
}

fn main() {
    let mut generator = Generator::new(7);
    let (train_x, train_y) = moons(1000, 0.15, &mut generator);
    let (test_x, test_y) = moons(1000, 0.15, &mut generator);
    let model: Sequential = Sequential::new()
        .add(Linear::new(2, 64, true, &mut generator))
        .add(Relu)
        .add(Linear::new(64, 64, true, &mut generator))
        .add(Relu)
        .add(Linear::new(64, 2, true, &mut generator));
    let mut optimizer = Adam::new(model.parameters(), AdamConfig::new(0.01));
    let batch = 32;
    let n = train_x.shape()[0];
    for epoch in 1..=40 {
        // A fresh seeded permutation each epoch.
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, generator.below(i + 1));
        }
        let mut total = 0.0;
        for chunk in order.chunks(batch) {
            let x = train_x.index_select(0, &IndexTensor::from(chunk));
            let y = IndexTensor::from_vec(
                chunk.iter().map(|&i| train_y.as_slice()[i]).collect(),
                &[chunk.len()],
            );
            optimizer.zero_grad();
            let loss = cross_entropy_with(&model.forward(&x), &y, None, None, Reduction::Mean);
            loss.backward();
            optimizer.step();
            total += loss.item() as f64 * chunk.len() as f64;
        }
        if epoch % 10 == 0 {
            println!("epoch {epoch:3}  loss {:.4}", total / n as f64);
        }
    }
    let train_accuracy = accuracy(&model, &train_x, &train_y);
    let test_accuracy = accuracy(&model, &test_x, &test_y);
    println!(
        "train accuracy {:.1}%, test accuracy {:.1}%",
        100.0 * train_accuracy,
        100.0 * test_accuracy
    );
    assert!(test_accuracy > 0.97, "the MLP should separate the moons");
}
