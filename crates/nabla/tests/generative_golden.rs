//! The VAE and the autoencoders against PyTorch: checkpoints written by
//! PyTorch (with nabla's metadata) load through `load_vae` and
//! `load_autoencoder`, and give PyTorch's outputs, loss and parameter
//! gradients (fixtures from scripts/make_generative_fixtures.py).

use std::collections::HashMap;

use nabla::checkpoint::load_tensors;
use nabla::generative::{load_autoencoder, load_vae, vae_loss, LatentModel};
use nabla::nn::loss::{binary_cross_entropy_with, Reduction};
use nabla::nn::Module;
use nabla::Tensor;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn io(name: &str) -> HashMap<String, Tensor> {
    load_tensors::<f32>(fixture(name))
        .expect("fixture loads")
        .into_iter()
        .collect()
}

#[track_caller]
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

/// Every parameter's gradient against PyTorch's `grad.<name>`.
#[track_caller]
fn assert_gradients(model: &dyn Module, io: &HashMap<String, Tensor>) {
    for (name, p) in model.named_parameters() {
        let grad = p.grad().unwrap_or_else(|| panic!("{name} has no gradient"));
        assert_close(
            &format!("grad of {name}"),
            &grad,
            &io[&format!("grad.{name}")],
            1e-4,
            1e-4,
        );
    }
}

#[test]
fn a_pytorch_vae_loads_and_gives_its_outputs_loss_and_gradients() {
    let vae = load_vae(fixture("vae_weights.safetensors")).expect("PyTorch's VAE loads");
    assert_eq!((vae.config().hidden_size, vae.config().latent_size), (16, 4));
    let io = io("vae_io.safetensors");
    let out = vae.forward_with_noise(&io["input"], &io["noise"]);
    assert_close("mu", &out.mu, &io["mu"], 1e-5, 1e-4);
    assert_close("logvar", &out.logvar, &io["logvar"], 1e-5, 1e-4);
    assert_close(
        "reconstruction",
        &out.reconstruction,
        &io["reconstruction"],
        1e-6,
        1e-4,
    );
    let terms = vae_loss(&out, &io["input"]);
    assert_close(
        "reconstruction loss",
        &terms.reconstruction,
        &io["reconstruction_loss"],
        1e-3,
        1e-5,
    );
    assert_close("kl", &terms.kl, &io["kl"], 1e-4, 1e-5);
    let loss = terms.total();
    assert_close("loss", &loss, &io["loss"], 1e-3, 1e-5);
    loss.backward();
    assert_gradients(&vae, &io);
}

#[test]
fn pytorch_autoencoders_load_and_give_their_codes_loss_and_gradients() {
    for name in ["ae", "conv_ae"] {
        let model = load_autoencoder(fixture(&format!("{name}_weights.safetensors")))
            .unwrap_or_else(|e| panic!("PyTorch's {name} loads: {e}"));
        assert_eq!(model.latent_size(), 3, "{name}");
        let io = io(&format!("{name}_io.safetensors"));
        let code = model.embed(&io["input"]);
        assert_close(&format!("{name} code"), &code, &io["code"], 1e-5, 1e-4);
        let reconstruction = model.decode(&code);
        assert_close(
            &format!("{name} reconstruction"),
            &reconstruction,
            &io["reconstruction"],
            1e-6,
            1e-4,
        );
        let target = io["input"].reshape(&[5, 784]);
        let loss = binary_cross_entropy_with(&reconstruction, &target, None, Reduction::Sum).div_scalar(5.0);
        assert_close(&format!("{name} loss"), &loss, &io["loss"], 1e-4, 1e-5);
        loss.backward();
        assert_gradients(&model, &io);
    }
}
