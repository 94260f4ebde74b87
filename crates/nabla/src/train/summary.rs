//! What the loop reports: named [`Metrics`], the [`EpochSummary`] of each
//! epoch (or evaluation interval), and the [`History`] and [`Outcome`] of
//! a run.

use std::fmt;
use std::path::PathBuf;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::float_repr;

/// Named figures in the order a step first reported them, such as
/// `loss` then `accuracy` for [`Classification`](super::Classification).
///
/// ```
/// use nabla::train::Metrics;
/// let m: Metrics = [("loss", 0.5), ("accuracy", 0.9)].into_iter().collect();
/// assert_eq!((m.get("accuracy"), m.get("mae")), (Some(0.9), None));
/// assert_eq!(m.names().collect::<Vec<_>>(), ["loss", "accuracy"]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Metrics(Vec<(String, f64)>);

impl PartialEq for Metrics {
    /// The same names with the same values, in any order (a JSON object
    /// read back may have its keys sorted).
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(name, value)| other.get(name) == Some(value))
    }
}

impl Metrics {
    /// No metrics.
    pub fn new() -> Self {
        Metrics(Vec::new())
    }

    /// The value of `name`, if reported.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
    }

    /// Sets `name` to `value` (in place if present, else last).
    pub fn insert(&mut self, name: impl Into<String>, value: f64) {
        let name = name.into();
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = value,
            None => self.0.push((name, value)),
        }
    }

    /// The names and values, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.0.iter().map(|(n, v)| (n.as_str(), *v))
    }

    /// The names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(n, _)| n.as_str())
    }

    /// The number of metrics.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<S: Into<String>> FromIterator<(S, f64)> for Metrics {
    fn from_iter<I: IntoIterator<Item = (S, f64)>>(iter: I) -> Self {
        let mut m = Metrics::new();
        for (name, value) in iter {
            m.insert(name, value);
        }
        m
    }
}

impl fmt::Display for Metrics {
    /// `loss 0.1234 accuracy 0.9876`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, value)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{name} {value:.4}")?;
        }
        Ok(())
    }
}

/// The figures of one epoch, or of one evaluation interval of a step-based
/// run ([`TrainConfig::max_steps`](super::TrainConfig::max_steps)): what the
/// metrics file and the history hold.
///
/// It serializes flat, as one line of the metrics file (after its `kind`):
/// `epoch`, then `step` in step-based runs, then `train_<name>` for each
/// training metric, `val_<name>` for each (`null` without validation),
/// `lr`, `seconds` and `images_per_second`. For
/// [`Classification`](super::Classification) that is
///
/// ```text
/// {"epoch":0,"train_loss":0.52,"train_accuracy":0.81,"val_loss":0.31,"val_accuracy":0.9,"lr":0.1,"seconds":1.9,"images_per_second":31000.0}
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct EpochSummary {
    /// The epoch's index, from 0 (as given to
    /// [`DataLoader::epoch`](crate::data::DataLoader::epoch)); in a
    /// step-based run, the epoch the interval ended in.
    pub epoch: usize,
    /// In a step-based run, the optimizer steps done at the end of the
    /// interval (counting from the start of the run); `None` in an
    /// epoch-based run.
    pub step: Option<usize>,
    /// The training metrics, averaged over the epoch's (interval's) examples
    /// as the step counted them; `loss` first.
    pub train: Metrics,
    /// The validation metrics, if there is validation.
    pub validation: Option<Metrics>,
    /// The learning rate the epoch (interval) trained with.
    pub lr: f64,
    /// Wall time of the epoch (interval), validation included (summed over
    /// the runs of one that was interrupted and resumed).
    pub seconds: f64,
    /// Training examples per second.
    pub images_per_second: f64,
}

impl EpochSummary {
    /// The mean training loss per example (NaN if none was reported).
    pub fn train_loss(&self) -> f64 {
        self.train.get("loss").unwrap_or(f64::NAN)
    }

    /// The mean validation loss per example, if there is validation.
    pub fn val_loss(&self) -> Option<f64> {
        self.val_metric("loss")
    }

    /// The training metric `name`, if reported.
    pub fn train_metric(&self, name: &str) -> Option<f64> {
        self.train.get(name)
    }

    /// The validation metric `name`, if there is validation and it was reported.
    pub fn val_metric(&self, name: &str) -> Option<f64> {
        self.validation.as_ref().and_then(|v| v.get(name))
    }

    /// The metric `name` that early stopping, the best checkpoint and
    /// [`ReduceLrOnPlateau`](crate::optim::ReduceLrOnPlateau) watch: the
    /// validation figure, or the training one without validation (NaN if
    /// not reported).
    pub fn monitored(&self, name: &str) -> f64 {
        match &self.validation {
            Some(v) => v.get(name),
            None => self.train.get(name),
        }
        .unwrap_or(f64::NAN)
    }

    /// [`monitored`](Self::monitored)`("loss")`.
    pub fn monitored_loss(&self) -> f64 {
        self.monitored("loss")
    }

    /// [`monitored`](Self::monitored)`("accuracy")`.
    pub fn monitored_accuracy(&self) -> f64 {
        self.monitored("accuracy")
    }
}

/// An `f64` written and read as [`float_repr`] does.
struct Repr(f64);

impl Serialize for Repr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        float_repr::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Repr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        float_repr::deserialize(deserializer).map(Repr)
    }
}

impl Serialize for EpochSummary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("epoch", &self.epoch)?;
        if let Some(step) = self.step {
            map.serialize_entry("step", &step)?;
        }
        for (name, value) in self.train.iter() {
            map.serialize_entry(&format!("train_{name}"), &Repr(value))?;
        }
        // Every training metric gets a validation key (null when absent),
        // then any metric only validation reported.
        let validation_only = self
            .validation
            .iter()
            .flat_map(Metrics::names)
            .filter(|n| self.train.get(n).is_none());
        for name in self.train.names().chain(validation_only) {
            map.serialize_entry(&format!("val_{name}"), &self.val_metric(name).map(Repr))?;
        }
        map.serialize_entry("lr", &Repr(self.lr))?;
        map.serialize_entry("seconds", &Repr(self.seconds))?;
        map.serialize_entry("images_per_second", &Repr(self.images_per_second))?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for EpochSummary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(SummaryVisitor)
    }
}

struct SummaryVisitor;

impl<'de> Visitor<'de> for SummaryVisitor {
    type Value = EpochSummary;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an epoch summary")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EpochSummary, A::Error> {
        let (mut epoch, mut step, mut lr, mut seconds, mut rate) = (None, None, None, None, None);
        let (mut train, mut validation, mut any_validation) = (Metrics::new(), Metrics::new(), false);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "epoch" => epoch = Some(map.next_value::<usize>()?),
                "step" => step = map.next_value::<Option<usize>>()?,
                "lr" => lr = Some(map.next_value::<Repr>()?.0),
                "seconds" => seconds = Some(map.next_value::<Repr>()?.0),
                "images_per_second" => rate = Some(map.next_value::<Repr>()?.0),
                _ => {
                    if let Some(name) = key.strip_prefix("train_") {
                        train.insert(name, map.next_value::<Repr>()?.0);
                    } else if let Some(name) = key.strip_prefix("val_") {
                        let value = map.next_value::<Option<Repr>>()?;
                        any_validation |= value.is_some();
                        validation.insert(name, value.map_or(f64::NAN, |r| r.0));
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
        }
        Ok(EpochSummary {
            epoch: epoch.ok_or_else(|| de::Error::missing_field("epoch"))?,
            step,
            train,
            validation: any_validation.then_some(validation),
            lr: lr.ok_or_else(|| de::Error::missing_field("lr"))?,
            seconds: seconds.ok_or_else(|| de::Error::missing_field("seconds"))?,
            images_per_second: rate.ok_or_else(|| de::Error::missing_field("images_per_second"))?,
        })
    }
}

/// How a call of [`fit`](super::fit) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// All [`TrainConfig::epochs`](super::TrainConfig::epochs) (or
    /// [`max_steps`](super::TrainConfig::max_steps)) were run.
    Completed,
    /// Early stopping ended training after the summary `epoch` (its index
    /// in [`History::epochs`], which is the epoch's index in an
    /// epoch-based run).
    EarlyStopped {
        /// The index of the last summary.
        epoch: usize,
    },
    /// The interrupt flag stopped training; the checkpoint (if there is a
    /// checkpoint directory) holds this position: `batch` batches of epoch
    /// `epoch` done (0 when stopped between epochs).
    Interrupted {
        /// The epoch in progress, or the next one when `batch` is 0.
        epoch: usize,
        /// The batches of `epoch` done.
        batch: usize,
    },
    /// The loss of a batch was NaN or infinite and
    /// [`TrainConfig::stop_on_non_finite_loss`](super::TrainConfig::stop_on_non_finite_loss)
    /// was set: training stopped before that batch's update, without
    /// writing a checkpoint (the checkpoint directory keeps the last
    /// summary's).
    Diverged {
        /// The epoch in progress.
        epoch: usize,
        /// The index of the batch whose loss was not finite, in `epoch`.
        batch: usize,
    },
}

/// What [`fit`](super::fit) returns.
#[derive(Clone, Debug, PartialEq)]
pub struct History {
    /// Every finished epoch (evaluation interval in a step-based run),
    /// those of earlier runs included when resumed.
    pub epochs: Vec<EpochSummary>,
    /// How training ended.
    pub outcome: Outcome,
    /// The index in `epochs` of the summary with the best monitored metric
    /// (the one `best.safetensors` holds), if any improved.
    pub best_epoch: Option<usize>,
    /// The last checkpoint written by this call, if any.
    pub checkpoint: Option<PathBuf>,
}
