//! EfficientNet-Lite0 with its real ImageNet weights (the bundled
//! `data/pretrained/efficientnet-lite0.safetensors`) against PyTorch's
//! reference implementation on the same weights and input
//! (scripts/make_efficientnet_fixtures.py); and `nabla::transfer`: its
//! checkpoints and a new head trained on cached features.

use std::collections::HashMap;
use std::path::PathBuf;

use nabla::checkpoint::{load_module, load_tensors};
use nabla::data::imagenet::ImagePreprocess;
use nabla::nn::loss::cross_entropy;
use nabla::nn::zoo::{efficientnet_lite0, efficientnet_lite0_with, EfficientNetLiteConfig};
use nabla::nn::{Layer, Module};
use nabla::transfer::{self, Architecture, ClassifierRecord, ImageClassifier, TransferConfig};
use nabla::{Float, Generator, IndexTensor, Tensor};

fn repository(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn weights() -> PathBuf {
    repository("data/pretrained/efficientnet-lite0.safetensors")
}

fn golden() -> HashMap<String, Tensor<f64>> {
    load_tensors::<f64>(repository(
        "crates/nabla/tests/fixtures/efficientnet_lite0_io.safetensors",
    ))
    .expect("the EfficientNet fixture (scripts/make_efficientnet_fixtures.py)")
    .into_iter()
    .collect()
}

/// The script's input: `2 sin(0.0137 i) + 0.5 cos(0.00071 i)` over `[2, 3, 224, 224]`.
fn input<T: Float>() -> Tensor<T> {
    let n = 2 * 3 * 224 * 224;
    let values = (0..n)
        .map(|i| {
            let i = i as f64;
            T::from_f64(2.0 * (0.0137 * i).sin() + 0.5 * (0.00071 * i).cos())
        })
        .collect();
    Tensor::from_vec(values, &[2, 3, 224, 224])
}

/// The largest difference relative to the largest magnitude of `expected`.
fn relative_error<T: Float>(actual: &Tensor<T>, expected: &Tensor<f64>) -> f64 {
    assert_eq!(actual.shape(), expected.shape());
    let scale = expected.to_vec().iter().fold(0f64, |m, v| m.max(v.abs()));
    let worst = actual
        .to_vec()
        .iter()
        .zip(expected.to_vec())
        .fold(0f64, |m, (a, e)| m.max((a.as_f64() - e).abs()));
    worst / scale
}

#[test]
fn imagenet_weights_give_pytorchs_logits() {
    let mut model = efficientnet_lite0::<f32>(1000, &mut Generator::new(0));
    let report = load_module(&model, weights(), true).expect("the bundled EfficientNet-Lite0 weights");
    assert_eq!(report.loaded.len(), 296);
    model.eval();
    let logits = model.forward(&input());
    let golden = golden();
    let error = relative_error(&logits, &golden["eval_logits"]);
    assert!(
        error < 1e-4,
        "eval logits differ from PyTorch's by {error:e} (relative)"
    );
    assert_eq!(logits.argmax(1, false).to_vec(), vec![499, 902]);
    // Without recording, BatchNorm and ReLU6 run as one pass: the same logits.
    let unrecorded = nabla::no_grad(|| model.forward(&input()));
    assert_eq!(unrecorded.to_vec(), logits.to_vec());
}

#[test]
fn training_mode_and_gradients_match_pytorch() {
    let config = EfficientNetLiteConfig {
        dropout: 0.0,
        drop_connect_rate: 0.0,
        ..EfficientNetLiteConfig::new(1000)
    };
    let model = efficientnet_lite0_with::<f64>(&config, &mut Generator::new(0));
    load_module(&model, weights(), true).unwrap();
    let logits = model.forward(&input());
    let golden = golden();
    let error = relative_error(&logits, &golden["train_logits"]);
    assert!(error < 1e-6, "train-mode logits differ by {error:e}");
    let running = model._bn0.running_mean.as_ref().unwrap();
    assert!(relative_error(running, &golden["train_bn0_running_mean"]) < 1e-6);
    cross_entropy(&logits, &IndexTensor::from_vec(vec![281, 207], &[2])).backward();
    let parameters: HashMap<String, Tensor<f64>> = model.named_parameters().into_iter().collect();
    for (key, expected) in &golden {
        let Some(name) = key.strip_prefix("grad.") else {
            continue;
        };
        let grad = parameters[name]
            .grad()
            .unwrap_or_else(|| panic!("{name} has no gradient"));
        let error = relative_error(&grad, expected);
        assert!(error < 1e-5, "the gradient of {name} differs by {error:e}");
    }
}

#[test]
fn a_classifier_checkpoint_records_architecture_classes_and_preprocessing() {
    let (mut model, imagenet) =
        transfer::load_pretrained(Architecture::EfficientnetLite0, weights()).expect("the bundled weights");
    assert_eq!(imagenet.class_names.len(), 1000);
    assert_eq!(imagenet.class_names[281], "tabby");
    assert_eq!(imagenet.preprocess, ImagePreprocess::efficientnet_lite());
    model.replace_head(3, &mut Generator::new(1)).unwrap();
    let record = ClassifierRecord {
        class_names: vec!["a".into(), "b".into(), "c".into()],
        ..imagenet
    };
    let path = std::env::temp_dir().join(format!("nabla_transfer_{}.safetensors", std::process::id()));
    transfer::save_classifier(&model, &record, &path).unwrap();
    let (loaded, loaded_record) = transfer::load_classifier(&path).unwrap();
    assert_eq!(loaded_record, record);
    let x: Tensor = input::<f32>().narrow(0, 0, 1);
    let (mut a, mut b) = (model, loaded);
    a.module_mut().eval();
    b.module_mut().eval();
    assert_eq!(a.forward(&x).to_vec(), b.forward(&x).to_vec());

    // Published weights have no record; a record with the wrong class count is refused.
    assert!(transfer::load_classifier(weights()).is_err());
    let wrong = ClassifierRecord {
        class_names: vec!["a".into()],
        ..record
    };
    assert!(transfer::save_classifier(&a, &wrong, &path).is_err());
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_new_head_learns_from_cached_features_while_the_backbone_stays() {
    let mut model = ImageClassifier::new(Architecture::Resnet18, 1000, &mut Generator::new(2));
    model.replace_head(2, &mut Generator::new(3)).unwrap();
    let backbone_before: Vec<Vec<f32>> = model.backbone_parameters().iter().map(|p| p.to_vec()).collect();
    // Two separable clusters of 512-dimensional "features".
    let mut g = Generator::new(4);
    let labels: Vec<usize> = (0..40).map(|i| i % 2).collect();
    let noise = Tensor::<f32>::randn(&[40, 512], &mut g);
    let centres: Vec<f32> = labels
        .iter()
        .flat_map(|&l| (0..512).map(move |j| if (j % 2 == 0) == (l == 0) { 1.0 } else { -1.0 }))
        .collect();
    let features = noise.add(&Tensor::from_vec(centres, &[40, 512]));
    let mut losses = Vec::new();
    let config = TransferConfig {
        epochs: 5,
        batch_size: 8,
        ..TransferConfig::default()
    };
    transfer::fit_head(&mut model, &features, &labels, &config, |r| losses.push(r.loss)).unwrap();
    assert_eq!(losses.len(), 5);
    assert!(losses[4] < 0.5 * losses[0], "{losses:?}");
    let predicted = model.classify(&features).unwrap().argmax(1, false).to_vec();
    assert_eq!(predicted, labels);
    let backbone_after: Vec<Vec<f32>> = model.backbone_parameters().iter().map(|p| p.to_vec()).collect();
    assert_eq!(backbone_before, backbone_after);
    // Labels beyond the head's classes are refused.
    assert!(transfer::fit_head(&mut model, &features, &vec![2; 40], &config, |_| {}).is_err());
}

#[test]
fn published_weights_of_another_architecture_are_refused_by_name() {
    let Err(error) = transfer::load_pretrained(Architecture::Resnet18, weights()) else {
        panic!("EfficientNet weights loaded into ResNet-18");
    };
    let message = error.to_string();
    assert!(
        message.contains("conv1.weight") && message.contains("efficientnet-lite0.safetensors"),
        "{message}"
    );
}
