//! The training loop: learning, metrics, the metrics file, early stopping,
//! checkpoints, and exact resumption after a stop or an interrupt.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nabla::checkpoint::{load_metadata, load_tensors};
use nabla::data::{DataLoader, LoaderConfig, TensorDataset};
use nabla::nn::{Layer, Linear, Module, Relu, Sequential};
use nabla::optim::{Adam, AdamConfig, Optimizer, PlateauConfig, ReduceLrOnPlateau, Sgd, SgdConfig, StepLr};
use nabla::train::metrics::{top_k_correct, ConfusionMatrix, RunningMetrics};
use nabla::train::{
    evaluate_classifier, evaluate_top_k, fit, load_model_from_checkpoint, top_k_accuracy, BatchProgress,
    Classification, EarlyStopping, EpochScheduler, EpochSummary, History, Interrupt, MetricsLog, Outcome,
    RunningMeans, TrainConfig, TrainObserver, TrainingCheckpoint, BEST_FILE, LAST_FILE,
};
use nabla::{Error, Generator, IndexTensor, Tensor};

const CLASSES: usize = 3;
const TRAIN_SIZE: usize = 300;
const BATCH: usize = 32;
/// 300 examples in batches of 32: 9 full batches and one of 12.
const BATCHES: usize = 10;

/// Three Gaussian blobs in the plane, `n` points each, shuffled.
fn blobs(n: usize, seed: u64) -> TensorDataset {
    let mut g = Generator::new(seed);
    let centers = [(0.0, 2.0), (-1.8, -1.0), (1.8, -1.0)];
    let mut points = Vec::new();
    let mut labels = Vec::new();
    for i in 0..n * CLASSES {
        let class = i % CLASSES;
        let (cx, cy) = centers[class];
        points.push((cx + 0.6 * g.normal()) as f32);
        points.push((cy + 0.6 * g.normal()) as f32);
        labels.push(class);
    }
    TensorDataset::new(
        Tensor::from_vec(points, &[n * CLASSES, 2]),
        IndexTensor::from_vec(labels, &[n * CLASSES]),
        CLASSES,
    )
}

fn train_loader(workers: usize, seed: u64) -> DataLoader {
    let config = LoaderConfig {
        batch_size: BATCH,
        shuffle: true,
        drop_last: false,
        seed,
        workers,
        prefetch: 2,
        shard: None,
    };
    DataLoader::new(Arc::new(blobs(TRAIN_SIZE / CLASSES, 1)), config)
}

fn validation_loader() -> DataLoader {
    let config = LoaderConfig {
        batch_size: 64,
        shuffle: false,
        workers: 0,
        ..LoaderConfig::default()
    };
    DataLoader::new(Arc::new(blobs(40, 2)), config)
}

fn mlp(seed: u64) -> Sequential {
    let mut g = Generator::new(seed);
    Sequential::new()
        .add(Linear::new(2, 32, true, &mut g))
        .add(Relu)
        .add(Linear::new(32, CLASSES, true, &mut g))
}

/// A config with a private interrupt flag, so that tests running at the
/// same time never see each other's interrupts (or the Ctrl-C test's).
fn config(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        interrupt: Interrupt::new(),
        ..TrainConfig::default()
    }
}

/// Trains without a schedule or an observer, as most tests here do.
fn fit_plain(
    model: &mut dyn Layer,
    optimizer: &mut dyn Optimizer,
    train: &DataLoader,
    validation: Option<&DataLoader>,
    config: &TrainConfig,
) -> Result<History, Error> {
    let mut step = Classification::default();
    fit(
        model,
        &mut step,
        optimizer,
        None,
        train,
        validation,
        config,
        &mut (),
    )
}

/// A fresh directory under the system's temporary directory.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nabla_train_loop_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The model's parameters as bit patterns, for exact comparisons.
fn weight_bits(model: &dyn Module) -> Vec<Vec<u32>> {
    model
        .parameters()
        .iter()
        .map(|p| p.to_vec().iter().map(|v| v.to_bits()).collect())
        .collect()
}

/// An epoch's index, then the bits of its losses, accuracies and learning
/// rate.
type Figures = (usize, u64, u64, Option<u64>, Option<u64>, u64);

/// The summaries without their timings, which no two runs share.
fn figures(epochs: &[EpochSummary]) -> Vec<Figures> {
    epochs
        .iter()
        .map(|s| {
            (
                s.epoch,
                s.train_loss().to_bits(),
                s.train_metric("accuracy").unwrap().to_bits(),
                s.val_loss().map(f64::to_bits),
                s.val_metric("accuracy").map(f64::to_bits),
                s.lr.to_bits(),
            )
        })
        .collect()
}

#[test]
fn training_reduces_the_loss_and_reaches_high_accuracy() {
    let train = train_loader(0, 7);
    let validation = validation_loader();
    let mut model = mlp(0);
    let mut optimizer = Sgd::new(model.parameters(), SgdConfig::new(0.05).momentum(0.9));
    let before = evaluate_classifier(&mut model, &validation);
    let history = fit_plain(&mut model, &mut optimizer, &train, Some(&validation), &config(12)).unwrap();
    assert_eq!(history.outcome, Outcome::Completed);
    assert_eq!(history.epochs.len(), 12);
    assert_eq!(history.checkpoint, None);
    let first = &history.epochs[0];
    let last = history.epochs.last().unwrap();
    assert!(
        last.train_loss() < first.train_loss() / 3.0,
        "{first:?} -> {last:?}"
    );
    assert!(last.val_loss().unwrap() < before.loss / 3.0);
    assert!(last.train_metric("accuracy").unwrap() > 0.95, "{last:?}");
    assert!(last.val_metric("accuracy").unwrap() > 0.95, "{last:?}");
    assert!(last.seconds > 0.0 && last.images_per_second > 0.0);

    let after = evaluate_top_k(&mut model, &validation, 2);
    assert_eq!(after.accuracy, last.val_metric("accuracy").unwrap());
    assert_eq!(after.loss, last.val_loss().unwrap());
    assert_eq!(after.examples, 120);
    assert_eq!(after.confusion.total(), 120);
    assert_eq!(after.confusion.accuracy(), after.accuracy);
    assert_eq!(after.top_k, 2);
    assert!(after.top_k_accuracy >= after.accuracy);
    assert_eq!(evaluate_classifier(&mut model, &validation).top_k, CLASSES); // 5 capped at 3
    assert_eq!(evaluate_classifier(&mut model, &validation).top_k_accuracy, 1.0);
    assert!(
        model.is_training(),
        "evaluate puts the model back in training mode"
    );
}

#[test]
fn metrics_file_has_one_json_line_per_epoch_and_a_test_line() {
    let dir = temp_dir("metrics");
    let path = dir.join("run").join("metrics.jsonl");
    let train = train_loader(0, 3);
    let validation = validation_loader();
    let mut model = mlp(1);
    let mut optimizer = Sgd::new(model.parameters(), SgdConfig::new(0.05));
    let config = TrainConfig {
        metrics_path: Some(path.clone()),
        ..config(3)
    };
    let history = fit_plain(&mut model, &mut optimizer, &train, Some(&validation), &config).unwrap();
    let result = evaluate_classifier(&mut model, &validation);
    MetricsLog::append(&path).unwrap().write_test(&result).unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with('\n'));
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    assert_eq!(lines.len(), 4);
    let epoch_keys: BTreeSet<&str> = [
        "kind",
        "epoch",
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "lr",
        "seconds",
        "images_per_second",
    ]
    .into();
    for (i, (line, summary)) in lines.iter().zip(&history.epochs).enumerate() {
        let object = line.as_object().unwrap();
        assert_eq!(
            object.keys().map(String::as_str).collect::<BTreeSet<_>>(),
            epoch_keys
        );
        assert_eq!(line["kind"], "epoch");
        assert_eq!(line["epoch"], i);
        assert_eq!(line["train_loss"].as_f64(), Some(summary.train_loss()));
        assert_eq!(line["val_accuracy"].as_f64(), summary.val_metric("accuracy"));
        assert_eq!(line["lr"].as_f64(), Some(0.05));
        for key in ["train_accuracy", "val_loss", "seconds", "images_per_second"] {
            assert!(line[key].is_number(), "{key} in {line}");
        }
        // The line reads back as the summary itself.
        let parsed: EpochSummary = serde_json::from_value(line.clone()).unwrap();
        assert_eq!(&parsed, summary);
    }

    let test = &lines[3];
    let test_keys: BTreeSet<&str> = [
        "kind",
        "loss",
        "accuracy",
        "top_k",
        "top_k_accuracy",
        "examples",
        "class_names",
        "per_class_accuracy",
        "confusion",
    ]
    .into();
    let object = test.as_object().unwrap();
    assert_eq!(
        object.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        test_keys
    );
    assert_eq!(test["kind"], "test");
    assert_eq!(test["examples"], 120);
    assert_eq!(test["accuracy"].as_f64(), Some(result.accuracy));
    assert_eq!(test["class_names"], serde_json::json!(["0", "1", "2"]));
    let confusion: Vec<Vec<u64>> = serde_json::from_value(test["confusion"].clone()).unwrap();
    assert_eq!(confusion, result.confusion.rows());
    assert_eq!(confusion.iter().flatten().sum::<u64>(), 120);
    assert_eq!(test["per_class_accuracy"].as_array().unwrap().len(), CLASSES);

    // A non-finite loss is written as a string and reads back.
    let mut log = MetricsLog::append(&path).unwrap();
    let mut diverged = history.epochs[0].clone();
    diverged.train.insert("loss", f64::NAN);
    diverged
        .validation
        .as_mut()
        .unwrap()
        .insert("loss", f64::INFINITY);
    log.write_epoch(&diverged).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text.lines().last().unwrap();
    let value: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(
        (&value["train_loss"], &value["val_loss"]),
        (&"NaN".into(), &"inf".into())
    );
    let parsed: EpochSummary = serde_json::from_str(line).unwrap();
    assert!(parsed.train_loss().is_nan() && parsed.val_loss() == Some(f64::INFINITY));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn confusion_matrix_top_k_and_running_metrics_on_hand_made_logits() {
    // Four examples, three classes.
    let logits = Tensor::from_vec(
        vec![
            2.0f32, 1.0, 0.0, // predicts 0, target 0
            0.0, 1.0, 3.0, // predicts 2, target 1 (second guess: 1)
            1.0, 1.0, 0.5, // tie 0/1: predicts 0, target 1 (ranked second)
            0.0, 0.2, 0.1, // predicts 1, target 2 (second guess: 2)
        ],
        &[4, 3],
    );
    let targets = IndexTensor::from_vec(vec![0, 1, 1, 2], &[4]);
    assert_eq!(top_k_accuracy(&logits, &targets, 1), 0.25);
    assert_eq!(top_k_accuracy(&logits, &targets, 2), 1.0);
    assert_eq!(top_k_accuracy(&logits, &targets, 3), 1.0);
    assert_eq!(top_k_correct(&logits, &targets, 1), 1);
    // A tie is broken towards the smaller class, as argmax does: class 0
    // ranks first in row 2, so with target 0 top-1 is right.
    let tie = Tensor::from_vec(vec![1.0f32, 1.0, 0.5], &[1, 3]);
    assert_eq!(
        top_k_accuracy(&tie, &IndexTensor::from_vec(vec![0], &[1]), 1),
        1.0
    );
    assert_eq!(
        top_k_accuracy(&tie, &IndexTensor::from_vec(vec![1], &[1]), 1),
        0.0
    );

    let mut m = ConfusionMatrix::with_class_names(vec!["cat".into(), "dog".into(), "bird".into()]);
    m.add_batch(&logits, &targets);
    assert_eq!(m.rows(), vec![vec![1, 0, 0], vec![1, 0, 1], vec![0, 1, 0]]);
    assert_eq!((m.total(), m.correct()), (4, 1));
    assert_eq!(m.accuracy(), 0.25);
    assert_eq!(m.per_class_accuracy(), vec![Some(1.0), Some(0.0), Some(0.0)]);
    let table = m.to_string();
    let expected = "\
actual \\ predicted  cat  dog  bird  accuracy
               cat    1    0     0    100.0%
               dog    1    0     1      0.0%
              bird    0    1     0      0.0%
";
    assert_eq!(table, expected, "\n{table}");

    let mut other = ConfusionMatrix::new(3);
    other.add(2, 2);
    m.merge(&other);
    assert_eq!(m.count(2, 2), 1);
    assert_eq!(m.per_class_accuracy()[2], Some(0.5));
    // A class without examples has no accuracy.
    let mut sparse = ConfusionMatrix::new(3);
    sparse.add(0, 0);
    assert_eq!(sparse.per_class_accuracy(), vec![Some(1.0), None, None]);
    assert!(sparse
        .to_string()
        .lines()
        .nth(2)
        .unwrap()
        .trim_end()
        .ends_with('-'));

    let mut running = RunningMetrics::default();
    assert!(running.loss().is_nan() && running.accuracy().is_nan());
    running.add_batch(0.5, &logits, &targets);
    running.add(2.0, 2, 4);
    assert_eq!(
        (running.loss(), running.accuracy(), running.seen),
        (1.25, 3.0 / 8.0, 8)
    );
}

#[test]
fn early_stopping_stops_after_patience_epochs_without_improvement() {
    let train = train_loader(0, 5);
    let validation = validation_loader();
    // A fresh model trained by SGD at `lr` for up to `epochs` epochs.
    let fit_stopping = |lr: f64, early_stopping: EarlyStopping, epochs: usize| {
        let mut model = mlp(2);
        let mut optimizer = Sgd::new(model.parameters(), SgdConfig::new(lr));
        let config = TrainConfig {
            early_stopping: Some(early_stopping),
            ..config(epochs)
        };
        fit_plain(&mut model, &mut optimizer, &train, Some(&validation), &config).unwrap()
    };
    // A learning rate of 0: the validation loss never moves, so only the
    // first epoch improves (on +inf).
    let history = fit_stopping(0.0, EarlyStopping::new(2), 20);
    assert_eq!(history.outcome, Outcome::EarlyStopped { epoch: 2 });
    assert_eq!(history.epochs.len(), 3);
    assert_eq!(history.best_epoch, Some(0));

    // With learning, the loss keeps improving and training runs to the end.
    let history = fit_stopping(0.05, EarlyStopping::new(3), 5);
    assert_eq!(history.outcome, Outcome::Completed);
    assert_eq!(history.best_epoch, Some(4));

    // min_delta: improvements smaller than it do not count.
    let min_delta = EarlyStopping {
        min_delta: 0.1,
        ..EarlyStopping::new(1)
    };
    let history = fit_stopping(1e-6, min_delta, 5);
    assert_eq!(history.outcome, Outcome::EarlyStopped { epoch: 1 });
}

#[test]
fn a_checkpoint_is_written_every_epoch_and_loads() {
    let dir = temp_dir("checkpoints");
    let train = train_loader(0, 11);
    let validation = validation_loader();
    let mut model = mlp(3);
    let mut optimizer = Sgd::new(model.parameters(), SgdConfig::new(0.05).momentum(0.9));
    let config = TrainConfig {
        checkpoint_dir: Some(dir.clone()),
        ..config(3)
    };
    let history = fit_plain(&mut model, &mut optimizer, &train, Some(&validation), &config).unwrap();
    assert_eq!(history.checkpoint, Some(dir.join(LAST_FILE)));
    for epoch in 1..=3 {
        let path = dir.join(format!("epoch-{epoch:04}.safetensors"));
        let state = TrainingCheckpoint::read(&path).unwrap();
        assert_eq!((state.epoch, state.batch, state.num_batches), (epoch, 0, BATCHES));
        assert_eq!(state.loader_seed, 11);
        assert_eq!(state.history, history.epochs[..epoch]);
        assert_eq!(state.running, RunningMeans::default());
        assert_eq!(state.scheduler_steps, None);
        assert_eq!(state.learning_rate, 0.05);
    }
    // No stray temporary files: every write was renamed into place.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            BEST_FILE,
            "epoch-0001.safetensors",
            "epoch-0002.safetensors",
            "epoch-0003.safetensors",
            LAST_FILE
        ]
    );

    // The file: model and optimizer tensors by prefix, the state in the metadata.
    let path = dir.join(LAST_FILE);
    let metadata = load_metadata(&path).unwrap();
    for key in [
        "format",
        "nabla_checkpoint",
        "epoch",
        "batch",
        "num_batches",
        "loader_seed",
        "learning_rate",
        "running",
        "epoch_seconds",
        "history",
    ] {
        assert!(metadata.contains_key(key), "{key} missing from {metadata:?}");
    }
    assert_eq!(metadata["epoch"], "3");
    let names: Vec<String> = load_tensors::<f32>(&path)
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(names.contains(&"model.0.weight".to_string()));
    assert!(names.contains(&"optimizer.state.0.momentum_buffer".to_string()));

    // The model loads from the directory (its last checkpoint), from an
    // epoch's file, and from best.safetensors.
    let trained = weight_bits(&model);
    let restored = mlp(99);
    assert_ne!(weight_bits(&restored), trained);
    load_model_from_checkpoint(&restored, &dir).unwrap();
    assert_eq!(weight_bits(&restored), trained);
    let earlier = mlp(99);
    load_model_from_checkpoint(&earlier, dir.join("epoch-0001.safetensors")).unwrap();
    assert_ne!(weight_bits(&earlier), trained);
    let best = mlp(99);
    load_model_from_checkpoint(&best, dir.join(BEST_FILE)).unwrap();
    let best_epoch = history.best_epoch.unwrap();
    let at_best = mlp(98);
    load_model_from_checkpoint(
        &at_best,
        dir.join(format!("epoch-{:04}.safetensors", best_epoch + 1)),
    )
    .unwrap();
    assert_eq!(weight_bits(&best), weight_bits(&at_best));

    // A model of another shape is refused, naming the tensor.
    let mut g = Generator::new(0);
    let wrong: Sequential = Sequential::new()
        .add(Linear::new(2, 8, true, &mut g))
        .add(Relu)
        .add(Linear::new(8, CLASSES, true, &mut g));
    match load_model_from_checkpoint(&wrong, &dir) {
        Err(Error::ShapeMismatch { name, .. }) => assert_eq!(name, "model.0.weight"),
        other => panic!("{other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The optimizer and schedule of a run, built the same way every time.
#[derive(Clone, Copy, Debug)]
enum Setup {
    /// SGD with momentum and weight decay, StepLr every epoch.
    SgdStepLr,
    /// Adam, ReduceLrOnPlateau on the validation loss (patience 0, so that
    /// it acts within a short run).
    AdamPlateau,
}

/// Records nothing, or triggers an interrupt after a given step.
struct InterruptAt {
    at: Option<(usize, usize)>,
    interrupt: Interrupt,
    batches_seen: Vec<(usize, usize)>,
}

impl TrainObserver for InterruptAt {
    fn on_batch(&mut self, p: &BatchProgress) {
        self.batches_seen.push((p.epoch, p.batch));
        assert_eq!(p.num_batches, BATCHES);
        assert!(p.loss.is_finite() && p.metric("accuracy").unwrap() >= 0.0 && p.images_per_second > 0.0);
        if self.at == Some((p.epoch, p.batch)) {
            self.interrupt.trigger();
        }
    }
}

struct Run {
    weights: Vec<Vec<u32>>,
    history: History,
    batches_seen: Vec<(usize, usize)>,
}

/// Trains a fresh model for (up to) `epochs` epochs in all, resuming from
/// `dir` if `resume`, interrupting after step `interrupt_at`.
fn run(
    setup: Setup,
    workers: usize,
    epochs: usize,
    dir: &Path,
    resume: bool,
    interrupt_at: Option<(usize, usize)>,
) -> Run {
    let train = train_loader(workers, 21);
    let validation = validation_loader();
    let mut model = mlp(4);
    let interrupt = Interrupt::new();
    let config = TrainConfig {
        checkpoint_dir: Some(dir.to_path_buf()),
        resume_from: resume.then(|| dir.to_path_buf()),
        clip_grad_norm: Some(5.0),
        interrupt: interrupt.clone(),
        ..config(epochs)
    };
    let mut observer = InterruptAt {
        at: interrupt_at,
        interrupt,
        batches_seen: Vec::new(),
    };
    let (mut optimizer, mut schedule): (Box<dyn Optimizer>, Box<dyn EpochScheduler>) = match setup {
        Setup::SgdStepLr => {
            let mut optimizer = Sgd::new(
                model.parameters(),
                SgdConfig::new(0.05).momentum(0.9).weight_decay(1e-3),
            );
            let schedule = StepLr::new(&mut optimizer, 1, 0.7);
            (Box::new(optimizer), Box::new(schedule))
        }
        Setup::AdamPlateau => {
            let optimizer = Adam::new(model.parameters(), AdamConfig::new(0.01));
            let plateau = PlateauConfig {
                patience: 0,
                factor: 0.5,
                threshold: 0.65,
                ..PlateauConfig::default()
            };
            let schedule = ReduceLrOnPlateau::new(&optimizer, plateau);
            (Box::new(optimizer), Box::new(schedule))
        }
    };
    let history = fit(
        &mut model,
        &mut Classification::default(),
        optimizer.as_mut(),
        Some(schedule.as_mut()),
        &train,
        Some(&validation),
        &config,
        &mut observer,
    )
    .unwrap();
    Run {
        weights: weight_bits(&model),
        history,
        batches_seen: observer.batches_seen,
    }
}

fn check_resume_equals_uninterrupted(setup: Setup, workers: usize) {
    let dir = temp_dir(&format!("resume_{setup:?}_{workers}"));
    let straight = run(setup, workers, 4, &dir.join("straight"), false, None);
    assert_eq!(straight.history.outcome, Outcome::Completed);

    let split = dir.join("split");
    let first = run(setup, workers, 2, &split, false, None);
    assert_eq!(first.history.outcome, Outcome::Completed);
    assert_eq!(first.history.epochs.len(), 2);
    let second = run(setup, workers, 4, &split, true, None);
    assert_eq!(second.history.outcome, Outcome::Completed);
    assert_eq!(second.batches_seen.first(), Some(&(2, 0)));
    assert_eq!(second.batches_seen.len(), 2 * BATCHES);

    assert!(
        second.weights == straight.weights,
        "{setup:?}, {workers} workers: resumed weights differ"
    );
    assert_eq!(figures(&second.history.epochs), figures(&straight.history.epochs));
    assert_eq!(second.history.best_epoch, straight.history.best_epoch);
    let lrs: Vec<f64> = straight.history.epochs.iter().map(|s| s.lr).collect();
    let val: Vec<f64> = straight
        .history
        .epochs
        .iter()
        .map(|s| s.val_loss().unwrap())
        .collect();
    assert!(
        lrs.windows(2).any(|w| w[1] < w[0]),
        "the schedule never acted: {lrs:?}, {val:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn resume_equals_an_uninterrupted_run_without_workers() {
    check_resume_equals_uninterrupted(Setup::SgdStepLr, 0);
    check_resume_equals_uninterrupted(Setup::AdamPlateau, 0);
}

#[test]
fn resume_equals_an_uninterrupted_run_with_two_workers() {
    check_resume_equals_uninterrupted(Setup::SgdStepLr, 2);
    check_resume_equals_uninterrupted(Setup::AdamPlateau, 2);
}

fn check_interrupt_then_resume(setup: Setup, workers: usize, at: (usize, usize)) {
    let dir = temp_dir(&format!("interrupt_{setup:?}_{workers}_{}_{}", at.0, at.1));
    let straight = run(setup, workers, 3, &dir.join("straight"), false, None);

    let split = dir.join("split");
    let stopped = run(setup, workers, 3, &split, false, Some(at));
    let position = (at.0, at.1 + 1);
    assert_eq!(
        stopped.history.outcome,
        Outcome::Interrupted {
            epoch: position.0,
            batch: position.1
        }
    );
    assert_eq!(stopped.batches_seen.last(), Some(&at));
    assert_eq!(stopped.history.epochs.len(), at.0);
    assert_eq!(stopped.history.checkpoint, Some(split.join(LAST_FILE)));
    let state = TrainingCheckpoint::read(&split).unwrap();
    assert_eq!((state.epoch, state.batch), position);
    assert_eq!(
        state.running.examples as usize,
        (position.1 * BATCH).min(TRAIN_SIZE)
    );
    assert!(state.epoch_seconds > 0.0);

    let resumed = run(setup, workers, 3, &split, true, None);
    assert_eq!(resumed.history.outcome, Outcome::Completed);
    let expected_first = if position.1 == BATCHES {
        (position.0 + 1, 0)
    } else {
        position
    };
    assert_eq!(resumed.batches_seen.first(), Some(&expected_first));
    assert!(
        resumed.weights == straight.weights,
        "{setup:?}, {workers} workers, interrupted after {at:?}: resumed weights differ"
    );
    assert_eq!(
        figures(&resumed.history.epochs),
        figures(&straight.history.epochs)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn interrupt_mid_epoch_then_resume_equals_an_uninterrupted_run() {
    check_interrupt_then_resume(Setup::SgdStepLr, 0, (1, 4));
    check_interrupt_then_resume(Setup::AdamPlateau, 2, (1, 4));
    check_interrupt_then_resume(Setup::SgdStepLr, 2, (0, 0));
}

#[test]
fn interrupt_after_an_epochs_last_step_then_resume_equals_an_uninterrupted_run() {
    // The training part of epoch 1 is done; validation, the schedule's step
    // and the epoch's line happen after resuming.
    check_interrupt_then_resume(Setup::AdamPlateau, 0, (1, BATCHES - 1));
}

#[test]
fn the_same_seed_gives_the_same_metrics() {
    let dir = temp_dir("determinism");
    let lines = |name: &str, seed: u64| -> Vec<serde_json::Value> {
        let path = dir.join(format!("{name}.jsonl"));
        let train = train_loader(2, seed);
        let validation = validation_loader();
        let mut model = mlp(5);
        let mut optimizer = Sgd::new(model.parameters(), SgdConfig::new(0.05).momentum(0.5));
        let config = TrainConfig {
            metrics_path: Some(path.clone()),
            ..config(3)
        };
        fit_plain(&mut model, &mut optimizer, &train, Some(&validation), &config).unwrap();
        std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                let object = v.as_object_mut().unwrap();
                object.remove("seconds").unwrap();
                object.remove("images_per_second").unwrap();
                v
            })
            .collect()
    };
    let a = lines("a", 13);
    let b = lines("b", 13);
    assert_eq!(a.len(), 3);
    assert_eq!(a, b);
    let c = lines("c", 14);
    assert_ne!(a, c, "another loader seed shuffles differently");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn resuming_checks_the_loader_and_the_schedule() {
    let dir = temp_dir("resume_checks");
    run(Setup::SgdStepLr, 0, 1, &dir, false, None);
    let validation = validation_loader();
    let build = || {
        let model = mlp(4);
        let optimizer = Sgd::new(model.parameters(), SgdConfig::new(0.05).momentum(0.9));
        (model, optimizer)
    };
    let config = TrainConfig {
        resume_from: Some(dir.clone()),
        ..config(2)
    };

    // Another loader seed: the run would not be repeated.
    let (mut model, mut optimizer) = build();
    let before = weight_bits(&model);
    let mut schedule = StepLr::new(&mut optimizer, 1, 0.7);
    let other_seed = train_loader(0, 22);
    let err = fit(
        &mut model,
        &mut Classification::default(),
        &mut optimizer,
        Some(&mut schedule),
        &other_seed,
        Some(&validation),
        &config,
        &mut (),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Format { .. }), "{err}");
    assert!(err.to_string().contains("seed 21"), "{err}");
    assert_eq!(weight_bits(&model), before, "nothing is changed on an error");

    // No schedule, when the run had one.
    let (mut model, mut optimizer) = build();
    let train = train_loader(0, 21);
    let err = fit_plain(&mut model, &mut optimizer, &train, Some(&validation), &config).unwrap_err();
    assert!(err.to_string().contains("schedule"), "{err}");
    assert_eq!(weight_bits(&model), before);

    // Not a training checkpoint.
    let plain = dir.join("plain.safetensors");
    nabla::checkpoint::save_module(&model, &plain).unwrap();
    let err = TrainingCheckpoint::read(&plain).unwrap_err();
    assert!(err.to_string().contains("not a training checkpoint"), "{err}");

    // TrainingCheckpoint::resume by hand: the schedule is stepped through
    // the saved history.
    let (model, mut optimizer) = build();
    let mut schedule = StepLr::new(&mut optimizer, 1, 0.7);
    let state = TrainingCheckpoint::resume(&dir, &model, &mut optimizer, Some(&mut schedule)).unwrap();
    assert_eq!((state.epoch, state.batch, state.scheduler_steps), (1, 0, Some(1)));
    assert_eq!(schedule.steps_taken(), 1);
    assert_eq!(optimizer.learning_rate(), 0.05 * 0.7);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_non_finite_loss_stops_the_run_before_its_update_without_a_checkpoint() {
    let dir = temp_dir("diverged");
    let train = train_loader(0, 1);
    let mut model = mlp(8);
    // The output layer's bias: a NaN there reaches the loss (ReLU would
    // turn one in the first layer into 0).
    let bias = model.parameters().last().unwrap().clone();
    let mut poisoned = bias.to_vec();
    poisoned[0] = f32::NAN;
    bias.copy_from(&Tensor::from_vec(poisoned.clone(), bias.shape()));
    let mut optimizer = Sgd::new(model.parameters(), SgdConfig::new(0.05));
    let stopping = TrainConfig {
        checkpoint_dir: Some(dir.clone()),
        stop_on_non_finite_loss: true,
        ..config(2)
    };
    let history = fit_plain(&mut model, &mut optimizer, &train, None, &stopping).unwrap();
    assert_eq!(history.outcome, Outcome::Diverged { epoch: 0, batch: 0 });
    assert!(history.epochs.is_empty() && history.checkpoint.is_none());
    assert!(!dir.join(LAST_FILE).exists(), "no checkpoint of a diverged run");
    let after = bias.to_vec();
    assert!(
        after[0].is_nan() && after[1..] == poisoned[1..],
        "no update was made"
    );

    // Without the option the run goes on, as before.
    let mut optimizer = Sgd::new(model.parameters(), SgdConfig::new(0.05));
    let history = fit_plain(&mut model, &mut optimizer, &train, None, &config(1)).unwrap();
    assert_eq!(history.outcome, Outcome::Completed);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_interrupt_without_a_checkpoint_directory_stops_without_saving() {
    let train = train_loader(0, 1);
    let mut model = mlp(6);
    let mut optimizer = Sgd::new(model.parameters(), SgdConfig::new(0.05));
    let config = config(2);
    config.interrupt.trigger();
    let history = fit_plain(&mut model, &mut optimizer, &train, None, &config).unwrap();
    assert_eq!(history.outcome, Outcome::Interrupted { epoch: 0, batch: 1 });
    assert_eq!(history.checkpoint, None);
    assert!(!config.interrupt.is_triggered(), "the loop takes the flag");
}

/// The only test that uses the process-wide Ctrl-C flag (the others have
/// private flags), so that it cannot interrupt them.
#[test]
fn ctrl_c_sets_the_flag_the_loop_checks() {
    let installed = nabla::train::install_ctrlc_handler();
    assert_eq!(
        nabla::train::install_ctrlc_handler(),
        installed,
        "installing is idempotent"
    );
    assert_eq!(nabla::train::interrupt::ctrlc_handler_installed(), installed);
    let flag = Interrupt::ctrl_c();
    assert!(flag.is_ctrl_c());

    // A real SIGINT, then a SIGTERM (what `kill` and `timeout` send),
    // where the handler is in place: each sets the flag.
    #[cfg(unix)]
    if installed {
        for signal in ["INT", "TERM"] {
            let status = std::process::Command::new("kill")
                .args(["-s", signal, &std::process::id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
            let start = std::time::Instant::now();
            while !flag.is_triggered() {
                assert!(start.elapsed().as_secs() < 10, "SIG{signal} did not set the flag");
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            assert!(flag.take());
        }
    }

    // The default config watches this flag.
    let train = train_loader(0, 1);
    let mut model = mlp(7);
    let mut optimizer = Sgd::new(model.parameters(), SgdConfig::new(0.05));
    let config = TrainConfig {
        epochs: 2,
        ..TrainConfig::default()
    };
    assert!(config.interrupt.is_ctrl_c());
    flag.trigger();
    let history = fit_plain(&mut model, &mut optimizer, &train, None, &config).unwrap();
    assert_eq!(history.outcome, Outcome::Interrupted { epoch: 0, batch: 1 });
    assert!(!flag.is_triggered());
}
