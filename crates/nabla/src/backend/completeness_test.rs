//! The seam is complete: training steps run through the counted backend.
//!
//! The compiler keeps tensor memory private to the backend module; these
//! tests show that real workloads compute only through named operations
//! (forward, backward and the optimizer step make no host transfer and run
//! no host closure) and which operations they use, so that a second
//! backend knows what it must implement first.

use std::collections::BTreeMap;

use super::counting::calls;
use crate::nn::{
    zoo, AttentionMask, Layer, Lstm, Module, RnnOptions, TransformerEncoderLayer, TransformerLayerOptions,
    TransformerMasks,
};
use crate::optim::{
    Adagrad, AdagradConfig, Adam, AdamConfig, AdamW, AdamWConfig, Optimizer, RmsProp, RmsPropConfig, Sgd,
    SgdConfig,
};
use crate::tensor::{Generator, IndexTensor, Tensor};

type Calls = BTreeMap<&'static str, usize>;

/// Builds an optimizer over the given parameters.
type MakeOptimizer = fn(Vec<Tensor>) -> Box<dyn Optimizer>;

/// The operations that move values between tensor memory and the host:
/// a training step that calls none of them ran entirely on its device.
const HOST_ACCESS: [&str; 4] = ["read_host", "update_host", "element", "map_host"];

fn assert_no_host_access(calls: &Calls) {
    for name in HOST_ACCESS {
        assert!(!calls.contains_key(name), "{name} in {calls:?}");
    }
}

/// Asserts that each of `expected` was called exactly that many times.
fn assert_calls(calls: &Calls, expected: &[(&str, usize)]) {
    for &(name, n) in expected {
        assert_eq!(calls.get(name), Some(&n), "{name} in {calls:?}");
    }
}

/// Asserts that each of `names` was called.
fn assert_used(calls: &Calls, names: &[&str]) {
    for name in names {
        assert!(calls.contains_key(name), "{name} not in {calls:?}");
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
    assert_no_host_access(&step);
    // Two convolutions and poolings forward and back (the first
    // convolution's input needs no gradient); three linear layers, each
    // one product forward and two back; cross-entropy's log-softmax, and
    // the gather of the targets' log-probabilities whose gradient is added
    // back in place; one update per parameter.
    assert_calls(
        &step,
        &[
            ("conv2d", 2),
            ("conv2d_weight_grad", 2),
            ("conv2d_input_grad", 1),
            ("max_pool2d", 2),
            ("max_pool2d_scatter", 2),
            ("matmul", 9),
            ("softmax", 1),
            ("gather", 1),
            ("add_at", 1),
            ("optimizer_update", model.parameters().len()),
        ],
    );
    // ReLU, bias adds and the loss's mean and sums.
    assert_used(&step, &["unary", "binary", "sum_dims", "reduce_all"]);
}

/// `nn::Lstm` runs each layer and direction as one fused op each way, and
/// its step needs no host access either.
#[test]
fn an_lstm_layer_runs_one_fused_op_per_layer_and_direction() {
    let mut g = Generator::new(2);
    let options = RnnOptions::default().num_layers(2).bidirectional(true);
    let lstm = Lstm::<f32>::with_options(8, 16, options, &mut g);
    let x = Tensor::<f32>::randn(&[5, 3, 8], &mut g);
    let ((), step) = calls(|| {
        let (out, _) = lstm.forward(&x, None);
        out.pow_scalar(2.0).mean().backward();
    });
    assert_no_host_access(&step);
    assert_calls(&step, &[("lstm_forward", 4), ("lstm_backward", 4)]);
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
    assert_no_host_access(&step);
    // Two products per step forward; back, the gradients of both weights
    // at every step and of `h` at all but the first (whose `h` is a
    // constant). The gates' four slices per step send their gradients into
    // the gates' gradient buffer in place; the outputs are stacked once.
    assert_calls(
        &step,
        &[
            ("matmul", 2 * steps + 2 * steps + (steps - 1)),
            ("cat", 1),
            ("add_at", 4 * steps),
            ("optimizer_update", 3),
        ],
    );
    assert!(step.get("add_into").is_some_and(|&n| n >= steps), "{step:?}");
    assert_used(&step, &["unary", "binary", "sum_dims", "reduce_all"]);
}

#[test]
fn a_transformer_layer_step_runs_through_the_backend() {
    let (batch, len, d, heads) = (4, 16, 32, 4);
    let mut g = Generator::new(3);
    let options = TransformerLayerOptions::default()
        .dim_feedforward(4 * d)
        .batch_first(true)
        .norm_first(true);
    let layer = TransformerEncoderLayer::<f32>::new(d, heads, options, &mut g);
    let x = Tensor::<f32>::randn(&[batch, len, d], &mut g);
    let mut padding = vec![0.0; batch * len];
    padding[len - 3..len].fill(1.0);
    let padding = AttentionMask::Block(Tensor::from_vec(padding, &[batch, len]));
    let mut optimizer = AdamW::new(layer.parameters(), AdamWConfig::new(1e-3));
    let ((), step) = calls(|| {
        let masks = TransformerMasks::causal().key_padding_mask(&padding);
        layer.forward_with(&x, &masks).pow_scalar(2.0).mean().backward();
        optimizer.step();
    });
    assert_no_host_access(&step);
    // Every head and batch element in one fused masked softmax; the three
    // dropouts and the attention weights' draw their masks on the device.
    assert_calls(
        &step,
        &[
            ("attention_softmax", 1),
            ("random_fill", 4),
            ("optimizer_update", layer.parameters().len()),
        ],
    );
    assert!(!step.contains_key("softmax"), "{step:?}");
    assert_used(&step, &["matmul", "unary", "binary", "sum_dims"]);
}

#[test]
fn every_optimizer_updates_through_the_backend() {
    let mut g = Generator::new(2);
    let optimizers: Vec<(&str, MakeOptimizer)> = vec![
        ("sgd", |p| Box::new(Sgd::new(p, SgdConfig::new(0.1)))),
        ("sgd with momentum", |p| {
            Box::new(Sgd::new(p, SgdConfig::new(0.1).momentum(0.9).nesterov(true)))
        }),
        ("adam", |p| {
            Box::new(Adam::new(p, AdamConfig::new(0.1).amsgrad(true)))
        }),
        ("adamw", |p| Box::new(AdamW::new(p, AdamWConfig::new(0.1)))),
        ("rmsprop", |p| {
            Box::new(RmsProp::new(
                p,
                RmsPropConfig::new(0.1).momentum(0.9).centered(true),
            ))
        }),
        ("adagrad", |p| Box::new(Adagrad::new(p, AdagradConfig::new(0.1)))),
    ];
    for (name, make) in optimizers {
        let w = Tensor::<f32>::randn(&[3, 4], &mut g).requires_grad();
        let b = Tensor::<f32>::randn(&[4], &mut g).requires_grad();
        let mut optimizer = make(vec![w.clone(), b.clone()]);
        let before = (w.to_vec(), b.to_vec());
        for first in [true, false] {
            optimizer.zero_grad();
            (w.sum() + b.sum()).backward();
            let ((), step) = calls(|| optimizer.step());
            // One update per parameter and nothing else, but for the state
            // buffers that a first step allocates.
            assert_calls(&step, &[("optimizer_update", 2)]);
            let allowed: &[&str] = if first {
                &["optimizer_update", "full"]
            } else {
                &["optimizer_update"]
            };
            assert!(step.keys().all(|k| allowed.contains(k)), "{name}: {step:?}");
        }
        // Every gradient is 1, so every optimizer lowers every parameter.
        let lowered = |now: Vec<f32>, was: Vec<f32>| now.iter().zip(&was).all(|(n, w)| n < w);
        assert!(lowered(w.to_vec(), before.0), "{name}");
        assert!(lowered(b.to_vec(), before.1), "{name}");
    }
}
