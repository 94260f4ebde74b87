//! `nabla train --model dcgan|wgan-gp` and `nabla sample` end to end, on a
//! tiny GAN and a few hundred digits: the run's files (checkpoint with its
//! metadata, metrics with the scores, a grid per epoch, the GIF), sampling
//! from the checkpoint, and the errors for what does not fit.

mod common;

use common::{nabla, scratch, stderr, stdout};
use nabla::checkpoint::load_metadata;

const TINY: &[&str] = &[
    "--limit",
    "256",
    "--batch-size",
    "32",
    "--latent-dim",
    "8",
    "--feature-maps",
    "4",
    "--score-samples",
    "200",
    "--threads",
    "2",
];

fn png_size(path: &std::path::Path) -> (u32, u32) {
    image::image_dimensions(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_dcgan_run_writes_its_pictures_scores_and_a_checkpoint_that_sample_reads() {
    let out = scratch("gan_dcgan_run");
    let out_arg = out.to_str().unwrap();
    let mut args = vec!["train", "--model", "dcgan", "--epochs", "2", "--out", out_arg];
    args.extend_from_slice(TINY);
    let run = nabla(&args);
    assert!(run.status.success(), "{}{}", stdout(&run), stderr(&run));
    let text = stdout(&run);
    assert!(
        text.contains("reference: the 256 MNIST training digits score"),
        "{text}"
    );
    assert!(
        text.contains("epoch   2/2") && text.contains("MNIST score"),
        "{text}"
    );

    let metadata = load_metadata(out.join("model.safetensors")).unwrap();
    assert_eq!(metadata["nabla.model"], "dcgan");
    assert_eq!(metadata["nabla.config"], r#"{"latent_dim":8,"feature_maps":4}"#);
    assert!(
        !metadata.contains_key("nabla.ema"),
        "no moving average unless asked for"
    );
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 2);
    let last: serde_json::Value = serde_json::from_str(metrics.lines().last().unwrap()).unwrap();
    let score = last["val_mnist_score"].as_f64().unwrap();
    assert!((1.0..=10.0).contains(&score) && last["val_frechet_distance"].as_f64().unwrap() > 0.0);
    assert!(last["train_d_loss"].as_f64().unwrap().is_finite());
    // 8 x 8 digits of 28 x 28 pixels drawn 2 x 2 with 2-pixel gaps.
    assert_eq!(png_size(&out.join("samples/epoch-02.png")), (466, 466));
    let gif = std::fs::read(out.join("samples.gif")).unwrap();
    assert!(gif.starts_with(b"GIF89a"));
    assert!(out.join("curves.png").exists());

    let grid = out.join("grid.png");
    let checkpoint = out.join("model.safetensors");
    let sample = nabla(&[
        "sample",
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--n",
        "9",
        "--out",
        grid.to_str().unwrap(),
    ]);
    assert!(sample.status.success(), "{}", stderr(&sample));
    assert_eq!(png_size(&grid), (3 * 58 + 2, 3 * 58 + 2));
    let walk = out.join("walk.png");
    let sample = nabla(&[
        "sample",
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--n",
        "20",
        "--interpolate",
        "--out",
        walk.to_str().unwrap(),
    ]);
    assert!(sample.status.success(), "{}", stderr(&sample));
    assert_eq!(png_size(&walk), (10 * 58 + 2, 2 * 58 + 2));
    // A GAN's interpolation runs between random points, not test digits.
    let between = nabla(&[
        "sample",
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--interpolate",
        "--between",
        "0",
        "1",
        "--out",
        walk.to_str().unwrap(),
    ]);
    assert_eq!(between.status.code(), Some(1));
    assert!(
        stderr(&between).contains("holds a dcgan model"),
        "{}",
        stderr(&between)
    );

    // A second run into the same folder needs --overwrite.
    let again = nabla(&args);
    assert!(
        !again.status.success() && stderr(&again).contains("--overwrite"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn a_wgan_gp_run_trains_and_records_its_kind() {
    let out = scratch("gan_wgan_run");
    let mut args = vec![
        "train",
        "--model",
        "wgan-gp",
        "--epochs",
        "1",
        "--n-critic",
        "2",
        "--ema-decay",
        "0.9",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(TINY);
    let run = nabla(&args);
    assert!(run.status.success(), "{}{}", stdout(&run), stderr(&run));
    let text = stdout(&run);
    assert!(
        text.contains("2 critic steps per generator step, penalty weight 10"),
        "{text}"
    );
    assert!(
        text.contains("sampling from the generator's moving average (decay 0.9)"),
        "{text}"
    );
    assert!(text.contains("(last step's weights: "), "{text}");
    let metadata = load_metadata(out.join("model.safetensors")).unwrap();
    assert_eq!(metadata["nabla.model"], "wgan-gp");
    // 256 digits at batch 32, a generator step every 2 critic steps: 4
    // updates after the initial copy.
    assert_eq!(
        metadata["nabla.ema"],
        r#"{"decay":0.9,"n_averaged":5,"bias_corrected":true}"#
    );
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert!(metrics.contains("train_gradient_penalty"), "{metrics}");
    assert!(metrics.contains("val_online_mnist_score"), "{metrics}");
}

#[test]
fn options_that_do_not_fit_a_gan_are_refused_with_their_name() {
    let out = scratch("gan_refused");
    let out_arg = out.to_str().unwrap();
    for (extra, expected) in [
        (
            &["--model", "dcgan", "--n-critic", "3"][..],
            "--n-critic is an option of wgan-gp",
        ),
        (
            &["--model", "dcgan", "--optimizer", "sgd"][..],
            "--optimizer is not an option of dcgan",
        ),
        (
            &["--model", "wgan-gp", "--dataset", "cifar10"][..],
            "trains on mnist",
        ),
        (
            &["--model", "dcgan", "--score-samples", "1"][..],
            "--score-samples 1",
        ),
    ] {
        let mut args = vec!["train", "--out", out_arg];
        args.extend_from_slice(extra);
        let run = nabla(&args);
        assert!(!run.status.success(), "{extra:?} was accepted");
        assert!(stderr(&run).contains(expected), "{extra:?}: {}", stderr(&run));
        assert!(!stderr(&run).contains("panicked"), "{}", stderr(&run));
    }
}

#[test]
fn sample_names_a_checkpoint_that_is_not_a_generative_model() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../nabla/tests/fixtures/lenet5_trained.safetensors"
    );
    let out = scratch("gan_sample_wrong").join("x.png");
    let run = nabla(&["sample", "--checkpoint", fixture, "--out", out.to_str().unwrap()]);
    assert!(!run.status.success());
    let message = stderr(&run);
    assert!(
        message.contains("lenet5_trained.safetensors") && message.contains("nabla.model"),
        "{message}"
    );

    let judge = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/mnist-lenet5/lenet5.safetensors"
    );
    let run = nabla(&[
        "sample",
        "--checkpoint",
        judge,
        "--n",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        !run.status.success() && stderr(&run).contains("--n"),
        "{}",
        stderr(&run)
    );
}
