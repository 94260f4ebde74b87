//! `nabla train --model efficientnet-lite0|resnet18 --pretrained F --dataset
//! <folder>`: transfer learning (section 1.2.1 of the course). The
//! ImageNet network gets a new head over the folder's classes; with
//! `--freeze-backbone` (the default) the backbone's features are computed
//! once and only the head trains, with `--fine-tune` every layer trains,
//! the backbone at a tenth of the head's learning rate. The run folder
//! gets `model.safetensors`, which records the architecture, the class
//! names and the preprocessing (so `predict` and `eval` need nothing
//! else), `metrics.jsonl`, and `predictions.png` (the test photos with
//! their predicted classes, mistakes framed in red).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use nabla::transfer::{self, ClassifierRecord, EpochReport, TransferConfig};
use nabla::Generator;

use super::folder::{self, METRICS_FILE, MODEL_FILE};
use super::Args;
use crate::data::DatasetKind;
use crate::distributed::Distributed;
use crate::imagenet;
use crate::models::ModelKind;
use crate::output::say;
use crate::photo_grid::{self, Classified};
use crate::Ending;

/// The picture of the test photos' predictions.
const PREDICTIONS_FILE: &str = "predictions.png";

/// The options of transfer learning.
#[derive(clap::Args, Clone, Debug, Default)]
#[command(next_help_heading = "Transfer learning (efficientnet-lite0, resnet18)")]
pub struct TransferArgs {
    /// The pretrained ImageNet weights to start from (safetensors, or a
    /// PyTorch .pth state dict), e.g. data/pretrained/efficientnet-lite0.safetensors.
    #[arg(long)]
    pub pretrained: Option<PathBuf>,
    /// Train only the new head on the frozen backbone's features, computed
    /// once (the default).
    #[arg(long, conflicts_with = "fine_tune")]
    pub freeze_backbone: bool,
    /// Train every layer: the new head at --lr, the backbone at a tenth of it,
    /// BatchNorm on the batches' statistics.
    #[arg(long)]
    pub fine_tune: bool,
}

impl TransferArgs {
    /// The transfer-learning options given.
    pub fn given(&self) -> Vec<&'static str> {
        [
            ("--pretrained", self.pretrained.is_some()),
            ("--freeze-backbone", self.freeze_backbone),
            ("--fine-tune", self.fine_tune),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }
}

/// Options of `nabla train` that this path does not take.
fn refuse_unused(args: &Args) -> Result<(), String> {
    let unused = [
        ("--resume", args.resume.is_some()),
        ("--optimizer", args.optimizer.is_some()),
        ("--schedule", args.schedule.is_some()),
        ("--momentum", args.momentum.is_some()),
        ("--limit", args.limit.is_some()),
        ("--data-dir", args.data_dir.is_some()),
    ];
    match unused.iter().find(|(_, given)| *given) {
        Some((flag, _)) => Err(format!(
            "{flag} is not an option of transfer learning (it trains with Adam on a folder data set)"
        )),
        None => Ok(()),
    }
}

/// Trains a new head (and, fine-tuning, the backbone) on a folder data set.
pub fn train(args: &Args, kind: ModelKind, distributed: Option<&Distributed>) -> Result<Ending, String> {
    refuse_unused(args)?;
    if kind == ModelKind::Vgg16 {
        return Err(
            "transfer learning takes efficientnet-lite0 or resnet18: vgg16's head is three layers \
                    (classifier.0, .3, .6), and it is offered as trained on ImageNet (nabla predict)"
                .to_string(),
        );
    }
    let started = Instant::now();
    let Some(pretrained) = &args.transfer.pretrained else {
        return Err(format!(
            "{kind} trains from its ImageNet weights: --pretrained F (for efficientnet-lite0, the bundled \
             data/pretrained/efficientnet-lite0.safetensors)"
        ));
    };
    let Some(DatasetKind::Folder(root)) = &args.dataset else {
        return Err(format!(
            "{kind} learns a new task from a folder data set: --dataset <folder with train/ and test/ \
             folders of class folders>"
        ));
    };
    let (mut model, imagenet_record) = imagenet::open(pretrained, Some(kind))?
        .ok_or_else(|| format!("{} holds no {kind} weights", pretrained.display()))?;
    let preprocess = imagenet_record.preprocess;
    let name = root
        .file_name()
        .map_or("folder".into(), |n| n.to_string_lossy().into_owned());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| folder::default_folder(&kind.to_string(), &name));
    let claim = super::claim_folder(&out, false, args.overwrite, distributed)?;
    let fine_tune = args.transfer.fine_tune;
    let config = TransferConfig {
        epochs: args.epochs.unwrap_or(if fine_tune { 3 } else { 20 }),
        batch_size: args.batch_size.unwrap_or(32),
        learning_rate: args.lr.unwrap_or(1e-3),
        weight_decay: args.weight_decay.unwrap_or(0.0),
        seed: args.seed.unwrap_or(0),
        parallel: distributed.map(Distributed::parallel),
        ..TransferConfig::default()
    };
    if let Some(d) = distributed {
        let settings = (
            kind,
            pretrained,
            root,
            fine_tune,
            (config.epochs, config.batch_size, config.learning_rate),
            (config.weight_decay, config.seed),
        );
        d.check_same_start(&settings, &out)?;
    }
    say!("{}: {}", out.display(), claim.describe());

    let train_split = imagenet::load_split(root, "train", &preprocess)?;
    let test = imagenet::load_split(root, "test", &preprocess)?;
    if test.classes != train_split.classes {
        return Err(format!(
            "{} has the classes {:?} but {} has {:?}",
            root.join("train").display(),
            train_split.classes,
            root.join("test").display(),
            test.classes
        ));
    }
    say!(
        "{kind} from {}: {} training and {} test photos of {} classes ({}), {} head",
        pretrained.display(),
        train_split.labels.len(),
        test.labels.len(),
        train_split.classes.len(),
        train_split.classes.join(", "),
        if fine_tune {
            "fine-tuning every layer with a new"
        } else {
            "frozen backbone, a new"
        }
    );
    model
        .replace_head(train_split.classes.len(), &mut Generator::new(config.seed))
        .map_err(|e| e.to_string())?;
    if let Some(d) = distributed {
        d.parallel().broadcast_module(model.module());
    }
    // Rank 0 alone writes the run's files.
    let writer = distributed.is_none_or(|d| d.rank() == 0);
    let metrics_path = out.join(METRICS_FILE);
    let mut metrics = writer
        .then(|| std::fs::File::create(&metrics_path))
        .transpose()
        .map_err(|e| format!("cannot create {}: {e}", metrics_path.display()))?;
    let mut log = |r: EpochReport| {
        say!(
            "epoch {:>3}/{}: training loss {:.4}",
            r.epoch,
            config.epochs,
            r.loss
        );
        if let Some(metrics) = metrics.as_mut() {
            let _ = writeln!(metrics, "{{\"epoch\":{},\"train_loss\":{}}}", r.epoch, r.loss);
        }
    };
    if fine_tune {
        transfer::fine_tune(
            &mut model,
            &train_split.images,
            &train_split.labels,
            &config,
            &mut log,
        )
    } else {
        let features = Instant::now();
        let cached = transfer::extract_features(&mut model, &train_split.images, config.batch_size)
            .map_err(|e| e.to_string())?;
        say!(
            "backbone features of the training photos ({} each) in {:.1} s",
            cached.shape()[1],
            features.elapsed().as_secs_f64()
        );
        transfer::fit_head(&mut model, &cached, &train_split.labels, &config, &mut log)
    }
    .map_err(|e| e.to_string())?;
    let Some(mut metrics) = metrics else {
        return Ok(Ending::Done);
    };

    let probabilities = transfer::probabilities(&mut model, &test.images, config.batch_size);
    let (best, predicted) = probabilities.max_dim(1, false);
    let (best, predicted) = (best.to_vec(), predicted.to_vec());
    let correct = predicted.iter().zip(&test.labels).filter(|(p, l)| p == l).count();
    let accuracy = correct as f64 / test.labels.len().max(1) as f64;
    let _ = writeln!(metrics, "{{\"test_accuracy\":{accuracy}}}");
    let photos: Vec<Classified> = (0..test.labels.len())
        .map(|i| Classified {
            path: test.paths[i].clone(),
            truth: test.classes[test.labels[i]].clone(),
            predicted: test.classes[predicted[i]].clone(),
            probability: best[i],
        })
        .collect();
    let picture = out.join(PREDICTIONS_FILE);
    photo_grid::write(&picture, &photos, &preprocess)?;
    let record = ClassifierRecord {
        architecture: imagenet_record.architecture,
        class_names: train_split.classes,
        preprocess,
    };
    let model_path = out.join(MODEL_FILE);
    transfer::save_classifier(&model, &record, &model_path).map_err(|e| e.to_string())?;
    report(
        &[&model_path, &metrics_path, &picture],
        accuracy,
        test.labels.len(),
        started,
    );
    Ok(Ending::Done)
}

fn report(files: &[&Path], accuracy: f64, examples: usize, started: Instant) {
    say!(
        "test accuracy {:.2}% on {examples} photos, in {:.1} s",
        100.0 * accuracy,
        started.elapsed().as_secs_f64()
    );
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    say!("wrote {}", names.join(", "));
}
