//! `nabla`: train, evaluate, inspect and benchmark nabla models from the
//! command line. Every subcommand has `--help`; errors print one line on
//! standard error.
//!
//! Exit status: 0 when the command did its work, 1 when it failed (a bad
//! file, a diverged run), 2 for a usage error (an unknown option, a value
//! out of range), 130 when a training run was stopped by Ctrl-C or SIGTERM
//! after saving its checkpoint (as shells report a command killed by
//! Ctrl-C, so that `nabla train && next-step` does not go on).

mod commands;
mod data;
mod digit_grid;
mod distributed;
mod flow_plots;
mod generative_pictures;
mod graph_svg;
mod imagenet;
mod latent_plot;
mod models;
mod options;
mod output;
mod photo_grid;
mod picture;
mod plot;
mod record;
mod saved;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// nabla: a deep-learning framework for Rust, from the command line.
#[derive(Parser)]
#[command(name = "nabla", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model (with no options: LeNet-5 on the bundled MNIST).
    Train(Box<commands::train::Args>),
    /// Accuracy and confusion matrix of a saved model on a test set.
    Eval(commands::eval::Args),
    /// A saved classifier's Lipschitz bounds: per-layer spectral norms, upper and lower bounds, certified accuracy.
    Lipschitz(commands::lipschitz::Args),
    /// Class probabilities of a saved model for PNG/JPEG images.
    Predict(commands::predict::Args),
    /// Text from a language-model checkpoint, streamed to standard output.
    Generate(commands::generate::Args),
    /// Digits from a generative model's checkpoint (a VAE, a GAN or a flow), or an interpolation, as a PNG grid.
    Sample(commands::sample::Args),
    /// Download a data set (mnist, fashion-mnist, cifar10), checking its checksums.
    Download(commands::download::Args),
    /// Print a model's layers: output shapes, parameters, receptive fields, multiply-adds.
    Summary(commands::summary::Args),
    /// Draw the computational graph of an expression or a model's loss (DOT or SVG).
    Graph(commands::graph::Args),
    /// Accuracy of a saved classifier under FGSM or PGD at several radii, and a picture of the attacked digits.
    Attack(commands::attack::Args),
    /// Train a reinforcement-learning agent (DQN, REINFORCE, A2C, PPO, Q-learning) on a Gymnasium environment, or evaluate one (`rl eval`).
    Rl(commands::rl::Args),
    /// Measure the standard benchmarks (training steps, matrix products, convolution).
    Bench(commands::bench::Args),
    /// Draw kernels, a trained model's filters or a digit's feature maps as PNG.
    Show(commands::show::Args),
    /// Rewrite a PyTorch checkpoint (.pt/.pth from torch.save) as a safetensors file.
    Convert(commands::convert::Args),
}

/// How a command that did not fail ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// It did all it was asked.
    Done,
    /// Ctrl-C or SIGTERM stopped it after it saved its state.
    Interrupted,
}

/// The exit status of a usage error.
const USAGE: u8 = 2;

/// The exit status after an interrupt: 128 + SIGINT, as shells report it.
const INTERRUPTED: u8 = 130;

/// Sizes the global thread pool that nabla's kernels run on (default: all cores).
fn set_threads(threads: Option<usize>) -> Result<(), String> {
    if let Some(threads) = threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .map_err(|e| format!("cannot start {threads} threads: {e}"))?;
    }
    Ok(())
}

/// A training step frees and reallocates the same few dozen buffers; mimalloc
/// keeps them in per-thread free lists, where the system allocator returns
/// large blocks to the kernel and pays page faults to get them back. It is
/// built without transparent huge pages (`no_thp`): with them, every
/// thread's first touch of a region costs a zeroed 2 MiB page, which took
/// the peak RSS of 200 LeNet-5 steps from 23 to 56 MiB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (from `mimalloc.h`; `libmimalloc-sys`
/// has no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// A line on standard error, even when standard error is closed.
fn complain(message: &str) {
    let _ = writeln!(std::io::stderr(), "nabla: {message}");
}

/// A remark on standard error that does not stop the command.
fn note(message: &str) {
    if output::silenced() {
        return;
    }
    let _ = writeln!(std::io::stderr(), "nabla: note: {message}");
}

/// clap's report of a usage error as one line: its first paragraph (the
/// error, with the arguments it names) and its tips, without the usage text.
fn usage_error_line(error: &clap::Error) -> String {
    let text = error.render().to_string();
    let mut paragraphs = text.split("\n\n").map(|p| {
        p.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    });
    let mut line = paragraphs
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_string();
    for tip in paragraphs.filter(|p| p.starts_with("tip:")) {
        line.push_str(&format!(" ({tip})"));
    }
    line
}

fn main() -> ExitCode {
    // Never hand freed pages back to the kernel: a training loop frees and
    // reallocates the same buffers every step, and each returned page costs
    // a page fault and a zeroing when it comes back (measured: 7 huge-page
    // faults per LeNet-5 step with the default delay, none with this).
    // SAFETY: setting an option is a plain store inside mimalloc.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version, printed on standard output.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        Err(e) => {
            complain(&usage_error_line(&e));
            return ExitCode::from(USAGE);
        }
    };
    let result = match cli.command {
        Command::Train(args) => commands::train::run(*args),
        Command::Eval(args) => commands::eval::run(args).map(|()| Ending::Done),
        Command::Lipschitz(args) => commands::lipschitz::run(args).map(|()| Ending::Done),
        Command::Predict(args) => commands::predict::run(args).map(|()| Ending::Done),
        Command::Generate(args) => commands::generate::run(args).map(|()| Ending::Done),
        Command::Sample(args) => commands::sample::run(args).map(|()| Ending::Done),
        Command::Download(args) => commands::download::run(args).map(|()| Ending::Done),
        Command::Summary(args) => commands::summary::run(args).map(|()| Ending::Done),
        Command::Graph(args) => commands::graph::run(args).map(|()| Ending::Done),
        Command::Attack(args) => commands::attack::run(args).map(|()| Ending::Done),
        Command::Rl(args) => commands::rl::run(args),
        Command::Bench(args) => commands::bench::run(args).map(|()| Ending::Done),
        Command::Show(args) => commands::show::run(args).map(|()| Ending::Done),
        Command::Convert(args) => commands::convert::run(args).map(|()| Ending::Done),
    };
    match result {
        Ok(Ending::Done) => ExitCode::SUCCESS,
        Ok(Ending::Interrupted) => ExitCode::from(INTERRUPTED),
        Err(message) => {
            complain(&message);
            ExitCode::FAILURE
        }
    }
}
