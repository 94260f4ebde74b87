//! Run folders, resuming and extending runs, and what checkpoints record
//! (issue 11, items 1, 2, 4, 5 and 8), through the real binary.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::*;
use nabla::checkpoint::{load_metadata, load_tensors, save_tensors};

fn ok(args: &[&str]) -> String {
    let out = nabla(args);
    assert!(out.status.success(), "{args:?}: {}{}", stdout(&out), stderr(&out));
    stdout(&out)
}

fn fails(args: &[&str]) -> String {
    let out = nabla(args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    stderr(&out)
}

/// The JSON lines of a run's metrics file.
fn metrics(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every tensor of a file, as bits.
fn tensor_bits(path: &Path) -> Vec<(String, Vec<u32>)> {
    load_tensors::<f32>(path)
        .unwrap()
        .into_iter()
        .map(|(n, t)| (n, t.to_vec().into_iter().map(f32::to_bits).collect()))
        .collect()
}

#[test]
fn extending_a_finished_run_follows_the_longer_schedule_and_a_new_lr() {
    let data = tiny_image_folder("extend");
    let data = data.to_str().unwrap();
    let runs = scratch("extend-runs");
    let (short, straight, faster) = (runs.join("short"), runs.join("straight"), runs.join("faster"));
    let train = |out: &Path, epochs: &str| {
        ok(&[
            "train",
            "--dataset",
            data,
            "--model",
            "mlp",
            "--epochs",
            epochs,
            "--batch-size",
            "8",
            "--workers",
            "0",
            "--out",
            out.to_str().unwrap(),
        ])
    };
    train(&short, "1");
    train(&straight, "2");
    std::fs::create_dir_all(&faster).unwrap();
    for file in ["checkpoints", "metrics.jsonl"] {
        let status = std::process::Command::new("cp")
            .args(["-r", short.join(file).to_str().unwrap(), faster.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    // Only --epochs: every other setting comes from the checkpoint's record.
    let text = ok(&[
        "train",
        "--resume",
        short.join("checkpoints").to_str().unwrap(),
        "--epochs",
        "2",
    ]);
    assert!(
        text.lines()
            .next()
            .unwrap()
            .ends_with(&format!("into {} (resuming the run there)", short.display())),
        "{text}"
    );
    let (extended, reference) = (metrics(&short), metrics(&straight));
    assert_eq!(extended.len(), 2);
    // The cosine over 2 epochs, from epoch 2: half the rate, not 0.
    assert_eq!(extended[1]["lr"], reference[1]["lr"]);
    let lr = extended[1]["lr"].as_f64().unwrap();
    assert!((lr - 0.0005).abs() < 1e-15, "{lr}");
    // And the same model bit for bit as the straight 2-epoch run.
    assert_eq!(
        tensor_bits(&short.join("model.safetensors")),
        tensor_bits(&straight.join("model.safetensors"))
    );

    // A learning rate given with --resume is the one the schedule goes on from.
    ok(&[
        "train",
        "--resume",
        faster.join("checkpoints").to_str().unwrap(),
        "--epochs",
        "3",
        "--lr",
        "0.01",
    ]);
    let lr = metrics(&faster)[1]["lr"].as_f64().unwrap();
    assert!(
        (lr - 0.01 * (1.0 + (std::f64::consts::PI / 3.0).cos()) / 2.0).abs() < 1e-12,
        "{lr}"
    );

    // Nothing to do, and no shortening.
    let done = ok(&["train", "--resume", short.join("checkpoints").to_str().unwrap()]);
    assert!(done.contains("nothing to do"), "{done}");
    let err = fails(&[
        "train",
        "--resume",
        short.join("checkpoints").to_str().unwrap(),
        "--epochs",
        "1",
    ]);
    assert!(err.contains("--epochs 1 cannot shorten it"), "{err}");
    // Settings that make another run are refused by name.
    let err = fails(&[
        "train",
        "--resume",
        short.join("checkpoints").to_str().unwrap(),
        "--epochs",
        "3",
        "--batch-size",
        "4",
    ]);
    assert!(
        err.contains("--batch-size 4 differs from the resumed run's 8"),
        "{err}"
    );
}

#[test]
fn a_new_run_never_replaces_a_run_unasked() {
    let data = tiny_image_folder("claim");
    let data = data.to_str().unwrap();
    let out = scratch("claim-run");
    let args = |extra: &[&'static str]| {
        let mut a = vec![
            "train",
            "--dataset",
            data,
            "--model",
            "mlp",
            "--epochs",
            "1",
            "--workers",
            "0",
        ];
        a.extend(["--out", out.to_str().unwrap()]);
        a.extend(extra);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |extra: &[&'static str]| {
        let a = args(extra);
        nabla(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let first = run(&[]);
    assert!(first.status.success());
    assert!(stdout(&first)
        .lines()
        .next()
        .unwrap()
        .ends_with(&format!("into {} (a new run)", out.display())));
    let model = std::fs::read(out.join("model.safetensors")).unwrap();
    let log = std::fs::read(out.join("metrics.jsonl")).unwrap();

    let again = run(&[]);
    assert_eq!(again.status.code(), Some(1));
    let err = stderr(&again);
    assert!(
        err.contains("holds a run already (model.safetensors, metrics.jsonl, curves.png, checkpoints)")
            && err.contains("--overwrite"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(out.join("model.safetensors")).unwrap(),
        model,
        "untouched"
    );
    assert_eq!(
        std::fs::read(out.join("metrics.jsonl")).unwrap(),
        log,
        "untouched"
    );

    let replaced = run(&["--overwrite", "--seed", "1"]);
    assert!(replaced.status.success());
    assert!(stdout(&replaced)
        .lines()
        .next()
        .unwrap()
        .ends_with("(replacing the run that was there)"));
    assert_eq!(metrics(&out).len(), 1);
    assert_ne!(std::fs::read(out.join("model.safetensors")).unwrap(), model);
}

#[test]
fn checkpoints_record_their_model_and_data_and_eval_refuses_another_model() {
    let runs = scratch("record");
    let out = runs.join("lenet");
    ok(&[
        "train",
        "--model",
        "lenet5",
        "--epochs",
        "1",
        "--limit",
        "256",
        "--workers",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    let model_file = out.join("model.safetensors");
    for file in [model_file.clone(), out.join("checkpoints/last.safetensors")] {
        let meta = load_metadata(&file).unwrap();
        let model: serde_json::Value = serde_json::from_str(&meta["nabla_model"]).unwrap();
        assert_eq!(
            model,
            serde_json::json!({"kind": "lenet5", "input": [1, 28, 28], "classes": 10})
        );
        let data: serde_json::Value = serde_json::from_str(&meta["nabla_data"]).unwrap();
        assert_eq!(data["dataset"], "mnist");
        assert_eq!(data["mean"].as_array().unwrap().len(), 1);
        assert_eq!(data["class_names"][7], "7");
        assert_eq!(meta["format"], "pt", "PyTorch's tools still read it");
    }
    let model = model_file.to_str().unwrap();
    // Same tensor names and shapes, another architecture: refused.
    let err = fails(&["eval", "--model", "lenet5-classic", "--checkpoint", model]);
    assert!(
        err.contains("holds a lenet5 model (as its metadata records), not lenet5-classic"),
        "{err}"
    );
    let err = fails(&[
        "predict",
        "--model",
        "lenet5-classic",
        "--checkpoint",
        model,
        "x.png",
    ]);
    assert!(err.contains("not lenet5-classic"), "{err}");
    let err = fails(&[
        "eval",
        "--checkpoint",
        model,
        "--dataset",
        tiny_image_folder("record-data").to_str().unwrap(),
    ]);
    assert!(
        err.contains("holds a model for [1, 28, 28] inputs in 10 classes"),
        "{err}"
    );
    assert!(ok(&["eval", "--checkpoint", out.join("checkpoints").to_str().unwrap()]).contains("accuracy"));
    // --resume builds the recorded model too, and refuses another.
    let err = fails(&[
        "train",
        "--resume",
        out.join("checkpoints").to_str().unwrap(),
        "--model",
        "lenet5-classic",
        "--epochs",
        "2",
    ]);
    assert!(
        err.contains("--model lenet5-classic differs from the resumed run's lenet5"),
        "{err}"
    );

    // A file without the record (as PyTorch writes one) still loads with --model.
    let bare = runs.join("bare.safetensors");
    let tensors = load_tensors::<f32>(&model_file).unwrap();
    save_tensors(
        &bare,
        &tensors,
        Some(HashMap::from([("format".into(), "pt".into())])),
    )
    .unwrap();
    let bare = bare.to_str().unwrap();
    let with_record = ok(&["eval", "--checkpoint", model]);
    let without = ok(&[
        "eval",
        "--model",
        "lenet5",
        "--dataset",
        "mnist",
        "--checkpoint",
        bare,
    ]);
    let accuracy = |text: &str| {
        text.split("accuracy ")
            .nth(1)
            .unwrap()
            .split('%')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(accuracy(&with_record), accuracy(&without));

    // A model whose weights are not finite is refused, not run.
    let mut poisoned = tensors;
    let (_, first) = &poisoned[0];
    let mut values = first.to_vec();
    values[0] = f32::NAN;
    poisoned[0].1 = nabla::Tensor::from_vec(values, first.shape());
    let nan = runs.join("nan.safetensors");
    save_tensors(&nan, &poisoned, Some(load_metadata(&model_file).unwrap())).unwrap();
    let err = fails(&["predict", "--checkpoint", nan.to_str().unwrap(), "x.png"]);
    assert!(err.contains("holds NaN or infinite values"), "{err}");
}

#[test]
fn a_run_on_raw_pixels_records_it_and_eval_feeds_raw_pixels_too() {
    let out = scratch("raw-pixels");
    ok(&[
        "train",
        "--no-normalize",
        "--epochs",
        "1",
        "--limit",
        "256",
        "--workers",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    let model = out.join("model.safetensors");
    let meta = load_metadata(&model).unwrap();
    let data: serde_json::Value = serde_json::from_str(&meta["nabla_data"]).unwrap();
    assert_eq!(
        (&data["mean"], &data["std"]),
        (&serde_json::json!([0.0]), &serde_json::json!([1.0]))
    );
    let training: serde_json::Value = serde_json::from_str(&meta["nabla_training"]).unwrap();
    assert_eq!(
        (&training["normalize"], &training["augment"]),
        (&false.into(), &false.into())
    );

    // Normalised inputs would give another accuracy than the run's own test pass.
    let accuracy = metrics(&out)[0]["val_accuracy"].as_f64().unwrap();
    let report = ok(&["eval", "--checkpoint", model.to_str().unwrap()]);
    assert!(
        report.contains(&format!("accuracy {:.2}%", 100.0 * accuracy)),
        "{report} vs {accuracy}"
    );

    // A resumed run keeps its preparation of the data: --no-normalize may be
    // repeated, --augment (which it did not have) is refused by name.
    let checkpoints = out.join("checkpoints");
    let err = fails(&[
        "train",
        "--resume",
        checkpoints.to_str().unwrap(),
        "--epochs",
        "2",
        "--augment",
    ]);
    assert!(
        err.contains("--augment was not an option of the resumed run"),
        "{err}"
    );
    ok(&[
        "train",
        "--resume",
        checkpoints.to_str().unwrap(),
        "--epochs",
        "2",
        "--no-normalize",
    ]);
    assert_eq!(metrics(&out).len(), 2);
}

#[test]
fn predict_uses_the_recorded_shape_classes_and_normalisation() {
    let data = tiny_image_folder("predict-cnn");
    let out = scratch("predict-cnn-run");
    ok(&[
        "train",
        "--dataset",
        data.to_str().unwrap(),
        "--model",
        "cnn",
        "--epochs",
        "1",
        "--workers",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    let model = out.join("model.safetensors");
    let image = data.join("test/light/00.png");
    let text = ok(&[
        "predict",
        "--checkpoint",
        model.to_str().unwrap(),
        image.to_str().unwrap(),
    ]);
    assert!(
        text.contains("dark: ") && text.contains("light: ") && text.matches('%').count() == 2,
        "{text}"
    );

    // A JPEG named .png is decoded by its content.
    let jpeg = out.join("really-a-jpeg.png");
    let mut bytes = Vec::new();
    image::DynamicImage::ImageRgb8(image::RgbImage::new(8, 8))
        .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Jpeg)
        .unwrap();
    std::fs::write(&jpeg, bytes).unwrap();
    ok(&[
        "predict",
        "--checkpoint",
        model.to_str().unwrap(),
        jpeg.to_str().unwrap(),
    ]);
}

/// An image folder of ten classes (`c0`..`c9`, two 8x8 PNGs each in
/// `train/` and `test/`), like CIFAR-10 in its classes.
fn ten_class_folder(name: &str) -> std::path::PathBuf {
    let root = scratch(name).join("ten");
    for split in ["train", "test"] {
        for class in 0..10u8 {
            let dir = root.join(split).join(format!("c{class}"));
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..2u8 {
                let image = image::RgbImage::from_fn(8, 8, |x, y| {
                    image::Rgb([class * 25, (x * 30) as u8, (y * 30) as u8 + i])
                });
                image.save(dir.join(format!("{i}.png"))).unwrap();
            }
        }
    }
    root
}

#[test]
fn predict_with_an_unrecorded_cnn_needs_no_dataset() {
    // A cnn for 3x32x32 images in 10 classes, saved without its record as
    // PyTorch or an older nabla saves one: predict used to take it for
    // MNIST's one channel and panic.
    let data = ten_class_folder("bare-cnn");
    let out = scratch("bare-cnn-run");
    ok(&[
        "train",
        "--dataset",
        data.to_str().unwrap(),
        "--model",
        "cnn",
        "--epochs",
        "1",
        "--workers",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    let bare = out.join("bare.safetensors");
    save_tensors(
        &bare,
        &load_tensors::<f32>(&out.join("model.safetensors")).unwrap(),
        Some(HashMap::from([("format".into(), "pt".into())])),
    )
    .unwrap();
    let image = data.join("test/c3/0.png");
    let text = ok(&[
        "predict",
        "--model",
        "cnn",
        "--checkpoint",
        bare.to_str().unwrap(),
        image.to_str().unwrap(),
    ]);
    assert_eq!(text.matches('%').count(), 3, "{text}");
}

#[test]
fn a_digit_drawn_in_the_alpha_channel_reads_as_that_digit() {
    let runs = scratch("alpha");
    let out = runs.join("run");
    ok(&[
        "train",
        "--epochs",
        "1",
        "--limit",
        "2000",
        "--workers",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    // A thick vertical stroke: light on dark in grey, and the same stroke
    // drawn in black with its shape only in the alpha channel.
    let stroke = |x: u32, y: u32| (11..17).contains(&x) && (4..24).contains(&y);
    let grey = image::GrayImage::from_fn(28, 28, |x, y| image::Luma([if stroke(x, y) { 255 } else { 0 }]));
    let alpha = image::RgbaImage::from_fn(28, 28, |x, y| {
        image::Rgba([0, 0, 0, if stroke(x, y) { 255 } else { 0 }])
    });
    let (grey_path, alpha_path) = (runs.join("grey.png"), runs.join("alpha.png"));
    grey.save(&grey_path).unwrap();
    alpha.save(&alpha_path).unwrap();
    let model = out.join("model.safetensors");
    let model = model.to_str().unwrap();
    let line = |text: String| text.split_once(": ").unwrap().1.to_string();
    let from_grey = line(ok(&[
        "predict",
        "--checkpoint",
        model,
        grey_path.to_str().unwrap(),
    ]));
    let from_alpha = line(ok(&[
        "predict",
        "--checkpoint",
        model,
        "--invert",
        alpha_path.to_str().unwrap(),
    ]));
    assert_eq!(from_alpha, from_grey);
}

#[test]
fn a_resumed_run_clears_temporary_files_that_a_killed_writer_left() {
    let data = tiny_image_folder("stale");
    let out = scratch("stale-run");
    let out_s = out.to_str().unwrap();
    ok(&[
        "train",
        "--dataset",
        data.to_str().unwrap(),
        "--model",
        "mlp",
        "--epochs",
        "1",
        "--workers",
        "0",
        "--out",
        out_s,
    ]);
    let stale = out.join("checkpoints/.last.safetensors.4000000000.3.tmp");
    std::fs::write(&stale, b"half a checkpoint").unwrap();
    ok(&[
        "train",
        "--resume",
        out.join("checkpoints").to_str().unwrap(),
        "--epochs",
        "2",
    ]);
    assert!(!stale.exists());
}
