//! The `nabla` command end to end: real processes, real output.

use std::process::{Command, Output};

fn nabla(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nabla"))
        .args(args)
        .output()
        .expect("the nabla binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn graph_of_the_course_example_has_its_values_and_gradients() {
    let out = nabla(&["graph", "--example", "course"]);
    assert!(out.status.success());
    let dot = stdout(&out);
    // Forward: x = -2, y = 5, z = -4, q = x + y = 3, f = q z = -12.
    // Backward: df/dx = df/dy = -4, df/dz = 3, df/dq = -4, df/df = 1.
    for needle in [
        "x = -2\\ngrad -4",
        "y = 5\\ngrad -4",
        "z = -4\\ngrad 3",
        "Add\\n= 3\\ngrad -4",
        "Mul\\n= -12\\ngrad 1",
    ] {
        assert!(dot.contains(needle), "missing {needle:?} in\n{dot}");
    }
    assert!(dot.starts_with("digraph"));
}

#[test]
fn graph_of_the_sigmoid_neuron_matches_figure_2_6() {
    let dot = stdout(&nabla(&["graph", "--example", "neuron"]));
    for needle in [
        "w0 = 2\\ngrad -0.1966",
        "w1 = -3\\ngrad -0.3932",
        "x0 = -1\\ngrad 0.3932",
        "x1 = -2\\ngrad -0.5898",
    ] {
        assert!(dot.contains(needle), "missing {needle:?} in\n{dot}");
    }
}

#[test]
fn graph_rejects_an_unknown_function_in_one_line() {
    let out = nabla(&["graph", "--expr", "foo(x)", "--var", "x=1"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim(), "nabla: unknown function \"foo\"");
}

#[test]
fn summary_of_lenet5_has_the_reference_totals() {
    let out = nabla(&["summary", "--model", "lenet5"]);
    assert!(out.status.success());
    let table = stdout(&out);
    assert!(table.contains("total: 61,706 parameters"), "{table}");
    assert!(table.contains("conv2 Conv2d(6, 16"), "{table}");
    assert!(table.contains("16x16"), "{table}");
}

#[test]
fn bad_arguments_fail_without_a_backtrace() {
    let out = nabla(&["summary", "--model", "resnet"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown model \"resnet\""), "{err}");
    assert!(!err.contains("backtrace"), "{err}");
}

#[test]
fn every_subcommand_has_help() {
    for sub in [
        "train",
        "eval",
        "predict",
        "download",
        "summary",
        "graph",
        "bench",
        "convert",
        "attack",
        "lipschitz",
    ] {
        let out = nabla(&[sub, "--help"]);
        assert!(out.status.success(), "{sub} --help");
        assert!(stdout(&out).contains("Usage: nabla"), "{sub}");
    }
}

/// A fresh, empty folder under the target directory.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn train_eval_and_predict_end_to_end_on_a_subset() {
    let out = scratch("cli-train");
    let run = nabla(&[
        "train",
        "--epochs",
        "1",
        "--limit",
        "2000",
        "--batch-size",
        "32",
        "--workers",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    let text = stdout(&run);
    assert!(
        run.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        text.contains("training lenet5-bn on mnist (2000 examples, 10000 test)"),
        "{text}"
    );
    // The default model's rate with Adam (the guide's chapter 5 measures it).
    assert!(text.contains("lr 1.00e-3"), "{text}");
    assert!(text.contains("test accuracy"), "{text}");
    for file in [
        "model.safetensors",
        "metrics.jsonl",
        "curves.png",
        "checkpoints/last.safetensors",
    ] {
        assert!(out.join(file).is_file(), "{file} was not written");
    }
    // One epoch line with the documented keys and a plausible accuracy.
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{metrics}");
    let epoch = &lines[0];
    assert_eq!(epoch["kind"], "epoch");
    assert_eq!(epoch["epoch"], 0);
    let accuracy = epoch["val_accuracy"].as_f64().unwrap();
    assert!(
        accuracy > 0.7 && accuracy <= 1.0,
        "test accuracy {accuracy} after one epoch on 2000 digits"
    );
    let png = std::fs::read(out.join("curves.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");

    // The saved model evaluates to the same test accuracy.
    let model = out.join("model.safetensors");
    let eval = nabla(&[
        "eval",
        "--model",
        "lenet5-bn",
        "--checkpoint",
        model.to_str().unwrap(),
    ]);
    let report = stdout(&eval);
    assert!(eval.status.success(), "{report}");
    assert!(
        report.contains(&format!("accuracy {:.2}%", 100.0 * accuracy)),
        "{report} vs {accuracy}"
    );
    assert!(report.contains("confusion matrix"), "{report}");

    // And predicts class probabilities for an image file.
    let image_path = out.join("blank.png");
    image::GrayImage::new(28, 28).save(&image_path).unwrap();
    let predict = nabla(&[
        "predict",
        "--checkpoint",
        model.to_str().unwrap(),
        image_path.to_str().unwrap(),
    ]);
    let line = stdout(&predict);
    assert!(predict.status.success(), "{line}");
    assert!(
        line.starts_with(&format!("{}: ", image_path.display())) && line.matches('%').count() == 3,
        "{line}"
    );
}

#[test]
fn bad_files_are_one_line_errors() {
    let dir = scratch("cli-bad");
    let bogus = dir.join("model.safetensors");
    std::fs::write(&bogus, b"not a checkpoint").unwrap();
    let out = nabla(&["eval", "--checkpoint", bogus.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("nabla: ") && err.contains("model.safetensors"),
        "{err}"
    );
    let missing = nabla(&[
        "predict",
        "--checkpoint",
        bogus.to_str().unwrap(),
        "/nonexistent.png",
    ]);
    assert!(!missing.status.success());
}
