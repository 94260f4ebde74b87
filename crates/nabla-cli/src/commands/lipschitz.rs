//! `nabla lipschitz`: the per-layer spectral norms of a saved classifier,
//! bounds of its L2 Lipschitz constant from both sides, and the test-set
//! accuracy it certifies at a few L2 radii.

use std::path::PathBuf;
use std::sync::Arc;

use nabla::data::{Split, Subset};
use nabla::lipschitz::{
    certify, lipschitz_lower_bound, lipschitz_upper_bound, BoundMethod, NetworkBound, PowerIteration,
};
use nabla::nn::ToDtype;

use crate::data::DatasetKind;
use crate::models::ModelKind;
use crate::output::say;
use crate::saved::{self, SavedModel};

/// Arguments of `nabla lipschitz`.
#[derive(clap::Args)]
pub struct Args {
    /// The model the checkpoint holds: mlp, lenet5, lenet5-classic,
    /// lenet5-bn or cnn (default: the one its metadata records; lenet5 for
    /// a file without).
    #[arg(long)]
    model: Option<ModelKind>,
    /// A classifier's model file, a training checkpoint, or a run's
    /// checkpoints/ folder.
    #[arg(long)]
    checkpoint: PathBuf,
    /// The data set whose test split gives the lower bound and the
    /// certified accuracies (default: the one the model was trained on).
    #[arg(long)]
    dataset: Option<DatasetKind>,
    /// Where the data set's files are.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Use only the first N test examples.
    #[arg(long)]
    limit: Option<usize>,
    /// L2 radii in pixel units (pixels in [0, 1]), comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0.1,0.25,0.5,1.0",
        allow_negative_numbers = true
    )]
    radii: Vec<f64>,
}

/// Bounds the constant, prints the layers, the bounds and the certified accuracies.
pub fn run(args: Args) -> Result<(), String> {
    if let Some(r) = args.radii.iter().find(|r| !(r.is_finite() && **r >= 0.0)) {
        return Err(format!("--radii: a radius must be a finite number >= 0, got {r}"));
    }
    if args.limit == Some(0) {
        return Err("--limit: at least one example is needed".to_string());
    }
    saved::refuse_unless_classifier(&args.checkpoint, "lipschitz")?;
    let (path, recorded) = saved::read_record(&args.checkpoint, args.model)?;
    let dataset = saved::dataset(args.dataset.as_ref(), &recorded)?;
    let mut test_set = dataset.load(args.data_dir.as_deref(), Split::Test)?;
    let saved = SavedModel::load(path, recorded, args.model, Some((&dataset, test_set.as_ref())))?;
    if let Some(limit) = args.limit {
        let n = limit.min(test_set.len());
        test_set = Arc::new(Subset::new(test_set, (0..n).collect()));
    }

    // The bound in f64: power iteration on products of many terms.
    let bound = lipschitz_upper_bound(&saved.model.to_f64(), &saved.input, &PowerIteration::default())
        .map_err(|e| format!("{}: {e}", args.checkpoint.display()))?;
    let std = &saved.normalization.std;
    // Shown as recorded (f32); divided in f64.
    let (smallest, largest) = (
        std.iter().copied().fold(f32::INFINITY, f32::min),
        std.iter().copied().fold(0.0f32, f32::max),
    );
    let (smallest_std, largest_std) = (f64::from(smallest), f64::from(largest));
    say!(
        "{}: inputs {:?}, normalised as (x - {:?}) / {:?}",
        args.checkpoint.display(),
        saved.input,
        saved.normalization.mean,
        std
    );
    print_layers(&bound);

    let loader = dataset.loader(test_set.clone(), Split::Test, &saved.normalization, 256, 0, 2);
    let mut model = saved.model;
    let lower = lipschitz_lower_bound(&mut model, loader.epoch(0).map(|b| b.inputs))
        .map_err(|e| format!("{}: {e}", args.checkpoint.display()))?;
    let upper = bound.upper_bound;
    say!("L2 Lipschitz constant of the logits:");
    say!(
        "  upper bound (product of the layers): {upper:.4e} on normalised inputs, {:.4e} on pixels (divided by the \
         smallest std {smallest})",
        upper / smallest_std
    );
    say!(
        "  lower bound (largest Jacobian norm over {} test examples): {:.4} on normalised inputs, {:.4} on pixels \
         (divided by the largest std {largest}), at test example {}",
        lower.examples,
        lower.value,
        lower.value / largest_std,
        lower.example.map_or("-".to_string(), |e| e.to_string())
    );
    say!("  the gap, upper / lower: {:.1}x", upper / lower.value);

    let pixel_constant = upper / smallest_std;
    let batches = loader.epoch(0).map(|b| (b.inputs, b.targets));
    let tally = certify(&mut model, batches, pixel_constant, &args.radii).map_err(|e| e.to_string())?;
    say!(
        "clean accuracy on the {} test set: {:.2}% ({} of {})",
        dataset.name(),
        100.0 * tally.accuracy(),
        tally.correct,
        tally.examples
    );
    say!(
        "certified accuracy (Tsuzuku et al. 2018: right, with a logit margin above sqrt(2) * L * eps for the \
         pixel-space upper bound L = {pixel_constant:.4e}; eps an L2 radius on pixels in [0, 1]):"
    );
    for (eps, accuracy) in tally.certified_accuracy() {
        say!("  eps {eps:<6} {:6.2}%", 100.0 * accuracy);
    }
    Ok(())
}

/// The layers' table: name, kind, input shape, constant and how it was found.
fn print_layers(bound: &NetworkBound) {
    let width = |f: &dyn Fn(&nabla::lipschitz::LayerBound) -> usize, title: &str| {
        bound.layers.iter().map(f).max().unwrap_or(0).max(title.len())
    };
    let name_width = width(&|l| l.name.len(), "layer");
    let kind_width = width(&|l| l.kind.len(), "kind");
    let shape_width = width(&|l| format!("{:?}", l.input_shape).len(), "input");
    say!(
        "{:<name_width$}  {:<kind_width$}  {:<shape_width$}  L2 constant",
        "layer",
        "kind",
        "input"
    );
    for layer in &bound.layers {
        let how = match layer.method {
            BoundMethod::PowerIteration(norm) if norm.converged => {
                format!("power iteration, {} steps", norm.iterations)
            }
            BoundMethod::PowerIteration(norm) => {
                format!("power iteration, not settled after {} steps", norm.iterations)
            }
            BoundMethod::ClosedForm => "closed form".to_string(),
        };
        say!(
            "{:<name_width$}  {:<kind_width$}  {:<shape_width$}  {:<10.4}  ({how})",
            layer.name,
            layer.kind,
            format!("{:?}", layer.input_shape),
            layer.constant
        );
    }
}
