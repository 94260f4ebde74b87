//! Transfer learning: a new head trained on a frozen backbone's features
//! (computed once, as a user would when nothing changes them), or the
//! whole network fine-tuned with the backbone at a lower learning rate.

use std::sync::Arc;

use crate::autograd::no_grad;
use crate::data::Shard;
use crate::error::{Error, Result};
use crate::nn::loss::cross_entropy;
use crate::nn::Module;
use crate::optim::{Adam, AdamConfig, Optimizer, ParamGroups};
use crate::tensor::{Generator, IndexTensor, Tensor};
use crate::train::{data_parallel_backward, DataParallel};

use super::ImageClassifier;

/// The settings of [`fit_head`] and [`fine_tune`].
#[derive(Clone, Debug)]
pub struct TransferConfig {
    /// Passes over the training examples.
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// Adam's learning rate for the head.
    pub learning_rate: f64,
    /// The backbone's rate as a fraction of the head's, when fine-tuning (default 0.1).
    pub backbone_rate_factor: f64,
    /// Adam's L2 weight decay.
    pub weight_decay: f64,
    /// Seeds the shuffling.
    pub seed: u64,
    /// Data-parallel training (default `None`: this process alone): every
    /// process steps on its [`Shard`] of each epoch's order, with the
    /// gradients averaged over the processes and the epoch's loss over all
    /// of them. Each process holds all the examples (and, for
    /// [`fit_head`], computes all their features).
    pub parallel: Option<Arc<dyn DataParallel>>,
}

impl Default for TransferConfig {
    /// 20 epochs of batches of 32 at 1e-3, the backbone at a tenth of it.
    fn default() -> Self {
        TransferConfig {
            epochs: 20,
            batch_size: 32,
            learning_rate: 1e-3,
            backbone_rate_factor: 0.1,
            weight_decay: 0.0,
            seed: 0,
            parallel: None,
        }
    }
}

/// What one epoch of training gave.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochReport {
    /// The epoch, from 1.
    pub epoch: usize,
    /// The mean training loss over its steps.
    pub loss: f64,
}

/// The backbone's pooled features `[N, F]` of `images` `[N, 3, H, W]` in
/// evaluation mode, without recording, `batch_size` images at a time.
///
/// # Errors
/// For an architecture without a replaceable head (VGG-16).
pub fn extract_features(model: &mut ImageClassifier, images: &Tensor, batch_size: usize) -> Result<Tensor> {
    model.module_mut().eval();
    let n = images.shape()[0];
    let mut parts = Vec::new();
    for start in (0..n).step_by(batch_size.max(1)) {
        let batch = images.narrow(0, start, batch_size.min(n - start));
        parts.push(no_grad(|| model.features(&batch))?);
    }
    Ok(Tensor::cat(&parts, 0))
}

/// Trains `model`'s head on cached `features` `[N, F]` with `labels`, the
/// backbone untouched (frozen, BatchNorm in evaluation mode): Adam on the
/// cross-entropy, shuffled minibatches. `on_epoch` sees each epoch's report.
///
/// # Errors
/// [`Error::InvalidSetting`] for labels that do not match the features or
/// the head's classes, or an architecture without a replaceable head.
pub fn fit_head(
    model: &mut ImageClassifier,
    features: &Tensor,
    labels: &[usize],
    config: &TransferConfig,
    mut on_epoch: impl FnMut(EpochReport),
) -> Result<()> {
    check_labels(model, features.shape()[0], labels)?;
    model.module_mut().eval();
    let mut optimizer = adam(
        model.head()?.parameters(),
        config.learning_rate,
        config.weight_decay,
    );
    run_epochs(labels, config, &mut on_epoch, |rows, targets| {
        optimizer.zero_grad();
        let batch = features.index_select(0, rows);
        let loss = cross_entropy(&model.classify(&batch)?, targets);
        data_parallel_backward(config.parallel.as_deref(), &loss, optimizer.parameters());
        optimizer.step();
        Ok(loss.item() as f64)
    })
}

/// Fine-tunes the whole network on `images` `[N, 3, H, W]` with `labels`:
/// training mode (batch statistics, dropout, stochastic depth), Adam with
/// the head at `learning_rate` and the backbone at
/// `learning_rate * backbone_rate_factor`.
///
/// # Errors
/// As [`fit_head`].
pub fn fine_tune(
    model: &mut ImageClassifier,
    images: &Tensor,
    labels: &[usize],
    config: &TransferConfig,
    mut on_epoch: impl FnMut(EpochReport),
) -> Result<()> {
    check_labels(model, images.shape()[0], labels)?;
    model.module_mut().train(true);
    let head = adam(
        model.head()?.parameters(),
        config.learning_rate,
        config.weight_decay,
    );
    let backbone = adam(
        model.backbone_parameters(),
        config.learning_rate * config.backbone_rate_factor,
        config.weight_decay,
    );
    let mut optimizer = ParamGroups::new(vec![Box::new(head), Box::new(backbone)]);
    let result = run_epochs(labels, config, &mut on_epoch, |rows, targets| {
        optimizer.zero_grad();
        let batch = images.index_select(0, rows);
        let loss = cross_entropy(&model.forward(&batch), targets);
        data_parallel_backward(config.parallel.as_deref(), &loss, optimizer.parameters());
        optimizer.step();
        Ok(loss.item() as f64)
    });
    model.module_mut().eval();
    result
}

/// The fraction of `images` whose highest logit is their label, in
/// evaluation mode, `batch_size` at a time.
pub fn accuracy(model: &mut ImageClassifier, images: &Tensor, labels: &[usize], batch_size: usize) -> f64 {
    model.module_mut().eval();
    let predictions = predict(model, images, batch_size);
    let correct = predictions.iter().zip(labels).filter(|(p, l)| p == l).count();
    correct as f64 / labels.len().max(1) as f64
}

/// The class probabilities `[N, classes]` of `images`, in evaluation mode,
/// without recording, `batch_size` images at a time.
pub fn probabilities(model: &mut ImageClassifier, images: &Tensor, batch_size: usize) -> Tensor {
    model.module_mut().eval();
    let n = images.shape()[0];
    let parts: Vec<Tensor> = (0..n)
        .step_by(batch_size.max(1))
        .map(|start| {
            let batch = images.narrow(0, start, batch_size.min(n - start));
            no_grad(|| model.forward(&batch).softmax(1))
        })
        .collect();
    Tensor::cat(&parts, 0)
}

/// The predicted class of each image, in evaluation mode.
pub fn predict(model: &mut ImageClassifier, images: &Tensor, batch_size: usize) -> Vec<usize> {
    probabilities(model, images, batch_size).argmax(1, false).to_vec()
}

fn adam(parameters: Vec<Tensor>, lr: f64, weight_decay: f64) -> Adam {
    Adam::new(
        parameters,
        AdamConfig {
            weight_decay,
            ..AdamConfig::new(lr)
        },
    )
}

fn check_labels(model: &ImageClassifier, examples: usize, labels: &[usize]) -> Result<()> {
    let classes = model.head()?.weight.shape()[0];
    let invalid = |message: String| Error::InvalidSetting {
        context: "transfer".into(),
        message,
    };
    if labels.len() != examples {
        return Err(invalid(format!(
            "{} labels for {examples} examples",
            labels.len()
        )));
    }
    if let Some(&bad) = labels.iter().find(|&&l| l >= classes) {
        return Err(invalid(format!("label {bad} for a head over {classes} classes")));
    }
    if examples == 0 {
        return Err(invalid("no training examples".into()));
    }
    Ok(())
}

/// Runs `config.epochs` shuffled passes of `step(rows, targets) -> loss`
/// (over this process's shard of each pass in data-parallel training).
fn run_epochs(
    labels: &[usize],
    config: &TransferConfig,
    on_epoch: &mut impl FnMut(EpochReport),
    mut step: impl FnMut(&IndexTensor, &IndexTensor) -> Result<f64>,
) -> Result<()> {
    let mut generator = Generator::new(config.seed);
    let n = labels.len();
    let shard = config
        .parallel
        .as_ref()
        .map(|p| Shard::new(p.rank(), p.world_size()));
    for epoch in 1..=config.epochs {
        let order = generator.permutation(n);
        let order = match shard {
            Some(shard) => shard.take(&order),
            None => order,
        };
        let (mut total, mut steps) = (0.0, 0);
        for chunk in order.chunks(config.batch_size.max(1)) {
            let rows = IndexTensor::from_vec(chunk.to_vec(), &[chunk.len()]);
            let targets = IndexTensor::from_vec(chunk.iter().map(|&i| labels[i]).collect(), &[chunk.len()]);
            total += step(&rows, &targets)?;
            steps += 1;
        }
        let mut sums = [total, steps as f64];
        if let Some(parallel) = &config.parallel {
            parallel.all_reduce_sum(&mut sums);
        }
        on_epoch(EpochReport {
            epoch,
            loss: sums[0] / sums[1].max(1.0),
        });
    }
    Ok(())
}
