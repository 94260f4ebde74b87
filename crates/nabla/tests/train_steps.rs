//! The training loop with other steps than classification: regression on
//! float targets, an autoencoder on unlabeled batches, step-based runs with
//! evaluation every N steps and exact resumption at a step, and early
//! stopping on a named metric.

use std::path::PathBuf;
use std::sync::Arc;

use nabla::data::{Collated, DataLoader, LoaderConfig, Stack, TensorDataset, TensorPairDataset, Unlabeled};
use nabla::nn::loss::mse_loss;
use nabla::nn::{Layer, Linear, Module, Sequential, Tanh};
use nabla::optim::{Sgd, SgdConfig, StepLr};
use nabla::train::{
    evaluate, fit, BatchProgress, Classification, EarlyStopping, EpochSummary, Interrupt, Metric,
    MonitorMode, Outcome, StepOutput, TrainConfig, TrainObserver, TrainingCheckpoint,
};
use nabla::{Error, Generator, IndexTensor, Tensor};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nabla_train_steps_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config() -> TrainConfig {
    TrainConfig {
        interrupt: Interrupt::new(),
        ..TrainConfig::default()
    }
}

/// `y = 3 x0 - 2 x1 + 1` plus a little noise, `n` points.
fn regression_data(n: usize, seed: u64) -> TensorPairDataset {
    let mut g = Generator::new(seed);
    let x = Tensor::<f32>::randn(&[n, 2], &mut g);
    let y: Vec<f32> = x
        .to_vec()
        .chunks(2)
        .map(|p| 3.0 * p[0] - 2.0 * p[1] + 1.0 + 0.01 * g.normal() as f32)
        .collect();
    TensorPairDataset::new(x, Tensor::from_vec(y, &[n, 1]))
}

type Pairs = Collated<TensorPairDataset, Stack>;

fn pairs_loader(n: usize, seed: u64, batch_size: usize) -> DataLoader<Pairs> {
    let config = LoaderConfig {
        batch_size,
        seed,
        workers: 1,
        ..LoaderConfig::default()
    };
    DataLoader::collated(Arc::new(regression_data(n, seed)), Stack, config)
}

/// The mean squared error, with the mean absolute error as a metric.
fn mse_step(model: &mut Linear, (x, y): &(Tensor, Tensor)) -> StepOutput {
    let prediction = model.forward(x);
    let n = x.shape()[0];
    let mae = (&prediction - y).abs().sum().item();
    StepOutput::new(mse_loss(&prediction, y), n).with(Metric::sum("mae", f64::from(mae), n))
}

#[test]
fn a_regression_model_learns_float_targets_through_fit() {
    let train = pairs_loader(256, 1, 32);
    let validation = pairs_loader(64, 2, 64);
    let mut model = Linear::new(2, 1, true, &mut Generator::new(0));
    let mut optimizer = Sgd::new(model.parameters(), SgdConfig::new(0.1));
    let metrics = temp_dir("regression").join("metrics.jsonl");
    let config = TrainConfig {
        epochs: 15,
        metrics_path: Some(metrics.clone()),
        ..config()
    };
    let mut step = mse_step;
    let before = evaluate(&mut model, &validation, &mut step);
    let history = fit(
        &mut model,
        &mut step,
        &mut optimizer,
        None,
        &train,
        Some(&validation),
        &config,
        &mut (),
    )
    .unwrap();
    assert_eq!(history.outcome, Outcome::Completed);
    let last = history.epochs.last().unwrap();
    assert!(last.train_loss() < 1e-3, "{last:?}");
    assert!(
        last.val_loss().unwrap() < before.get("loss").unwrap() / 100.0,
        "{last:?}"
    );
    assert!(last.val_metric("mae").unwrap() < 0.05, "{last:?}");
    let w = model.weight.to_vec();
    let b = model.bias.as_ref().unwrap().to_vec();
    for (got, want) in w.iter().chain(&b).zip([3.0, -2.0, 1.0]) {
        assert!((got - want).abs() < 0.02, "weights {w:?}, bias {b:?}");
    }
    // The metrics file has the step's metrics under train_ and val_.
    let text = std::fs::read_to_string(&metrics).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let keys: Vec<&str> = line.as_object().unwrap().keys().map(String::as_str).collect();
    for key in [
        "kind",
        "epoch",
        "train_loss",
        "train_mae",
        "val_loss",
        "val_mae",
        "lr",
    ] {
        assert!(keys.contains(&key), "{key} missing from {line}");
    }
    assert_eq!(line["val_mae"].as_f64(), last.val_metric("mae"));
}

/// Images that live on a 2-dimensional subspace of `R^8`, with labels that
/// an autoencoder never sees.
fn low_rank_images(n: usize) -> Arc<TensorDataset> {
    let mut g = Generator::new(5);
    let basis: Vec<f64> = (0..16).map(|_| g.normal()).collect();
    let mut pixels = Vec::new();
    for _ in 0..n {
        let (a, b) = (g.normal(), g.normal());
        pixels.extend((0..8).map(|k| (0.5 * (a * basis[k] + b * basis[8 + k])) as f32));
    }
    Arc::new(TensorDataset::new(
        Tensor::from_vec(pixels, &[n, 1, 2, 4]),
        IndexTensor::from_vec(vec![0; n], &[n]),
        1,
    ))
}

#[test]
fn an_autoencoder_step_trains_on_unlabeled_batches() {
    let data = Arc::new(Unlabeled::new(low_rank_images(128)));
    let loader = DataLoader::collated(
        data,
        Stack,
        LoaderConfig {
            batch_size: 16,
            ..LoaderConfig::default()
        },
    );
    let mut g = Generator::new(3);
    let mut model = Sequential::new()
        .add(Linear::new(8, 2, false, &mut g))
        .add(Linear::new(2, 8, false, &mut g));
    let mut optimizer = Sgd::new(model.parameters(), SgdConfig::new(0.05).momentum(0.9));
    let mut reconstruct = |model: &mut Sequential, images: &Tensor| {
        let n = images.shape()[0];
        let flat = images.reshape(&[n, 8]);
        StepOutput::new(mse_loss(&model.forward(&flat), &flat), n)
    };
    let config = TrainConfig {
        epochs: 30,
        ..config()
    };
    let history = fit(
        &mut model,
        &mut reconstruct,
        &mut optimizer,
        None,
        &loader,
        None,
        &config,
        &mut (),
    )
    .unwrap();
    let (first, last) = (&history.epochs[0], history.epochs.last().unwrap());
    assert_eq!(last.train.names().collect::<Vec<_>>(), ["loss"]);
    assert!(
        last.train_loss() < first.train_loss() / 20.0,
        "{first:?} -> {last:?}"
    );
}

/// Records the global step of every batch and triggers the interrupt after
/// step `stop_at`.
struct Steps {
    seen: Vec<(usize, usize, usize)>,
    stop_at: Option<(usize, Interrupt)>,
    summaries: Vec<EpochSummary>,
}

impl TrainObserver for Steps {
    fn on_batch(&mut self, p: &BatchProgress) {
        self.seen.push((p.step, p.epoch, p.batch));
        if let Some((at, flag)) = &self.stop_at {
            if p.step == *at {
                flag.trigger();
            }
        }
    }

    fn on_epoch(&mut self, s: &EpochSummary) {
        self.summaries.push(s.clone());
    }
}

/// A step-based run of 25 steps over 4 batches per epoch, evaluated every
/// 10 steps, with a schedule; resumed from `dir` if `resume`.
fn step_run(
    dir: &std::path::Path,
    resume: bool,
    stop_at: Option<usize>,
) -> (Vec<u32>, nabla::train::History, Steps) {
    let train = pairs_loader(100, 7, 25);
    let validation = pairs_loader(40, 8, 40);
    let mut model = Linear::new(2, 1, true, &mut Generator::new(0));
    let mut optimizer = Sgd::new(model.parameters(), SgdConfig::new(0.05).momentum(0.5));
    let mut schedule = StepLr::new(&mut optimizer, 1, 0.5);
    let interrupt = Interrupt::new();
    let config = TrainConfig {
        max_steps: Some(25),
        eval_every: Some(10),
        checkpoint_dir: Some(dir.to_path_buf()),
        metrics_path: Some(dir.join("metrics.jsonl")),
        resume_from: resume.then(|| dir.to_path_buf()),
        interrupt: interrupt.clone(),
        ..TrainConfig::default()
    };
    let mut observer = Steps {
        seen: Vec::new(),
        stop_at: stop_at.map(|s| (s, interrupt)),
        summaries: Vec::new(),
    };
    let mut step = mse_step;
    let history = fit(
        &mut model,
        &mut step,
        &mut optimizer,
        Some(&mut schedule),
        &train,
        Some(&validation),
        &config,
        &mut observer,
    )
    .unwrap();
    let weights = model
        .parameters()
        .iter()
        .flat_map(|p| p.to_vec())
        .map(f32::to_bits)
        .collect();
    (weights, history, observer)
}

/// Everything of a summary but its timings.
fn figures(s: &EpochSummary) -> String {
    format!(
        "{} {:?} {:?} {:?} {}",
        s.epoch, s.step, s.train, s.validation, s.lr
    )
}

#[test]
fn a_step_based_run_evaluates_every_n_steps_across_epochs() {
    let dir = temp_dir("steps");
    let (_, history, observer) = step_run(&dir, false, None);
    assert_eq!(history.outcome, Outcome::Completed);
    // Steps 1..=25, four per epoch: the loader cycles through epochs 0..=6.
    let expected: Vec<_> = (0..25).map(|s| (s + 1, s / 4, s % 4)).collect();
    assert_eq!(observer.seen, expected);
    let steps: Vec<_> = history.epochs.iter().map(|s| (s.step, s.epoch)).collect();
    assert_eq!(steps, [(Some(10), 2), (Some(20), 4), (Some(25), 6)]);
    // The schedule steps once per summary: 0.05, then halved.
    let lrs: Vec<f64> = history.epochs.iter().map(|s| s.lr).collect();
    assert_eq!(lrs, [0.05, 0.025, 0.0125]);
    assert!(history
        .epochs
        .iter()
        .all(|s| s.val_loss().is_some() && s.train_metric("mae").is_some()));
    let text = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l["kind"] == "step"));
    assert_eq!(lines[1]["step"], 20);
    for name in ["step-00000010", "step-00000020", "step-00000025", "last", "best"] {
        assert!(dir.join(format!("{name}.safetensors")).exists(), "{name}");
    }
    let state = TrainingCheckpoint::read(&dir).unwrap();
    assert_eq!(
        (state.steps, state.interval, state.epoch, state.batch),
        (25, Some(10), 6, 1)
    );
}

#[test]
fn a_step_based_run_resumes_exactly_at_a_step() {
    let dir = temp_dir("steps_resume");
    let (straight_weights, straight, _) = step_run(&dir.join("straight"), false, None);
    for stop in [3, 10, 13, 24] {
        let split = dir.join(format!("split_{stop}"));
        let (_, first, observer) = step_run(&split, false, Some(stop));
        // Stopped after step `stop` (at 10, after its summary): epoch and batches done.
        let position = ((stop - 1) / 4, (stop - 1) % 4 + 1);
        assert_eq!(
            first.outcome,
            Outcome::Interrupted {
                epoch: position.0,
                batch: position.1
            },
            "stopped at {stop}"
        );
        assert_eq!(first.epochs.len(), stop / 10);
        assert_eq!(observer.seen.len(), stop);
        let (weights, second, observer) = step_run(&split, true, None);
        assert_eq!(
            observer.seen.first().map(|s| s.0),
            Some(stop + 1),
            "resumed after {stop}"
        );
        assert_eq!(second.outcome, Outcome::Completed);
        assert!(
            weights == straight_weights,
            "resumed at step {stop}: weights differ"
        );
        let got: Vec<String> = second.epochs.iter().map(figures).collect();
        let want: Vec<String> = straight.epochs.iter().map(figures).collect();
        assert_eq!(got, want, "resumed at step {stop}");
    }
}

#[test]
fn resuming_a_step_based_checkpoint_as_an_epoch_run_is_an_error() {
    let dir = temp_dir("steps_mismatch");
    step_run(&dir, false, Some(5));
    let train = pairs_loader(100, 7, 25);
    let mut model = Linear::new(2, 1, true, &mut Generator::new(0));
    let mut optimizer = Sgd::new(model.parameters(), SgdConfig::new(0.05).momentum(0.5));
    let config = TrainConfig {
        resume_from: Some(dir.clone()),
        ..config()
    };
    let err = fit(
        &mut model,
        &mut mse_step,
        &mut optimizer,
        None,
        &train,
        None,
        &config,
        &mut (),
    )
    .unwrap_err();
    match err {
        Error::Format { message, .. } => assert!(
            message.contains(
                "made by a step-based run with a summary every 10 steps, but this is an epoch-based run"
            ),
            "{message}"
        ),
        other => panic!("{other}"),
    }
}

#[test]
fn early_stopping_watches_a_named_metric_in_its_direction() {
    // Classification with learning rate 0: the accuracy never improves
    // after the first epoch, so patience 2 stops after epoch 2.
    let mut g = Generator::new(0);
    let x = Tensor::<f32>::randn(&[40, 2], &mut g);
    let labels = x.to_vec().chunks(2).map(|p| usize::from(p[0] > 0.0)).collect();
    let data = Arc::new(TensorDataset::new(x, IndexTensor::from_vec(labels, &[40]), 2));
    let loader = DataLoader::new(
        data,
        LoaderConfig {
            batch_size: 8,
            ..LoaderConfig::default()
        },
    );
    let mut model = Sequential::new()
        .add(Linear::new(2, 4, true, &mut g))
        .add(Tanh)
        .add(Linear::new(4, 2, true, &mut g));
    let mut optimizer = Sgd::new(model.parameters(), SgdConfig::new(0.0));
    let early = EarlyStopping::new(2).monitor("accuracy", MonitorMode::Max);
    let config = TrainConfig {
        epochs: 10,
        early_stopping: Some(early),
        ..config()
    };
    let history = fit(
        &mut model,
        &mut Classification::default(),
        &mut optimizer,
        None,
        &loader,
        None,
        &config,
        &mut (),
    )
    .unwrap();
    assert_eq!(history.outcome, Outcome::EarlyStopped { epoch: 2 });
    assert_eq!(history.best_epoch, Some(0));
    // Larger is better: a rising accuracy keeps improving.
    let mut optimizer = Sgd::new(model.parameters(), SgdConfig::new(0.5));
    let history = fit(
        &mut model,
        &mut Classification::default(),
        &mut optimizer,
        None,
        &loader,
        None,
        &config,
        &mut (),
    )
    .unwrap();
    let accuracies: Vec<f64> = history
        .epochs
        .iter()
        .map(|s| s.train_metric("accuracy").unwrap())
        .collect();
    let best = accuracies.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(accuracies[history.best_epoch.unwrap()], best, "{accuracies:?}");
}
