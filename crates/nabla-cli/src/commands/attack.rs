//! `nabla attack`: the accuracy of a saved classifier under FGSM or PGD at
//! several radii, as a table, and a picture of the attacked digits.

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use nabla::adversarial::{robust_accuracy, Attack, AttackLoss, AttackMode, Norm, Pixels, RobustnessReport};
use nabla::data::{Batch, Split, Subset};
use nabla::nn::Layer;
use nabla::{no_grad, Generator, Tensor};

use crate::data::{DatasetKind, Normalization};
use crate::models::ModelKind;
use crate::options;
use crate::output::say;
use crate::picture::{draw, Row, Scale, Tile};
use crate::saved::{self, SavedModel};

/// The attacks of `nabla attack`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    /// The fast gradient sign method: one step of size eps.
    Fgsm,
    /// Projected gradient descent from a random start.
    Pgd,
}

/// The losses an attack can ascend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LossKind {
    /// The cross-entropy with the true label.
    Ce,
    /// Carlini and Wagner's margin: the best other logit minus the label's.
    Margin,
}

/// Arguments of `nabla attack`.
#[derive(clap::Args)]
pub struct Args {
    /// A classifier: a model file, a training checkpoint or a run's
    /// checkpoints/ folder (its record says how inputs are normalised).
    #[arg(long)]
    checkpoint: PathBuf,
    /// The model the checkpoint holds (default: the one it records).
    #[arg(long)]
    model: Option<ModelKind>,
    /// The attack.
    #[arg(long, value_enum, default_value = "fgsm")]
    method: Method,
    /// The norm of the perturbation: linf or l2.
    #[arg(long, default_value = "linf")]
    norm: Norm,
    /// The radii, in pixels (the range is [0, 1]), comma-separated, each at least 0.
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true, value_parser = options::non_negative,
          default_value = "0.05,0.1,0.15,0.2,0.25,0.3")]
    eps: Vec<f64>,
    /// PGD's steps, at least 1.
    #[arg(long, default_value_t = 40, value_parser = options::count)]
    steps: usize,
    /// PGD's step size in pixels [default: 2.5 eps / steps for each eps].
    #[arg(long, allow_negative_numbers = true, value_parser = options::positive)]
    step_size: Option<f64>,
    /// PGD's runs from random starts; an example counts as robust only if
    /// it resists every one. At least 1.
    #[arg(long, default_value_t = 1, value_parser = options::count)]
    restarts: usize,
    /// The loss ascended: ce or margin.
    #[arg(long, value_enum, default_value = "ce")]
    loss: LossKind,
    /// The PNG of original digits, perturbations and adversarial digits
    /// with their predictions.
    #[arg(long, default_value = "adversarial.png")]
    out: PathBuf,
    /// Also write the report (every attack's settings and figures) as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Attack the first N test examples only (at least 1).
    #[arg(long, value_parser = options::count)]
    limit: Option<usize>,
    /// The data set whose test split is attacked (default: the recorded one).
    #[arg(long)]
    dataset: Option<DatasetKind>,
    /// Where the data set's files are.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Seed of the random starts.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Worker threads, 1 to 1024 (default: all cores).
    #[arg(long, value_parser = options::threads)]
    threads: Option<usize>,
}

/// Digits drawn in the picture.
const SHOWN: usize = 8;

impl Args {
    /// The attack at each radius.
    fn attacks(&self) -> Result<Vec<Attack>, String> {
        if self.method == Method::Fgsm {
            for (option, given) in [
                ("--step-size", self.step_size.is_some()),
                ("--steps", self.steps != 40),
                ("--restarts", self.restarts != 1),
            ] {
                if given {
                    return Err(format!(
                        "{option} is an option of --method pgd; fgsm takes one step of eps"
                    ));
                }
            }
        }
        let loss = match self.loss {
            LossKind::Ce => AttackLoss::CrossEntropy,
            LossKind::Margin => AttackLoss::Margin,
        };
        self.eps
            .iter()
            .map(|&eps| {
                let attack = match self.method {
                    Method::Fgsm => Attack::fgsm(self.norm, eps),
                    Method::Pgd => Attack::pgd(
                        self.norm,
                        eps,
                        self.steps,
                        self.step_size.unwrap_or(2.5 * eps / self.steps as f64),
                    )
                    .map(|a| a.restarts(self.restarts)),
                };
                attack.map(|a| a.with_loss(loss)).map_err(|e| e.to_string())
            })
            .collect()
    }
}

/// Loads the classifier, attacks the test set at each radius, prints the
/// table, draws the picture.
pub fn run(args: Args) -> Result<(), String> {
    crate::set_threads(args.threads)?;
    nabla::on_worker_thread(|| attack(&args))
}

fn attack(args: &Args) -> Result<(), String> {
    let attacks = args.attacks()?;
    saved::refuse_unless_classifier(&args.checkpoint, "attack")?;
    let (path, recorded) = saved::read_record(&args.checkpoint, args.model)?;
    let dataset = saved::dataset(args.dataset.as_ref(), &recorded)?;
    let mut test_set = dataset.load(args.data_dir.as_deref(), Split::Test)?;
    if let Some(limit) = args.limit {
        let n = limit.min(test_set.len());
        test_set = std::sync::Arc::new(Subset::new(test_set, (0..n).collect()));
    }
    let saved = SavedModel::load(path, recorded, args.model, Some((&dataset, test_set.as_ref())))?;
    let pixels = saved.normalization.pixels();
    let channels = saved.input[0];
    let loader = dataset.loader(
        test_set,
        Split::Test,
        &Normalization::identity(channels),
        250,
        0,
        2,
    );
    let mut model = saved.model;
    say!(
        "attacking {} on {} test examples of {}",
        args.checkpoint.display(),
        loader.dataset().len(),
        dataset.name()
    );
    let bar = ProgressBar::new(loader.dataset().len() as u64);
    bar.set_style(
        ProgressStyle::with_template("[{bar:30}] {pos}/{len} examples {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let report = robust_accuracy(&mut model, &pixels, &loader, &attacks, args.seed, &mut |r| {
        bar.set_position(r.examples);
        bar.set_message(format!("clean {:.2}%", 100.0 * r.clean_accuracy()));
    })
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    say!("{report}");
    if let Some(json) = &args.json {
        write_json(json, &report)?;
        say!("wrote {}", json.display());
    }
    let shown: Vec<usize> = (0..SHOWN.min(loader.dataset().len())).collect();
    // The loader's only transform is the identity normalisation: the examples are the pixels.
    let first = Batch::collect(loader.dataset().as_ref(), &shown);
    picture(
        &mut model,
        &pixels,
        &attacks,
        &first.inputs,
        &first.targets,
        args.seed,
        &args.out,
    )?;
    say!("wrote {}", args.out.display());
    Ok(())
}

fn write_json(path: &Path, report: &RobustnessReport) -> Result<(), String> {
    let text = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    nabla::fs::write_atomic(path, |w| w.write_all(text.as_bytes())).map_err(|e| e.to_string())
}

/// Rows of the picture: the digits with their predictions, then for each
/// radius the perturbation (red up, blue down, full colour at eps) and the
/// adversarial digits with their predictions.
fn picture(
    model: &mut nabla::nn::Sequential,
    pixels: &Pixels,
    attacks: &[Attack],
    images: &Tensor,
    labels: &nabla::IndexTensor,
    seed: u64,
    out: &Path,
) -> Result<(), String> {
    let attacked = AttackMode::enter(model);
    let classify = |x: &Tensor| attacked.forward(&pixels.to_input(x));
    let predict = |x: &Tensor| no_grad(|| classify(x).argmax(1, false).to_vec());
    let (n, h, w) = (images.shape()[0], images.shape()[2], images.shape()[3]);
    let tiles = |x: &Tensor, captions: Vec<String>, scale: Scale| -> Vec<Tile> {
        let channel0 = x.narrow(1, 0, 1).contiguous().to_vec();
        captions
            .into_iter()
            .enumerate()
            .map(|(i, caption)| Tile {
                caption,
                values: channel0[i * h * w..(i + 1) * h * w].to_vec(),
                height: h,
                width: w,
                cell: 3,
                scale,
            })
            .collect()
    };
    let grey = Scale::Grey { low: 0.0, high: 1.0 };
    let said = |predicted: &[usize]| -> Vec<String> {
        predicted
            .iter()
            .zip(labels.as_slice())
            .map(|(p, y)| {
                if p == y {
                    format!("{p}")
                } else {
                    format!("{p} (not {y})")
                }
            })
            .collect()
    };
    let mut rows = vec![Row {
        title: "test digits: predicted class".to_string(),
        tiles: tiles(images, said(&predict(images)), grey),
    }];
    let mut generator = Generator::new(seed);
    for attack in attacks {
        let adversarial = attack
            .perturb(&classify, images, labels, &mut generator)
            .map_err(|e| e.to_string())?;
        let delta = &adversarial - images;
        let limit = (attack.eps as f32).max(f32::MIN_POSITIVE);
        rows.push(Row {
            title: format!("perturbation, {attack}"),
            tiles: tiles(&delta, vec![String::new(); n], Scale::Signed { limit }),
        });
        rows.push(Row {
            title: format!("adversarial digits at eps {}: predicted class", attack.eps),
            tiles: tiles(&adversarial, said(&predict(&adversarial)), grey),
        });
    }
    draw(out, &rows)
}
