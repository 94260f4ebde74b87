//! LeNet-5 against PyTorch: the reference model's weights loaded from a
//! safetensors file written by PyTorch give the same logits and the same
//! gradients (fixtures from scripts/make_lenet_fixtures.py).

use std::collections::HashMap;

use nabla::checkpoint::{load_module, load_tensors};
use nabla::nn::{zoo, Layer, Module};
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

#[test]
fn a_pytorch_batchnorm_checkpoint_with_int64_counters_loads() {
    use nabla::nn::{BatchNorm2d, Conv2d, Sequential};
    let mut g = Generator::new(0);
    let mut model: Sequential = Sequential::new()
        .add(Conv2d::new(1, 2, 3, &mut g))
        .add(BatchNorm2d::new(2));
    load_module(&model, fixture("conv_bn_weights.safetensors"), true)
        .expect("PyTorch's BatchNorm state loads");
    let counter = model
        .state_dict()
        .into_iter()
        .find(|(n, _)| n == "1.num_batches_tracked")
        .unwrap()
        .1;
    assert_eq!(counter.item(), 3.0);
    model.eval();
    let io: HashMap<String, Tensor> = load_tensors::<f32>(fixture("conv_bn_io.safetensors"))
        .expect("fixture loads")
        .into_iter()
        .collect();
    assert_close(
        "eval output",
        &model.forward(&io["input"]),
        &io["output"],
        1e-5,
        1e-4,
    );
}
