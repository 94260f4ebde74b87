//! `nabla generate`: text from a language-model checkpoint, streamed to
//! standard output as it is generated.

use std::path::PathBuf;

use nabla::lm::{generate, load_language_model, Sampling};
use nabla::Generator;

use crate::output;

/// Arguments of `nabla generate`.
#[derive(clap::Args)]
pub struct Args {
    /// A language-model checkpoint: the `model.safetensors` of `nabla train
    /// --model char-gpt|char-lstm`, or a nanoGPT model converted by
    /// `scripts/export_nanogpt.py`.
    #[arg(long)]
    checkpoint: PathBuf,
    /// The text to continue (default: a newline, as nanoGPT's sample.py).
    #[arg(long, default_value = "\n")]
    prompt: String,
    /// Characters to generate, 1 to 1,000,000.
    #[arg(long, default_value_t = 500, value_parser = crate::options::tokens)]
    tokens: usize,
    /// Divides the logits before sampling, 0 to 100; 0 always takes the
    /// most likely character (greedy).
    #[arg(long, default_value_t = 0.8, value_parser = crate::options::temperature)]
    temperature: f64,
    /// Draw only among the K most likely characters (at least 1).
    #[arg(long, value_parser = crate::options::count)]
    top_k: Option<usize>,
    /// The seed of the sampling.
    #[arg(long, default_value_t = 1337)]
    seed: u64,
    /// Worker threads, 1 to 1024 (default: all cores).
    #[arg(long, value_parser = crate::options::threads)]
    threads: Option<usize>,
}

/// Writes the prompt, then each generated character as soon as it is chosen;
/// nothing else goes to standard output.
pub fn run(args: Args) -> Result<(), String> {
    crate::set_threads(args.threads)?;
    let (model, vocab) = load_language_model(&args.checkpoint).map_err(|e| e.to_string())?;
    if args.prompt.is_empty() {
        return Err("--prompt: it needs at least one character".to_string());
    }
    let prompt = vocab.encode(&args.prompt).map_err(|e| match e {
        nabla::Error::InvalidSetting { message, .. } => {
            format!("--prompt: {message} of {}", args.checkpoint.display())
        }
        other => other.to_string(),
    })?;
    let sampling = Sampling {
        temperature: args.temperature,
        top_k: args.top_k,
    };
    output::write(format_args!("{}", args.prompt));
    let mut generator = Generator::new(args.seed);
    nabla::on_worker_thread(|| {
        generate(&model, &prompt, args.tokens, sampling, &mut generator, |id| {
            output::write(format_args!("{}", vocab.decode(&[id])));
        })
    });
    output::write(format_args!("\n"));
    Ok(())
}
