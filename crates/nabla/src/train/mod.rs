//! The training loop for any model and any batch: epochs (or a number of
//! steps) over a [`DataLoader`](crate::data::DataLoader), an
//! [`Optimizer`](crate::optim::Optimizer) and a learning-rate schedule,
//! train/eval mode switching, named metrics, validation, early stopping,
//! checkpoints, exact resumption, and a clean stop on Ctrl-C.
//!
//! - [`fit`] runs the loop and returns the [`History`]; [`evaluate`]
//!   measures a model on a loader with a step.
//! - [`Step`] is what the loop does with a batch: run the model and return
//!   the loss and named [`Metric`]s ([`StepOutput`]). [`Classification`]
//!   (cross-entropy and accuracy) is the provided step for classifiers; a
//!   closure is a step. [`evaluate_classifier`] adds top-k accuracy and
//!   the [`ConfusionMatrix`].
//! - [`TrainConfig`] says how many epochs or steps, where checkpoints and
//!   metrics go, early stopping ([`EarlyStopping`], on any metric),
//!   gradient clipping, and which checkpoint to resume from.
//! - [`TrainObserver`] receives a callback per batch and per epoch, for
//!   progress bars; `()` observes nothing.
//! - [`EpochScheduler`] is the schedule as the loop drives it, implemented
//!   by every [`LrScheduler`](crate::optim::LrScheduler) and by
//!   [`ReduceLrOnPlateau`](crate::optim::ReduceLrOnPlateau).
//! - [`TrainingCheckpoint`]: the checkpoint file (model, optimizer,
//!   position, history) and [`TrainingCheckpoint::resume`].
//! - [`interrupt`]: the Ctrl-C handler and the [`Interrupt`] flag.
//! - [`DataParallel`]: data-parallel training across processes (set in
//!   [`TrainConfig::parallel`]; nabla's is `distributed::DistributedDataParallel`
//!   on MPI, the `mpi` feature).
//! - [`metrics`]: running loss and accuracy, top-k accuracy, the confusion
//!   matrix; [`MetricsLog`] writes summaries as JSON lines.
//!
//! ```
//! use std::sync::Arc;
//! use nabla::data::{DataLoader, LoaderConfig, TensorDataset};
//! use nabla::nn::{Linear, Module, Relu, Sequential};
//! use nabla::optim::{Optimizer, Sgd, SgdConfig};
//! use nabla::train::{fit, Classification, Outcome, TrainConfig};
//! use nabla::{Generator, IndexTensor, Tensor};
//!
//! // Two classes: the sign of the first coordinate.
//! let mut g = Generator::new(0);
//! let x = Tensor::<f32>::randn(&[64, 2], &mut g);
//! let labels = x.to_vec().chunks(2).map(|p| (p[0] > 0.0) as usize).collect();
//! let data = Arc::new(TensorDataset::new(x, IndexTensor::from_vec(labels, &[64]), 2));
//! let config = LoaderConfig { batch_size: 16, workers: 0, ..LoaderConfig::default() };
//! let loader = DataLoader::new(data, config);
//!
//! let mut model: Sequential = Sequential::new()
//!     .add(Linear::new(2, 16, true, &mut g))
//!     .add(Relu)
//!     .add(Linear::new(16, 2, true, &mut g));
//! let mut optimizer = Sgd::new(model.parameters(), SgdConfig::new(0.5));
//! let config = TrainConfig { epochs: 20, ..TrainConfig::default() };
//! let mut step = Classification::default();
//! let history = fit(&mut model, &mut step, &mut optimizer, None, &loader, None, &config, &mut ())?;
//! assert_eq!(history.outcome, Outcome::Completed);
//! assert!(history.epochs.last().unwrap().train_metric("accuracy").unwrap() > 0.9);
//! # Ok::<(), nabla::Error>(())
//! ```
//!
//! # The metrics file
//!
//! With [`TrainConfig::metrics_path`], every epoch appends one JSON object
//! on its own line, flushed at once, so that the file can be followed
//! while training:
//!
//! ```text
//! {"kind":"epoch","epoch":0,"train_loss":0.52,"train_accuracy":0.81,"val_loss":0.31,"val_accuracy":0.9,"lr":0.1,"seconds":1.9,"images_per_second":31000.0}
//! ```
//!
//! This is the line of [`Classification`]; another step gets
//! `train_<name>` and `val_<name>` for each of its metrics, `loss` first.
//! `epoch` counts from 0 (the index passed to
//! [`DataLoader::epoch`](crate::data::DataLoader::epoch)); the `val_` keys
//! are `null` without validation; `lr` is the learning rate
//! the epoch trained with; `seconds` is the epoch's wall time, validation
//! included, and `images_per_second` the training throughput. A loss that
//! is not finite is written as the string `"NaN"`, `"inf"` or `"-inf"`.
//! A step-based run ([`TrainConfig::max_steps`]) writes one line per
//! summary, `{"kind":"step","epoch":2,"step":1500,...}`, with the same keys
//! and `step` the optimizer steps done.
//! [`MetricsLog::write_test`] appends the final test line,
//!
//! ```text
//! {"kind":"test","loss":0.3,"accuracy":0.91,"top_k":5,"top_k_accuracy":0.99,"examples":10000,"class_names":["0",...],"per_class_accuracy":[0.98,...],"confusion":[[970,0,...],...]}
//! ```
//!
//! with the confusion matrix as rows of actual classes and columns of
//! predicted classes, and `null` accuracy for a class without examples.
//! A resumed run appends to the same file; an epoch that was logged but
//! whose checkpoint was never written (a crash between the two) is logged
//! again when it is run again, with the same figures but its time.

mod checkpoint_state;
mod classification;
mod config;
mod fit;
pub mod interrupt;
pub mod metrics;
mod observer;
mod parallel;
mod running;
mod schedule;
mod step;
mod summary;

pub use checkpoint_state::{load_model_from_checkpoint, TrainingCheckpoint, BEST_FILE, LAST_FILE};
pub use classification::{evaluate_classifier, evaluate_top_k, Classification, EvalResult};
pub use config::{EarlyStopping, MonitorMode, TrainConfig};
pub use fit::{evaluate, fit};
pub use interrupt::{install_ctrlc_handler, Interrupt};
pub use metrics::{top_k_accuracy, ConfusionMatrix, RunningMetrics};
pub use observer::{BatchProgress, RunStart, TrainObserver};
pub use parallel::{data_parallel_backward, DataParallel};
pub use running::{RunningMeans, RunningSum};
pub use schedule::EpochScheduler;
pub use step::{Metric, Step, StepOutput};
pub use summary::{EpochSummary, History, Metrics, Outcome};

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

/// Appends JSON lines to a metrics file, one object per line, flushed after
/// each; see the [module docs](self#the-metrics-file) for the keys.
///
/// ```
/// use nabla::train::{EpochSummary, MetricsLog};
/// let path = std::env::temp_dir().join(format!("nabla_doc_metrics_{}.jsonl", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// let mut log = MetricsLog::append(&path)?;
/// let summary = EpochSummary {
///     epoch: 0, step: None, train: [("loss", 0.5), ("accuracy", 0.75)].into_iter().collect(),
///     validation: None, lr: 0.1, seconds: 1.0, images_per_second: 1000.0,
/// };
/// log.write_epoch(&summary)?;
/// let text = std::fs::read_to_string(&path).unwrap();
/// assert!(text.starts_with(r#"{"kind":"epoch","epoch":0,"train_loss":0.5,"#));
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), nabla::Error>(())
/// ```
#[derive(Debug)]
pub struct MetricsLog {
    path: PathBuf,
    file: File,
}

impl MetricsLog {
    /// Opens `path` for appending, creating it (and its directory) if needed.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file.
    pub fn append(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        Ok(MetricsLog { path, file })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line: `value` as a JSON object, then flushes.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file.
    pub fn write_line(&mut self, value: &impl Serialize) -> Result<()> {
        let mut line = serde_json::to_vec(value).map_err(|e| Error::Io {
            path: self.path.clone(),
            source: e.into(),
        })?;
        line.push(b'\n');
        // One write per line, so that a reader never sees half a line
        // followed by another writer's.
        self.file
            .write_all(&line)
            .and_then(|()| self.file.flush())
            .map_err(|source| Error::Io {
                path: self.path.clone(),
                source,
            })
    }

    /// Appends a summary's line: `{"kind":"epoch", ...the summary}`, or
    /// `"kind":"step"` for a summary of a step-based run.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file.
    pub fn write_epoch(&mut self, summary: &EpochSummary) -> Result<()> {
        #[derive(Serialize)]
        struct Line<'a> {
            kind: &'static str,
            #[serde(flatten)]
            summary: &'a EpochSummary,
        }
        self.write_line(&Line {
            kind: if summary.step.is_some() { "step" } else { "epoch" },
            summary,
        })
    }

    /// Appends the final test line: `{"kind":"test", ...}` with the loss,
    /// accuracies, class names, per-class accuracy and confusion matrix.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file.
    pub fn write_test(&mut self, result: &EvalResult) -> Result<()> {
        #[derive(Serialize)]
        struct Line<'a> {
            kind: &'static str,
            #[serde(with = "float_repr")]
            loss: f64,
            #[serde(with = "float_repr")]
            accuracy: f64,
            top_k: usize,
            #[serde(with = "float_repr")]
            top_k_accuracy: f64,
            examples: u64,
            class_names: &'a [String],
            per_class_accuracy: Vec<Option<f64>>,
            confusion: Vec<Vec<u64>>,
        }
        self.write_line(&Line {
            kind: "test",
            loss: result.loss,
            accuracy: result.accuracy,
            top_k: result.top_k,
            top_k_accuracy: result.top_k_accuracy,
            examples: result.examples,
            class_names: result.confusion.class_names(),
            per_class_accuracy: result.confusion.per_class_accuracy(),
            confusion: result.confusion.rows(),
        })
    }
}

/// Serde for `f64` that survives JSON exactly: finite numbers as JSON
/// numbers (read back bit for bit, with serde_json's `float_roundtrip`),
/// NaN and infinities as the strings `"NaN"`, `"inf"`, `"-inf"` (JSON has no
/// such numbers; serde_json would write `null`). Reads numbers, those
/// strings, and `null` as NaN.
pub(crate) mod float_repr {
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};
    use std::fmt;

    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        if value.is_finite() {
            serializer.serialize_f64(*value)
        } else {
            serializer.serialize_str(&value.to_string())
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        deserializer.deserialize_any(FloatVisitor)
    }

    struct FloatVisitor;

    impl Visitor<'_> for FloatVisitor {
        type Value = f64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number, \"NaN\", \"inf\" or \"-inf\"")
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
            match v.parse::<f64>() {
                Ok(x) if !x.is_finite() => Ok(x),
                _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
            }
        }

        fn visit_unit<E: de::Error>(self) -> Result<f64, E> {
            Ok(f64::NAN)
        }
    }
}
