//! `nabla rl [--algo A] [--env E]`: train an agent, with a progress bar,
//! `metrics.jsonl`, `returns.png`, `policy.safetensors` and an evaluation.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use nabla::rl::env::{make, Env, FrozenLake, SyncVectorEnv};
use nabla::rl::{
    evaluate, q_learning, save_policy, train_a2c, train_dqn, train_ppo, train_reinforce, value_iteration,
    A2cConfig, DqnConfig, Event, PpoConfig, QLearningConfig, ReinforceConfig, TrainedPolicy,
};
use nabla::train::{install_ctrlc_handler, Interrupt};
use serde_json::json;

use super::EnvName;
use crate::output::say;
use crate::Ending;

/// The algorithms `--algo` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Algo {
    /// Deep Q-network (discrete actions).
    Dqn,
    /// REINFORCE with a value baseline (discrete actions).
    Reinforce,
    /// Advantage actor-critic.
    A2c,
    /// Proximal policy optimisation.
    Ppo,
    /// Tabular Q-learning (frozenlake).
    QLearning,
    /// Tabular value iteration with the known model (frozenlake).
    ValueIteration,
}

impl Algo {
    fn name(self) -> &'static str {
        match self {
            Algo::Dqn => "dqn",
            Algo::Reinforce => "reinforce",
            Algo::A2c => "a2c",
            Algo::Ppo => "ppo",
            Algo::QLearning => "q-learning",
            Algo::ValueIteration => "value-iteration",
        }
    }
}

/// Arguments of `nabla rl` (training).
#[derive(clap::Args)]
pub struct TrainArgs {
    /// The algorithm.
    #[arg(long, value_enum, default_value = "ppo")]
    algo: Algo,
    /// The environment.
    #[arg(long, value_enum, default_value = "cartpole")]
    env: EnvName,
    /// At most this many environment steps (default: the algorithm's
    /// setting: 50,000 for DQN, 100,000 for PPO, 500,000 for A2C; REINFORCE
    /// and Q-learning stop after their episodes).
    #[arg(long, value_parser = crate::options::steps)]
    steps: Option<usize>,
    /// The seed of the networks, the exploration and the resets.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The directory for metrics.jsonl, returns.png and policy.safetensors.
    #[arg(long, default_value = "runs/rl")]
    out: PathBuf,
    /// Double DQN (the online network picks the next action).
    #[arg(long)]
    double: bool,
    /// Environments stepped together by A2C and PPO, 1 to 1024.
    #[arg(long, default_value_t = 8, value_parser = crate::options::count)]
    num_envs: usize,
    /// Episodes of the final evaluation, 1 to 1,000,000.
    #[arg(long, default_value_t = 100, value_parser = crate::options::count)]
    eval_episodes: usize,
    /// Also write an episode of the trained policy as an animated GIF.
    #[arg(long)]
    gif: Option<PathBuf>,
    /// Worker threads, 1 to 1024 (default: all cores).
    #[arg(long, value_parser = crate::options::threads)]
    threads: Option<usize>,
}

/// Refuses an algorithm on an environment it cannot handle.
fn check_pairing(algo: Algo, env: EnvName) -> Result<(), String> {
    let tabular = matches!(algo, Algo::QLearning | Algo::ValueIteration);
    let lake = env == EnvName::Frozenlake;
    if tabular != lake {
        return Err(if tabular {
            format!("--algo {}: a tabular method needs --env frozenlake", algo.name())
        } else {
            format!(
                "--env frozenlake: its states are cells, for --algo q-learning or value-iteration, not {}",
                algo.name()
            )
        });
    }
    if env == EnvName::Pendulum && matches!(algo, Algo::Dqn | Algo::Reinforce) {
        return Err(format!(
            "--env pendulum has continuous actions: --algo {} needs discrete ones (use ppo or a2c)",
            algo.name()
        ));
    }
    Ok(())
}

/// Everything the run reports, as it happens.
struct Recorder {
    metrics: BufWriter<File>,
    metrics_path: PathBuf,
    episodes: Vec<(usize, f64)>,
    evaluations: Vec<(usize, f64)>,
    bar: ProgressBar,
    started: Instant,
    max_steps: Option<usize>,
    interrupt: Interrupt,
    interrupted: bool,
    write_error: Option<String>,
}

impl Recorder {
    fn on_event(&mut self, event: &Event) -> ControlFlow<()> {
        let (line, step) = match event {
            Event::Episode {
                step,
                episodic_return,
                length,
            } => {
                self.episodes.push((*step, *episodic_return));
                let last = &self.episodes[self.episodes.len().saturating_sub(20)..];
                let mean = last.iter().map(|&(_, r)| r).sum::<f64>() / last.len() as f64;
                let rate = *step as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
                self.bar.set_message(format!(
                    "episode {} return {episodic_return:.1} (last 20: {mean:.1}) {rate:.0} steps/s",
                    self.episodes.len()
                ));
                (
                    json!({"event": "episode", "step": step, "return": episodic_return, "length": length}),
                    *step,
                )
            }
            Event::Evaluation { step, mean, std } => {
                self.evaluations.push((*step, *mean));
                (
                    json!({"event": "evaluation", "step": step, "mean": mean, "std": std}),
                    *step,
                )
            }
            Event::Update { step, metrics } => {
                let mut line = json!({"event": "update", "step": step});
                for (name, value) in metrics {
                    line[*name] = json!(value);
                }
                (line, *step)
            }
        };
        self.bar.set_position(step as u64);
        if let Err(e) = writeln!(self.metrics, "{line}") {
            self.write_error = Some(format!("cannot write {}: {e}", self.metrics_path.display()));
            return ControlFlow::Break(());
        }
        if self.interrupt.is_triggered() {
            self.interrupted = true;
            return ControlFlow::Break(());
        }
        if self.max_steps.is_some_and(|m| step >= m) {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

fn vector_env(id: &str, n: usize) -> nabla::Result<SyncVectorEnv> {
    SyncVectorEnv::new((0..n).map(|_| make(id)).collect::<nabla::Result<Vec<_>>>()?)
}

/// Trains, saves, draws and evaluates.
pub fn run(args: TrainArgs) -> Result<Ending, String> {
    crate::set_threads(args.threads)?;
    check_pairing(args.algo, args.env)?;
    let id = args.env.id();
    std::fs::create_dir_all(&args.out).map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let metrics_path = args.out.join("metrics.jsonl");
    let metrics =
        File::create(&metrics_path).map_err(|e| format!("cannot create {}: {e}", metrics_path.display()))?;
    let total = args.steps.unwrap_or(match args.algo {
        Algo::Dqn => DqnConfig::cartpole().total_steps,
        Algo::Ppo if args.env == EnvName::Pendulum => PpoConfig::continuous().total_steps,
        Algo::Ppo => PpoConfig::cartpole().total_steps,
        Algo::A2c => A2cConfig::cartpole().total_steps,
        Algo::Reinforce | Algo::QLearning | Algo::ValueIteration => 0,
    });
    let bar = if total > 0 {
        ProgressBar::new(total as u64)
    } else {
        ProgressBar::no_length()
    };
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos} steps {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("{} {id}", args.algo.name()));
    install_ctrlc_handler();
    let mut recorder = Recorder {
        metrics: BufWriter::new(metrics),
        metrics_path,
        episodes: Vec::new(),
        evaluations: Vec::new(),
        bar,
        started: Instant::now(),
        max_steps: args.steps,
        interrupt: Interrupt::ctrl_c(),
        interrupted: false,
        write_error: None,
    };
    let on_event = &mut |e: &Event| recorder.on_event(e);
    let seed = args.seed;
    let policy = nabla::on_worker_thread(|| -> Result<TrainedPolicy, nabla::Error> {
        Ok(match args.algo {
            Algo::Dqn => {
                let config = DqnConfig {
                    total_steps: total,
                    double: args.double,
                    ..DqnConfig::cartpole()
                };
                TrainedPolicy::QNetwork(train_dqn(&mut *make(id)?, &config, seed, on_event)?)
            }
            Algo::Reinforce => TrainedPolicy::ActorCritic(
                train_reinforce(&mut *make(id)?, &ReinforceConfig::cartpole(), seed, on_event)?.0,
            ),
            Algo::A2c => {
                let config = A2cConfig {
                    total_steps: total,
                    ..A2cConfig::cartpole()
                };
                let envs = vector_env(id, args.num_envs)?;
                TrainedPolicy::ActorCritic(train_a2c(envs, &config, seed, on_event)?)
            }
            Algo::Ppo => {
                let base = if args.env == EnvName::Pendulum {
                    PpoConfig::continuous()
                } else {
                    PpoConfig::cartpole()
                };
                let config = PpoConfig {
                    total_steps: total,
                    ..base
                };
                let envs = vector_env(id, args.num_envs)?;
                TrainedPolicy::ActorCritic(train_ppo(envs, &config, seed, on_event)?)
            }
            Algo::QLearning => TrainedPolicy::QTable(q_learning(
                &mut *make(id)?,
                &QLearningConfig::frozen_lake(),
                seed,
                on_event,
            )?),
            Algo::ValueIteration => {
                TrainedPolicy::QTable(value_iteration(&FrozenLake::four_by_four(true), 0.99, 1e-10).0)
            }
        })
    });
    recorder.bar.finish_and_clear();
    let policy = policy.map_err(|e| e.to_string())?;
    if let Some(e) = recorder.write_error.take() {
        return Err(e);
    }
    recorder
        .metrics
        .flush()
        .map_err(|e| format!("cannot write {}: {e}", recorder.metrics_path.display()))?;
    let checkpoint = args.out.join("policy.safetensors");
    save_policy(&policy, id, args.algo.name(), &checkpoint).map_err(|e| e.to_string())?;
    let threshold = make(id).map_err(|e| e.to_string())?.reward_threshold();
    let returns_png = args.out.join("returns.png");
    if !recorder.episodes.is_empty() {
        let title = format!("{} on {id}, seed {seed}", args.algo.name());
        super::plot::write_returns(
            &returns_png,
            &title,
            &recorder.episodes,
            &recorder.evaluations,
            threshold,
        )?;
    }
    let seconds = recorder.started.elapsed().as_secs_f64();
    let steps = recorder.episodes.last().map_or(0, |&(s, _)| s);
    say!(
        "{} on {id}: {} episodes, {steps} steps in {seconds:.1} s; wrote {}",
        args.algo.name(),
        recorder.episodes.len(),
        checkpoint.display()
    );
    if recorder.interrupted {
        say!("interrupted: the policy so far is saved");
        return Ok(Ending::Interrupted);
    }
    let report = evaluate(
        &policy,
        &mut *make(id).map_err(|e| e.to_string())?,
        args.eval_episodes,
        1_000_000,
        true,
    )
    .map_err(|e| e.to_string())?;
    let solved = threshold.map_or(String::new(), |t| {
        format!(
            " ({} the threshold {t})",
            if report.mean() >= t {
                "at or above"
            } else {
                "below"
            }
        )
    });
    say!(
        "evaluation: mean return {:.2} +- {:.2} over {} episodes{solved}",
        report.mean(),
        report.std(),
        args.eval_episodes
    );
    write_evaluation(&args.out.join("evaluation.json"), &report, args.eval_episodes)?;
    if let Some(path) = &args.gif {
        let steps = super::gif::write_episode_gif(path, id, &policy, 1_000_000, true)?;
        say!("wrote {} ({steps} steps)", path.display());
    }
    Ok(Ending::Done)
}

fn write_evaluation(
    path: &Path,
    report: &nabla::rl::EvaluationReport,
    episodes: usize,
) -> Result<(), String> {
    let text =
        json!({"episodes": episodes, "mean": report.mean(), "std": report.std(), "returns": report.returns});
    nabla::fs::write_atomic(path, |w| writeln!(w, "{text}")).map_err(|e| e.to_string())
}
