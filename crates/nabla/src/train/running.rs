//! [`RunningMeans`]: the sums of a step's metrics over the batches of an
//! epoch (or interval) so far.

use serde::{Deserialize, Serialize};

use super::step::StepOutput;
use super::summary::Metrics;

/// The running sums of every metric the step reported, with the examples
/// each covers, and the examples seen: the running figures a progress bar
/// shows, and an epoch's means at its end.
///
/// The sums are kept exactly as they were accumulated, so a checkpoint that
/// saves them and a resumed run that restores them give the same figures
/// as an uninterrupted run.
///
/// ```
/// use nabla::train::{Metric, RunningMeans, StepOutput};
/// use nabla::Tensor;
/// let mut running = RunningMeans::default();
/// running.add(&StepOutput::new(Tensor::scalar(1.0), 4).with(Metric::sum("accuracy", 3.0, 4)));
/// running.add(&StepOutput::new(Tensor::scalar(0.5), 4).with(Metric::sum("accuracy", 4.0, 4)));
/// let means = running.means();
/// assert_eq!((means.get("loss"), means.get("accuracy"), running.examples), (Some(0.75), Some(0.875), 8));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunningMeans {
    /// Examples seen.
    pub examples: u64,
    /// The sums, in the order the metrics were first reported.
    pub sums: Vec<RunningSum>,
}

/// One metric's running sum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunningSum {
    /// The metric's name.
    pub name: String,
    /// The sum of its per-batch sums.
    #[serde(with = "super::float_repr")]
    pub sum: f64,
    /// The examples it covers.
    pub count: u64,
}

impl RunningMeans {
    /// Adds a batch: its loss as the metric `loss` (the loss's value times
    /// `examples`), then its other metrics. Returns the batch's loss.
    pub fn add(&mut self, output: &StepOutput) -> f64 {
        let loss = f64::from(output.loss.item());
        let n = output.examples as u64;
        self.add_sum("loss", loss * n as f64, n);
        for m in &output.metrics {
            self.add_sum(&m.name, m.sum, m.count);
        }
        self.examples += n;
        loss
    }

    /// Adds `sum` over `count` examples to the metric `name`.
    pub fn add_sum(&mut self, name: &str, sum: f64, count: u64) {
        match self.sums.iter_mut().find(|s| s.name == name) {
            Some(s) => {
                s.sum += sum;
                s.count += count;
            }
            None => self.sums.push(RunningSum {
                name: name.to_string(),
                sum,
                count,
            }),
        }
    }

    /// The mean of `name` (NaN before any example), if it was reported.
    pub fn mean(&self, name: &str) -> Option<f64> {
        self.sums.iter().find(|s| s.name == name).map(RunningSum::mean)
    }

    /// The means of every metric, in order.
    pub fn means(&self) -> Metrics {
        self.sums.iter().map(|s| (s.name.as_str(), s.mean())).collect()
    }
}

impl RunningSum {
    /// The sum over the count (NaN when the count is 0).
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.sum / self.count as f64
        }
    }
}
