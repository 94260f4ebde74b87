//! [`SyncVectorEnv`]: N copies of an environment stepped together.

use super::{Action, Env, Space};
use crate::error::Result;

/// A finished episode of one copy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpisodeRecord {
    /// Which copy.
    pub env_index: usize,
    /// The sum of its rewards.
    pub episodic_return: f64,
    /// Its number of steps.
    pub length: usize,
    /// Whether it ended by termination (not by a time limit).
    pub terminated: bool,
}

/// What one step of all copies returned.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorStep {
    /// The next observations, `[N, dim]` row-major; a copy whose episode
    /// ended has been reset, and its row is the new episode's first
    /// observation.
    pub observations: Vec<f32>,
    /// Each copy's reward.
    pub rewards: Vec<f64>,
    /// Each copy reached a terminal state.
    pub terminated: Vec<bool>,
    /// Each copy was cut short by its time limit.
    pub truncated: Vec<bool>,
    /// For each copy whose episode ended, its last observation (the one the
    /// reset replaced), to bootstrap a truncated episode from.
    pub final_observations: Vec<Option<Vec<f32>>>,
    /// The episodes that ended at this step.
    pub episodes: Vec<EpisodeRecord>,
}

/// N environments stepped in lockstep, as Gymnasium's `SyncVectorEnv` with
/// same-step autoreset (Gymnasium 0.29's behaviour, which CleanRL's
/// PPO is written for): a copy whose episode ends is reset inside the same
/// `step`, its final observation kept in [`VectorStep::final_observations`].
/// Episodic returns and lengths are recorded, as `RecordEpisodeStatistics`.
///
/// ```
/// use nabla::rl::env::{make, Action, SyncVectorEnv};
/// let envs = (0..4).map(|_| make("CartPole-v1")).collect::<Result<Vec<_>, _>>().unwrap();
/// let mut vector = SyncVectorEnv::new(envs).unwrap();
/// let first = vector.reset(Some(7));
/// assert_eq!(first.len(), 4 * 4);
/// let step = vector.step(&[0, 1, 0, 1].map(nabla::rl::env::Action::Discrete)).unwrap();
/// assert_eq!(step.rewards, vec![1.0; 4]);
/// ```
pub struct SyncVectorEnv {
    envs: Vec<Box<dyn Env>>,
    observation_dim: usize,
    returns: Vec<f64>,
    lengths: Vec<usize>,
}

impl SyncVectorEnv {
    /// Copies of one environment (at least one, all with the same id).
    pub fn new(envs: Vec<Box<dyn Env>>) -> Result<Self> {
        let Some(first) = envs.first() else {
            return Err(crate::Error::InvalidSetting {
                context: "SyncVectorEnv".into(),
                message: "needs at least one environment".into(),
            });
        };
        let id = first.id();
        if let Some(other) = envs.iter().find(|e| e.id() != id) {
            return Err(crate::Error::InvalidSetting {
                context: "SyncVectorEnv".into(),
                message: format!("copies of one environment expected, got {id} and {}", other.id()),
            });
        }
        let observation_dim = first.observation_space().dim();
        let n = envs.len();
        Ok(SyncVectorEnv {
            envs,
            observation_dim,
            returns: vec![0.0; n],
            lengths: vec![0; n],
        })
    }

    /// The number of copies.
    pub fn num_envs(&self) -> usize {
        self.envs.len()
    }

    /// The length of one copy's observation.
    pub fn observation_dim(&self) -> usize {
        self.observation_dim
    }

    /// One copy's action space.
    pub fn action_space(&self) -> Space {
        self.envs[0].action_space()
    }

    /// One copy.
    pub fn env(&self, index: usize) -> &dyn Env {
        self.envs[index].as_ref()
    }

    /// Resets every copy, copy `i` with `seed + i` as Gymnasium seeds them,
    /// and returns the observations `[N, dim]`.
    pub fn reset(&mut self, seed: Option<u64>) -> Vec<f32> {
        self.returns.fill(0.0);
        self.lengths.fill(0);
        let mut observations = Vec::with_capacity(self.envs.len() * self.observation_dim);
        for (i, env) in self.envs.iter_mut().enumerate() {
            observations.extend(env.reset(seed.map(|s| s + i as u64)));
        }
        observations
    }

    /// Steps copy `i` with `actions[i]`, resetting the copies whose episode
    /// ended.
    pub fn step(&mut self, actions: &[Action]) -> Result<VectorStep> {
        if actions.len() != self.envs.len() {
            return Err(crate::Error::InvalidSetting {
                context: "SyncVectorEnv::step".into(),
                message: format!("{} actions for {} environments", actions.len(), self.envs.len()),
            });
        }
        let n = self.envs.len();
        let mut out = VectorStep {
            observations: Vec::with_capacity(n * self.observation_dim),
            rewards: Vec::with_capacity(n),
            terminated: Vec::with_capacity(n),
            truncated: Vec::with_capacity(n),
            final_observations: vec![None; n],
            episodes: Vec::new(),
        };
        for (i, (env, action)) in self.envs.iter_mut().zip(actions).enumerate() {
            let step = env.step(action)?;
            self.returns[i] += step.reward;
            self.lengths[i] += 1;
            out.rewards.push(step.reward);
            out.terminated.push(step.terminated);
            out.truncated.push(step.truncated);
            if step.done() {
                out.episodes.push(EpisodeRecord {
                    env_index: i,
                    episodic_return: self.returns[i],
                    length: self.lengths[i],
                    terminated: step.terminated,
                });
                self.returns[i] = 0.0;
                self.lengths[i] = 0;
                out.final_observations[i] = Some(step.observation);
                out.observations.extend(env.reset(None));
            } else {
                out.observations.extend(step.observation);
            }
        }
        Ok(out)
    }
}
