//! Tabular methods (the course's chapter 3): value iteration, which plans
//! with a known model, and Q-learning, which learns from sampled steps.

use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};

use super::env::{Action, Env, Space, TabularModel};
use super::events::{Event, OnEvent};
use super::policy::Policy;
use crate::error::{Error, Result};
use crate::tensor::Generator;

/// A table of action values `Q(s, a)` and the greedy policy it defines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QTable {
    /// `[states, actions]`, row-major.
    pub values: Vec<f64>,
    /// The number of actions.
    pub num_actions: usize,
}

impl QTable {
    /// A table of zeros.
    pub fn zeros(num_states: usize, num_actions: usize) -> Self {
        QTable {
            values: vec![0.0; num_states * num_actions],
            num_actions,
        }
    }

    /// `Q(s, .)`.
    pub fn row(&self, state: usize) -> &[f64] {
        &self.values[state * self.num_actions..(state + 1) * self.num_actions]
    }

    /// The best action in `state` (the first of ties, as `np.argmax`).
    pub fn greedy(&self, state: usize) -> usize {
        argmax(self.row(state))
    }

    /// `max_a Q(s, a)` for every state.
    pub fn state_values(&self) -> Vec<f64> {
        self.values
            .chunks(self.num_actions)
            .map(|row| row.iter().copied().fold(f64::NEG_INFINITY, f64::max))
            .collect()
    }
}

impl Policy for QTable {
    fn act(&self, observation: &[f32], _deterministic: bool, _generator: &mut Generator) -> Action {
        Action::Discrete(self.greedy(observation[0] as usize))
    }
}

fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// Value iteration (Bellman, 1957): repeat `V(s) <- max_a sum_{s'} p(s'|s,a)
/// (r + gamma V(s') [s' not terminal])` over all states until no value
/// moves by more than `tolerance`, then act greedily. Returns the optimal
/// action values and the number of sweeps.
///
/// ```
/// use nabla::rl::{env::FrozenLake, value_iteration};
/// let lake = FrozenLake::four_by_four(false); // deterministic moves
/// let (q, sweeps) = value_iteration(&lake, 0.9, 1e-12);
/// // The goal is 6 steps from the start: V(start) = 0.9^5.
/// assert!((q.state_values()[0] - 0.9f64.powi(5)).abs() < 1e-12);
/// assert!(sweeps < 20);
/// ```
///
/// # Panics
/// If `gamma` is not in `[0, 1)` (at 1 the values need not converge) or
/// `tolerance` is not positive.
pub fn value_iteration(model: &dyn TabularModel, gamma: f64, tolerance: f64) -> (QTable, usize) {
    assert!(
        (0.0..1.0).contains(&gamma),
        "value_iteration: gamma = {gamma} must be in [0, 1)"
    );
    assert!(
        tolerance > 0.0,
        "value_iteration: the tolerance must be positive, got {tolerance}"
    );
    let (states, actions) = (model.num_states(), model.num_actions());
    let mut values = vec![0.0; states];
    let mut q = QTable::zeros(states, actions);
    let mut sweeps = 0;
    loop {
        sweeps += 1;
        let mut change: f64 = 0.0;
        for s in 0..states {
            for a in 0..actions {
                q.values[s * actions + a] = model
                    .transitions(s, a)
                    .iter()
                    .map(|t| {
                        let future = if t.terminated {
                            0.0
                        } else {
                            gamma * values[t.next_state]
                        };
                        t.probability * (t.reward + future)
                    })
                    .sum();
            }
            let best = q.row(s).iter().copied().fold(f64::NEG_INFINITY, f64::max);
            change = change.max((best - values[s]).abs());
            values[s] = best;
        }
        if change < tolerance {
            return (q, sweeps);
        }
    }
}

/// Q-learning's hyper-parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QLearningConfig {
    /// Episodes to play.
    pub episodes: usize,
    /// The step size alpha.
    pub learning_rate: f64,
    /// The discount.
    pub gamma: f64,
    /// The first epsilon of the epsilon-greedy behaviour.
    pub start_epsilon: f64,
    /// The last epsilon.
    pub end_epsilon: f64,
    /// Epsilon decays linearly over this fraction of the episodes.
    pub exploration_fraction: f64,
}

impl QLearningConfig {
    /// Settings that learn FrozenLake-v1 (4x4, slippery): 20,000 episodes,
    /// alpha 0.1, gamma 0.99, epsilon 1 to 0.05 over half of them.
    pub fn frozen_lake() -> Self {
        QLearningConfig {
            episodes: 20_000,
            learning_rate: 0.1,
            gamma: 0.99,
            start_epsilon: 1.0,
            end_epsilon: 0.05,
            exploration_fraction: 0.5,
        }
    }
}

/// Q-learning (Watkins, 1989) on an environment with discrete observations
/// and actions: after each step, `Q(s, a) += alpha (r + gamma max_a'
/// Q(s', a') [not terminated] - Q(s, a))`, acting epsilon-greedily
/// (random ties broken by the first best action).
///
/// ```
/// use nabla::rl::{env::{FrozenLake, TimeLimit}, evaluate, q_learning, QLearningConfig};
/// let mut env = TimeLimit::new(FrozenLake::four_by_four(false), 100);
/// let config = QLearningConfig { episodes: 2000, ..QLearningConfig::frozen_lake() };
/// let q = q_learning(&mut env, &config, 0, &mut nabla::rl::ignore_events)?;
/// // The greedy policy walks the 6 moves to the goal.
/// let report = evaluate(&q, &mut env, 1, 0, true)?;
/// assert_eq!((report.returns[0], report.lengths[0]), (1.0, 6));
/// # Ok::<(), nabla::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidSetting`] when the observations or actions are not
/// discrete; the environment's errors.
pub fn q_learning(
    env: &mut dyn Env,
    config: &QLearningConfig,
    seed: u64,
    on_event: OnEvent<'_>,
) -> Result<QTable> {
    let (Space::Discrete(states), Space::Discrete(actions)) = (env.observation_space(), env.action_space())
    else {
        return Err(Error::InvalidSetting {
            context: "Q-learning".into(),
            message: format!("{} does not have discrete states and actions", env.id()),
        });
    };
    let mut generator = Generator::new(seed);
    let mut q = QTable::zeros(states, actions);
    let decay = ((config.exploration_fraction * config.episodes as f64) as usize).max(1);
    let mut steps = 0;
    for episode in 0..config.episodes {
        let epsilon = super::LinearSchedule::new(config.start_epsilon, config.end_epsilon, decay).at(episode);
        let mut state = env.reset(Some(seed.wrapping_add(episode as u64)))[0] as usize;
        let (mut total, mut length) = (0.0, 0);
        loop {
            let action = if generator.uniform() < epsilon {
                generator.below(actions)
            } else {
                q.greedy(state)
            };
            let step = env.step(&Action::Discrete(action))?;
            let next = step.observation[0] as usize;
            let future = if step.terminated {
                0.0
            } else {
                config.gamma * q.row(next).iter().copied().fold(f64::NEG_INFINITY, f64::max)
            };
            let entry = &mut q.values[state * actions + action];
            *entry += config.learning_rate * (step.reward + future - *entry);
            total += step.reward;
            length += 1;
            steps += 1;
            if step.done() {
                break;
            }
            state = next;
        }
        let event = Event::Episode {
            step: steps,
            episodic_return: total,
            length,
        };
        if let ControlFlow::Break(()) = on_event(&event) {
            break;
        }
    }
    Ok(q)
}
