//! `nabla summary`: the layer table of a model.

use nabla::nn::summary;

use crate::models::ModelKind;
use crate::output::say;

/// Arguments of `nabla summary`.
#[derive(clap::Args)]
pub struct Args {
    /// The model: mlp, lenet5, lenet5-classic, lenet5-bn or cnn.
    #[arg(long, default_value = "lenet5")]
    model: ModelKind,
    /// Batch size of the input the table is computed for (1 to 1024).
    #[arg(long, default_value_t = 1, value_parser = crate::options::summary_batch)]
    batch: usize,
    /// Number of classes (1 to 100000).
    #[arg(long, default_value_t = 10, value_parser = crate::options::classes)]
    classes: usize,
}

/// Prints the table.
pub fn run(args: Args) -> Result<(), String> {
    let input = args.model.default_input();
    let model = args.model.build(&input, args.classes, 0)?;
    let mut shape = vec![args.batch];
    shape.extend(input);
    say!("{}", summary(&model, &shape));
    Ok(())
}
