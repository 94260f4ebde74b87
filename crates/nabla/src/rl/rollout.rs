//! Collecting on-policy rollouts from vectorised environments, and the
//! minibatches the updates of A2C and PPO read from them.

use std::ops::ControlFlow;

use super::env::SyncVectorEnv;
use super::events::{Event, OnEvent};
use super::policy::{Actions, ActorCritic, SpaceConfig};
use super::returns::{gae, Rollout};
use crate::autograd::no_grad;
use crate::error::Result;
use crate::tensor::{Generator, IndexTensor, Tensor};

/// `T` steps of `N` environments, time-major, with their advantages.
pub(crate) struct RolloutBatch {
    /// `[T * N, dim]`.
    pub observations: Vec<f32>,
    /// `[T * N]` discrete actions, or `[T * N, action_dim]` continuous ones.
    pub actions: ActionStore,
    /// `log pi_old(a | s)`, `[T * N]`.
    pub log_probs: Vec<f32>,
    /// GAE advantages, `[T * N]`.
    pub advantages: Vec<f64>,
    /// Value targets, `[T * N]`.
    pub returns: Vec<f64>,
    /// The observation length.
    pub dim: usize,
}

/// Actions kept as plain numbers.
pub(crate) enum ActionStore {
    Discrete(Vec<usize>),
    Continuous { values: Vec<f32>, dim: usize },
}

/// Drives the vectorised environments with the current policy, keeping
/// their observations and the step count between rollouts.
pub(crate) struct Collector {
    pub envs: SyncVectorEnv,
    observations: Vec<f32>,
    /// Environment steps so far, over all copies.
    pub steps: usize,
}

impl Collector {
    pub fn new(mut envs: SyncVectorEnv, seed: u64) -> Self {
        let observations = envs.reset(Some(seed));
        Collector {
            envs,
            observations,
            steps: 0,
        }
    }

    /// `num_steps` steps of every copy. A time-limit truncation is
    /// bootstrapped by adding `gamma V(final observation)` to its reward, as
    /// Stable-Baselines3 does; after that both kinds of ending cut the
    /// advantage's recursion, since the next observation is a new episode's.
    /// Returns `Break` when `on_event` asked to stop.
    pub fn collect(
        &mut self,
        model: &ActorCritic,
        num_steps: usize,
        gamma: f64,
        gae_lambda: f64,
        generator: &mut Generator,
        on_event: OnEvent<'_>,
    ) -> Result<ControlFlow<(), RolloutBatch>> {
        let n = self.envs.num_envs();
        let dim = self.envs.observation_dim();
        let space = &model.config.action_space;
        let mut batch_observations = Vec::with_capacity(num_steps * n * dim);
        let mut actions = match space {
            SpaceConfig::Discrete(_) => ActionStore::Discrete(Vec::with_capacity(num_steps * n)),
            SpaceConfig::Box { low, .. } => ActionStore::Continuous {
                values: Vec::with_capacity(num_steps * n * low.len()),
                dim: low.len(),
            },
        };
        let mut log_probs = Vec::with_capacity(num_steps * n);
        let mut values = Vec::with_capacity(num_steps * n);
        let mut rewards = Vec::with_capacity(num_steps * n);
        let mut ends = Vec::with_capacity(num_steps * n);
        let mut stop = false;
        for _ in 0..num_steps {
            let x = Tensor::from_vec(self.observations.clone(), &[n, dim]);
            let (sampled, log_prob, value) = model.sample(&x, generator);
            let env_actions = sampled.to_env_actions(space);
            match (&mut actions, &sampled) {
                (ActionStore::Discrete(all), Actions::Discrete(a)) => all.extend_from_slice(a.as_slice()),
                (ActionStore::Continuous { values, .. }, Actions::Continuous(a)) => values.extend(a.to_vec()),
                _ => unreachable!("the policy samples actions of its own space"),
            }
            let step = self.envs.step(&env_actions)?;
            self.steps += n;
            batch_observations.append(&mut std::mem::replace(&mut self.observations, step.observations));
            log_probs.extend(log_prob.to_vec());
            values.extend(value.to_vec().into_iter().map(f64::from));
            for i in 0..n {
                let mut reward = step.rewards[i];
                if let (true, false, Some(last)) =
                    (step.truncated[i], step.terminated[i], &step.final_observations[i])
                {
                    let v = no_grad(|| model.value(&Tensor::from_vec(last.clone(), &[1, dim])));
                    reward += gamma * f64::from(v.to_vec()[0]);
                }
                rewards.push(reward);
                ends.push(step.terminated[i] || step.truncated[i]);
            }
            for episode in &step.episodes {
                let event = Event::Episode {
                    step: self.steps,
                    episodic_return: episode.episodic_return,
                    length: episode.length,
                };
                stop |= on_event(&event).is_break();
            }
            if stop {
                return Ok(ControlFlow::Break(()));
            }
        }
        let next_values: Vec<f64> =
            no_grad(|| model.value(&Tensor::from_vec(self.observations.clone(), &[n, dim])))
                .to_vec()
                .into_iter()
                .map(f64::from)
                .collect();
        let rollout = Rollout {
            rewards: &rewards,
            values: &values,
            episode_ends: &ends,
            next_values: &next_values,
        };
        let (advantages, returns) = gae(rollout, gamma, gae_lambda);
        Ok(ControlFlow::Continue(RolloutBatch {
            observations: batch_observations,
            actions,
            log_probs,
            advantages,
            returns,
            dim,
        }))
    }
}

/// The tensors of one minibatch.
pub(crate) struct Minibatch {
    pub observations: Tensor,
    pub actions: Actions,
    pub old_log_probs: Tensor,
    pub advantages: Tensor,
    pub returns: Tensor,
}

impl RolloutBatch {
    /// The number of transitions.
    pub fn len(&self) -> usize {
        self.log_probs.len()
    }

    /// The rows `indices` as tensors, advantages standardised over the
    /// minibatch when `normalize_advantages` (as SB3 and CleanRL do).
    pub fn minibatch(&self, indices: &[usize], normalize_advantages: bool) -> Minibatch {
        let b = indices.len();
        let mut observations = Vec::with_capacity(b * self.dim);
        for &i in indices {
            observations.extend_from_slice(&self.observations[i * self.dim..(i + 1) * self.dim]);
        }
        let actions = match &self.actions {
            ActionStore::Discrete(all) => Actions::Discrete(IndexTensor::from_vec(
                indices.iter().map(|&i| all[i]).collect(),
                &[b],
            )),
            ActionStore::Continuous { values, dim } => {
                let mut rows = Vec::with_capacity(b * dim);
                for &i in indices {
                    rows.extend_from_slice(&values[i * dim..(i + 1) * dim]);
                }
                Actions::Continuous(Tensor::from_vec(rows, &[b, *dim]))
            }
        };
        let mut advantages: Vec<f64> = indices.iter().map(|&i| self.advantages[i]).collect();
        if normalize_advantages && b > 1 {
            let mean = advantages.iter().sum::<f64>() / b as f64;
            // torch.std: the unbiased estimate.
            let std = (advantages.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (b - 1) as f64).sqrt();
            for a in &mut advantages {
                *a = (*a - mean) / (std + 1e-8);
            }
        }
        let column = |values: Vec<f32>| Tensor::from_vec(values, &[b]);
        Minibatch {
            observations: Tensor::from_vec(observations, &[b, self.dim]),
            actions,
            old_log_probs: column(indices.iter().map(|&i| self.log_probs[i]).collect()),
            advantages: column(advantages.into_iter().map(|a| a as f32).collect()),
            returns: column(indices.iter().map(|&i| self.returns[i] as f32).collect()),
        }
    }
}
