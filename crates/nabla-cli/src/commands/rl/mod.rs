//! `nabla rl`: train a reinforcement-learning agent on a Gymnasium
//! environment (`nabla rl --algo ppo --env cartpole`), or evaluate a saved
//! policy (`nabla rl eval --checkpoint F`), with an animated GIF of an
//! episode.

mod eval;
mod gif;
mod plot;
mod train;

/// Arguments of `nabla rl`: training, unless the `eval` subcommand is given.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    train: train::TrainArgs,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Mean and standard deviation of a saved policy's return over episodes.
    Eval(eval::Args),
}

/// Runs `nabla rl` or `nabla rl eval`.
pub fn run(args: Args) -> Result<crate::Ending, String> {
    match args.command {
        Some(Command::Eval(eval)) => eval::run(eval).map(|()| crate::Ending::Done),
        None => train::run(args.train),
    }
}

/// The environments by their short names, as `--env` takes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EnvName {
    /// CartPole-v1.
    Cartpole,
    /// Acrobot-v1.
    Acrobot,
    /// MountainCar-v0.
    Mountaincar,
    /// Pendulum-v1 (continuous actions).
    Pendulum,
    /// FrozenLake-v1 (4x4, slippery).
    Frozenlake,
}

impl EnvName {
    /// Gymnasium's id.
    pub fn id(self) -> &'static str {
        match self {
            EnvName::Cartpole => "CartPole-v1",
            EnvName::Acrobot => "Acrobot-v1",
            EnvName::Mountaincar => "MountainCar-v0",
            EnvName::Pendulum => "Pendulum-v1",
            EnvName::Frozenlake => "FrozenLake-v1",
        }
    }
}
