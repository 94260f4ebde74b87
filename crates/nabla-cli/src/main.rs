//! `nabla`: train, evaluate, inspect and benchmark nabla models from the
//! command line. Every subcommand has `--help`; errors print one line and
//! exit with a non-zero code.

mod commands;
mod data;
mod models;
mod plot;

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
    Train(commands::train::Args),
    /// Accuracy and confusion matrix of a saved model on a test set.
    Eval(commands::eval::Args),
    /// Class probabilities of a saved model for PNG/JPEG images.
    Predict(commands::predict::Args),
    /// Download a data set (mnist, fashion-mnist, cifar10), checking its checksums.
    Download(commands::download::Args),
    /// Print a model's layers: output shapes, parameters, receptive fields, multiply-adds.
    Summary(commands::summary::Args),
    /// Draw the computational graph of an expression or a model's loss as Graphviz DOT.
    Graph(commands::graph::Args),
    /// Measure the standard benchmarks (training steps, matrix products, convolution).
    Bench(commands::bench::Args),
}

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

fn main() -> ExitCode {
    // Never hand freed pages back to the kernel: a training loop frees and
    // reallocates the same buffers every step, and each returned page costs
    // a page fault and a zeroing when it comes back (measured: 7 huge-page
    // faults per LeNet-5 step with the default delay, none with this).
    // SAFETY: setting an option is a plain store inside mimalloc.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => commands::train::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Predict(args) => commands::predict::run(args),
        Command::Download(args) => commands::download::run(args),
        Command::Summary(args) => commands::summary::run(args),
        Command::Graph(args) => commands::graph::run(args),
        Command::Bench(args) => commands::bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("nabla: {message}");
            ExitCode::FAILURE
        }
    }
}
