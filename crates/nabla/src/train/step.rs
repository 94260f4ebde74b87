//! The training step as a value: [`Step`] maps a model and a batch to a
//! loss and named [`Metric`]s ([`StepOutput`]); closures are steps.

use crate::tensor::Tensor;

/// One named figure of a batch, as a sum over the examples it covers, so
/// that the loop averages it correctly over batches of different sizes: its
/// mean over an epoch is the sum of the sums over the sum of the counts.
///
/// ```
/// use nabla::train::Metric;
/// let accuracy = Metric::sum("accuracy", 3.0, 4); // 3 right of 4
/// let mae = Metric::mean("mae", 0.25, 4); // a batch mean over 4 examples
/// assert_eq!((accuracy.sum, mae.sum, mae.count), (3.0, 1.0, 4));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// The name, as the metrics file writes it (`train_<name>`, `val_<name>`).
    pub name: String,
    /// The sum over the examples covered.
    pub sum: f64,
    /// The number of examples covered.
    pub count: u64,
}

impl Metric {
    /// A metric summed over `count` examples.
    pub fn sum(name: impl Into<String>, sum: f64, count: usize) -> Self {
        Metric {
            name: name.into(),
            sum,
            count: count as u64,
        }
    }

    /// A metric whose mean over `count` examples is `mean`.
    pub fn mean(name: impl Into<String>, mean: f64, count: usize) -> Self {
        Self::sum(name, mean * count as f64, count)
    }
}

/// What a [`Step`] returns for a batch: the loss to minimise (a scalar, the
/// mean over the batch's `examples`), and further metrics.
///
/// The loop logs the loss itself as the metric `loss` (the scalar's value
/// over `examples`), first, then `metrics` in order.
#[derive(Clone, Debug)]
pub struct StepOutput {
    /// The scalar loss; [`fit`](super::fit) calls `backward` on it.
    pub loss: Tensor,
    /// The number of examples in the batch (for the mean loss and the
    /// examples per second).
    pub examples: usize,
    /// Further named metrics of the batch.
    pub metrics: Vec<Metric>,
}

impl StepOutput {
    /// The output with `loss`, the mean over `examples`, and no other metric.
    pub fn new(loss: Tensor, examples: usize) -> Self {
        StepOutput {
            loss,
            examples,
            metrics: Vec::new(),
        }
    }

    /// The output with `metric` added.
    pub fn with(mut self, metric: Metric) -> Self {
        self.metrics.push(metric);
        self
    }
}

/// What [`fit`](super::fit) and [`evaluate`](super::evaluate) do with each
/// batch: run the model and return the loss and metrics. The loop owns
/// everything else (zeroing gradients, `backward`, clipping, the optimizer
/// step, train/eval mode, `no_grad` while evaluating, averaging, logging).
///
/// [`Classification`](super::Classification) is the provided step for
/// classifiers; a closure `FnMut(&mut M, &B) -> StepOutput` is a step whose
/// evaluation is the same as its training.
///
/// ```
/// use nabla::nn::{Layer, Linear};
/// use nabla::nn::loss::mse_loss;
/// use nabla::train::{Step, StepOutput, Metric};
/// use nabla::{Generator, Tensor};
/// // Regression on (x, y) float batches: the mean squared error.
/// let mut mse = |model: &mut Linear, (x, y): &(Tensor, Tensor)| {
///     let prediction = model.forward(x);
///     let loss = mse_loss(&prediction, y);
///     let mae = (&prediction - y).abs().mean().item();
///     StepOutput::new(loss, x.shape()[0]).with(Metric::mean("mae", f64::from(mae), x.shape()[0]))
/// };
/// let mut model = Linear::new(2, 1, true, &mut Generator::new(0));
/// let batch = (Tensor::ones(&[4, 2]), Tensor::zeros(&[4, 1]));
/// let out = mse.train_step(&mut model, &batch);
/// assert_eq!((out.examples, out.metrics[0].name.as_str()), (4, "mae"));
/// ```
pub trait Step<M: ?Sized, B> {
    /// The loss and metrics of `batch` while training (in training mode,
    /// recording the graph).
    fn train_step(&mut self, model: &mut M, batch: &B) -> StepOutput;

    /// The loss and metrics of `batch` while evaluating (in eval mode,
    /// without a graph); by default the same as
    /// [`train_step`](Self::train_step).
    fn eval_step(&mut self, model: &mut M, batch: &B) -> StepOutput {
        self.train_step(model, batch)
    }
}

impl<M: ?Sized, B, F> Step<M, B> for F
where
    F: FnMut(&mut M, &B) -> StepOutput,
{
    fn train_step(&mut self, model: &mut M, batch: &B) -> StepOutput {
        self(model, batch)
    }
}
