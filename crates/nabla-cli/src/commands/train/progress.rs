//! The progress of `nabla train` on the terminal: a bar per epoch (on
//! standard error) and a line per epoch (on standard output).

use indicatif::{ProgressBar, ProgressStyle};
use nabla::train::{BatchProgress, EpochSummary, RunStart, TrainObserver};

use crate::output::say;

/// An indicatif bar per epoch and a summary line after it.
pub struct Progress {
    bar: Option<ProgressBar>,
    epochs: usize,
}

/// Says where a resumed run starts again (nothing for a new run).
pub fn say_resumed(start: &RunStart) {
    if start.resumed {
        say!(
            "resuming at epoch {}, batch {}",
            start.first_epoch + 1,
            start.first_batch
        );
    }
}

/// A bar over the `batches` batches of epoch `epoch` (from 0) of `epochs`.
pub fn new_epoch_bar(epoch: usize, epochs: usize, batches: usize) -> ProgressBar {
    let bar = ProgressBar::new(batches as u64);
    bar.set_style(
        ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("{}/{epochs}", epoch + 1));
    bar
}

/// The bar of the epoch that batch `p` belongs to, made at its first
/// batch, moved to `p`.
pub fn epoch_bar<'a>(bar: &'a mut Option<ProgressBar>, p: &BatchProgress, epochs: usize) -> &'a ProgressBar {
    let bar = bar.get_or_insert_with(|| new_epoch_bar(p.epoch, epochs, p.num_batches));
    bar.set_position(p.batch as u64 + 1);
    bar
}

impl TrainObserver for Progress {
    fn on_start(&mut self, start: &RunStart) {
        self.epochs = start.epochs;
        say_resumed(start);
    }

    fn on_batch(&mut self, p: &BatchProgress) {
        let bar = epoch_bar(&mut self.bar, p, self.epochs);
        bar.set_message(format!(
            "loss {:.4} {} {:.0} img/s",
            p.loss,
            accuracies(|name| p.metric(name)),
            p.images_per_second
        ));
    }

    fn on_epoch(&mut self, s: &EpochSummary) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let test = match s.val_loss() {
            Some(l) => format!("  test loss {l:.4} {}", accuracies(|name| s.val_metric(name))),
            None => String::new(),
        };
        say!(
            "epoch {:>3}/{}: train loss {:.4} {}{test}  lr {:.2e}  {:.1}s ({:.0} img/s)",
            s.epoch + 1,
            self.epochs,
            s.train_loss(),
            accuracies(|name| s.train_metric(name)),
            s.lr,
            s.seconds,
            s.images_per_second
        );
    }
}

/// `acc 98.10%`, `adv acc 80.00%` or both: the clean accuracy and the
/// accuracy under an attack, as a step reports them.
fn accuracies(metric: impl Fn(&str) -> Option<f64>) -> String {
    let shown: Vec<String> = [("acc", "accuracy"), ("adv acc", "adv_accuracy")]
        .iter()
        .filter_map(|(label, name)| metric(name).map(|a| format!("{label} {:.2}%", 100.0 * a)))
        .collect();
    if shown.is_empty() {
        "acc NaN%".to_string()
    } else {
        shown.join(" ")
    }
}

impl Progress {
    /// The progress of a run of `epochs` epochs in all.
    pub fn new(epochs: usize) -> Self {
        Progress { bar: None, epochs }
    }
}
