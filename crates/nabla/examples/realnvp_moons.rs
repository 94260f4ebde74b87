//! RealNVP on two moons (chapter 12): the Keras example's configuration,
//! trained by maximum likelihood with the library's training loop.
//!
//! `make_moons(3000, noise=0.05)` standardised, 80/20 split; 6 affine
//! couplings whose `s` and `t` have 4 hidden layers of 256 units; Adam 1e-4,
//! batch 256. Prints the validation negative log-likelihood in nats every
//! 25 epochs, then the best and the last, and the log-likelihood of a few
//! points on and off the moons.
//!
//! Run with `cargo run --release -p nabla --example realnvp_moons [EPOCHS]`
//! (default 300, the Keras example's; about a minute per 25 epochs on one
//! core of a shared machine). `nabla train --model realnvp --dataset moons`
//! trains the same flow and draws its density and samples.

use std::sync::Arc;

use nabla::data::{DataLoader, LoaderConfig, Stack, TensorDataset, TwoMoons, Unlabeled};
use nabla::generative::flow::{NegativeLogLikelihood, RealNvp, RealNvpConfig};
use nabla::nn::Module;
use nabla::optim::{Adam, AdamConfig};
use nabla::train::{fit, EpochSummary, TrainConfig, TrainObserver};
use nabla::{no_grad, Generator, IndexTensor, Tensor};

/// A loader of the rows of `points` `[N, 2]`, in batches of `batch_size`.
fn loader(
    points: &Tensor,
    batch_size: usize,
    shuffle: bool,
) -> DataLoader<impl nabla::data::BatchSource<Batch = Tensor>> {
    let n = points.shape()[0];
    let rows = TensorDataset::new(points.clone(), IndexTensor::from_vec(vec![0; n], &[n]), 1);
    let config = LoaderConfig {
        batch_size,
        shuffle,
        drop_last: false,
        seed: 0,
        workers: 0,
        prefetch: 2,
        shard: None,
    };
    DataLoader::collated(Arc::new(Unlabeled::new(Arc::new(rows))), Stack, config)
}

/// Prints the validation loss every 25 epochs and keeps the best and all.
struct Report {
    best: (f64, usize),
    all: Vec<f64>,
}

impl TrainObserver for Report {
    fn on_epoch(&mut self, s: &EpochSummary) {
        let val = s.val_loss().expect("a validation set");
        self.all.push(val);
        if val < self.best.0 {
            self.best = (val, s.epoch + 1);
        }
        if (s.epoch + 1) % 25 == 0 || s.epoch == 0 {
            println!(
                "epoch {:3}  train NLL {:.4}  validation NLL {val:.4} nats  ({:.1}s)",
                s.epoch + 1,
                s.train_loss(),
                s.seconds
            );
        }
    }
}

fn main() {
    let epochs: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("EPOCHS must be a number"))
        .unwrap_or(300);
    let moons = TwoMoons::new(3000, 0.05, 0.2, &mut Generator::new(0));
    let mut flow = RealNvp::new(&RealNvpConfig::moons(), &mut Generator::new(0));
    println!(
        "RealNVP with {} parameters on {} training and {} validation points, {epochs} epochs",
        flow.num_parameters(),
        moons.train.shape()[0],
        moons.validation.shape()[0]
    );
    let mut optimizer = Adam::new(flow.parameters(), AdamConfig::new(1e-4));
    let config = TrainConfig {
        epochs,
        ..TrainConfig::default()
    };
    let mut report = Report {
        best: (f64::INFINITY, 0),
        all: Vec::new(),
    };
    let history = fit(
        &mut flow,
        &mut NegativeLogLikelihood,
        &mut optimizer,
        None,
        &loader(&moons.train, 256, true),
        Some(&loader(&moons.validation, 600, false)),
        &config,
        &mut report,
    )
    .expect("training runs");
    let last = history
        .epochs
        .last()
        .and_then(EpochSummary::val_loss)
        .expect("an epoch");
    // One epoch's figure moves by a few hundredths: the mean of the last
    // ten is the steadier one.
    let recent = &report.all[report.all.len().saturating_sub(10)..];
    println!(
        "validation NLL after {epochs} epochs: {last:.4} nats (best {:.4} at epoch {}, mean of the last {} {:.4}; \
         Keras: 1.2990 after 300)",
        report.best.0,
        report.best.1,
        recent.len(),
        recent.iter().sum::<f64>() / recent.len() as f64
    );
    // The density is high on the moons and low between them: the top of
    // the upper moon, (0, 1) before standardising, and (0.5, 0.25).
    let standardise = |x: f64, y: f64| {
        [
            ((x - moons.mean[0]) / moons.std[0]) as f32,
            ((y - moons.mean[1]) / moons.std[1]) as f32,
        ]
    };
    let points = Tensor::from_vec([standardise(0.0, 1.0), standardise(0.5, 0.25)].concat(), &[2, 2]);
    let log_p = no_grad(|| flow.log_prob(&points)).to_vec();
    println!(
        "log p on the upper moon {:.2}, between the moons {:.2}",
        log_p[0], log_p[1]
    );
}
