//! A LeNet-5 trained in PyTorch on MNIST scaled to [0, 1] and normalised
//! with mean 0.1307 and std 0.3081, saved as safetensors, evaluated by nabla:
//! `nabla eval` prints PyTorch's test accuracy, and nabla predicts the same
//! class as PyTorch for every one of the 10,000 test images.
//!
//! Fixtures from scripts/make_trained_lenet_fixture.py, in
//! crates/nabla/tests/fixtures/: `lenet5_trained.safetensors` (the state dict,
//! with PyTorch's results in its metadata) and
//! `lenet5_trained_predictions.safetensors` (`predictions` [10000] and
//! `logits` [10000, 10], float32).

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;

use nabla::checkpoint::{load_metadata, load_module, load_tensors};
use nabla::data::{DataLoader, LabeledDataset, LoaderConfig, Mnist, Normalize, Pipeline, Split};
use nabla::nn::{zoo, Layer, Module};
use nabla::{no_grad, Generator, Tensor};

const TEST_IMAGES: usize = 10_000;

fn fixture(name: &str) -> String {
    format!("{}/../nabla/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn pytorch_results() -> HashMap<String, String> {
    load_metadata(fixture("lenet5_trained.safetensors")).expect("the fixture's metadata reads")
}

fn meta<'a>(metadata: &'a HashMap<String, String>, key: &str) -> &'a str {
    metadata
        .get(key)
        .unwrap_or_else(|| panic!("the fixture's metadata has no {key:?}"))
}

/// The number printed between `accuracy ` and `%` in `nabla eval`'s output.
fn printed_accuracy(stdout: &str) -> &str {
    let start = stdout
        .find("accuracy ")
        .unwrap_or_else(|| panic!("no accuracy in the output:\n{stdout}"))
        + "accuracy ".len();
    let len = stdout[start..]
        .find('%')
        .unwrap_or_else(|| panic!("no % after the accuracy in the output:\n{stdout}"));
    &stdout[start..start + len]
}

#[test]
fn nabla_eval_prints_pytorchs_test_accuracy() {
    let metadata = pytorch_results();
    let checkpoint = fixture("lenet5_trained.safetensors");
    let out = Command::new(env!("CARGO_BIN_EXE_nabla"))
        .args(["eval", "--model", "lenet5", "--checkpoint", &checkpoint])
        .output()
        .expect("the nabla binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "nabla eval failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(&format!("({TEST_IMAGES} examples)")), "{stdout}");
    assert_eq!(
        printed_accuracy(&stdout),
        meta(&metadata, "test_accuracy"),
        "nabla eval's accuracy differs from PyTorch's; output:\n{stdout}"
    );
}

/// The argmax (first of equal maxima, as in PyTorch) and the gap between
/// the largest and second-largest logits of one row.
fn top1_and_margin(row: &[f32]) -> (usize, f32) {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    let second = row
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != best)
        .map(|(_, &v)| v)
        .fold(f32::NEG_INFINITY, f32::max);
    (best, row[best] - second)
}

/// The logits `[10000 * 10]` of PyTorch's trained LeNet-5 loaded into
/// nabla's LeNet-5, on the bundled MNIST test images read by nabla's loader
/// with `transforms`, in data-set order.
fn nabla_logits(transforms: Pipeline) -> Vec<f32> {
    let mut model = zoo::lenet5::<f32>(&mut Generator::new(0));
    let report = load_module(&model, fixture("lenet5_trained.safetensors"), true)
        .expect("PyTorch's trained weights load");
    assert!(report.is_complete());
    model.eval();

    let test_set = Arc::new(Mnist::bundled(Split::Test).expect("the bundled MNIST loads"));
    assert_eq!(test_set.len(), TEST_IMAGES);
    let config = LoaderConfig {
        batch_size: 500,
        shuffle: false,
        drop_last: false,
        seed: 0,
        workers: 2,
        prefetch: 4,
        shard: None,
    };
    let loader = DataLoader::new(test_set, config).with_transforms(transforms);
    let mut logits = vec![f32::NAN; TEST_IMAGES * 10];
    let mut seen = vec![false; TEST_IMAGES];
    no_grad(|| {
        for batch in loader.epoch(0) {
            let batch_logits = model.forward(&batch.inputs).to_vec();
            for (row, &index) in batch_logits.chunks(10).zip(&batch.indices) {
                logits[index * 10..(index + 1) * 10].copy_from_slice(row);
                seen[index] = true;
            }
        }
    });
    assert!(seen.iter().all(|&s| s), "the loader skipped test images");
    logits
}

/// PyTorch's predicted classes and logits `[10000 * 10]`.
fn pytorch_outputs() -> (Vec<usize>, Vec<f32>) {
    let expected: HashMap<String, Tensor> =
        load_tensors::<f32>(fixture("lenet5_trained_predictions.safetensors"))
            .expect("the predictions fixture loads")
            .into_iter()
            .collect();
    assert_eq!(expected["predictions"].shape(), &[TEST_IMAGES]);
    assert_eq!(expected["logits"].shape(), &[TEST_IMAGES, 10]);
    let predictions = expected["predictions"]
        .to_vec()
        .iter()
        .map(|&p| p as usize)
        .collect();
    (predictions, expected["logits"].to_vec())
}

#[test]
fn nabla_predicts_pytorchs_class_for_every_mnist_test_image() {
    let metadata = pytorch_results();
    let (torch_predictions, torch_logits) = pytorch_outputs();
    let test_set = Mnist::bundled(Split::Test).expect("the bundled MNIST loads");
    let nabla_logits = nabla_logits(Pipeline::new().add(Normalize::new(&[0.1307], &[0.3081])));

    let mut disagreements = Vec::new();
    let (mut nabla_correct, mut torch_correct) = (0, 0);
    let mut max_logit_diff = 0.0f32;
    for i in 0..TEST_IMAGES {
        let ours = &nabla_logits[i * 10..(i + 1) * 10];
        let theirs = &torch_logits[i * 10..(i + 1) * 10];
        for (a, b) in ours.iter().zip(theirs) {
            max_logit_diff = max_logit_diff.max((a - b).abs());
        }
        let (predicted, _) = top1_and_margin(ours);
        let (torch_top1, torch_margin) = top1_and_margin(theirs);
        assert_eq!(
            torch_top1, torch_predictions[i],
            "fixture: predictions and logits disagree"
        );
        let label = test_set.label(i);
        nabla_correct += usize::from(predicted == label);
        torch_correct += usize::from(torch_predictions[i] == label);
        if predicted != torch_predictions[i] {
            disagreements.push(format!(
                "image {i}: nabla {predicted}, PyTorch {} (PyTorch's top-2 margin {torch_margin:e}; \
                 nabla's logits {ours:?}, PyTorch's {theirs:?})",
                torch_predictions[i]
            ));
        }
    }
    eprintln!(
        "LeNet-5 trained in PyTorch: PyTorch {torch_correct}/{TEST_IMAGES} correct, \
         nabla {nabla_correct}/{TEST_IMAGES}, {} disagreements, largest logit difference {max_logit_diff:e}",
        disagreements.len()
    );

    // The predictions file belongs to the checkpoint (same checksum of the
    // predicted classes as in the checkpoint's metadata).
    let torch_bytes: Vec<u8> = torch_predictions.iter().map(|&p| p as u8).collect();
    assert_eq!(
        nabla::data::checksum::sha256_hex(&torch_bytes),
        meta(&metadata, "predictions_sha256")
    );
    // The labels nabla read are the ones PyTorch was scored against.
    assert_eq!(
        torch_correct.to_string(),
        meta(&metadata, "test_correct"),
        "PyTorch's predictions scored against nabla's labels"
    );
    // Every prediction agrees: the fixture script refuses a model with a
    // top-2 logit margin under 1e-3 on any test image, far above float32
    // rounding, so no disagreement is excusable.
    assert!(
        disagreements.is_empty(),
        "{} of {TEST_IMAGES} predictions differ from PyTorch's:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    assert_eq!(nabla_correct, torch_correct);
    // And the logits themselves are PyTorch's to float32 accumulation error.
    assert!(
        max_logit_diff <= 1e-4,
        "largest logit difference from PyTorch is {max_logit_diff:e}"
    );
}

/// The comparison above is sensitive to the normalisation: the same model fed
/// images only scaled to [0, 1], or normalised with another mean and std,
/// changes many of PyTorch's predictions.
#[test]
fn another_normalisation_changes_many_predictions() {
    let (torch_predictions, _) = pytorch_outputs();
    for (what, transforms) in [
        ("no normalisation", Pipeline::new()),
        (
            "mean 0.5, std 0.5",
            Pipeline::new().add(Normalize::new(&[0.5], &[0.5])),
        ),
    ] {
        let logits = nabla_logits(transforms);
        let differ = logits
            .chunks(10)
            .zip(&torch_predictions)
            .filter(|(row, &p)| top1_and_margin(row).0 != p)
            .count();
        eprintln!("{what}: {differ} of {TEST_IMAGES} predictions differ from PyTorch's");
        assert!(differ >= 50, "{what}: only {differ} predictions differ");
    }
}
