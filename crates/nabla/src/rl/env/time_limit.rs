//! [`TimeLimit`]: truncation after a number of steps.

use super::{step_after_end, Action, Env, Space, Step};
use crate::error::Result;

/// Ends each episode of `E` after `max_episode_steps` steps by setting
/// `truncated`, as Gymnasium's `TimeLimit` wrapper (a step that both
/// terminates and reaches the limit reports both).
///
/// ```
/// use nabla::rl::env::{Action, CartPole, Env, TimeLimit};
/// let mut env = TimeLimit::new(CartPole::new(), 3);
/// env.reset(Some(1));
/// let steps: Vec<bool> = (0..3).map(|_| env.step(&Action::Discrete(0)).unwrap().truncated).collect();
/// assert_eq!(steps, [false, false, true]);
/// assert!(env.step(&Action::Discrete(0)).is_err()); // the episode is over
/// ```
#[derive(Clone, Debug)]
pub struct TimeLimit<E> {
    env: E,
    max_episode_steps: usize,
    elapsed: usize,
    ended: bool,
}

impl<E: Env> TimeLimit<E> {
    /// `env` with episodes of at most `max_episode_steps` steps.
    pub fn new(env: E, max_episode_steps: usize) -> Self {
        TimeLimit {
            env,
            max_episode_steps,
            elapsed: 0,
            ended: false,
        }
    }

    /// The wrapped environment.
    pub fn inner(&self) -> &E {
        &self.env
    }

    /// The longest episode.
    pub fn max_episode_steps(&self) -> usize {
        self.max_episode_steps
    }
}

impl<E: Env> Env for TimeLimit<E> {
    fn id(&self) -> &'static str {
        self.env.id()
    }
    fn observation_space(&self) -> Space {
        self.env.observation_space()
    }
    fn action_space(&self) -> Space {
        self.env.action_space()
    }
    fn reward_threshold(&self) -> Option<f64> {
        self.env.reward_threshold()
    }

    fn reset(&mut self, seed: Option<u64>) -> Vec<f32> {
        self.elapsed = 0;
        self.ended = false;
        self.env.reset(seed)
    }

    fn step(&mut self, action: &Action) -> Result<Step> {
        if self.ended {
            return Err(step_after_end(self.id()));
        }
        let mut step = self.env.step(action)?;
        self.elapsed += 1;
        if self.elapsed >= self.max_episode_steps {
            step.truncated = true;
        }
        self.ended = step.done();
        Ok(step)
    }
}
