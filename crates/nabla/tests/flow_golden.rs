//! RealNVP against PyTorch, in f64: the same architectures with PyTorch's
//! weights (loaded by name from safetensors files PyTorch wrote) give the
//! same latents, log-determinants, log-likelihoods, gradients and inverses
//! (fixtures from scripts/make_flow_fixtures.py, models from
//! scripts/realnvp_pytorch.py).

use std::collections::HashMap;

use nabla::checkpoint::{load_metadata, load_module, load_tensors};
use nabla::generative::flow::{FlowConfig, FlowModel};
use nabla::{Generator, Tensor};

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn assert_close(what: &str, got: &Tensor<f64>, want: &Tensor<f64>) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let (g, w) = (got.to_vec(), want.to_vec());
    let (mut worst, mut at) = (0.0f64, 0);
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        let excess = (a - b).abs() - (1e-10 + 1e-9 * b.abs());
        if excess > worst {
            worst = excess;
            at = i;
        }
    }
    assert!(
        worst <= 0.0,
        "{what}: element {at} is {} but PyTorch has {}",
        g[at],
        w[at]
    );
}

/// The flow of fixture `name` with PyTorch's weights, and its io tensors.
fn load(name: &str) -> (FlowModel<f64>, HashMap<String, Tensor<f64>>) {
    let io_path = fixture(&format!("flow_{name}_io.safetensors"));
    let config: FlowConfig =
        serde_json::from_str(&load_metadata(&io_path).expect("fixture loads")["nabla.config"])
            .expect("a config");
    let flow = FlowModel::new(&config, &mut Generator::new(0));
    let report = load_module(
        flow.module(),
        fixture(&format!("flow_{name}_weights.safetensors")),
        true,
    )
    .expect("PyTorch's weights load by name");
    assert!(report.is_complete());
    let io = load_tensors::<f64>(&io_path)
        .expect("fixture loads")
        .into_iter()
        .collect();
    (flow, io)
}

fn check(name: &str) {
    let (flow, io) = load(name);
    let x = io["input"].clone().requires_grad();
    let (z, log_det) = match &flow {
        FlowModel::Dense(m) => m.forward(&x),
        FlowModel::MultiScale(m) => m.forward(&x),
    };
    assert_close("z", &z, &io["z"]);
    assert_close("log_det", &log_det, &io["log_det"]);
    let log_prob = flow.log_prob(&x);
    assert_close("log_prob", &log_prob, &io["log_prob"]);
    log_prob.sum().backward();
    assert_close(
        "grad of the input",
        &x.grad().expect("a gradient"),
        &io["grad.input"],
    );
    let parameters = flow.module().named_parameters();
    assert!(parameters.len() > 10);
    for (pname, p) in parameters {
        let grad = p.grad().unwrap_or_else(|| panic!("{pname} has no gradient"));
        assert_close(&format!("grad of {pname}"), &grad, &io[&format!("grad.{pname}")]);
    }
    let inverse = match &flow {
        FlowModel::Dense(m) => m.inverse(&io["latent"]),
        FlowModel::MultiScale(m) => m.inverse(&io["latent"]),
    };
    assert_close("inverse", &inverse, &io["inverse"]);
}

#[test]
fn dense_realnvp_reproduces_pytorch() {
    check("dense");
}

#[test]
fn multiscale_realnvp_reproduces_pytorch() {
    check("multiscale");
}
