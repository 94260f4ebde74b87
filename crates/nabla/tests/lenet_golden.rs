//! LeNet-5 against PyTorch: the reference model's weights loaded from a
//! safetensors file written by PyTorch give the same logits and the same
//! gradients (fixtures from scripts/make_lenet_fixtures.py).

use std::collections::HashMap;

use nabla::checkpoint::{load_module, load_tensors};
use nabla::nn::{zoo, Module};
use nabla::{Generator, Tensor};

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn assert_close(what: &str, got: &Tensor, want: &Tensor, atol: f32, rtol: f32) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let (g, w) = (got.to_vec(), want.to_vec());
    let (mut worst, mut at) = (0.0f32, 0);
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        let excess = (a - b).abs() - (atol + rtol * b.abs());
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

#[test]
fn lenet5_reproduces_pytorch_logits_and_gradients() {
    let model = zoo::lenet5::<f32>(&mut Generator::new(0));
    let report =
        load_module(&model, fixture("lenet5_weights.safetensors"), true).expect("PyTorch's weights load");
    assert!(report.is_complete());
    let io: HashMap<String, Tensor> = load_tensors::<f32>(fixture("lenet5_io.safetensors"))
        .expect("fixture loads")
        .into_iter()
        .collect();
    let x = io["input"].clone().requires_grad();
    let logits = model.forward(&x);
    assert_close("logits", &logits, &io["logits"], 1e-5, 1e-4);
    logits.backward_with(&io["upstream"]);
    for (name, p) in model.named_parameters() {
        let grad = p.grad().unwrap_or_else(|| panic!("{name} has no gradient"));
        assert_close(
            &format!("grad of {name}"),
            &grad,
            &io[&format!("grad.{name}")],
            1e-5,
            1e-4,
        );
    }
    assert_close("grad of input", &x.grad().unwrap(), &io["grad.input"], 1e-6, 1e-4);
}
