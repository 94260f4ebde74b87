//! The options of `nabla train` and the settings of a run: each option as
//! given, else (when resuming) as the run recorded it, else its default.

use std::fmt::Display;
use std::path::{Path, PathBuf};

use nabla::adversarial::Attack;
use serde::{Deserialize, Serialize};

use crate::data::DatasetKind;
use crate::models::ModelKind;
use crate::options;

/// Arguments of `nabla train`. With none, LeNet-5 on the bundled MNIST.
///
/// With `--resume`, an option left out takes the run's recorded value; the
/// model, data (and its augmentation and normalisation), batch size,
/// optimizer, schedule, seed, limit and adversarial attack cannot change, while `--epochs`, `--lr`, `--momentum` and `--weight-decay` may.
#[derive(clap::Args)]
pub struct Args {
    /// The model: mlp, lenet5, lenet5-classic, lenet5-bn or cnn; char-gpt or char-lstm (language
    /// models); ae, conv-ae or vae (autoencoders); dcgan or wgan-gp (GANs); realnvp (a flow);
    /// efficientnet-lite0 or resnet18 (transfer learning from --pretrained weights) [default: lenet5-bn].
    #[arg(long)]
    pub model: Option<ModelKind>,
    /// The data: mnist (bundled), fashion-mnist, cifar10, or a folder with
    /// train/ and test/ sub-folders of class folders of images [default: mnist].
    #[arg(long)]
    pub dataset: Option<DatasetKind>,
    /// Where the data set's files are (default: data/<dataset>, the bundled MNIST).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Passes over the training set, at least 1 [default: 10]. With
    /// --resume, the new total: more epochs than the run had extend it, the
    /// schedule being rebuilt over the new total from the epoch reached.
    #[arg(long, value_parser = options::count)]
    pub epochs: Option<usize>,
    /// Examples per step, at least 1 [default: 64].
    #[arg(long, value_parser = options::count)]
    pub batch_size: Option<usize>,
    /// The optimizer [default: adam].
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerKind>,
    /// Learning rate, above 0 [default: 0.003 for adam/adamw on lenet5 and for char-gpt,
    /// 0.002 for char-lstm, 0.001 for adam/adamw/rmsprop otherwise, 0.05 for sgd]. With --resume, the schedule
    /// continues from this rate instead of the run's.
    #[arg(long, allow_negative_numbers = true, value_parser = options::positive)]
    pub lr: Option<f64>,
    /// Momentum for sgd and rmsprop, in [0, 1) [default: 0.9].
    #[arg(long, allow_negative_numbers = true, value_parser = options::below_one)]
    pub momentum: Option<f64>,
    /// Weight decay, at least 0 (decoupled for adamw) [default: 0].
    #[arg(long, allow_negative_numbers = true, value_parser = options::non_negative)]
    pub weight_decay: Option<f64>,
    /// Learning-rate schedule over the epochs [default: cosine].
    #[arg(long, value_enum)]
    pub schedule: Option<ScheduleKind>,
    /// Distort the training digits by small random rotations (up to 10
    /// degrees) and shifts (up to 10%), as LeNet-5 was trained in 1998.
    #[arg(long)]
    pub augment: bool,
    /// Feed the pixels in [0, 1] as they are instead of normalising them
    /// (to measure what normalisation buys; recorded, so that eval, predict
    /// and show feed the model the same way).
    #[arg(long)]
    pub no_normalize: bool,
    /// Seed of the initialisation, shuffling and augmentation [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads for the arithmetic, 1 to 1024 (default: all cores).
    #[arg(long, value_parser = options::threads)]
    pub threads: Option<usize>,
    /// Data-loading threads, 0 (none: load in the training thread) to 64.
    #[arg(long, default_value_t = 2, value_parser = options::workers)]
    pub workers: usize,
    /// Train on the first N training examples only (for quick runs; at least 1).
    #[arg(long, value_parser = options::count)]
    pub limit: Option<usize>,
    /// Output folder (default: runs/<model>-<dataset>, or with --resume the
    /// run's folder). A folder that holds a run is never overwritten
    /// without --overwrite.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace the run in the output folder (its model, metrics, chart and
    /// checkpoints) with a new one.
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,
    /// Continue a run from a training checkpoint (a file, or a run's
    /// checkpoints/ folder): exactly where it stopped, or past its end with
    /// a larger --epochs.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// The latent code's features (ae, conv-ae, vae) or the noise vector's length (dcgan, wgan-gp), 1 to
    /// 65,536 [default: 20 for vae, as PyTorch's example; 32 for ae and conv-ae; 100 for the GANs]. With 2,
    /// an autoencoder's run also draws the test set's codes (latent.png).
    #[arg(long, value_parser = options::width)]
    pub latent_dim: Option<usize>,
    /// The options of the language models (--model char-gpt or char-lstm).
    #[command(flatten)]
    pub language: LanguageArgs,
    /// The options of the GANs (--model dcgan or wgan-gp).
    #[command(flatten)]
    pub gan: super::GanArgs,
    /// The options of the autoencoders and the VAE (--model ae, conv-ae or vae).
    #[command(flatten)]
    pub autoencoder: super::autoencoder::AutoencoderArgs,
    /// The options of the flows (--model realnvp).
    #[command(flatten)]
    pub flow: super::FlowArgs,
    /// The options of adversarial training (the classifiers).
    #[command(flatten)]
    pub adversarial: super::adversarial::AdversarialArgs,
    /// The options of transfer learning (--model efficientnet-lite0 or resnet18).
    #[command(flatten)]
    pub transfer: super::transfer::TransferArgs,
    /// Data-parallel training across processes (under mpirun).
    #[command(flatten)]
    pub distributed: crate::distributed::DistributedArgs,
}

/// The options of `nabla train --model char-gpt|char-lstm`, which counts its
/// run in optimizer steps. Defaults are nanoGPT's CPU configuration for the
/// GPT, char-rnn's network for the LSTM.
#[derive(clap::Args, Clone, Debug, Default)]
#[command(next_help_heading = "Language models (--model char-gpt or char-lstm)")]
pub struct LanguageArgs {
    /// Optimizer steps in all, at least 1 [default: 2000].
    #[arg(long, value_parser = options::count)]
    pub max_steps: Option<usize>,
    /// Steps between evaluations (validation loss, checkpoint, metrics line)
    /// [default: 250].
    #[arg(long, value_parser = options::count)]
    pub eval_every: Option<usize>,
    /// Validation batches per evaluation, 1 to 100,000 [default: 200].
    #[arg(long, value_parser = options::eval_batches)]
    pub eval_batches: Option<usize>,
    /// Characters of context, 1 to 65,536 [default: 64 for char-gpt, 50 for char-lstm].
    #[arg(long, value_parser = options::block_size)]
    pub block_size: Option<usize>,
    /// Transformer blocks (char-gpt), 1 to 1024 [default: 4].
    #[arg(long, value_parser = options::layers)]
    pub n_layer: Option<usize>,
    /// Attention heads per block (char-gpt), dividing --n-embd [default: 4].
    #[arg(long, value_parser = options::layers)]
    pub n_head: Option<usize>,
    /// Features of the residual stream (char-gpt), 1 to 65,536 [default: 128].
    #[arg(long, value_parser = options::width)]
    pub n_embd: Option<usize>,
    /// Features of the LSTM's state and embeddings (char-lstm), 1 to 65,536 [default: 128].
    #[arg(long, value_parser = options::width)]
    pub hidden_size: Option<usize>,
    /// Stacked LSTM layers (char-lstm), 1 to 1024 [default: 2].
    #[arg(long, value_parser = options::layers)]
    pub num_layers: Option<usize>,
    /// Dropout in training, in [0, 1) [default: 0].
    #[arg(long, allow_negative_numbers = true, value_parser = options::below_one)]
    pub dropout: Option<f64>,
    /// AdamW's second beta, in [0, 1) [default: 0.99].
    #[arg(long, allow_negative_numbers = true, value_parser = options::below_one)]
    pub beta2: Option<f64>,
    /// Clip the gradients' norm to this; 0 turns clipping off [default: 1 for char-gpt, 5 for char-lstm].
    #[arg(long, allow_negative_numbers = true, value_parser = options::non_negative)]
    pub grad_clip: Option<f64>,
    /// Steps of linear warmup of the learning rate [default: 100].
    #[arg(long, value_parser = options::steps)]
    pub warmup_steps: Option<usize>,
    /// The learning rate at the end of the cosine decay, at least 0 [default: --lr / 10].
    #[arg(long, allow_negative_numbers = true, value_parser = options::non_negative)]
    pub min_lr: Option<f64>,
}

/// The optimizers `nabla train` offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Stochastic gradient descent with momentum.
    Sgd,
    /// Adam.
    Adam,
    /// Adam with decoupled weight decay.
    Adamw,
    /// RMSprop with momentum.
    Rmsprop,
}

/// The learning-rate schedules `nabla train` offers, stepped once per epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    /// A constant learning rate.
    None,
    /// Cosine annealing to 0 over the run.
    Cosine,
    /// x0.1 every third of the run.
    Step,
    /// x0.9 per epoch.
    Exponential,
    /// x0.1 when the test loss stops improving.
    Plateau,
}

/// The name clap knows a value by (`adamw`, `cosine`).
pub fn value_name(value: &impl clap::ValueEnum) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

/// Everything that decides a run, as recorded in its checkpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The model.
    pub model: ModelKind,
    /// The data set's command-line form: a name, or an image folder's absolute path.
    pub dataset: String,
    /// Where the data set's files are, if not in the default place.
    pub data_dir: Option<PathBuf>,
    /// The epochs of the whole run.
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// The optimizer.
    pub optimizer: OptimizerKind,
    /// The learning rate the schedule starts from.
    pub lr: f64,
    /// Momentum (sgd, rmsprop).
    pub momentum: f64,
    /// Weight decay.
    pub weight_decay: f64,
    /// The learning-rate schedule.
    pub schedule: ScheduleKind,
    /// Training digits distorted by small rotations and shifts (absent from
    /// older records: false).
    #[serde(default)]
    pub augment: bool,
    /// Inputs normalised with the data set's mean and standard deviation
    /// (absent from older records: true).
    #[serde(default = "normalized_by_default")]
    pub normalize: bool,
    /// The seed of initialisation, shuffling and augmentation.
    pub seed: u64,
    /// The training examples used, if not all.
    pub limit: Option<usize>,
    /// The attack of adversarial training, if any (absent from older
    /// records: none).
    #[serde(default)]
    pub adversarial: Option<Attack>,
}

/// The learning rate when `--lr` is not given. 0.05 for SGD and 0.001
/// (PyTorch's Adam default) for the adaptive optimizers, except Adam and
/// AdamW on LeNet-5 without BatchNorm: there 0.003 reaches 98.12% test
/// accuracy on MNIST after one epoch instead of 97.37%, and 99.17% after ten
/// instead of 99.13% (the recipe table of the guide's chapter 5). The
/// default model, LeNet-5 with BatchNorm, keeps 0.001: 0.003 gives it 98.58%
/// after one epoch (mean of seeds 0 to 2) against 98.64%.
fn default_lr(optimizer: OptimizerKind, model: ModelKind) -> f64 {
    match (optimizer, model) {
        (OptimizerKind::Sgd, _) => 0.05,
        (OptimizerKind::Adam | OptimizerKind::Adamw, ModelKind::Lenet5) => 3e-3,
        (OptimizerKind::Adam | OptimizerKind::Adamw | OptimizerKind::Rmsprop, _) => 1e-3,
    }
}

fn normalized_by_default() -> bool {
    true
}

/// A path as it will still mean the same folder from elsewhere.
fn absolute(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

impl Settings {
    /// The settings of a new run: the options given, else the defaults.
    fn fresh(args: &Args) -> Result<Settings, String> {
        let optimizer = args.optimizer.unwrap_or(OptimizerKind::Adam);
        let model = args.model.unwrap_or(ModelKind::Lenet5Bn);
        Ok(Settings {
            model,
            dataset: args.dataset.clone().unwrap_or(DatasetKind::Mnist).spec(),
            data_dir: args.data_dir.as_deref().map(absolute),
            epochs: args.epochs.unwrap_or(10),
            batch_size: args.batch_size.unwrap_or(64),
            optimizer,
            lr: args.lr.unwrap_or_else(|| default_lr(optimizer, model)),
            momentum: args.momentum.unwrap_or(0.9),
            weight_decay: args.weight_decay.unwrap_or(0.0),
            schedule: args.schedule.unwrap_or(ScheduleKind::Cosine),
            augment: args.augment,
            normalize: !args.no_normalize,
            seed: args.seed.unwrap_or(0),
            limit: args.limit,
            adversarial: args.adversarial.attack()?,
        })
    }

    /// The settings of a run: a new one's, or those `recorded` by the run
    /// being resumed with the options that may change (epochs, learning
    /// rate, momentum, weight decay) as given.
    ///
    /// # Errors
    /// An option that contradicts the resumed run (another model, data set,
    /// batch size, optimizer, schedule, seed or limit), naming it; a
    /// momentum for an optimizer without one.
    pub fn resolve(args: &Args, recorded: Option<&Settings>) -> Result<Settings, String> {
        let settings = match recorded {
            None => Settings::fresh(args)?,
            Some(run) => Settings {
                model: keep("--model", args.model, run.model)?,
                dataset: keep(
                    "--dataset",
                    args.dataset.as_ref().map(DatasetKind::spec),
                    run.dataset.clone(),
                )?,
                data_dir: keep_path("--data-dir", args.data_dir.as_deref(), run.data_dir.as_deref())?,
                epochs: args.epochs.unwrap_or(run.epochs),
                batch_size: keep("--batch-size", args.batch_size, run.batch_size)?,
                optimizer: keep_named("--optimizer", args.optimizer, run.optimizer)?,
                lr: args.lr.unwrap_or(run.lr),
                momentum: args.momentum.unwrap_or(run.momentum),
                weight_decay: args.weight_decay.unwrap_or(run.weight_decay),
                schedule: keep_named("--schedule", args.schedule, run.schedule)?,
                augment: keep_flag("--augment", args.augment, run.augment)?,
                normalize: !keep_flag("--no-normalize", args.no_normalize, !run.normalize)?,
                seed: keep("--seed", args.seed, run.seed)?,
                limit: keep_limit(args.limit, run.limit)?,
                adversarial: keep_attack(&args.adversarial, run.adversarial.as_ref())?,
            },
        };
        if args.momentum.is_some() && matches!(settings.optimizer, OptimizerKind::Adam | OptimizerKind::Adamw)
        {
            return Err(format!(
                "--momentum is for sgd and rmsprop; {} has none",
                value_name(&settings.optimizer)
            ));
        }
        Ok(settings)
    }
}

/// The error for an option that a resumed run cannot change.
fn cannot_change(option: &str, given: impl Display, recorded: impl Display) -> String {
    format!(
        "{option} {given} differs from the resumed run's {recorded}: a resumed run keeps its model, data, \
         batch size, optimizer, schedule, seed and limit (start a new run with --out to change them)"
    )
}

fn keep<T: PartialEq + Display>(option: &str, given: Option<T>, recorded: T) -> Result<T, String> {
    match given {
        Some(value) if value != recorded => Err(cannot_change(option, value, recorded)),
        _ => Ok(recorded),
    }
}

/// A flag given with `--resume`: it must be one the run was made with.
fn keep_flag(option: &str, given: bool, recorded: bool) -> Result<bool, String> {
    if given && !recorded {
        return Err(format!(
            "{option} was not an option of the resumed run: a resumed run keeps its model, data, \
             batch size, optimizer, schedule, seed and limit (start a new run with --out to change them)"
        ));
    }
    Ok(recorded)
}

fn keep_named<T: PartialEq + clap::ValueEnum>(
    option: &str,
    given: Option<T>,
    recorded: T,
) -> Result<T, String> {
    match given {
        Some(value) if value != recorded => {
            Err(cannot_change(option, value_name(&value), value_name(&recorded)))
        }
        _ => Ok(recorded),
    }
}

fn keep_path(option: &str, given: Option<&Path>, recorded: Option<&Path>) -> Result<Option<PathBuf>, String> {
    let show = |p: Option<&Path>| p.map_or("(the default)".to_string(), |p| p.display().to_string());
    match given.map(absolute) {
        Some(value) if Some(value.as_path()) != recorded => {
            Err(cannot_change(option, value.display(), show(recorded)))
        }
        _ => Ok(recorded.map(Path::to_path_buf)),
    }
}

/// The recorded attack, unless attack options given describe another.
fn keep_attack(
    given: &super::adversarial::AdversarialArgs,
    recorded: Option<&Attack>,
) -> Result<Option<Attack>, String> {
    if given.given().is_empty() {
        return Ok(recorded.cloned());
    }
    let attack = given.attack()?;
    if attack.as_ref() != recorded {
        let show = |a: Option<&Attack>| a.map_or("(no adversarial training)".to_string(), Attack::to_string);
        return Err(cannot_change(
            "--adversarial",
            show(attack.as_ref()),
            show(recorded),
        ));
    }
    Ok(attack)
}

fn keep_limit(given: Option<usize>, recorded: Option<usize>) -> Result<Option<usize>, String> {
    match given {
        Some(value) if Some(value) != recorded => Err(cannot_change(
            "--limit",
            value,
            recorded.map_or("(none)".to_string(), |n| n.to_string()),
        )),
        _ => Ok(recorded),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_adam_and_adamw_on_lenet5_default_to_the_faster_rate() {
        assert_eq!(default_lr(OptimizerKind::Adam, ModelKind::Lenet5), 3e-3);
        assert_eq!(default_lr(OptimizerKind::Adamw, ModelKind::Lenet5), 3e-3);
        assert_eq!(default_lr(OptimizerKind::Rmsprop, ModelKind::Lenet5), 1e-3);
        assert_eq!(default_lr(OptimizerKind::Sgd, ModelKind::Lenet5), 0.05);
        for model in [
            ModelKind::Mlp,
            ModelKind::Lenet5Classic,
            ModelKind::Lenet5Bn,
            ModelKind::Cnn,
        ] {
            assert_eq!(default_lr(OptimizerKind::Adam, model), 1e-3, "{model}");
            assert_eq!(default_lr(OptimizerKind::Sgd, model), 0.05, "{model}");
        }
    }
}
