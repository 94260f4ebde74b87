//! `nabla train --pretrained`, `nabla predict` and `nabla eval` with the
//! ImageNet classifiers: the bundled EfficientNet-Lite0 weights, transfer
//! learning on a subset of the course's cats-vs-dogs photos (when the
//! shared data is beside the repository), and the refusals.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{nabla, scratch, stderr, stdout};

fn repository(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn weights() -> String {
    repository("data/pretrained/efficientnet-lite0.safetensors")
        .display()
        .to_string()
}

/// The first `per_class` photos of each class of `split`, copied into `out/split/`.
fn copy_subset(source: &Path, out: &Path, split: &str, per_class: usize) {
    for class in ["cats", "dogs"] {
        let from = source.join(split).join(class);
        let to = out.join(split).join(class);
        fs::create_dir_all(&to).unwrap();
        let mut files: Vec<PathBuf> = fs::read_dir(&from).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in files.iter().take(per_class) {
            fs::copy(file, to.join(file.file_name().unwrap())).unwrap();
        }
    }
}

#[test]
fn predict_prints_the_top_five_imagenet_classes() {
    let photo = repository("crates/nabla/tests/fixtures/imagenet/photo_320x240.jpg");
    let out = nabla(&[
        "predict",
        "--model",
        "efficientnet-lite0",
        "--checkpoint",
        &weights(),
        &photo.display().to_string(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let line = stdout(&out);
    let classes: Vec<&str> = line.trim().split(": ").skip(1).collect();
    assert_eq!(line.matches('%').count(), 5, "{line}");
    assert!(classes.iter().all(|c| !c.is_empty()), "{line}");
    let top3 = nabla(&[
        "predict",
        "--model",
        "efficientnet-lite0",
        "--checkpoint",
        &weights(),
        "--top",
        "3",
        &photo.display().to_string(),
    ]);
    assert_eq!(stdout(&top3).matches('%').count(), 3);
}

#[test]
fn transfer_learning_separates_cats_from_dogs() {
    let source = repository("../shared/data/cats-vs-dogs");
    if !source.is_dir() {
        eprintln!("skipped: {} is not there", source.display());
        return;
    }
    let dir = scratch("transfer_cats_dogs");
    let data = dir.join("data");
    copy_subset(&source, &data, "train", 16);
    copy_subset(&source, &data, "test", 10);
    let run = dir.join("run");
    let out = nabla(&[
        "train",
        "--model",
        "efficientnet-lite0",
        "--pretrained",
        &weights(),
        "--dataset",
        &data.display().to_string(),
        "--epochs",
        "10",
        "--out",
        &run.display().to_string(),
    ]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}\n{}", text, stderr(&out));
    assert!(text.contains("frozen backbone"), "{text}");
    let accuracy: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("test accuracy "))
        .and_then(|l| l.split('%').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no test accuracy in {text}"));
    assert!(accuracy >= 95.0, "{accuracy}% on 20 test photos");
    let metrics = fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 11, "{metrics}");
    let picture = image::open(run.join("predictions.png")).expect("the predictions' picture");
    assert!(picture.width() > 500 && picture.height() > 200);

    // The checkpoint is all predict and eval need.
    let model = run.join("model.safetensors").display().to_string();
    let cat = data
        .join("test/cats")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let predicted = nabla(&["predict", "--checkpoint", &model, &cat.display().to_string()]);
    let line = stdout(&predicted);
    assert!(line.contains(": cats: "), "{line}{}", stderr(&predicted));
    let evaluated = nabla(&[
        "eval",
        "--checkpoint",
        &model,
        "--dataset",
        &data.display().to_string(),
    ]);
    assert!(
        stdout(&evaluated).contains("(20 examples): accuracy"),
        "{}",
        stderr(&evaluated)
    );
}

#[test]
fn transfer_learning_refusals_name_the_problem() {
    let dir = scratch("transfer_refusals");
    let folder = dir.display().to_string();
    let cases: [(&[&str], &str); 5] = [
        (
            &["train", "--model", "efficientnet-lite0", "--dataset", &folder],
            "--pretrained F",
        ),
        (
            &["train", "--model", "lenet5", "--pretrained", "x.safetensors"],
            "--pretrained is an option of transfer learning",
        ),
        (
            &[
                "train",
                "--model",
                "vgg16",
                "--pretrained",
                "x.safetensors",
                "--dataset",
                &folder,
            ],
            "vgg16's head is three layers",
        ),
        (
            &[
                "train",
                "--model",
                "efficientnet-lite0",
                "--pretrained",
                "x",
                "--freeze-backbone",
                "--fine-tune",
            ],
            "cannot be used with",
        ),
        (
            &[
                "predict",
                "--model",
                "resnet18",
                "--checkpoint",
                &weights(),
                "x.jpg",
            ],
            "missing tensor",
        ),
    ];
    for (args, expected) in cases {
        let out = nabla(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let message = stderr(&out).to_lowercase();
        assert!(message.contains(&expected.to_lowercase()), "{args:?}: {message}");
    }
}
