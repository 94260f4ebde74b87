//! Classification metrics: a running mean of the loss and the accuracy over
//! the batches of an epoch ([`RunningMetrics`]), top-k accuracy
//! ([`top_k_accuracy`]), and the confusion matrix ([`ConfusionMatrix`]),
//! which prints as a table and gives the per-class accuracy.
//!
//! ```
//! use nabla::train::metrics::{top_k_accuracy, ConfusionMatrix};
//! use nabla::{IndexTensor, Tensor};
//! let logits = Tensor::from_vec(vec![0.1f32, 0.7, 0.2, 0.5, 0.2, 0.3], &[2, 3]);
//! let targets = IndexTensor::from_vec(vec![1, 2], &[2]);
//! assert_eq!(top_k_accuracy(&logits, &targets, 1), 0.5); // row 1 predicts 0
//! assert_eq!(top_k_accuracy(&logits, &targets, 2), 1.0); // 2 is its second guess
//!
//! let mut confusion = ConfusionMatrix::new(3);
//! confusion.add_batch(&logits, &targets);
//! assert_eq!(confusion.count(2, 0), 1); // actual 2, predicted 0
//! assert_eq!(confusion.per_class_accuracy(), [None, Some(1.0), Some(0.0)]);
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::tensor::{IndexTensor, Tensor};

/// The loss and accuracy of the batches seen so far, weighted by batch size:
/// the running figures a progress bar shows, and an epoch's totals at its
/// end.
///
/// The sums are kept exactly as they were accumulated, so a checkpoint that
/// saves them and a resumed run that restores them give the same epoch
/// figures as an uninterrupted run.
///
/// ```
/// use nabla::train::metrics::RunningMetrics;
/// let mut m = RunningMetrics::default();
/// m.add(1.0, 3, 4); // a batch of 4 with mean loss 1.0, 3 right
/// m.add(0.5, 4, 4);
/// assert_eq!((m.loss(), m.accuracy(), m.seen), (0.75, 0.875, 8));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunningMetrics {
    /// The sum over batches of mean batch loss × batch size.
    #[serde(with = "crate::train::float_repr")]
    pub loss_sum: f64,
    /// Examples whose arg-max prediction was the target.
    pub correct: u64,
    /// Examples seen.
    pub seen: u64,
}

impl RunningMetrics {
    /// Adds a batch of `size` examples whose mean loss is `mean_loss` and of
    /// which `correct` were predicted right.
    pub fn add(&mut self, mean_loss: f64, correct: usize, size: usize) {
        self.loss_sum += mean_loss * size as f64;
        self.correct += correct as u64;
        self.seen += size as u64;
    }

    /// Adds a batch from its mean loss, its logits `[B, C]` and its targets `[B]`.
    ///
    /// # Panics
    /// As [`correct_predictions`].
    pub fn add_batch(&mut self, mean_loss: f64, logits: &Tensor, targets: &IndexTensor) {
        let correct = correct_predictions(logits, targets);
        self.add(mean_loss, correct, targets.as_slice().len());
    }

    /// The mean loss per example (NaN before any example).
    pub fn loss(&self) -> f64 {
        if self.seen == 0 {
            f64::NAN
        } else {
            self.loss_sum / self.seen as f64
        }
    }

    /// The fraction of examples predicted right (NaN before any example).
    pub fn accuracy(&self) -> f64 {
        if self.seen == 0 {
            f64::NAN
        } else {
            self.correct as f64 / self.seen as f64
        }
    }
}

/// Panics unless `logits` is `[B, C]` with `C ≥ 1` and `targets` is `[B]`.
#[track_caller]
fn check_logits(what: &str, logits: &Tensor, targets: &IndexTensor) -> (usize, usize) {
    let shape = logits.shape();
    assert!(
        shape.len() == 2 && shape[1] > 0 && targets.shape() == [shape[0]],
        "{what}: logits of shape {shape:?} and targets of shape {:?}; expected [B, C] with C > 0 and [B]",
        targets.shape()
    );
    (shape[0], shape[1])
}

/// The number of rows of `logits [B, C]` whose arg-max (the first one at
/// ties) is the target.
///
/// # Panics
/// If the shapes are not `[B, C]` and `[B]`.
pub fn correct_predictions(logits: &Tensor, targets: &IndexTensor) -> usize {
    check_logits("correct_predictions", logits, targets);
    let predicted = logits.argmax(1, false);
    predicted
        .as_slice()
        .iter()
        .zip(targets.as_slice())
        .filter(|(p, t)| p == t)
        .count()
}

/// The number of rows of `logits [B, C]` whose target is among the `k`
/// largest logits.
///
/// Ties are broken as a stable descending sort would (and as `argmax`
/// does): a class ranks before the target if its logit is larger, or equal
/// with a smaller index. So `k = 1` counts what `argmax` gets right, and
/// `k ≥ C` counts every row.
///
/// # Panics
/// If the shapes are not `[B, C]` and `[B]`, if `k` is 0, or a target is
/// not below `C`.
pub fn top_k_correct(logits: &Tensor, targets: &IndexTensor, k: usize) -> usize {
    let (_, classes) = check_logits("top_k_correct", logits, targets);
    assert!(k > 0, "top_k_correct: k must be positive");
    let values = logits.to_vec();
    values
        .chunks(classes)
        .zip(targets.as_slice())
        .filter(|(row, &target)| {
            assert!(
                target < classes,
                "top_k_correct: target {target} is out of range for {classes} classes"
            );
            // NaN ranks as the largest value, as in `argmax`.
            let t = row[target];
            let greater = |v: f32| v > t || (v.is_nan() && !t.is_nan());
            let equal = |v: f32| v == t || (v.is_nan() && t.is_nan());
            let ahead = row
                .iter()
                .enumerate()
                .filter(|&(j, &v)| greater(v) || (equal(v) && j < target))
                .count();
            ahead < k
        })
        .count()
}

/// The fraction of rows of `logits [B, C]` whose target is among the `k`
/// largest logits (see [`top_k_correct`] for ties); NaN for an empty batch.
///
/// # Panics
/// As [`top_k_correct`].
pub fn top_k_accuracy(logits: &Tensor, targets: &IndexTensor, k: usize) -> f64 {
    let correct = top_k_correct(logits, targets, k);
    let n = targets.as_slice().len();
    if n == 0 {
        f64::NAN
    } else {
        correct as f64 / n as f64
    }
}

/// Counts of (actual class, predicted class) pairs.
///
/// Rows are the actual classes, columns the predicted ones, as in
/// scikit-learn's `confusion_matrix`. [`Display`](fmt::Display) prints it as
/// a table with the class names and each class's accuracy (its recall).
///
/// ```
/// use nabla::train::metrics::ConfusionMatrix;
/// let mut m = ConfusionMatrix::with_class_names(vec!["cat".into(), "dog".into()]);
/// m.add(0, 0);
/// m.add(0, 1);
/// m.add(1, 1);
/// assert_eq!(m.accuracy(), 2.0 / 3.0);
/// print!("{m}");
/// // actual \ predicted  cat  dog  accuracy
/// //                cat    1    1     50.0%
/// //                dog    0    1    100.0%
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    class_names: Vec<String>,
    /// Row-major `[actual][predicted]` counts.
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    /// An empty matrix for classes `0..num_classes`, named by their numbers.
    pub fn new(num_classes: usize) -> Self {
        Self::with_class_names((0..num_classes).map(|c| c.to_string()).collect())
    }

    /// An empty matrix for the named classes (one per label).
    pub fn with_class_names(class_names: Vec<String>) -> Self {
        let n = class_names.len();
        ConfusionMatrix {
            class_names,
            counts: vec![0; n * n],
        }
    }

    /// The number of classes.
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// The class names, by label.
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// Counts one example of class `actual` predicted as `predicted`.
    ///
    /// # Panics
    /// If either is not below [`num_classes`](Self::num_classes).
    pub fn add(&mut self, actual: usize, predicted: usize) {
        let n = self.num_classes();
        assert!(
            actual < n && predicted < n,
            "ConfusionMatrix::add: classes ({actual}, {predicted}) out of range for {n} classes"
        );
        self.counts[actual * n + predicted] += 1;
    }

    /// Counts a batch: the arg-max of each row of `logits [B, C]` against
    /// `targets [B]`.
    ///
    /// # Panics
    /// If the shapes are not `[B, C]` and `[B]`, or a class is out of range.
    pub fn add_batch(&mut self, logits: &Tensor, targets: &IndexTensor) {
        check_logits("ConfusionMatrix::add_batch", logits, targets);
        let predicted = logits.argmax(1, false);
        for (&p, &t) in predicted.as_slice().iter().zip(targets.as_slice()) {
            self.add(t, p);
        }
    }

    /// Adds another matrix's counts (over the same classes).
    ///
    /// # Panics
    /// If the numbers of classes differ.
    pub fn merge(&mut self, other: &ConfusionMatrix) {
        assert!(
            self.num_classes() == other.num_classes(),
            "ConfusionMatrix::merge: different numbers of classes"
        );
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    /// The examples of class `actual` predicted as `predicted`.
    pub fn count(&self, actual: usize, predicted: usize) -> u64 {
        self.counts[actual * self.num_classes() + predicted]
    }

    /// The counts as rows (actual class) of columns (predicted class).
    pub fn rows(&self) -> Vec<Vec<u64>> {
        self.counts
            .chunks(self.num_classes().max(1))
            .take(self.num_classes())
            .map(<[u64]>::to_vec)
            .collect()
    }

    /// Every example counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The examples on the diagonal (predicted right).
    pub fn correct(&self) -> u64 {
        (0..self.num_classes()).map(|c| self.count(c, c)).sum()
    }

    /// The fraction predicted right (NaN when empty).
    pub fn accuracy(&self) -> f64 {
        let total = self.total();
        if total == 0 {
            f64::NAN
        } else {
            self.correct() as f64 / total as f64
        }
    }

    /// Each class's accuracy: the fraction of its examples predicted right
    /// (its recall), `None` for a class without examples.
    pub fn per_class_accuracy(&self) -> Vec<Option<f64>> {
        let n = self.num_classes();
        (0..n)
            .map(|c| {
                let row: u64 = self.counts[c * n..(c + 1) * n].iter().sum();
                (row > 0).then(|| self.count(c, c) as f64 / row as f64)
            })
            .collect()
    }
}

impl fmt::Display for ConfusionMatrix {
    /// A table: one row per actual class, one column per predicted class,
    /// then the class's accuracy (`-` for a class without examples).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let corner = "actual \\ predicted";
        let label_width = self
            .class_names
            .iter()
            .map(|n| n.chars().count())
            .chain([corner.len()])
            .max()
            .unwrap_or(0);
        let widths: Vec<usize> = (0..self.num_classes())
            .map(|p| {
                let widest = (0..self.num_classes())
                    .map(|a| self.count(a, p).to_string().len())
                    .max()
                    .unwrap_or(1);
                widest.max(self.class_names[p].chars().count())
            })
            .collect();
        write!(f, "{corner:>label_width$}")?;
        for (name, w) in self.class_names.iter().zip(&widths) {
            write!(f, "  {name:>w$}")?;
        }
        writeln!(f, "  accuracy")?;
        for (actual, accuracy) in self.per_class_accuracy().into_iter().enumerate() {
            write!(f, "{:>label_width$}", self.class_names[actual])?;
            for (predicted, w) in widths.iter().enumerate() {
                write!(f, "  {:>w$}", self.count(actual, predicted))?;
            }
            match accuracy {
                Some(a) => writeln!(f, "  {:>7.1}%", 100.0 * a)?,
                None => writeln!(f, "  {:>8}", "-")?,
            }
        }
        Ok(())
    }
}
