//! `nabla train --model ae|conv-ae|vae` and `nabla sample` end to end: tiny
//! runs on a few hundred MNIST digits, their files, pictures and
//! checkpoints, sampling and interpolating from them, resuming, and the
//! errors for options and checkpoints that do not fit.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// The options of a one-epoch run of `model` on 256 digits.
fn tiny_run<'a>(model: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "train",
        "--model",
        model,
        "--epochs",
        "1",
        "--limit",
        "256",
        "--workers",
        "0",
        "--threads",
        "1",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    args
}

/// Trains `model` for one epoch into a fresh folder; returns the folder.
fn trained(name: &str, model: &str, extra: &[&str]) -> PathBuf {
    let out = scratch(name);
    let run = nabla(&tiny_run(model, out.to_str().unwrap(), extra));
    assert!(run.status.success(), "{}", stderr(&run));
    out
}

fn png_size(path: &Path) -> (u32, u32) {
    image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_luma8()
        .dimensions()
}

/// 8 columns of 56-pixel digits with 2-pixel lines: 466 pixels wide.
const GRID_WIDTH: u32 = 8 * 58 + 2;

#[test]
fn a_vae_run_writes_its_model_metrics_and_pictures() {
    let out = scratch("vae-run");
    let run = nabla(&tiny_run(
        "vae",
        out.to_str().unwrap(),
        &["--latent-dim", "2", "--iw-samples", "3"],
    ));
    assert!(run.status.success(), "{}", stderr(&run));
    let text = stdout(&run);
    assert!(text.contains("training vae ("), "{text}");
    assert!(text.contains("2 latents"), "{text}");
    assert!(text.contains("test loss"), "{text}");
    assert!(text.contains("(reconstruction "), "{text}");
    assert!(text.contains("importance-weighted, 3 samples"), "{text}");
    for file in [
        "model.safetensors",
        "metrics.jsonl",
        "curves.png",
        "reconstructions.png",
        "samples.png",
        "interpolation.png",
        "latent.png",
    ] {
        assert!(out.join(file).exists(), "{file} missing: {text}");
    }
    // 2 pairs of rows of 8 (inputs, reconstructions); 8 x 8 samples; the
    // two ends and 10 points.
    assert_eq!(
        png_size(&out.join("reconstructions.png")),
        (GRID_WIDTH, 4 * 58 + 2)
    );
    assert_eq!(png_size(&out.join("samples.png")), (GRID_WIDTH, GRID_WIDTH));
    assert_eq!(png_size(&out.join("interpolation.png")), (12 * 58 + 2, 58 + 2));
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{metrics}");
    let epoch = &lines[0];
    let (loss, reconstruction, kl) = (
        epoch["val_loss"].as_f64().unwrap(),
        epoch["val_reconstruction"].as_f64().unwrap(),
        epoch["val_kl"].as_f64().unwrap(),
    );
    assert!((loss - reconstruction - kl).abs() < 1e-3 * loss, "{epoch}");
    assert!(
        loss < 543.0,
        "an epoch lowers the test loss below 784 ln 2: {loss}"
    );
    let test = &lines[1];
    assert_eq!(
        (test["kind"].as_str(), test["iw_samples"].as_u64()),
        (Some("test"), Some(3))
    );
    // The estimate is a tighter bound than the ELBO, so above -loss (give
    // or take the noise of one draw per image).
    assert!(
        test["log_likelihood"].as_f64().unwrap() > -loss - 1.0,
        "{test} vs {loss}"
    );
}

#[test]
fn sample_draws_from_a_vae_and_interpolates_between_test_digits() {
    let out = trained("vae-sample", "vae", &[]);
    let model = out.join("model.safetensors");
    let model = model.to_str().unwrap();
    let grid = out.join("grid.png");
    let run = nabla(&["sample", "--checkpoint", model, "--out", grid.to_str().unwrap()]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stdout(&run).contains("64 digits decoded from latents drawn from the prior (seed 0)"));
    assert_eq!(png_size(&grid), (GRID_WIDTH, GRID_WIDTH));
    let first = std::fs::read(&grid).unwrap();
    // The same seed draws the same digits; another seed others.
    let again = nabla(&["sample", "--checkpoint", model, "--out", grid.to_str().unwrap()]);
    assert!(again.status.success());
    assert_eq!(std::fs::read(&grid).unwrap(), first);
    let other = out.join("other.png");
    let run = nabla(&[
        "sample",
        "--checkpoint",
        model,
        "--n",
        "16",
        "--seed",
        "3",
        "--out",
        other.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(png_size(&other), (GRID_WIDTH, 2 * 58 + 2));

    let strip = out.join("strip.png");
    let run = nabla(&[
        "sample",
        "--checkpoint",
        model,
        "--interpolate",
        "--between",
        "3",
        "4",
        "--n",
        "6",
        "--out",
        strip.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stdout(&run).contains("test digits 3 and 4 at the ends, 6 decoded points"));
    assert_eq!(png_size(&strip), (8 * 58 + 2, 58 + 2));
}

#[test]
fn autoencoder_runs_reconstruct_and_interpolate_but_have_no_prior() {
    for model in ["ae", "conv-ae"] {
        let out = trained(&format!("{model}-run"), model, &["--latent-dim", "2"]);
        for file in [
            "model.safetensors",
            "reconstructions.png",
            "interpolation.png",
            "latent.png",
        ] {
            assert!(out.join(file).exists(), "{model}: {file} missing");
        }
        assert!(
            !out.join("samples.png").exists(),
            "{model} has no prior to sample"
        );
        let checkpoint = out.join("model.safetensors");
        let checkpoint = checkpoint.to_str().unwrap();
        let grid = out.join("grid.png");
        let run = nabla(&[
            "sample",
            "--checkpoint",
            checkpoint,
            "--out",
            grid.to_str().unwrap(),
        ]);
        assert_eq!(run.status.code(), Some(1));
        assert!(
            stderr(&run).contains(&format!(
                "holds an autoencoder ({model}), which has no prior to sample from"
            )),
            "{}",
            stderr(&run)
        );
        let run = nabla(&[
            "sample",
            "--checkpoint",
            checkpoint,
            "--interpolate",
            "--out",
            grid.to_str().unwrap(),
        ]);
        assert!(run.status.success(), "{}", stderr(&run));
        assert!(
            stdout(&run).contains("test digits 0 and 1 at the ends"),
            "{}",
            stdout(&run)
        );
    }
}

#[test]
fn a_vae_run_resumes_with_its_recorded_latent_size() {
    let out = trained("vae-resume", "vae", &["--latent-dim", "3"]);
    let checkpoints = out.join("checkpoints");
    let run = nabla(&[
        "train",
        "--model",
        "vae",
        "--epochs",
        "2",
        "--limit",
        "256",
        "--workers",
        "0",
        "--threads",
        "1",
        "--resume",
        checkpoints.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let text = stdout(&run);
    assert!(
        text.contains("3 latents") && text.contains("resuming at epoch 2"),
        "{text}"
    );
    let run = nabla(&[
        "train",
        "--model",
        "vae",
        "--latent-dim",
        "5",
        "--epochs",
        "3",
        "--limit",
        "256",
        "--workers",
        "0",
        "--resume",
        checkpoints.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("--latent-dim 5 differs from the resumed run's 3 latents"),
        "{}",
        stderr(&run)
    );
    let run = nabla(&[
        "train",
        "--model",
        "ae",
        "--epochs",
        "3",
        "--limit",
        "256",
        "--workers",
        "0",
        "--resume",
        checkpoints.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("holds a vae model, not a ae (give --model vae)"),
        "{}",
        stderr(&run)
    );
}

#[test]
fn sample_refuses_checkpoints_it_cannot_draw_from() {
    let dir = scratch("sample-refusals");
    let out = dir.join("x.png");
    let out = out.to_str().unwrap();
    // A checkpoint with no kind: a plain state dict.
    let plain = dir.join("plain.safetensors");
    let layer = nabla::nn::Linear::<f32>::new(2, 2, true, &mut nabla::Generator::new(0));
    nabla::checkpoint::save_module(&layer, &plain).unwrap();
    let run = nabla(&["sample", "--checkpoint", plain.to_str().unwrap(), "--out", out]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("records no nabla.model: not a generative checkpoint"),
        "{}",
        stderr(&run)
    );
    // A checkpoint of a model sample does not know.
    let other = dir.join("gpt.safetensors");
    let metadata = std::collections::HashMap::from([("nabla.model".to_string(), "char-gpt".to_string())]);
    nabla::checkpoint::save_tensors(&other, &layer_state(&layer), Some(metadata)).unwrap();
    let run = nabla(&["sample", "--checkpoint", other.to_str().unwrap(), "--out", out]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("holds a char-gpt model; nabla sample draws from a vae"),
        "{}",
        stderr(&run)
    );
    // A file that is not there.
    let run = nabla(&["sample", "--checkpoint", "no/such.safetensors", "--out", out]);
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr(&run).contains("no/such.safetensors"), "{}", stderr(&run));
    // --between without --interpolate is a usage error.
    let run = nabla(&["sample", "--checkpoint", "x", "--between", "1", "2", "--out", out]);
    assert_eq!(run.status.code(), Some(2));
}

fn layer_state(layer: &nabla::nn::Linear) -> Vec<(String, nabla::Tensor)> {
    use nabla::nn::Module;
    layer.state_dict()
}

#[test]
fn options_that_do_not_fit_the_model_are_refused_by_name() {
    let out = scratch("ae-refusals");
    let out = out.to_str().unwrap();
    for (model, extra, message) in [
        (
            "ae",
            vec!["--iw-samples", "5"],
            "--iw-samples is an option of the VAE (--model vae), not of ae",
        ),
        (
            "vae",
            vec!["--momentum", "0.5"],
            "--momentum is not an option of vae",
        ),
        (
            "vae",
            vec!["--optimizer", "sgd"],
            "--optimizer other than adam is not an option of vae",
        ),
        (
            "conv-ae",
            vec!["--schedule", "cosine"],
            "--schedule other than none is not an option of conv-ae",
        ),
        (
            "vae",
            vec!["--max-steps", "5"],
            "--max-steps is an option of the language models, not of vae",
        ),
        (
            "vae",
            vec!["--no-normalize"],
            "--no-normalize: vae always reads pixels in [0, 1]",
        ),
        (
            "vae",
            vec!["--dataset", "tinyshakespeare"],
            "tinyshakespeare is text",
        ),
        (
            "vae",
            vec!["--n-critic", "3"],
            "--n-critic is an option of the GANs (--model dcgan or wgan-gp), not of vae",
        ),
        (
            "conv-ae",
            vec!["--couplings", "2"],
            "--couplings is an option of the flows (--model realnvp), not of conv-ae",
        ),
        (
            "lenet5",
            vec!["--latent-dim", "2"],
            "--latent-dim is an option of the autoencoders, the VAE and the GANs, not of lenet5",
        ),
    ] {
        let run = nabla(&tiny_run(model, out, &extra));
        assert_eq!(run.status.code(), Some(1), "{model} {extra:?}");
        assert!(
            stderr(&run).contains(message),
            "{model} {extra:?}: {}",
            stderr(&run)
        );
    }
}

#[test]
fn nonsense_values_of_the_new_options_never_panic() {
    let runs = scratch("ae-walk");
    for option in ["--latent-dim", "--iw-samples"] {
        for (j, value) in NONSENSE.iter().enumerate() {
            let out = runs.join(format!("{option}-{j}"));
            let args = tiny_run("vae", out.to_str().unwrap(), &[option, value]);
            check_no_panic(&args);
        }
    }
    let model = trained("ae-walk-model", "vae", &[]);
    let model = model.join("model.safetensors");
    let grid = runs.join("grid.png");
    for option in ["--n", "--seed", "--threads"] {
        for value in NONSENSE {
            check_no_panic(&[
                "sample",
                "--checkpoint",
                model.to_str().unwrap(),
                option,
                value,
                "--out",
                grid.to_str().unwrap(),
            ]);
        }
    }
}
