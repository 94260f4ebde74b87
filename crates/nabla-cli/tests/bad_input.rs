//! The command line under bad input and interruption (issue 11): options
//! out of range, a diverging run, a closed standard output, SIGTERM and
//! Ctrl-C. Every case runs the real binary.

mod common;

use common::*;

#[test]
fn no_numeric_option_of_train_panics_on_any_value() {
    let data = tiny_image_folder("walk-train");
    let data = data.to_str().unwrap();
    let base = [
        ("--dataset", data),
        ("--model", "mlp"),
        ("--epochs", "1"),
        ("--workers", "0"),
    ];
    let options = [
        "--epochs",
        "--batch-size",
        "--lr",
        "--momentum",
        "--weight-decay",
        "--seed",
        "--threads",
        "--workers",
        "--limit",
    ];
    let runs = scratch("walk-train-runs");
    for (i, option) in options.iter().enumerate() {
        for (j, value) in NONSENSE.iter().enumerate() {
            let out = runs.join(format!("{i}-{j}"));
            let mut args = vec!["train", "--out", out.to_str().unwrap()];
            for (name, default) in base.iter().filter(|(name, _)| name != option) {
                args.extend([*name, *default]);
            }
            let with_optimizer = ["sgd", "rmsprop"];
            if *option == "--momentum" {
                for optimizer in with_optimizer {
                    let mut args = args.clone();
                    args.extend(["--optimizer", optimizer, "--momentum", value]);
                    check_no_panic(&args);
                }
                continue;
            }
            let joined = format!("{option}={value}");
            args.push(&joined);
            check_no_panic(&args);
        }
    }
}

#[test]
fn no_numeric_option_of_the_other_subcommands_panics_on_any_value() {
    for value in NONSENSE {
        for args in [
            vec!["summary", "--batch", value],
            vec!["summary", "--model", "cnn", "--classes", value],
            vec!["bench", "--only", "no-such-benchmark", "--threads", value],
            vec!["bench", "--only", "no-such-benchmark", "--repetitions", value],
            vec![
                "predict",
                "--checkpoint",
                "none.safetensors",
                "--top",
                value,
                "x.png",
            ],
        ] {
            let args: Vec<String> = args
                .into_iter()
                .map(|a| a.replace(value, &format!("={value}")))
                .collect();
            let args: Vec<&str> = args.iter().map(|a| a.trim_start_matches('=')).collect();
            check_no_panic(&args);
        }
        let var = format!("x={value}");
        check_no_panic(&["graph", "--expr", "log(x) * x / (x - 1)", "--var", &var]);
    }
}

#[test]
fn negative_values_are_read_with_or_without_an_equals_sign_and_refused_by_name() {
    for args in [["--lr", "-1"], ["--lr=-1", "--epochs=1"]] {
        let mut full = vec!["train"];
        full.extend(args);
        let out = nabla(&full);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.starts_with("nabla: invalid value '-1' for '--lr <LR>': it must be above 0")
                && err.lines().count() == 1,
            "{err}"
        );
    }
    let out = nabla(&["train", "--weight-decay", "nan"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("'--weight-decay <WEIGHT_DECAY>': it must be a finite number"));
    let out = nabla(&["train", "--batch-size", "0"]);
    assert!(stderr(&out).contains("'--batch-size <BATCH_SIZE>': it must be at least 1"));
    let out = nabla(&["train", "--optimizer", "lion"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("[possible values: sgd, adam, adamw, rmsprop]"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_diverging_run_is_an_error_and_writes_no_model() {
    let data = tiny_image_folder("diverge");
    let out = scratch("diverge-run");
    let run = nabla(&[
        "train",
        "--dataset",
        data.to_str().unwrap(),
        "--model",
        "mlp",
        "--epochs",
        "2",
        "--lr",
        "1e30",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = stderr(&run);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("nabla: training diverged: the loss of epoch 2, batch 1 is not a finite number"),
        "{err}"
    );
    assert!(!out.join("model.safetensors").exists());
}

/// The arguments of a short run on the tiny data set into `out`.
fn tiny_run<'a>(data: &'a str, out: &'a str, epochs: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--dataset",
        data,
        "--model",
        "mlp",
        "--epochs",
        epochs,
        "--batch-size",
        "4",
        "--workers",
        "0",
        "--out",
        out,
    ]
}

#[test]
fn a_closed_standard_output_ends_the_output_not_the_run() {
    let data = tiny_image_folder("pipe");
    let out = scratch("pipe-run");
    let mut child = spawn(&tiny_run(data.to_str().unwrap(), out.to_str().unwrap(), "3"));
    let first = read_until(&mut child, "training");
    assert_eq!(first.len(), 1, "{first:?}");
    // As `nabla train | head -1`: the reader goes away after one line.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 3, "the run went on to its end");
    assert!(out.join("model.safetensors").is_file());
}

#[test]
fn sigterm_and_ctrl_c_save_a_checkpoint_and_exit_130() {
    let data = tiny_image_folder("stop");
    for signal_name in ["TERM", "INT"] {
        let out = scratch(&format!("stop-{signal_name}"));
        let mut child = spawn(&tiny_run(
            data.to_str().unwrap(),
            out.to_str().unwrap(),
            "1000000",
        ));
        read_until(&mut child, "epoch   1/1000000");
        signal(&child, signal_name);
        let output = child.wait_with_output().unwrap();
        let text = stdout(&output);
        assert_eq!(
            output.status.code(),
            Some(130),
            "SIG{signal_name}: {text}{}",
            stderr(&output)
        );
        assert!(text.contains("interrupted: resume with --resume"), "{text}");
        assert!(out.join("checkpoints/last.safetensors").is_file());
    }
}
