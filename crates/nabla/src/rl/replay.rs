//! [`ReplayBuffer`]: the transitions an off-policy learner samples from.

use crate::tensor::{Generator, IndexTensor, Tensor};

/// A batch of transitions as tensors.
#[derive(Clone, Debug)]
pub struct ReplayBatch {
    /// `s`, `[B, dim]`.
    pub observations: Tensor,
    /// `a`, `[B]`.
    pub actions: IndexTensor,
    /// `r`, `[B]`.
    pub rewards: Tensor,
    /// `s'`, `[B, dim]`.
    pub next_observations: Tensor,
    /// 1 where `s'` is terminal (nothing to bootstrap), else 0, `[B]`.
    pub terminated: Tensor,
}

/// A ring buffer of `(s, a, r, s', terminated)` with discrete actions, as
/// Stable-Baselines3's `ReplayBuffer`: once full, each new transition
/// replaces the oldest; [`sample`](Self::sample) draws uniformly with
/// replacement.
///
/// Only *termination* stops bootstrapping: a transition cut by a time
/// limit is stored with `terminated = false` and its real last observation
/// as `s'` (SB3's `handle_timeout_termination`).
///
/// ```
/// use nabla::rl::ReplayBuffer;
/// let mut buffer = ReplayBuffer::new(2, 3);
/// buffer.push(&[0.0, 0.0, 0.0], 1, 1.0, &[1.0, 1.0, 1.0], false);
/// buffer.push(&[1.0, 1.0, 1.0], 0, 0.0, &[2.0, 2.0, 2.0], true);
/// buffer.push(&[2.0, 2.0, 2.0], 1, 5.0, &[3.0, 3.0, 3.0], false); // replaces the first
/// assert_eq!(buffer.len(), 2);
/// let batch = buffer.sample(64, &mut nabla::Generator::new(0));
/// assert_eq!(batch.observations.shape(), &[64, 3]);
/// assert!(batch.rewards.to_vec().iter().all(|&r| r == 0.0 || r == 5.0));
/// ```
#[derive(Clone, Debug)]
pub struct ReplayBuffer {
    capacity: usize,
    dim: usize,
    observations: Vec<f32>,
    next_observations: Vec<f32>,
    actions: Vec<usize>,
    rewards: Vec<f32>,
    terminated: Vec<bool>,
    next: usize,
}

impl ReplayBuffer {
    /// An empty buffer of `capacity` transitions of `dim`-long observations.
    ///
    /// # Panics
    /// If `capacity` is 0.
    pub fn new(capacity: usize, dim: usize) -> Self {
        assert!(capacity > 0, "ReplayBuffer: the capacity must be positive");
        ReplayBuffer {
            capacity,
            dim,
            observations: Vec::with_capacity(capacity.min(1 << 20) * dim),
            next_observations: Vec::with_capacity(capacity.min(1 << 20) * dim),
            actions: Vec::new(),
            rewards: Vec::new(),
            terminated: Vec::new(),
            next: 0,
        }
    }

    /// The number of transitions held.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Adds one transition, replacing the oldest when full.
    ///
    /// # Panics
    /// If an observation's length is not the buffer's `dim`.
    pub fn push(
        &mut self,
        observation: &[f32],
        action: usize,
        reward: f64,
        next_observation: &[f32],
        terminated: bool,
    ) {
        assert!(
            observation.len() == self.dim && next_observation.len() == self.dim,
            "ReplayBuffer::push: observations of length {} and {}, expected {}",
            observation.len(),
            next_observation.len(),
            self.dim
        );
        if self.actions.len() < self.capacity {
            self.observations.extend_from_slice(observation);
            self.next_observations.extend_from_slice(next_observation);
            self.actions.push(action);
            self.rewards.push(reward as f32);
            self.terminated.push(terminated);
        } else {
            let i = self.next;
            self.observations[i * self.dim..(i + 1) * self.dim].copy_from_slice(observation);
            self.next_observations[i * self.dim..(i + 1) * self.dim].copy_from_slice(next_observation);
            self.actions[i] = action;
            self.rewards[i] = reward as f32;
            self.terminated[i] = terminated;
        }
        self.next = (self.next + 1) % self.capacity;
    }

    /// `batch_size` transitions drawn uniformly with replacement.
    ///
    /// # Panics
    /// If the buffer is empty.
    pub fn sample(&self, batch_size: usize, generator: &mut Generator) -> ReplayBatch {
        assert!(!self.is_empty(), "ReplayBuffer::sample: the buffer is empty");
        let picks: Vec<usize> = (0..batch_size).map(|_| generator.below(self.len())).collect();
        let rows = |data: &[f32]| {
            let mut out = Vec::with_capacity(batch_size * self.dim);
            for &i in &picks {
                out.extend_from_slice(&data[i * self.dim..(i + 1) * self.dim]);
            }
            Tensor::from_vec(out, &[batch_size, self.dim])
        };
        ReplayBatch {
            observations: rows(&self.observations),
            actions: IndexTensor::from_vec(picks.iter().map(|&i| self.actions[i]).collect(), &[batch_size]),
            rewards: Tensor::from_vec(picks.iter().map(|&i| self.rewards[i]).collect(), &[batch_size]),
            next_observations: rows(&self.next_observations),
            terminated: Tensor::from_vec(
                picks
                    .iter()
                    .map(|&i| if self.terminated[i] { 1.0 } else { 0.0 })
                    .collect(),
                &[batch_size],
            ),
        }
    }
}
