//! PPO (Schulman et al., 2017): clipped actor-critic policy gradients on
//! vectorised environments, with generalised advantage estimation; its
//! settings checks and model are shared with A2C.

use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};

use super::env::SyncVectorEnv;
use super::events::{Event, OnEvent};
use super::policy::{Activation, ActorCritic, NetworkConfig, SpaceConfig};
use super::rollout::{Collector, Minibatch};
use crate::error::{Error, Result};
use crate::nn::loss::mse_loss;
use crate::nn::Module;
use crate::optim::{clip_grad_norm_, Adam, AdamConfig, Optimizer};
use crate::tensor::Generator;

/// PPO's hyper-parameters. [`PpoConfig::cartpole`] is the RL Baselines3
/// Zoo's tuned setting for CartPole-v1 (500 at 100,000 steps there).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PpoConfig {
    /// Environment steps in all, over all copies.
    pub total_steps: usize,
    /// Steps of each copy per rollout.
    pub num_steps: usize,
    /// Adam's learning rate (at the start, when annealed).
    pub learning_rate: f64,
    /// Anneal the learning rate linearly to 0 over the run.
    pub anneal_lr: bool,
    /// The discount.
    pub gamma: f64,
    /// GAE's lambda.
    pub gae_lambda: f64,
    /// Transitions per minibatch.
    pub minibatch_size: usize,
    /// Passes over each rollout.
    pub update_epochs: usize,
    /// The clipping range of the probability ratio (at the start).
    pub clip_coef: f64,
    /// Anneal the clipping range linearly to 0 (SB3's `lin_0.2`).
    pub anneal_clip: bool,
    /// The entropy bonus' weight.
    pub ent_coef: f64,
    /// The value loss' weight.
    pub vf_coef: f64,
    /// The gradient's norm is clipped to this.
    pub max_grad_norm: f64,
    /// Standardise the advantages in each minibatch.
    pub normalize_advantages: bool,
    /// Hidden widths of the actor and of the critic.
    pub hidden: Vec<usize>,
    /// Their nonlinearity.
    pub activation: Activation,
}

impl PpoConfig {
    /// The RL Baselines3 Zoo's PPO for CartPole-v1, with 8 environments:
    /// 32 steps each per rollout, minibatches of 256, 20 epochs, gamma
    /// 0.98, lambda 0.8, learning rate and clip range 1e-3 and 0.2 annealed
    /// linearly to 0, no entropy bonus, value weight 0.5, gradient norm
    /// 0.5, [64, 64] tanh actor and critic, Adam with eps 1e-5.
    pub fn cartpole() -> Self {
        PpoConfig {
            total_steps: 100_000,
            num_steps: 32,
            learning_rate: 1e-3,
            anneal_lr: true,
            gamma: 0.98,
            gae_lambda: 0.8,
            minibatch_size: 256,
            update_epochs: 20,
            clip_coef: 0.2,
            anneal_clip: true,
            ent_coef: 0.0,
            vf_coef: 0.5,
            max_grad_norm: 0.5,
            normalize_advantages: true,
            hidden: vec![64, 64],
            activation: Activation::Tanh,
        }
    }

    /// CleanRL's `ppo_continuous_action` setting (one environment, 2048
    /// steps per rollout, 32 minibatches, 10 epochs, lr 3e-4, gamma 0.99,
    /// lambda 0.95), for a Gaussian policy on Pendulum-v1.
    pub fn continuous() -> Self {
        PpoConfig {
            total_steps: 200_000,
            num_steps: 2048,
            learning_rate: 3e-4,
            anneal_lr: true,
            gamma: 0.99,
            gae_lambda: 0.95,
            minibatch_size: 64,
            update_epochs: 10,
            clip_coef: 0.2,
            anneal_clip: false,
            ent_coef: 0.0,
            vf_coef: 0.5,
            max_grad_norm: 0.5,
            normalize_advantages: true,
            hidden: vec![64, 64],
            activation: Activation::Tanh,
        }
    }

    /// Checks the settings, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        check_on_policy(
            "PPO",
            self.num_steps,
            self.learning_rate,
            self.gamma,
            self.gae_lambda,
            self.max_grad_norm,
        )?;
        let bad = |message: String| {
            Err(Error::InvalidSetting {
                context: "PPO".into(),
                message,
            })
        };
        if self.minibatch_size == 0 || self.update_epochs == 0 {
            return bad("minibatch_size and update_epochs must be positive".into());
        }
        if !(self.clip_coef.is_finite() && self.clip_coef >= 0.0) {
            return bad(format!(
                "clip_coef = {} must be a non-negative number",
                self.clip_coef
            ));
        }
        for (name, v) in [("ent_coef", self.ent_coef), ("vf_coef", self.vf_coef)] {
            if !v.is_finite() {
                return bad(format!("{name} = {v} must be a number"));
            }
        }
        Ok(())
    }
}

pub(super) fn check_on_policy(
    context: &str,
    num_steps: usize,
    lr: f64,
    gamma: f64,
    lambda: f64,
    max_grad_norm: f64,
) -> Result<()> {
    let bad = |message: String| {
        Err(Error::InvalidSetting {
            context: context.into(),
            message,
        })
    };
    if num_steps == 0 {
        return bad("num_steps must be positive".into());
    }
    for (name, v, lo, hi) in [
        ("learning_rate", lr, 0.0, f64::INFINITY),
        ("gamma", gamma, 0.0, 1.0),
        ("gae_lambda", lambda, 0.0, 1.0),
        ("max_grad_norm", max_grad_norm, 0.0, f64::INFINITY),
    ] {
        if !(v.is_finite() && v >= lo && v <= hi) {
            return bad(format!("{name} = {v} must be in [{lo}, {hi}]"));
        }
    }
    Ok(())
}

/// The actor-critic for `envs`' spaces.
pub(super) fn new_model(
    envs: &SyncVectorEnv,
    hidden: &[usize],
    activation: Activation,
    generator: &mut Generator,
) -> ActorCritic {
    let config = NetworkConfig {
        observation_dim: envs.observation_dim(),
        action_space: SpaceConfig::from(&envs.action_space()),
        hidden: hidden.to_vec(),
        activation,
    };
    ActorCritic::new(config, generator)
}

/// Trains PPO on `envs` and returns the actor-critic.
///
/// Each iteration collects `num_steps` steps of every copy, computes GAE
/// advantages and value targets, then takes `update_epochs` passes over
/// the rollout in shuffled minibatches, minimising the clipped surrogate
/// `max(-A r, -A clip(r, 1 - c, 1 + c))` with `r = pi(a|s) / pi_old(a|s)`,
/// plus `vf_coef` times the squared error of the values, minus `ent_coef`
/// times the entropy, with the gradient's norm clipped (SB3's loss).
///
/// ```
/// use nabla::rl::{env::{make, SyncVectorEnv}, train_ppo, PpoConfig};
/// let envs = SyncVectorEnv::new(vec![make("CartPole-v1")?, make("CartPole-v1")?])?;
/// let config = PpoConfig { total_steps: 256, update_epochs: 2, minibatch_size: 32, ..PpoConfig::cartpole() };
/// let model = train_ppo(envs, &config, 0, &mut nabla::rl::ignore_events)?;
/// assert_eq!(model.value(&nabla::Tensor::zeros(&[3, 4])).shape(), &[3]);
/// # Ok::<(), nabla::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidSetting`] for a bad setting; the environments' errors.
pub fn train_ppo(
    envs: SyncVectorEnv,
    config: &PpoConfig,
    seed: u64,
    on_event: OnEvent<'_>,
) -> Result<ActorCritic> {
    config.validate()?;
    let mut generator = Generator::new(seed);
    let model = new_model(&envs, &config.hidden, config.activation, &mut generator);
    let mut optimizer = Adam::new(
        model.parameters(),
        AdamConfig::new(config.learning_rate).eps(1e-5),
    );
    let mut collector = Collector::new(envs, seed);
    let per_rollout = config.num_steps * collector.envs.num_envs();
    let iterations = config.total_steps.div_ceil(per_rollout);
    for iteration in 0..iterations {
        let remaining = 1.0 - iteration as f64 / iterations as f64;
        if config.anneal_lr {
            optimizer.set_learning_rate(config.learning_rate * remaining);
        }
        let clip = if config.anneal_clip {
            config.clip_coef * remaining
        } else {
            config.clip_coef
        };
        let ControlFlow::Continue(rollout) = collector.collect(
            &model,
            config.num_steps,
            config.gamma,
            config.gae_lambda,
            &mut generator,
            on_event,
        )?
        else {
            break;
        };
        let mut sums = UpdateSums::default();
        for _ in 0..config.update_epochs {
            let order = generator.permutation(rollout.len());
            for indices in order.chunks(config.minibatch_size) {
                let minibatch = rollout.minibatch(indices, config.normalize_advantages);
                sums.add(ppo_step(&model, &mut optimizer, &minibatch, clip, config));
            }
        }
        let event = Event::Update {
            step: collector.steps,
            metrics: sums.metrics(),
        };
        if on_event(&event).is_break() {
            break;
        }
    }
    Ok(model)
}

/// The scalars of one gradient step.
#[derive(Default)]
struct UpdateSums {
    count: usize,
    policy_loss: f64,
    value_loss: f64,
    entropy: f64,
    approx_kl: f64,
    clip_fraction: f64,
}

impl UpdateSums {
    fn add(&mut self, other: UpdateSums) {
        self.count += 1;
        self.policy_loss += other.policy_loss;
        self.value_loss += other.value_loss;
        self.entropy += other.entropy;
        self.approx_kl += other.approx_kl;
        self.clip_fraction += other.clip_fraction;
    }

    fn metrics(&self) -> Vec<(&'static str, f64)> {
        let n = self.count.max(1) as f64;
        vec![
            ("policy_loss", self.policy_loss / n),
            ("value_loss", self.value_loss / n),
            ("entropy", self.entropy / n),
            ("approx_kl", self.approx_kl / n),
            ("clip_fraction", self.clip_fraction / n),
        ]
    }
}

/// One PPO gradient step on a minibatch.
fn ppo_step(
    model: &ActorCritic,
    optimizer: &mut Adam,
    batch: &Minibatch,
    clip: f64,
    config: &PpoConfig,
) -> UpdateSums {
    let eval = model.evaluate(&batch.observations, &batch.actions);
    let log_ratio = eval.log_prob.sub(&batch.old_log_probs);
    let ratio = log_ratio.exp();
    let clip = clip as f32;
    let unclipped = batch.advantages.mul(&ratio).neg();
    let clipped = batch
        .advantages
        .mul(&ratio.clamp(Some(1.0 - clip), Some(1.0 + clip)))
        .neg();
    let policy_loss = unclipped.maximum(&clipped).mean();
    let value_loss = mse_loss(&eval.value, &batch.returns);
    let entropy = eval.entropy.mean();
    let loss = policy_loss
        .add(&value_loss.mul_scalar(config.vf_coef as f32))
        .sub(&entropy.mul_scalar(config.ent_coef as f32));
    optimizer.zero_grad();
    loss.backward();
    clip_grad_norm_(optimizer.parameters(), config.max_grad_norm);
    optimizer.step();
    // Schulman's low-variance estimator of KL(old, new): (r - 1) - log r.
    let (log_ratio, ratio) = (log_ratio.to_vec(), ratio.to_vec());
    let n = ratio.len().max(1) as f64;
    let approx_kl = ratio
        .iter()
        .zip(&log_ratio)
        .map(|(&r, &l)| f64::from((r - 1.0) - l))
        .sum::<f64>()
        / n;
    let clipped = ratio.iter().filter(|&&r| (r - 1.0).abs() > clip).count() as f64 / n;
    UpdateSums {
        count: 1,
        policy_loss: f64::from(policy_loss.item()),
        value_loss: f64::from(value_loss.item()),
        entropy: f64::from(entropy.item()),
        approx_kl,
        clip_fraction: clipped,
    }
}

/// One PPO epoch (CartPole's settings: 8 minibatches of 256 from 2,048
/// random transitions, [64, 64] tanh) as a closure to time (`nabla
/// bench`'s `ppo_epoch_per_s`, beside `benches/torch_rl.py`).
pub(crate) fn ppo_epoch_for_bench() -> impl FnMut() {
    use super::rollout::{ActionStore, RolloutBatch};
    let config = PpoConfig::cartpole();
    let mut generator = Generator::new(0);
    let network = NetworkConfig {
        observation_dim: 4,
        action_space: SpaceConfig::Discrete(2),
        hidden: config.hidden.clone(),
        activation: config.activation,
    };
    let model = ActorCritic::new(network, &mut generator);
    let mut optimizer = Adam::new(
        model.parameters(),
        AdamConfig::new(config.learning_rate).eps(1e-5),
    );
    let n = 2048;
    let rollout = RolloutBatch {
        observations: (0..n * 4).map(|_| generator.normal() as f32).collect(),
        actions: ActionStore::Discrete((0..n).map(|_| generator.below(2)).collect()),
        log_probs: vec![-std::f32::consts::LN_2; n],
        advantages: (0..n).map(|_| generator.normal()).collect(),
        returns: (0..n).map(|_| generator.normal()).collect(),
        dim: 4,
    };
    move || {
        let order = generator.permutation(rollout.len());
        for indices in order.chunks(config.minibatch_size) {
            let minibatch = rollout.minibatch(indices, config.normalize_advantages);
            ppo_step(&model, &mut optimizer, &minibatch, config.clip_coef, &config);
        }
    }
}
