//! Training checkpoints: everything needed to go on with a run exactly, in
//! one safetensors file written atomically. See [`TrainingCheckpoint`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::metrics::RunningMetrics;
use super::running::RunningMeans;
use super::schedule::EpochScheduler;
use super::summary::EpochSummary;
use crate::checkpoint::{
    check_optimizer_state, is_pytorch, load_metadata, load_module, save_tensors, MappedSafetensors,
    LEARNING_RATE_KEY,
};
use crate::error::{Error, Result};
use crate::nn::Module;
use crate::optim::Optimizer;
use crate::tensor::Tensor;

/// The checkpoint that [`fit`](super::fit) writes after every epoch and on
/// an interrupt, in a checkpoint directory.
pub const LAST_FILE: &str = "last.safetensors";

/// The model alone at its best monitored loss, in a checkpoint directory.
pub const BEST_FILE: &str = "best.safetensors";

/// The metadata key that marks a training checkpoint, and its value.
const KIND_KEY: &str = "nabla_checkpoint";
const KIND: &str = "training-1";

const MODEL_PREFIX: &str = "model.";
const OPTIMIZER_PREFIX: &str = "optimizer.";

/// The name of the checkpoint kept after `epochs_done` epochs:
/// `epoch-0003.safetensors` after the third.
pub(super) fn epoch_file_name(epochs_done: usize) -> String {
    format!("epoch-{epochs_done:04}.safetensors")
}

/// The name of the checkpoint kept after `steps` steps of a step-based run:
/// `step-00001000.safetensors` after the thousandth.
pub(super) fn step_file_name(steps: usize) -> String {
    format!("step-{steps:08}.safetensors")
}

/// A checkpoint directory means its `last.safetensors`.
pub(super) fn resolve(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join(LAST_FILE)
    } else {
        path.to_path_buf()
    }
}

/// The state of a training run besides its tensors: where it is, the
/// partial epoch's figures, and the finished epochs; with the model's and
/// the optimizer's tensors, a training checkpoint.
///
/// # The file
///
/// One safetensors file (so that it is replaced as a whole: a directory of
/// several files could be caught half updated):
///
/// - tensors `model.{name}` for each entry of the model's `state_dict`
///   (`model.0.weight`, ...), and `optimizer.{name}` for each entry of the
///   optimizer's (`optimizer.state.0.momentum_buffer`, ...);
/// - metadata (strings):
///
/// | key | value |
/// | --- | --- |
/// | `format` | `pt`, as PyTorch writes |
/// | `nabla_checkpoint` | `training-1`: the kind of file and its version |
/// | `epoch` | the epoch in progress, or the next one when `batch` is 0 (from 0) |
/// | `batch` | the batches of `epoch` already trained on |
/// | `num_batches` | batches per epoch of the training loader |
/// | `loader_seed` | the training loader's seed: with the epoch, it fixes the order of the examples |
/// | `learning_rate` | the optimizer's learning rate (shortest decimal that reads back exactly) |
/// | `scheduler_steps` | the steps the schedule had taken; absent without a schedule |
/// | `steps` | the optimizer steps done since the start of the run |
/// | `eval_every` | the steps between summaries of a step-based run; absent in an epoch-based run |
/// | `running` | JSON: the partial epoch's (interval's) [`RunningMeans`], `{"examples", "sums": [{"name", "sum", "count"}, ...]}` |
/// | `epoch_seconds` | time spent on the partial epoch (interval) |
/// | `history` | JSON: the finished epochs' (intervals') [`EpochSummary`]s |
///
/// Checkpoints written before `steps` and `eval_every` existed (epoch-based,
/// with `running` as `{"loss_sum", "correct", "seen"}`) are read too.
///
/// The loader's order depends only on its seed and the epoch, so `loader_seed`,
/// `epoch` and `batch` are the whole random state of the data. A schedule is
/// restored by building a fresh one and stepping it through the saved
/// history (its state is a function of those steps), which needs no
/// accessors into its fields. Random state inside the model (the generator
/// of [`Dropout`](crate::nn::Dropout)) is not saved.
///
/// In Python: `{k[6:]: v for k, v in load_file(path).items() if k.startswith("model.")}`
/// is the model's `state_dict`.
///
/// # Example
///
/// ```
/// use nabla::nn::{Linear, Module};
/// use nabla::optim::{Optimizer, Sgd, SgdConfig};
/// use nabla::train::TrainingCheckpoint;
/// use nabla::Generator;
/// let path = std::env::temp_dir().join(format!("nabla_doc_train_ckpt_{}.safetensors", std::process::id()));
/// let model: Linear = Linear::new(3, 2, true, &mut Generator::new(0));
/// let optimizer = Sgd::new(model.parameters(), SgdConfig::new(0.1));
/// let mut state = TrainingCheckpoint::new(10, 42);
/// state.batch = 4;
/// state.save(&path, &model, &optimizer)?;
///
/// let restored: Linear = Linear::new(3, 2, true, &mut Generator::new(1));
/// let mut optimizer = Sgd::new(restored.parameters(), SgdConfig::new(0.5));
/// let read = TrainingCheckpoint::resume(&path, &restored, &mut optimizer, None)?;
/// assert_eq!((read.epoch, read.batch, read.loader_seed), (0, 4, 42));
/// assert_eq!(restored.weight.to_vec(), model.weight.to_vec());
/// // The rate the optimizer was built with: a new one given on resuming is kept.
/// assert_eq!((read.learning_rate, optimizer.learning_rate()), (0.1, 0.5));
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), nabla::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingCheckpoint {
    /// The epoch in progress, or the next one when `batch` is 0 (from 0).
    pub epoch: usize,
    /// The batches of `epoch` already trained on.
    pub batch: usize,
    /// Batches per epoch of the training loader.
    pub num_batches: usize,
    /// The training loader's seed.
    pub loader_seed: u64,
    /// The optimizer's learning rate when the checkpoint was written.
    pub learning_rate: f64,
    /// The steps the schedule had taken, if there was one.
    pub scheduler_steps: Option<usize>,
    /// The optimizer steps done since the start of the run.
    pub steps: usize,
    /// The steps between summaries of a step-based run (`None` in an
    /// epoch-based run).
    pub interval: Option<usize>,
    /// The partial epoch's (interval's) metric sums.
    pub running: RunningMeans,
    /// Seconds spent on the partial epoch (interval).
    pub epoch_seconds: f64,
    /// The finished epochs (intervals), in order.
    pub history: Vec<EpochSummary>,
    /// Further metadata entries, the program's record of the run
    /// ([`TrainConfig::metadata`](super::TrainConfig::metadata)): written
    /// beside the state's own keys, and read back as every key that is not
    /// one of them.
    pub metadata: HashMap<String, String>,
}

/// The metadata keys of the state itself (see the table above).
const OWN_KEYS: [&str; 13] = [
    "format",
    KIND_KEY,
    "epoch",
    "batch",
    "num_batches",
    "loader_seed",
    LEARNING_RATE_KEY,
    "scheduler_steps",
    "steps",
    "eval_every",
    "running",
    "epoch_seconds",
    "history",
];

impl TrainingCheckpoint {
    /// The state at the start of training, with a loader of `num_batches`
    /// batches per epoch and seed `loader_seed`.
    pub fn new(num_batches: usize, loader_seed: u64) -> Self {
        TrainingCheckpoint {
            epoch: 0,
            batch: 0,
            num_batches,
            loader_seed,
            learning_rate: 0.0,
            scheduler_steps: None,
            steps: 0,
            interval: None,
            running: RunningMeans::default(),
            epoch_seconds: 0.0,
            history: Vec::new(),
            metadata: HashMap::new(),
        }
    }

    /// Writes this state with `model`'s and `optimizer`'s tensors to `path`,
    /// atomically (the old file stays whole until the new one replaces it).
    /// The learning rate written is the optimizer's (the
    /// [`learning_rate`](Self::learning_rate) field is what [`read`](Self::read)
    /// finds); the schedule's steps are written as this state holds them.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be written; as
    /// [`save_tensors`] otherwise.
    pub fn save(&self, path: impl AsRef<Path>, model: &dyn Module, optimizer: &dyn Optimizer) -> Result<()> {
        let path = path.as_ref();
        let mut tensors: Vec<(String, Tensor)> = model
            .state_dict()
            .into_iter()
            .map(|(name, t)| (format!("{MODEL_PREFIX}{name}"), t))
            .collect();
        tensors.extend(
            optimizer
                .state_dict()
                .into_iter()
                .map(|(name, t)| (format!("{OPTIMIZER_PREFIX}{name}"), t)),
        );
        let mut metadata = HashMap::from([
            ("format".to_string(), "pt".to_string()),
            (KIND_KEY.to_string(), KIND.to_string()),
            ("epoch".to_string(), self.epoch.to_string()),
            ("batch".to_string(), self.batch.to_string()),
            ("num_batches".to_string(), self.num_batches.to_string()),
            ("loader_seed".to_string(), self.loader_seed.to_string()),
            (
                LEARNING_RATE_KEY.to_string(),
                optimizer.learning_rate().to_string(),
            ),
            ("steps".to_string(), self.steps.to_string()),
            ("running".to_string(), to_json(path, &self.running)?),
            ("epoch_seconds".to_string(), self.epoch_seconds.to_string()),
            ("history".to_string(), to_json(path, &self.history)?),
        ]);
        if let Some(steps) = self.scheduler_steps {
            metadata.insert("scheduler_steps".to_string(), steps.to_string());
        }
        if let Some(every) = self.interval {
            metadata.insert("eval_every".to_string(), every.to_string());
        }
        for (key, value) in &self.metadata {
            if OWN_KEYS.contains(&key.as_str()) {
                return Err(Error::Format {
                    path: path.to_path_buf(),
                    message: format!("the metadata key {key:?} is the training checkpoint's own"),
                });
            }
            metadata.insert(key.clone(), value.clone());
        }
        save_tensors(path, &tensors, Some(metadata))
    }

    /// Reads the state of the training checkpoint at `path` (a file, or a
    /// checkpoint directory meaning its `last.safetensors`), without its
    /// tensors.
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be read, [`Error::Format`] if it is not a
    /// training checkpoint or its metadata is wrong (naming the key).
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = resolve(path.as_ref());
        let metadata = load_metadata(&path)?;
        Self::from_metadata(&path, &metadata)
    }

    fn from_metadata(path: &Path, metadata: &HashMap<String, String>) -> Result<Self> {
        let bad = |message: String| Error::Format {
            path: path.to_path_buf(),
            message,
        };
        if metadata.get(KIND_KEY).map(String::as_str) != Some(KIND) {
            return Err(bad(match metadata.get(KIND_KEY) {
                Some(other) => {
                    format!("the metadata's {KIND_KEY:?} is {other:?}; this version of nabla reads {KIND:?}")
                }
                None => format!("not a training checkpoint: the metadata has no {KIND_KEY:?}"),
            }));
        }
        let get = |key: &str| {
            metadata
                .get(key)
                .ok_or_else(|| bad(format!("the training checkpoint's metadata has no {key:?}")))
        };
        fn parse<T: std::str::FromStr>(bad: &dyn Fn(String) -> Error, key: &str, text: &str) -> Result<T> {
            text.parse()
                .map_err(|_| bad(format!("the metadata's {key:?} is {text:?}, not a valid value")))
        }
        let number = |key: &str| -> Result<usize> { parse(&bad, key, get(key)?) };
        let json_error =
            |key: &str, e: serde_json::Error| bad(format!("the metadata's {key:?} is not valid: {e}"));
        let running = read_running(get("running")?).map_err(|e| json_error("running", e))?;
        let history: Vec<EpochSummary> =
            serde_json::from_str(get("history")?).map_err(|e| json_error("history", e))?;
        let (epoch, batch, num_batches) = (number("epoch")?, number("batch")?, number("num_batches")?);
        let checkpoint = TrainingCheckpoint {
            epoch,
            batch,
            num_batches,
            loader_seed: parse(&bad, "loader_seed", get("loader_seed")?)?,
            learning_rate: parse(&bad, LEARNING_RATE_KEY, get(LEARNING_RATE_KEY)?)?,
            scheduler_steps: match metadata.get("scheduler_steps") {
                Some(text) => Some(parse(&bad, "scheduler_steps", text)?),
                None => None,
            },
            steps: match metadata.get("steps") {
                Some(text) => parse(&bad, "steps", text)?,
                None => epoch * num_batches + batch,
            },
            interval: match metadata.get("eval_every") {
                Some(text) => Some(parse(&bad, "eval_every", text)?).filter(|&every: &usize| every > 0),
                None => None,
            },
            running,
            epoch_seconds: parse(&bad, "epoch_seconds", get("epoch_seconds")?)?,
            history,
            metadata: metadata
                .iter()
                .filter(|(key, _)| !OWN_KEYS.contains(&key.as_str()))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
        };
        if checkpoint.batch > checkpoint.num_batches {
            return Err(bad(format!(
                "the metadata says batch {} of an epoch of {} batches",
                checkpoint.batch, checkpoint.num_batches
            )));
        }
        let summaries = checkpoint.history.len();
        match checkpoint.interval {
            None if summaries != checkpoint.epoch => {
                return Err(bad(format!(
                    "the metadata's history has {summaries} epochs, but its epoch is {}",
                    checkpoint.epoch
                )));
            }
            Some(every)
                if summaries < checkpoint.steps / every || summaries > checkpoint.steps.div_ceil(every) =>
            {
                return Err(bad(format!(
                    "the metadata's history has {summaries} summaries, but {} steps were taken with a \
                     summary every {every}",
                    checkpoint.steps
                )));
            }
            _ => {}
        }
        if checkpoint.scheduler_steps.is_some_and(|s| s > summaries) {
            return Err(bad(format!(
                "the metadata says the schedule took {} steps in {summaries} epochs",
                checkpoint.scheduler_steps.unwrap_or(0),
            )));
        }
        Ok(checkpoint)
    }

    /// Checks that this checkpoint was made with a training loader like
    /// this one (same seed and number of batches).
    pub(super) fn check_loader(&self, path: &Path, num_batches: usize, loader_seed: u64) -> Result<()> {
        if (self.num_batches, self.loader_seed) != (num_batches, loader_seed) {
            return Err(Error::Format {
                path: path.to_path_buf(),
                message: format!(
                    "the checkpoint was made with a training loader of {} batches per epoch and seed {}, \
                     but this one has {num_batches} batches and seed {loader_seed}: resuming would not \
                     repeat the run",
                    self.num_batches, self.loader_seed
                ),
            });
        }
        Ok(())
    }

    /// Checks that this checkpoint was made by a run of the same kind:
    /// epoch-based (`interval` `None`), or step-based with a summary every
    /// `interval` steps.
    pub(super) fn check_interval(&self, path: &Path, interval: Option<usize>) -> Result<()> {
        if self.interval == interval {
            return Ok(());
        }
        let describe = |interval: Option<usize>| match interval {
            None => "an epoch-based run".to_string(),
            Some(every) => format!("a step-based run with a summary every {every} steps"),
        };
        Err(Error::Format {
            path: path.to_path_buf(),
            message: format!(
                "the checkpoint was made by {}, but this is {}: resuming would not repeat the run",
                describe(self.interval),
                describe(interval)
            ),
        })
    }

    /// Restores a run from the training checkpoint at `path` (a file, or a
    /// checkpoint directory meaning its `last.safetensors`) and returns its
    /// state; [`fit`](super::fit) does this for
    /// [`TrainConfig::resume_from`](super::TrainConfig::resume_from).
    ///
    /// `model` must have the checkpoint's structure (every tensor, same
    /// names and shapes); its tensors are overwritten in place. `optimizer`
    /// must be of the original run's kind, over `model.parameters()`; it
    /// gets the saved state (moment estimates, momentum buffers), and keeps
    /// the hyperparameters it was built with. `scheduler` must be built
    /// freshly, on `optimizer` before this call, and is given if and only if
    /// the run had one: it is stepped through the saved history, which sets
    /// the learning rate.
    ///
    /// So the learning rate comes from what is built, never from the file:
    /// built as for the original run, the run goes on exactly; built with
    /// another learning rate, the schedule continues from that one; a
    /// schedule built over more epochs than the run had (a cosine over 20
    /// epochs for a run of 10) continues along the longer schedule from the
    /// epoch reached, which is how a finished run is extended. (The saved
    /// [`learning_rate`](Self::learning_rate) is kept for information.)
    ///
    /// Everything is read and checked before the model is changed.
    ///
    /// # Errors
    /// As [`read`](Self::read); [`Error::MissingTensor`],
    /// [`Error::UnexpectedTensor`] or [`Error::ShapeMismatch`] naming the
    /// file and the tensor when the model or the optimizer state does not
    /// match; [`Error::Format`] when a schedule is given for a checkpoint
    /// without one or the other way round.
    ///
    /// # Panics
    /// If `scheduler` has already stepped, or a tensor of the model is a
    /// strided view.
    pub fn resume(
        path: impl AsRef<Path>,
        model: &dyn Module,
        optimizer: &mut dyn Optimizer,
        scheduler: Option<&mut (dyn EpochScheduler + '_)>,
    ) -> Result<Self> {
        resume_checked(&resolve(path.as_ref()), model, optimizer, scheduler, |_| Ok(()))
    }
}

/// [`TrainingCheckpoint::resume`], with a check of the state before
/// anything is changed.
pub(super) fn resume_checked(
    path: &Path,
    model: &dyn Module,
    optimizer: &mut dyn Optimizer,
    scheduler: Option<&mut (dyn EpochScheduler + '_)>,
    check: impl FnOnce(&TrainingCheckpoint) -> Result<()>,
) -> Result<TrainingCheckpoint> {
    let file = MappedSafetensors::open(path)?;
    let state = TrainingCheckpoint::from_metadata(path, &file.metadata())?;
    check(&state)?;
    let context = || path.display().to_string();
    let format_error = |message: String| Error::Format {
        path: path.to_path_buf(),
        message,
    };
    // Names and shapes first, from the header: nothing is read from a file
    // that does not fit the model and the optimizer.
    let (model_names, optimizer_names) = split(&file)?;
    let targets = match_model(&file, model, model_names)?;
    check_optimizer_state(
        &file,
        optimizer_names
            .iter()
            .map(|(in_file, in_state)| (in_file.as_str(), in_state.as_str())),
        optimizer.parameters(),
    )?;

    let scheduler = match (state.scheduler_steps, scheduler) {
        (Some(steps), Some(scheduler)) => {
            assert!(
                scheduler.steps_taken() == 0,
                "TrainingCheckpoint::resume: the schedule has already stepped; give a freshly built one"
            );
            Some((steps, scheduler))
        }
        (None, None) => None,
        (Some(steps), None) => {
            return Err(format_error(format!(
                "the run had a learning-rate schedule ({steps} steps taken) but none was given: \
                 resuming would not repeat the run"
            )))
        }
        (None, Some(_)) => {
            return Err(format_error(
                "the run had no learning-rate schedule but one was given: resuming would not repeat \
                 the run"
                    .to_string(),
            ))
        }
    };

    let optimizer_state = optimizer_names
        .into_iter()
        .map(|(in_file, in_state)| Ok((in_state, file.decode(&in_file)?)))
        .collect::<Result<Vec<_>>>()?;
    let updates = read_model(&file, targets)?;
    optimizer
        .load_state_dict(&optimizer_state)
        .map_err(|e| with_context(e, &context()))?;
    if let Some((steps, scheduler)) = scheduler {
        for summary in &state.history[..steps] {
            scheduler.step_epoch(optimizer, summary);
        }
    }
    for (target, value) in updates {
        target.copy_from(&value);
    }
    Ok(state)
}

/// Loads the model's tensors of a training checkpoint (a file, or a
/// checkpoint directory meaning its `last.safetensors`) into `model`, in
/// place: to evaluate or predict with a trained model. A plain module file
/// (such as `best.safetensors`, or one from
/// [`save_module`](crate::checkpoint::save_module)) loads too, and so does
/// a PyTorch checkpoint (`torch.save(model.state_dict(), path)`; see
/// [`checkpoint::pth`](crate::checkpoint::pth)).
///
/// # Errors
/// As [`load_module`] with `strict`: the file must hold exactly the model's
/// tensors, with the same shapes.
pub fn load_model_from_checkpoint(model: &dyn Module, path: impl AsRef<Path>) -> Result<()> {
    let path = resolve(path.as_ref());
    if is_pytorch(&path) {
        return load_module(model, &path, true).map(|_| ());
    }
    let file = MappedSafetensors::open(&path)?;
    if !file.metadata().contains_key(KIND_KEY) {
        return load_module(model, &path, true).map(|_| ());
    }
    let (model_names, _) = split(&file)?;
    let targets = match_model(&file, model, model_names)?;
    for (target, value) in read_model(&file, targets)? {
        target.copy_from(&value);
    }
    Ok(())
}

/// The model's tensor names of a checkpoint: by the name in the model to
/// the name in the file.
type ModelNames = HashMap<String, String>;

/// The optimizer's tensor names of a checkpoint: the name in the file and
/// the name in the optimizer's state.
type OptimizerNames = Vec<(String, String)>;

/// Splits a checkpoint's tensor names into the model's and the optimizer's,
/// by prefix.
fn split(file: &MappedSafetensors) -> Result<(ModelNames, OptimizerNames)> {
    let mut model = HashMap::new();
    let mut optimizer = Vec::new();
    for name in file.names() {
        if let Some(rest) = name.strip_prefix(MODEL_PREFIX) {
            model.insert(rest.to_string(), name);
        } else if let Some(rest) = name.strip_prefix(OPTIMIZER_PREFIX) {
            optimizer.push((name.clone(), rest.to_string()));
        } else {
            return Err(Error::UnexpectedTensor {
                context: file.path().display().to_string(),
                name,
            });
        }
    }
    Ok((model, optimizer))
}

/// Pairs each tensor of `model` with the checkpoint's (its name in the
/// file), strictly: same names, same shapes, no other model tensor.
fn match_model(
    file: &MappedSafetensors,
    model: &dyn Module,
    mut names: ModelNames,
) -> Result<Vec<(Tensor, String)>> {
    let context = || file.path().display().to_string();
    let mut targets = Vec::new();
    for (name, target) in model.state_dict() {
        let Some(in_file) = names.remove(&name) else {
            return Err(Error::MissingTensor {
                context: context(),
                name: format!("{MODEL_PREFIX}{name}"),
            });
        };
        let found = &file.info(&in_file).expect("a name of the file").shape;
        if found.as_slice() != target.shape() {
            return Err(Error::ShapeMismatch {
                context: context(),
                name: in_file,
                expected: target.shape().to_vec(),
                found: found.clone(),
            });
        }
        assert!(
            target.is_contiguous(),
            "resume: the model's tensor {name:?} of shape {:?} is a strided view and cannot be loaded in place",
            target.shape()
        );
        targets.push((target, in_file));
    }
    if let Some(in_file) = names.into_values().min() {
        return Err(Error::UnexpectedTensor {
            context: context(),
            name: in_file,
        });
    }
    Ok(targets)
}

/// Reads the checkpoint's tensor for each target that [`match_model`] paired.
fn read_model(file: &MappedSafetensors, targets: Vec<(Tensor, String)>) -> Result<Vec<(Tensor, Tensor)>> {
    targets
        .into_iter()
        .map(|(target, in_file)| Ok((target, file.decode(&in_file)?)))
        .collect()
}

/// Adds the file to the context of an optimizer's state error.
fn with_context(error: Error, file: &str) -> Error {
    let with = |context: String| format!("{file} ({context})");
    match error {
        Error::MissingTensor { context, name } => Error::MissingTensor {
            context: with(context),
            name: format!("{OPTIMIZER_PREFIX}{name}"),
        },
        Error::UnexpectedTensor { context, name } => Error::UnexpectedTensor {
            context: with(context),
            name: format!("{OPTIMIZER_PREFIX}{name}"),
        },
        Error::DuplicateTensor { context, name } => Error::DuplicateTensor {
            context: with(context),
            name: format!("{OPTIMIZER_PREFIX}{name}"),
        },
        Error::ShapeMismatch {
            context,
            name,
            expected,
            found,
        } => Error::ShapeMismatch {
            context: with(context),
            name: format!("{OPTIMIZER_PREFIX}{name}"),
            expected,
            found,
        },
        other => other,
    }
}

/// The partial metrics of a checkpoint: [`RunningMeans`], or the
/// `{"loss_sum", "correct", "seen"}` of checkpoints written before it.
fn read_running(text: &str) -> serde_json::Result<RunningMeans> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Running {
        Means(RunningMeans),
        Classification(RunningMetrics),
    }
    Ok(match serde_json::from_str(text)? {
        Running::Means(means) => means,
        Running::Classification(old) => {
            let mut means = RunningMeans::default();
            if old.seen > 0 {
                means.add_sum("loss", old.loss_sum, old.seen);
                means.add_sum("accuracy", old.correct as f64, old.seen);
                means.examples = old.seen;
            }
            means
        }
    })
}

/// `value` as JSON text for the metadata.
fn to_json(path: &Path, value: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Format {
        path: path.to_path_buf(),
        message: format!("cannot encode the training state as JSON: {e}"),
    })
}
