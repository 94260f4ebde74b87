//! `nabla train --model char-gpt|char-lstm` and `nabla generate` end to
//! end: a tiny run on a small text, its files and checkpoint, generation
//! from it, and bad options and inputs.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// A small text: a few hundred characters of 16 distinct ones.
fn tiny_text(name: &str) -> PathBuf {
    let path = scratch(name).join("tiny.txt");
    let text = "to be or not to be, that is the question.\n".repeat(12);
    std::fs::write(&path, text).unwrap();
    path
}

/// The options of a run of a few steps of a tiny GPT.
fn tiny_gpt<'a>(data: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--model",
        "char-gpt",
        "--dataset",
        data,
        "--max-steps",
        "6",
        "--eval-every",
        "3",
        "--eval-batches",
        "2",
        "--block-size",
        "8",
        "--batch-size",
        "4",
        "--n-layer",
        "1",
        "--n-head",
        "2",
        "--n-embd",
        "8",
        "--workers",
        "0",
        "--threads",
        "1",
        "--out",
        out,
    ]
}

fn trained_gpt(name: &str) -> PathBuf {
    let data = tiny_text(&format!("{name}-data"));
    let out = scratch(name);
    let run = nabla(&tiny_gpt(data.to_str().unwrap(), out.to_str().unwrap()));
    assert!(run.status.success(), "{}", stderr(&run));
    out.join("model.safetensors")
}

#[test]
fn a_tiny_gpt_run_writes_a_checkpoint_that_generate_reads() {
    let data = tiny_text("lm-run-data");
    let out = scratch("lm-run");
    let run = nabla(&tiny_gpt(data.to_str().unwrap(), out.to_str().unwrap()));
    assert!(run.status.success(), "{}", stderr(&run));
    let text = stdout(&run);
    assert!(text.starts_with("training char-gpt ("), "{text}");
    assert!(
        text.contains("step      3/6: train loss") && text.contains("val loss"),
        "{text}"
    );
    for file in [
        "model.safetensors",
        "metrics.jsonl",
        "curves.png",
        "checkpoints/last.safetensors",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 2, "an evaluation every 3 of 6 steps");

    let model = out.join("model.safetensors");
    let model = model.to_str().unwrap();
    let greedy = [
        "generate",
        "--checkpoint",
        model,
        "--prompt",
        "to be",
        "--tokens",
        "30",
        "--temperature",
        "0",
    ];
    let first = nabla(&greedy);
    assert!(first.status.success(), "{}", stderr(&first));
    let generated = stdout(&first);
    assert!(generated.starts_with("to be"), "{generated:?}");
    assert_eq!(generated.trim_end_matches('\n').chars().count(), 5 + 30);
    assert_eq!(
        stdout(&nabla(&greedy)),
        generated,
        "greedy generation is deterministic"
    );
    let sampled = |seed: &str| {
        stdout(&nabla(&[
            "generate",
            "--checkpoint",
            model,
            "--tokens",
            "40",
            "--seed",
            seed,
        ]))
    };
    assert_eq!(sampled("3"), sampled("3"));
}

#[test]
fn a_prompt_outside_the_vocabulary_is_a_one_line_error() {
    let model = trained_gpt("lm-prompt");
    let out = nabla(&[
        "generate",
        "--checkpoint",
        model.to_str().unwrap(),
        "--prompt",
        "toZ",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with(
            "nabla: --prompt: the character 'Z' (U+005A) at position 2 is not in the 16-character vocabulary"
        ),
        "{err}"
    );
    assert!(stdout(&out).is_empty(), "nothing on standard output");
}

#[test]
fn a_checkpoint_without_a_vocabulary_is_refused_by_name() {
    let data = scratch("lm-not-lm");
    let model = data.join("weights.safetensors");
    // An image model's file: no nabla.model metadata.
    std::fs::write(&model, b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ").unwrap();
    let out = nabla(&["generate", "--checkpoint", model.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("weights.safetensors") && err.contains("nabla.model"),
        "{err}"
    );
}

#[test]
fn language_and_image_options_do_not_mix() {
    let data = tiny_text("lm-mix");
    let data = data.to_str().unwrap();
    let out = scratch("lm-mix-out");
    let out = out.to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--model", "char-gpt", "--dataset", "mnist"],
            "mnist holds images",
        ),
        (
            &["--model", "char-gpt", "--dataset", data, "--epochs", "2"],
            "--epochs is for the image models",
        ),
        (
            &["--model", "char-lstm", "--dataset", data, "--n-layer", "2"],
            "--n-layer is an option of char-gpt",
        ),
        (
            &["--model", "lenet5", "--dataset", "tinyshakespeare"],
            "tinyshakespeare is text",
        ),
        (
            &[
                "--model",
                "char-gpt",
                "--dataset",
                data,
                "--n-embd",
                "60000",
                "--n-layer",
                "100",
                "--block-size",
                "8",
            ],
            "parameters",
        ),
    ];
    for (args, expected) in cases {
        let mut all = vec!["train", "--out", out];
        all.extend(args);
        let run = nabla(&all);
        assert_eq!(run.status.code(), Some(1), "{all:?}");
        let err = stderr(&run);
        assert!(
            err.contains(expected) && err.lines().count() == 1,
            "{all:?}: {err}"
        );
    }
}

/// `base` with `option` set to `value` (replacing its value there, if any).
fn with_value(base: &[&str], option: &str, value: &str) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    let mut skip = false;
    for a in base {
        if skip {
            skip = false;
            continue;
        }
        if *a == option {
            skip = true;
            continue;
        }
        args.push(a.to_string());
    }
    args.push(format!("{option}={value}"));
    args
}

#[test]
fn no_numeric_option_of_language_training_or_generate_panics_on_any_value() {
    let data = tiny_text("lm-walk-data");
    let runs = scratch("lm-walk-runs");
    let data = data.to_str().unwrap();
    let gpt_options = [
        "--max-steps",
        "--eval-every",
        "--eval-batches",
        "--block-size",
        "--n-layer",
        "--n-head",
        "--n-embd",
        "--dropout",
        "--beta2",
        "--grad-clip",
        "--warmup-steps",
        "--min-lr",
        "--lr",
        "--weight-decay",
        "--batch-size",
        "--seed",
    ];
    for (i, option) in gpt_options.iter().enumerate() {
        for (j, value) in NONSENSE.iter().enumerate() {
            let out = runs.join(format!("gpt-{i}-{j}"));
            let base = tiny_gpt(data, out.to_str().unwrap());
            let args = with_value(&base, option, value);
            check_no_panic(&args.iter().map(String::as_str).collect::<Vec<_>>());
        }
    }
    for (i, option) in ["--hidden-size", "--num-layers"].iter().enumerate() {
        for (j, value) in NONSENSE.iter().enumerate() {
            let out = runs.join(format!("lstm-{i}-{j}"));
            let out = out.to_str().unwrap();
            let base = [
                "train",
                "--model",
                "char-lstm",
                "--dataset",
                data,
                "--max-steps",
                "2",
                "--eval-batches",
                "1",
                "--block-size",
                "8",
                "--batch-size",
                "2",
                "--workers",
                "0",
                "--threads",
                "1",
                "--out",
                out,
            ];
            let args = with_value(&base, option, value);
            check_no_panic(&args.iter().map(String::as_str).collect::<Vec<_>>());
        }
    }
    let model = trained_gpt("lm-walk-model");
    let model = model.to_str().unwrap();
    for option in ["--tokens", "--temperature", "--top-k", "--seed", "--threads"] {
        for value in NONSENSE {
            let base = ["generate", "--checkpoint", model, "--tokens", "5"];
            let args = with_value(&base, option, value);
            check_no_panic(&args.iter().map(String::as_str).collect::<Vec<_>>());
        }
    }
}

#[test]
fn the_lm_checkpoint_records_model_config_and_vocabulary() {
    let model = trained_gpt("lm-meta");
    let bytes = std::fs::read(&model).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
    let meta = &header["__metadata__"];
    assert_eq!(meta["nabla.model"], "char-gpt");
    let config: serde_json::Value = serde_json::from_str(meta["nabla.config"].as_str().unwrap()).unwrap();
    assert_eq!(
        config,
        serde_json::json!({"vocab_size": 16, "block_size": 8, "n_layer": 1, "n_head": 2, "n_embd": 8, "bias": false})
    );
    let vocab: Vec<String> = serde_json::from_str(meta["nabla.vocab"].as_str().unwrap()).unwrap();
    assert_eq!(vocab.concat(), "\n ,.abehinoqrstu");
    assert!(Path::new(&model).with_file_name("curves.png").is_file());
}
