//! The reinforcement-learning benchmarks: one DQN update and one PPO epoch
//! with CartPole's tuned settings, the overhead-bound small-network steps
//! that decide an RL run's wall time.

use super::median_seconds;
use crate::rl::{dqn_update_for_bench, ppo_epoch_for_bench};

/// DQN updates per second: a batch of 64 through the [256, 256] Q-network
/// and its target, the Huber TD loss, backward, gradient-norm clipping,
/// Adam; the median of `repetitions` timings.
pub fn dqn_updates_per_second(repetitions: usize) -> f64 {
    let mut update = dqn_update_for_bench();
    1.0 / median_seconds(20, repetitions, &mut update)
}

/// PPO epochs per second: 8 minibatches of 256 from a rollout of 2,048
/// CartPole transitions through the [64, 64] tanh actor and critic, the
/// clipped surrogate, backward, clipping, Adam; the median of
/// `repetitions` timings.
pub fn ppo_epochs_per_second(repetitions: usize) -> f64 {
    let mut epoch = ppo_epoch_for_bench();
    1.0 / median_seconds(2, repetitions, &mut epoch)
}
