//! `nabla`: train, evaluate, inspect and benchmark nabla models from the
//! command line. Every subcommand has `--help`; errors print one line and
//! exit with a non-zero code.

mod commands;
mod models;

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
    /// Print a model's layers: output shapes, parameters, receptive fields, multiply-adds.
    Summary(commands::summary::Args),
    /// Draw the computational graph of an expression or a model's loss as Graphviz DOT.
    Graph(commands::graph::Args),
    /// Measure the standard benchmarks (training steps, matrix products, convolution).
    Bench(commands::bench::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
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
