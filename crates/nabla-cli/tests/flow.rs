//! `nabla train --model realnvp` and `nabla sample` on its checkpoints, end
//! to end with small flows: the run's files and pictures, the checkpoint's
//! record, sampling, and the errors of options that do not fit.

mod common;

use std::path::Path;

use common::{check_no_panic, nabla, scratch, stderr, stdout, NONSENSE};

/// A 2-epoch moons run of a small flow into `out`.
fn small_moons(out: &str) -> Vec<&str> {
    vec![
        "train",
        "--model",
        "realnvp",
        "--dataset",
        "moons",
        "--epochs",
        "2",
        "--couplings",
        "2",
        "--coupling-width",
        "16",
        "--threads",
        "1",
        "--workers",
        "0",
        "--out",
        out,
    ]
}

fn png_size(path: &Path) -> (u32, u32) {
    image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8()
        .dimensions()
}

#[test]
fn a_moons_run_writes_its_density_and_samples_and_sample_reads_it() {
    let out = scratch("flow-moons");
    let run = nabla(&small_moons(out.to_str().unwrap()));
    assert!(run.status.success(), "{}", stderr(&run));
    let text = stdout(&run);
    assert!(text.starts_with("training realnvp ("), "{text}");
    assert!(text.contains("epoch   2/2: train "), "{text}");
    assert!(text.contains("validation negative log-likelihood "), "{text}");
    for file in [
        "model.safetensors",
        "metrics.jsonl",
        "curves.png",
        "density.png",
        "samples.png",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    assert_eq!(png_size(&out.join("density.png")), (560, 560));
    // The closing line gives the mean of the last (here both) epochs' figures.
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let val: Vec<f64> = metrics
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter_map(|v| v["val_loss"].as_f64())
        .collect();
    assert_eq!(val.len(), 2, "{metrics}");
    let mean = format!("mean of the last 2 {:.4})", (val[0] + val[1]) / 2.0);
    assert!(text.contains(&mean), "{mean} not in {text}");
    let metadata = nabla::checkpoint::load_metadata(out.join("model.safetensors")).unwrap();
    assert_eq!(metadata["nabla.model"], "realnvp");
    assert_eq!(
        metadata["nabla.config"],
        r#"{"architecture":"dense","features":2,"couplings":2,"hidden":16,"hidden_layers":4}"#
    );
    assert!(metadata["nabla.training"].contains(r#""dataset":"moons""#));

    let model = out.join("model.safetensors");
    let drawn = out.join("drawn.png");
    let sample = nabla(&[
        "sample",
        "--checkpoint",
        model.to_str().unwrap(),
        "--n",
        "500",
        "--out",
        drawn.to_str().unwrap(),
    ]);
    assert!(sample.status.success(), "{}", stderr(&sample));
    assert!(
        stdout(&sample).contains("500 points from the realnvp flow"),
        "{}",
        stdout(&sample)
    );
    assert_eq!(png_size(&drawn), (560, 560));

    let interpolate = nabla(&[
        "sample",
        "--checkpoint",
        model.to_str().unwrap(),
        "--interpolate",
        "--out",
        drawn.to_str().unwrap(),
    ]);
    assert_eq!(interpolate.status.code(), Some(1));
    assert!(
        stderr(&interpolate).contains("flow on points"),
        "{}",
        stderr(&interpolate)
    );
}

#[test]
fn an_mnist_run_writes_digits_that_sample_draws_again() {
    let out = scratch("flow-mnist");
    let run = nabla(&[
        "train",
        "--model",
        "realnvp",
        "--dataset",
        "mnist",
        "--limit",
        "64",
        "--epochs",
        "1",
        "--couplings",
        "1",
        "--coupling-width",
        "4",
        "--threads",
        "1",
        "--workers",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let text = stdout(&run);
    assert!(text.contains("bits/dim"), "{text}");
    assert!(
        text.contains("test ") && text.contains("after 1 epochs"),
        "{text}"
    );
    // 8 x 8 digits of 28 x 28 doubled, with 2-pixel gaps.
    assert_eq!(png_size(&out.join("samples.png")), (8 * 58 + 2, 8 * 58 + 2));

    let model = out.join("model.safetensors");
    let model = model.to_str().unwrap();
    let drawn = out.join("drawn.png");
    let grid = nabla(&[
        "sample",
        "--checkpoint",
        model,
        "--n",
        "9",
        "--out",
        drawn.to_str().unwrap(),
    ]);
    assert!(grid.status.success(), "{}", stderr(&grid));
    assert_eq!(png_size(&drawn), (3 * 58 + 2, 3 * 58 + 2));
    let rows = nabla(&[
        "sample",
        "--checkpoint",
        model,
        "--interpolate",
        "--n",
        "20",
        "--out",
        drawn.to_str().unwrap(),
    ]);
    assert!(rows.status.success(), "{}", stderr(&rows));
    assert_eq!(png_size(&drawn), (10 * 58 + 2, 2 * 58 + 2));
}

#[test]
fn sample_refuses_a_checkpoint_it_cannot_draw_from() {
    let dir = scratch("flow-sample-refuses");
    let model = dir.join("lm.safetensors");
    let metadata = std::collections::HashMap::from([("nabla.model".to_string(), "char-gpt".to_string())]);
    nabla::checkpoint::save_tensors::<f32>(&model, &[], Some(metadata)).unwrap();
    let out = nabla(&[
        "sample",
        "--checkpoint",
        model.to_str().unwrap(),
        "--out",
        dir.join("x.png").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("lm.safetensors holds a char-gpt model"), "{err}");
}

#[test]
fn flow_options_that_do_not_fit_are_one_line_errors() {
    let out = scratch("flow-refused");
    let out = out.to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["--dataset", "cifar10"], "realnvp trains on moons or mnist"),
        (
            &["--optimizer", "sgd"],
            "--optimizer other than adam is not an option of realnvp",
        ),
        (&["--momentum", "0.5"], "--momentum is not an option of realnvp"),
        (&["--limit", "10"], "--limit and --data-dir are for mnist"),
        (&["--max-steps", "10"], "--max-steps is not an option of realnvp"),
    ];
    for (extra, expected) in cases {
        let mut args = small_moons(out);
        // clap refuses a second --dataset (a usage error): replace moons.
        match args.iter().position(|&a| a == extra[0]) {
            Some(at) => args[at + 1] = extra[1],
            None => args.extend_from_slice(extra),
        }
        let run = nabla(&args);
        assert_eq!(run.status.code(), Some(1), "{extra:?}");
        let err = stderr(&run);
        assert!(
            err.contains(expected) && err.lines().count() == 1,
            "{extra:?}: {err}"
        );
    }
}

#[test]
fn no_numeric_option_of_a_flow_run_panics_on_any_value() {
    let runs = scratch("flow-walk");
    for (i, option) in [
        "--couplings",
        "--coupling-width",
        "--epochs",
        "--lr",
        "--batch-size",
        "--seed",
    ]
    .iter()
    .enumerate()
    {
        for (j, value) in NONSENSE.iter().enumerate() {
            let out = runs.join(format!("{i}-{j}"));
            let mut args: Vec<String> = small_moons(out.to_str().unwrap())
                .into_iter()
                .map(String::from)
                .collect();
            if let Some(at) = args.iter().position(|a| a == option) {
                args.drain(at..at + 2);
            }
            args.push(format!("{option}={value}"));
            check_no_panic(&args.iter().map(String::as_str).collect::<Vec<_>>());
        }
    }
}
