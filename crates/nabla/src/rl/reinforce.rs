//! REINFORCE (Williams, 1992) with a learned baseline: Monte-Carlo policy
//! gradients over whole episodes.

use serde::{Deserialize, Serialize};

use super::env::Env;
use super::events::{Event, OnEvent};
use super::policy::{Actions, Activation, ActorCritic, NetworkConfig, SpaceConfig};
use super::returns::discounted_returns;
use crate::error::{Error, Result};
use crate::nn::loss::{smooth_l1_loss, Reduction};
use crate::nn::Module;
use crate::optim::{Adam, AdamConfig, Optimizer};
use crate::tensor::{Generator, IndexTensor, Tensor};

/// REINFORCE's hyper-parameters: those of PyTorch's
/// `examples/reinforcement_learning` (Adam 1e-2, gamma 0.99, 128 hidden
/// units, returns standardised per episode, a running reward with decay
/// 0.05 that stops the run above the environment's threshold).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReinforceConfig {
    /// The most episodes to play.
    pub episodes: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// The discount.
    pub gamma: f64,
    /// Hidden widths of the policy and of the baseline.
    pub hidden: Vec<usize>,
    /// Stop once the running reward exceeds this (`None`: play them all).
    pub stop_at_running_reward: Option<f64>,
}

impl ReinforceConfig {
    /// PyTorch's example's settings for CartPole-v1, stopping above 475.
    pub fn cartpole() -> Self {
        ReinforceConfig {
            episodes: 1000,
            learning_rate: 1e-2,
            gamma: 0.99,
            hidden: vec![128],
            stop_at_running_reward: Some(475.0),
        }
    }
}

/// Trains a categorical policy with REINFORCE and a value baseline.
///
/// After each episode: the discounted returns `G_t`, standardised over the
/// episode; the baseline `V(s_t)` regresses on them (smooth L1, as
/// PyTorch's `actor_critic.py`) and the policy follows `sum_t (G_t -
/// V(s_t)) grad log pi(a_t | s_t)`. The running reward `0.05 R + 0.95
/// running` is reported with each episode, and ends the run when it passes
/// `stop_at_running_reward`.
///
/// ```
/// use nabla::rl::{env::make, train_reinforce, ReinforceConfig};
/// let mut env = make("CartPole-v1")?;
/// let (model, running) = train_reinforce(&mut *env, &ReinforceConfig { episodes: 5, ..ReinforceConfig::cartpole() }, 0, &mut nabla::rl::ignore_events)?;
/// assert!(running > 0.0);
/// # Ok::<(), nabla::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidSetting`] for continuous actions; the environment's
/// errors.
pub fn train_reinforce(
    env: &mut dyn Env,
    config: &ReinforceConfig,
    seed: u64,
    on_event: OnEvent<'_>,
) -> Result<(ActorCritic, f64)> {
    let Some(num_actions) = env.action_space().n() else {
        return Err(Error::InvalidSetting {
            context: "REINFORCE".into(),
            message: format!(
                "{} has continuous actions; this REINFORCE needs discrete ones",
                env.id()
            ),
        });
    };
    let mut generator = Generator::new(seed);
    let dim = env.observation_space().dim();
    let network = NetworkConfig {
        observation_dim: dim,
        action_space: SpaceConfig::Discrete(num_actions),
        hidden: config.hidden.clone(),
        activation: Activation::Relu,
    };
    let model = ActorCritic::new(network, &mut generator);
    let mut optimizer = Adam::new(model.parameters(), AdamConfig::new(config.learning_rate));
    let mut running = 10.0;
    let mut steps = 0;
    for episode in 0..config.episodes {
        let mut observation = env.reset(Some(seed.wrapping_add(episode as u64)));
        let (mut observations, mut actions, mut rewards) = (Vec::new(), Vec::new(), Vec::new());
        loop {
            let x = Tensor::from_vec(observation.clone(), &[1, dim]);
            let (Actions::Discrete(a), _, _) = model.sample(&x, &mut generator) else {
                unreachable!("a categorical policy samples indices")
            };
            let action = a.as_slice()[0];
            let step = env.step(&super::env::Action::Discrete(action))?;
            observations.extend_from_slice(&observation);
            actions.push(action);
            rewards.push(step.reward);
            if step.done() {
                break;
            }
            observation = step.observation;
        }
        let length = rewards.len();
        steps += length;
        let episodic_return: f64 = rewards.iter().sum();
        running = 0.05 * episodic_return + 0.95 * running;

        let returns = standardized(&discounted_returns(&rewards, config.gamma));
        let returns = Tensor::from_vec(returns.into_iter().map(|g| g as f32).collect(), &[length]);
        let eval = model.evaluate(
            &Tensor::from_vec(observations, &[length, dim]),
            &Actions::Discrete(IndexTensor::from_vec(actions, &[length])),
        );
        let advantage = returns.sub(&eval.value.detach());
        let policy_loss = eval.log_prob.mul(&advantage).sum().neg();
        let value_loss = smooth_l1_loss(&eval.value, &returns, Reduction::Sum, 1.0);
        optimizer.zero_grad();
        policy_loss.add(&value_loss).backward();
        optimizer.step();

        let event = Event::Episode {
            step: steps,
            episodic_return,
            length,
        };
        if on_event(&event).is_break() || config.stop_at_running_reward.is_some_and(|t| running > t) {
            break;
        }
    }
    Ok((model, running))
}

/// `(x - mean) / (std + eps)` with the unbiased std, as the PyTorch example.
fn standardized(values: &[f64]) -> Vec<f64> {
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let std = if n > 1 {
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    values.iter().map(|v| (v - mean) / (std + f64::EPSILON)).collect()
}
