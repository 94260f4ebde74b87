//! The seam is complete: training steps run through the counted backend.
//!
//! The compiler already keeps tensor memory private to this module; these
//! tests show which named operations real workloads use, so that a second
//! backend knows what it must implement first.

use std::collections::BTreeMap;

use super::counting::calls;
use crate::nn::{zoo, Layer, Module};
use crate::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use crate::tensor::{Generator, IndexTensor, Tensor};

/// Asserts that each of `expected` was called exactly that many times.
fn assert_calls(calls: &BTreeMap<&'static str, usize>, expected: &[(&str, usize)]) {
    for &(name, n) in expected {
        assert_eq!(calls.get(name), Some(&n), "{name} in {calls:?}");
    }
}

#[test]
fn a_lenet5_training_step_runs_through_the_backend() {
    let mut g = Generator::new(0);
    let (model, init) = calls(|| zoo::lenet5::<f32>(&mut g));
    assert_eq!(
        init.get("random_fill"),
        Some(&model.parameters().len()),
        "{init:?}"
    );
    let x = Tensor::<f32>::rand(&[8, 1, 28, 28], &mut g);
    let y = IndexTensor::from_vec((0..8).map(|i| i % 10).collect(), &[8]);
    let mut optimizer = Adam::new(model.parameters(), AdamConfig::new(1e-3));
    let ((), step) = calls(|| {
        optimizer.zero_grad();
        let loss = crate::nn::loss::cross_entropy(&model.forward(&x), &y);
        loss.backward();
        optimizer.step();
    });
    // Two convolutions and poolings forward and back (the first
    // convolution's input needs no gradient); cross-entropy gathers the
    // targets' log-probabilities and adds their gradient back in place.
    assert_calls(
        &step,
        &[
            ("conv2d", 2),
            ("conv2d_weight_grad", 2),
            ("conv2d_input_grad", 1),
            ("max_pool2d", 2),
            ("max_pool2d_scatter", 2),
            ("gather", 1),
            ("add_at", 1),
        ],
    );
    assert_eq!(
        step.get("optimizer_update"),
        Some(&model.parameters().len()),
        "{step:?}"
    );
}

#[test]
fn an_lstm_sized_step_runs_through_the_backend() {
    let (steps, batch, hidden) = (32, 32, 128);
    let mut g = Generator::new(1);
    let x = Tensor::<f32>::randn(&[steps, batch, hidden], &mut g);
    let w_ih = Tensor::<f32>::randn(&[4 * hidden, hidden], &mut g)
        .mul_scalar(0.05)
        .requires_grad();
    let w_hh = Tensor::<f32>::randn(&[4 * hidden, hidden], &mut g)
        .mul_scalar(0.05)
        .requires_grad();
    let bias = Tensor::<f32>::zeros(&[4 * hidden]).requires_grad();
    let mut optimizer = Sgd::new(
        vec![w_ih.clone(), w_hh.clone(), bias.clone()],
        SgdConfig::new(0.1),
    );
    let ((), step) = calls(|| {
        let mut h = Tensor::<f32>::zeros(&[batch, hidden]);
        let mut c = Tensor::<f32>::zeros(&[batch, hidden]);
        let mut outputs = Vec::with_capacity(steps);
        for t in 0..steps {
            let gates = x.select(0, t).matmul(&w_ih.t()) + h.matmul(&w_hh.t()) + &bias;
            let chunk = |k: usize| gates.narrow(1, k * hidden, hidden);
            let (i, f) = (chunk(0).sigmoid(), chunk(1).sigmoid());
            let (cell, o) = (chunk(2).tanh(), chunk(3).sigmoid());
            c = &f * &c + &i * &cell;
            h = &o * &c.tanh();
            outputs.push(h.clone());
        }
        Tensor::stack(&outputs, 0).pow_scalar(2.0).mean().backward();
        optimizer.step();
    });
    // The gates' four slices per step send their gradients into the
    // gates' gradient buffer in place; the outputs are stacked once.
    assert_calls(&step, &[("cat", 1), ("add_at", 4 * steps)]);
    assert!(step.get("add_into").is_some_and(|&n| n >= steps), "{step:?}");
    assert_eq!(step.get("optimizer_update"), Some(&3), "{step:?}");
}
