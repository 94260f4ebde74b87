//! Trains the VAE of PyTorch's `examples/vae`, or an autoencoder, on the
//! bundled MNIST with the library alone (chapter 10 of the course).
//!
//! The VAE: 784 -> 400 -> 20 latents and back, Adam 1e-3, batch 128,
//! pixels in [0, 1], the loss the summed binary cross-entropy plus the KL
//! term. After every epoch the example prints the test loss in nats per
//! example (the negative ELBO, as PyTorch's example reports it); at the
//! end, an importance-weighted estimate of the test log-likelihood on the
//! first 1,000 test digits, and it writes `vae.safetensors`, which `nabla
//! sample --checkpoint vae.safetensors --out grid.png` draws from.
//!
//! `ae` and `conv-ae` train the MLP and the convolutional autoencoder (32
//! latents) the same way on the reconstruction loss, and write
//! `ae.safetensors` or `conv-ae.safetensors` (`nabla sample --interpolate`
//! reads them).
//!
//! Run with `cargo run --release -p nabla --example vae -- [vae|ae|conv-ae]
//! [epochs] [k]` (the VAE, 10 epochs and k = 100 draws per image by
//! default). `nabla train --model vae` (or `ae`, `conv-ae`) does the same
//! with a progress bar, metrics, curves and pictures.

use std::sync::Arc;

use nabla::data::{Batch, DataLoader, LabeledDataset, LoaderConfig, Mnist, Split};
use nabla::generative::{
    importance_weighted_log_likelihood, save_autoencoder, save_vae, AnyAutoencoder, AutoencoderConfig,
    NegativeElbo, Reconstruction, Vae, VaeConfig,
};
use nabla::nn::Module;
use nabla::optim::{Adam, AdamConfig};
use nabla::train::{fit, EpochSummary, TrainConfig, TrainObserver};
use nabla::Generator;

/// Prints the test loss after each epoch, as PyTorch's example does.
struct PrintTestLoss;

impl TrainObserver for PrintTestLoss {
    fn on_epoch(&mut self, summary: &EpochSummary) {
        let test = summary.validation.as_ref().and_then(|m| m.get("loss"));
        println!(
            "epoch {:2}: train loss {:.2}, test loss {:.2} nats per example",
            summary.epoch + 1,
            summary.train.get("loss").unwrap_or(f64::NAN),
            test.unwrap_or(f64::NAN)
        );
    }
}

fn main() -> nabla::Result<()> {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "vae".to_string());
    let epochs: usize = args.next().map_or(10, |a| a.parse().expect("epochs: a number"));
    let k: usize = args.next().map_or(100, |a| a.parse().expect("k: a number"));
    let train: Arc<dyn LabeledDataset> = Arc::new(Mnist::bundled(Split::Train)?);
    let test: Arc<dyn LabeledDataset> = Arc::new(Mnist::bundled(Split::Test)?);
    let loader = |set: &Arc<dyn LabeledDataset>, shuffle| {
        let config = LoaderConfig {
            batch_size: 128,
            shuffle,
            seed: 1,
            ..LoaderConfig::default()
        };
        DataLoader::new(set.clone(), config)
    };
    let (train_loader, test_loader) = (loader(&train, true), loader(&test, false));
    let config = TrainConfig {
        epochs,
        ..TrainConfig::default()
    };
    let mut generator = Generator::new(1);
    if kind != "vae" {
        let sizes = match kind.as_str() {
            "conv-ae" => AutoencoderConfig::conv(32),
            _ => AutoencoderConfig::mlp(32),
        };
        let mut model = AnyAutoencoder::new(&kind, &sizes, &mut generator)
            .unwrap_or_else(|e| panic!("{kind}: {e} (give vae, ae or conv-ae)"));
        let mut optimizer = Adam::new(model.parameters(), AdamConfig::new(1e-3));
        let step = &mut Reconstruction;
        fit(
            &mut model,
            step,
            &mut optimizer,
            None,
            &train_loader,
            Some(&test_loader),
            &config,
            &mut PrintTestLoss,
        )?;
        let path = format!("{kind}.safetensors");
        save_autoencoder(&model, &path)?;
        println!("wrote {path}");
        return Ok(());
    }
    let mut vae = Vae::new(&VaeConfig::mnist(), &mut generator);
    let mut optimizer = Adam::new(vae.parameters(), AdamConfig::new(1e-3));
    let step = &mut NegativeElbo::new(1);
    fit(
        &mut vae,
        step,
        &mut optimizer,
        None,
        &train_loader,
        Some(&test_loader),
        &config,
        &mut PrintTestLoss,
    )?;

    let first: Vec<usize> = (0..1000).collect();
    let digits = Batch::collect(&*test, &first);
    let log_p = importance_weighted_log_likelihood(&vae, &digits.inputs, k, &mut Generator::new(2));
    println!(
        "importance-weighted test log-likelihood, {k} draws per image, first 1,000 test digits: {:.2} nats",
        log_p.mean().item()
    );
    save_vae(&vae, "vae.safetensors")?;
    println!("wrote vae.safetensors");
    Ok(())
}
