//! DQN (Mnih et al., 2015): Q-learning with a network, a replay buffer and
//! a target network, with the double-DQN option (van Hasselt et al., 2016).

use serde::{Deserialize, Serialize};

use super::env::{make, Action, Env};
use super::evaluate::evaluate;
use super::events::{Event, OnEvent};
use super::policy::{Activation, NetworkConfig, QNetwork, SpaceConfig};
use super::replay::ReplayBuffer;
use super::schedule::LinearSchedule;
use crate::autograd::no_grad;
use crate::error::{Error, Result};
use crate::nn::loss::{mse_loss, smooth_l1_loss, Reduction};
use crate::nn::Module;
use crate::optim::{clip_grad_norm_, Adam, AdamConfig, Optimizer};
use crate::tensor::{Generator, IndexTensor, Tensor};

/// The TD loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TdLoss {
    /// Smooth L1 (Huber with delta 1): Stable-Baselines3's.
    Huber,
    /// Squared error: CleanRL's.
    Mse,
}

/// DQN's hyper-parameters. [`DqnConfig::cartpole`] is the tuned setting of
/// the RL Baselines3 Zoo for CartPole-v1 (500 at 50,000 steps there).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DqnConfig {
    /// Environment steps in all.
    pub total_steps: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Transitions kept.
    pub buffer_size: usize,
    /// Steps of random play before the first update.
    pub learning_starts: usize,
    /// Transitions per gradient step.
    pub batch_size: usize,
    /// The discount.
    pub gamma: f64,
    /// Polyak coefficient of the target update: 1 copies the network.
    pub tau: f64,
    /// Environment steps between target updates.
    pub target_update_interval: usize,
    /// Environment steps between rounds of gradient steps.
    pub train_frequency: usize,
    /// Gradient steps per round.
    pub gradient_steps: usize,
    /// Epsilon goes from `start_epsilon` to `end_epsilon` over this
    /// fraction of `total_steps`.
    pub exploration_fraction: f64,
    /// The first epsilon.
    pub start_epsilon: f64,
    /// The last epsilon.
    pub end_epsilon: f64,
    /// The gradient's norm is clipped to this.
    pub max_grad_norm: f64,
    /// The Q-network's hidden widths.
    pub hidden: Vec<usize>,
    /// Huber or squared TD error.
    pub loss: TdLoss,
    /// Double DQN: the online network picks the next action, the target
    /// network values it.
    pub double: bool,
    /// Every this many steps (0: never), the greedy policy plays
    /// `eval_episodes` episodes on a fresh copy of the environment, and the
    /// run returns the network that scored best, as Stable-Baselines3's
    /// `EvalCallback` keeps `best_model` (DQN's greedy policy often
    /// degrades after it peaks; the evaluation steps are not counted as
    /// training steps).
    pub eval_every: usize,
    /// Episodes per evaluation.
    pub eval_episodes: usize,
}

impl DqnConfig {
    /// The RL Baselines3 Zoo's DQN for CartPole-v1: lr 2.3e-3, batch 64,
    /// buffer 100k, learning starts 1000, gamma 0.99, a hard target update
    /// every 10 steps, 128 gradient steps every 256 steps, epsilon 1 to 0.04
    /// over 16% of 50k steps, [256, 256] ReLU, Huber loss, gradient norm
    /// 10; an evaluation of 10 greedy episodes every 5,000 steps picks the
    /// network returned.
    pub fn cartpole() -> Self {
        DqnConfig {
            total_steps: 50_000,
            learning_rate: 2.3e-3,
            buffer_size: 100_000,
            learning_starts: 1000,
            batch_size: 64,
            gamma: 0.99,
            tau: 1.0,
            target_update_interval: 10,
            train_frequency: 256,
            gradient_steps: 128,
            exploration_fraction: 0.16,
            start_epsilon: 1.0,
            end_epsilon: 0.04,
            max_grad_norm: 10.0,
            hidden: vec![256, 256],
            loss: TdLoss::Huber,
            double: false,
            eval_every: 5000,
            eval_episodes: 10,
        }
    }

    /// Checks the settings, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        let bad = |message: String| {
            Err(Error::InvalidSetting {
                context: "DQN".into(),
                message,
            })
        };
        let positive = [
            ("buffer_size", self.buffer_size),
            ("batch_size", self.batch_size),
            ("target_update_interval", self.target_update_interval),
            ("train_frequency", self.train_frequency),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return bad(format!("{name} must be positive"));
        }
        for (name, v, lo, hi) in [
            ("learning_rate", self.learning_rate, 0.0, f64::INFINITY),
            ("gamma", self.gamma, 0.0, 1.0),
            ("tau", self.tau, 0.0, 1.0),
            ("exploration_fraction", self.exploration_fraction, 0.0, 1.0),
            ("start_epsilon", self.start_epsilon, 0.0, 1.0),
            ("end_epsilon", self.end_epsilon, 0.0, 1.0),
            ("max_grad_norm", self.max_grad_norm, 0.0, f64::INFINITY),
        ] {
            if !(v.is_finite() && v >= lo && v <= hi) {
                return bad(format!("{name} = {v} must be in [{lo}, {hi}]"));
            }
        }
        Ok(())
    }
}

/// Trains a DQN on `env` (a discrete action space, vector observations) and
/// returns its Q-network, reporting every episode and every round of
/// updates to `on_event`.
///
/// The loop is Stable-Baselines3's: act epsilon-greedily, store the
/// transition (a time-limit truncation is not a termination), and after
/// `learning_starts` steps take `gradient_steps` steps on batches drawn
/// uniformly every `train_frequency` steps, each on the TD error against
/// `r + gamma (1 - terminated) max_a' Q_target(s', a')`; the target network
/// follows the online one every `target_update_interval` steps.
///
/// ```
/// use nabla::rl::{env::make, train_dqn, DqnConfig};
/// let mut env = make("CartPole-v1")?;
/// let config = DqnConfig { total_steps: 300, learning_starts: 100, train_frequency: 50, gradient_steps: 2, hidden: vec![16], eval_every: 0, ..DqnConfig::cartpole() };
/// let q = train_dqn(&mut *env, &config, 0, &mut nabla::rl::ignore_events)?;
/// assert_eq!(q.forward(&nabla::Tensor::zeros(&[1, 4])).shape(), &[1, 2]);
/// # Ok::<(), nabla::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidSetting`] for a bad setting or an environment whose
/// actions are not discrete; the environment's errors.
pub fn train_dqn(
    env: &mut dyn Env,
    config: &DqnConfig,
    seed: u64,
    on_event: OnEvent<'_>,
) -> Result<QNetwork> {
    config.validate()?;
    let Some(num_actions) = env.action_space().n() else {
        return Err(Error::InvalidSetting {
            context: "DQN".into(),
            message: format!("{} has continuous actions; DQN needs discrete ones", env.id()),
        });
    };
    let mut generator = Generator::new(seed);
    let network = NetworkConfig {
        observation_dim: env.observation_space().dim(),
        action_space: SpaceConfig::Discrete(num_actions),
        hidden: config.hidden.clone(),
        activation: Activation::Relu,
    };
    let q = QNetwork::new(network.clone(), &mut generator);
    let target = QNetwork::new(network.clone(), &mut generator);
    target.load_state_dict_from(&q);
    let mut optimizer = Adam::new(q.parameters(), AdamConfig::new(config.learning_rate));
    let mut buffer = ReplayBuffer::new(config.buffer_size, network.observation_dim);
    let epsilon = LinearSchedule::new(
        config.start_epsilon,
        config.end_epsilon,
        (config.exploration_fraction * config.total_steps as f64) as usize,
    );

    let mut evaluation_env = match config.eval_every {
        0 => None,
        _ => Some(make(env.id())?),
    };
    let mut best: Option<(f64, Vec<Tensor>)> = None;
    let mut observation = env.reset(Some(seed));
    let (mut episodic_return, mut length) = (0.0, 0);
    for step in 1..=config.total_steps {
        let action = if generator.uniform() < epsilon.at(step - 1) {
            generator.below(num_actions)
        } else {
            let values =
                no_grad(|| q.forward(&Tensor::from_vec(observation.clone(), &[1, observation.len()])));
            values.argmax(1, false).as_slice()[0]
        };
        let outcome = env.step(&Action::Discrete(action))?;
        buffer.push(
            &observation,
            action,
            outcome.reward,
            &outcome.observation,
            outcome.terminated,
        );
        episodic_return += outcome.reward;
        length += 1;
        if outcome.done() {
            let event = Event::Episode {
                step,
                episodic_return,
                length,
            };
            if on_event(&event).is_break() {
                break;
            }
            (episodic_return, length) = (0.0, 0);
            observation = env.reset(None);
        } else {
            observation = outcome.observation;
        }

        if step > config.learning_starts && step % config.train_frequency == 0 {
            let mut loss_sum = 0.0;
            for _ in 0..config.gradient_steps {
                loss_sum += dqn_update(&q, &target, &mut optimizer, &buffer, config, &mut generator);
            }
            let metrics = vec![
                ("td_loss", loss_sum / config.gradient_steps.max(1) as f64),
                ("epsilon", epsilon.at(step)),
            ];
            if on_event(&Event::Update { step, metrics }).is_break() {
                break;
            }
        }
        if step % config.target_update_interval == 0 {
            polyak_update(&target, &q, config.tau);
        }
        if let Some(evaluation_env) = evaluation_env.as_mut().filter(|_| step % config.eval_every == 0) {
            let report = evaluate(
                &q,
                &mut **evaluation_env,
                config.eval_episodes,
                EVALUATION_SEED,
                true,
            )?;
            let event = Event::Evaluation {
                step,
                mean: report.mean(),
                std: report.std(),
            };
            if best.as_ref().is_none_or(|(score, _)| report.mean() > *score) {
                best = Some((
                    report.mean(),
                    q.parameters()
                        .iter()
                        .map(|p| Tensor::from_vec(p.to_vec(), p.shape()))
                        .collect(),
                ));
            }
            if on_event(&event).is_break() {
                break;
            }
        }
    }
    if let Some((_, parameters)) = best {
        no_grad(|| {
            for (p, saved) in q.parameters().iter().zip(&parameters) {
                p.copy_from(saved);
            }
        });
    }
    Ok(q)
}

/// The first reset seed of the evaluation episodes during training (far
/// from the training seeds, so they are other episodes).
const EVALUATION_SEED: u64 = 1 << 32;

/// One gradient step on a batch from `buffer`; returns the TD loss.
fn dqn_update(
    q: &QNetwork,
    target: &QNetwork,
    optimizer: &mut Adam,
    buffer: &ReplayBuffer,
    config: &DqnConfig,
    generator: &mut Generator,
) -> f64 {
    let batch = buffer.sample(config.batch_size, generator);
    let b = config.batch_size;
    let td_target = no_grad(|| {
        let next_q = target.forward(&batch.next_observations);
        let next_value = if config.double {
            let best = q.forward(&batch.next_observations).argmax(1, true);
            next_q.gather(1, &best).reshape(&[b])
        } else {
            next_q.max_dim(1, false).0
        };
        let live = batch.terminated.mul_scalar(-1.0).add_scalar(1.0);
        batch
            .rewards
            .add(&next_value.mul(&live).mul_scalar(config.gamma as f32))
    });
    let taken = IndexTensor::from_vec(batch.actions.to_vec(), &[b, 1]);
    let predicted = q.forward(&batch.observations).gather(1, &taken).reshape(&[b]);
    let loss = match config.loss {
        TdLoss::Huber => smooth_l1_loss(&predicted, &td_target, Reduction::Mean, 1.0),
        TdLoss::Mse => mse_loss(&predicted, &td_target),
    };
    optimizer.zero_grad();
    loss.backward();
    clip_grad_norm_(optimizer.parameters(), config.max_grad_norm);
    optimizer.step();
    f64::from(loss.item())
}

/// `target = tau * online + (1 - tau) * target`, parameter by parameter.
fn polyak_update(target: &QNetwork, online: &QNetwork, tau: f64) {
    if tau == 1.0 {
        target.load_state_dict_from(online);
        return;
    }
    for (t, o) in target.parameters().iter().zip(online.parameters()) {
        t.copy_from(&t.mul_scalar((1.0 - tau) as f32).add(&o.mul_scalar(tau as f32)));
    }
}

impl QNetwork {
    /// Copies `other`'s parameters into this network's (same sizes).
    pub(crate) fn load_state_dict_from(&self, other: &QNetwork) {
        no_grad(|| {
            for (t, o) in self.parameters().iter().zip(other.parameters()) {
                t.copy_from(&o);
            }
        });
    }
}

/// One DQN update (CartPole's settings: batch 64, [256, 256]) on a buffer
/// of random transitions, as a closure to time (`nabla bench`'s
/// `dqn_update_per_s`, beside `benches/torch_rl.py`).
pub(crate) fn dqn_update_for_bench() -> impl FnMut() {
    let config = DqnConfig::cartpole();
    let mut generator = Generator::new(0);
    let network = NetworkConfig {
        observation_dim: 4,
        action_space: SpaceConfig::Discrete(2),
        hidden: config.hidden.clone(),
        activation: Activation::Relu,
    };
    let q = QNetwork::new(network.clone(), &mut generator);
    let target = QNetwork::new(network, &mut generator);
    let mut optimizer = Adam::new(q.parameters(), AdamConfig::new(config.learning_rate));
    let mut buffer = ReplayBuffer::new(1000, 4);
    for i in 0..1000 {
        let o: Vec<f32> = (0..4).map(|_| generator.normal() as f32).collect();
        let n: Vec<f32> = (0..4).map(|_| generator.normal() as f32).collect();
        buffer.push(&o, i % 2, 1.0, &n, i % 50 == 0);
    }
    move || {
        dqn_update(&q, &target, &mut optimizer, &buffer, &config, &mut generator);
    }
}
