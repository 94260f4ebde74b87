//! A multi-scale RealNVP's training steps against PyTorch, in f64: from
//! the same initial weights, on the same dequantised digits, Adam with the
//! gradients clipped to norm 100 (as `nabla train --model realnvp
//! --dataset mnist` trains) gives the same loss at every step and the same
//! weights after the last (fixture from scripts/make_flow_training_fixture.py).
//! The same for a RealNVP on vectors trained as `nabla train --model realnvp
//! --dataset moons` trains it (Adam, no clipping, the NLL in nats), from
//! `make_flow_training_fixture.py --dense`: with PyTorch's initial weights
//! and batches, nabla's moons training follows PyTorch's step for step.

use std::collections::HashMap;

use nabla::checkpoint::{load_metadata, load_tensors};
use nabla::generative::flow::{FlowConfig, MultiScaleRealNvp, RealNvp};
use nabla::nn::Module;
use nabla::optim::{clip_grad_norm_, Adam, AdamConfig, Optimizer};
use nabla::{Generator, Tensor};

fn fixture() -> String {
    fixture_named("flow_training")
}

fn fixture_named(name: &str) -> String {
    format!("{}/tests/fixtures/{name}.safetensors", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn training_steps_reproduce_pytorch() {
    let metadata = load_metadata(fixture()).expect("fixture loads");
    let FlowConfig::MultiScale(config) = serde_json::from_str(&metadata["nabla.config"]).expect("a config")
    else {
        panic!("a multi-scale flow");
    };
    let lr: f64 = metadata["lr"].parse().expect("a rate");
    let clip: f64 = metadata["grad_clip"].parse().expect("a norm");
    let tensors: HashMap<String, Tensor<f64>> = load_tensors(fixture())
        .expect("fixture loads")
        .into_iter()
        .collect();
    let flow = MultiScaleRealNvp::<f64>::new(&config, &mut Generator::new(0));
    let parameters = flow.named_parameters();
    for (name, p) in &parameters {
        p.copy_from(&tensors[&format!("init.{name}")]);
    }
    let mut optimizer = Adam::new(flow.parameters(), AdamConfig::new(lr));
    let losses = tensors["loss"].to_vec();
    for (k, want) in losses.iter().enumerate() {
        let loss = flow.bits_per_dim(&tensors[&format!("batch.{k}")]).mean();
        assert!(
            (loss.item() - want).abs() < 1e-10,
            "step {k}: loss {} but PyTorch has {want}",
            loss.item()
        );
        optimizer.zero_grad();
        loss.backward();
        clip_grad_norm_(&flow.parameters(), clip);
        optimizer.step();
    }
    for (name, p) in &parameters {
        let want = tensors[&format!("final.{name}")].to_vec();
        for (i, (a, b)) in p.to_vec().iter().zip(&want).enumerate() {
            assert!(
                (a - b).abs() < 1e-9,
                "{name}[{i}] after {} steps: {a} but PyTorch has {b}",
                losses.len()
            );
        }
    }
}

#[test]
fn dense_training_steps_reproduce_pytorch() {
    let path = fixture_named("flow_training_dense");
    let metadata = load_metadata(&path).expect("fixture loads");
    let FlowConfig::Dense(config) = serde_json::from_str(&metadata["nabla.config"]).expect("a config") else {
        panic!("a dense flow");
    };
    let lr: f64 = metadata["lr"].parse().expect("a rate");
    let tensors: HashMap<String, Tensor<f64>> =
        load_tensors(&path).expect("fixture loads").into_iter().collect();
    let flow = RealNvp::<f64>::new(&config, &mut Generator::new(0));
    let parameters = flow.named_parameters();
    for (name, p) in &parameters {
        p.copy_from(&tensors[&format!("init.{name}")]);
    }
    let mut optimizer = Adam::new(flow.parameters(), AdamConfig::new(lr));
    let losses = tensors["loss"].to_vec();
    for (k, want) in losses.iter().enumerate() {
        let loss = flow.log_prob(&tensors[&format!("batch.{k}")]).mean().neg();
        assert!(
            (loss.item() - want).abs() < 1e-10,
            "step {k}: loss {} but PyTorch has {want}",
            loss.item()
        );
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
    }
    for (name, p) in &parameters {
        let want = tensors[&format!("final.{name}")].to_vec();
        for (i, (a, b)) in p.to_vec().iter().zip(&want).enumerate() {
            assert!(
                (a - b).abs() < 1e-9,
                "{name}[{i}] after {} steps: {a} but PyTorch has {b}",
                losses.len()
            );
        }
    }
}
