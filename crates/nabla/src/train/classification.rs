//! Classification: the provided [`Classification`] step (cross-entropy and
//! accuracy) and the full evaluation of a classifier ([`evaluate_classifier`]:
//! top-k accuracy and the confusion matrix).

use super::metrics::{correct_predictions, top_k_correct, ConfusionMatrix, RunningMetrics};
use super::step::{Metric, Step, StepOutput};
use crate::autograd::no_grad;
use crate::data::{Batch, DataLoader};
use crate::nn::loss::{cross_entropy_with, cross_entropy_with_label_smoothing, Reduction};
use crate::nn::Layer;

/// The step of a classifier: the model maps inputs `[B, ...]` to logits
/// `[B, C]`; the loss is their cross-entropy with the labels `[B]` (mean
/// over the batch), and the metric `accuracy` counts the rows whose
/// arg-max is the label.
///
/// While training, the loss has the label smoothing (if any); the
/// evaluation loss is always the plain cross-entropy.
///
/// ```
/// use nabla::data::Batch;
/// use nabla::nn::Linear;
/// use nabla::train::{Classification, Step};
/// use nabla::{Generator, IndexTensor, Tensor};
/// let mut model = Linear::new(3, 2, true, &mut Generator::new(0));
/// let batch = Batch {
///     inputs: Tensor::ones(&[4, 3]),
///     targets: IndexTensor::from_vec(vec![0, 1, 1, 0], &[4]),
///     indices: vec![0, 1, 2, 3],
/// };
/// let out = Classification::default().eval_step(&mut model, &batch);
/// assert_eq!((out.examples, out.metrics[0].name.as_str(), out.metrics[0].sum), (4, "accuracy", 2.0));
/// ```
///
/// # Panics
/// In a step, if the model's output is not `[B, C]` logits for the
/// batch's labels.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Classification {
    /// Label smoothing of the training loss, in `[0, 1]` (default 0).
    pub label_smoothing: f64,
}

impl Classification {
    /// The step with `label_smoothing` in the training loss.
    pub fn with_label_smoothing(label_smoothing: f64) -> Self {
        Classification { label_smoothing }
    }
}

fn accuracy(correct: usize, examples: usize) -> Metric {
    Metric::sum("accuracy", correct as f64, examples)
}

impl<M: Layer + ?Sized> Step<M, Batch> for Classification {
    fn train_step(&mut self, model: &mut M, batch: &Batch) -> StepOutput {
        let logits = model.forward(&batch.inputs);
        let loss = cross_entropy_with_label_smoothing(
            &logits,
            &batch.targets,
            None,
            None,
            Reduction::Mean,
            self.label_smoothing,
        );
        let n = batch.indices.len();
        StepOutput::new(loss, n).with(accuracy(correct_predictions(&logits, &batch.targets), n))
    }

    fn eval_step(&mut self, model: &mut M, batch: &Batch) -> StepOutput {
        let logits = model.forward(&batch.inputs);
        let loss = cross_entropy_with(&logits, &batch.targets, None, None, Reduction::Mean);
        let n = batch.indices.len();
        StepOutput::new(loss, n).with(accuracy(correct_predictions(&logits, &batch.targets), n))
    }
}

/// A classifier's figures on a data set, from [`evaluate_classifier`].
#[derive(Clone, Debug, PartialEq)]
pub struct EvalResult {
    /// The mean cross-entropy per example.
    pub loss: f64,
    /// The fraction of examples whose arg-max prediction is right.
    pub accuracy: f64,
    /// The `k` of `top_k_accuracy` (capped at the number of classes).
    pub top_k: usize,
    /// The fraction whose target is among the `top_k` largest logits.
    pub top_k_accuracy: f64,
    /// The number of examples.
    pub examples: u64,
    /// Actual against predicted classes, with the data set's class names.
    pub confusion: ConfusionMatrix,
}

/// Evaluates the classifier `model` on every batch of `loader` (its epoch 0)
/// in eval mode and without recording a graph, then puts the model back in
/// the mode it was in: the loss, the accuracy, the top-5 accuracy and the
/// confusion matrix. See [`evaluate_top_k`].
pub fn evaluate_classifier(model: &mut dyn Layer, loader: &DataLoader) -> EvalResult {
    evaluate_top_k(model, loader, 5)
}

/// [`evaluate_classifier`] with the top-`k` accuracy for a given `k`
/// (capped at the number of classes). Figures of an empty loader are NaN.
///
/// # Panics
/// If `k` is 0, or the model's outputs are not `[B, C]` logits for the data
/// set's classes.
pub fn evaluate_top_k(model: &mut dyn Layer, loader: &DataLoader, k: usize) -> EvalResult {
    assert!(k > 0, "evaluate_top_k: k must be positive");
    let dataset = loader.dataset();
    let top_k = k.min(dataset.num_classes().max(1));
    let mut confusion = ConfusionMatrix::with_class_names(dataset.class_names());
    let mut running = RunningMetrics::default();
    let mut in_top_k = 0u64;
    let was_training = model.is_training();
    model.eval();
    no_grad(|| {
        for batch in loader.epoch(0) {
            let logits = model.forward(&batch.inputs);
            let loss = cross_entropy_with(&logits, &batch.targets, None, None, Reduction::Mean);
            running.add_batch(f64::from(loss.item()), &logits, &batch.targets);
            in_top_k += top_k_correct(&logits, &batch.targets, top_k) as u64;
            confusion.add_batch(&logits, &batch.targets);
        }
    });
    model.train(was_training);
    EvalResult {
        loss: running.loss(),
        accuracy: running.accuracy(),
        top_k,
        top_k_accuracy: if running.seen == 0 {
            f64::NAN
        } else {
            in_top_k as f64 / running.seen as f64
        },
        examples: running.seen,
        confusion,
    }
}
