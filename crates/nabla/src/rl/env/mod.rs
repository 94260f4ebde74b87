//! Environments with Gymnasium's API: an agent resets an [`Env`] to get an
//! observation, then steps it with actions, each step giving the next
//! observation, a reward and whether the episode ended.
//!
//! An episode ends in one of two ways, told apart as Gymnasium does:
//! *terminated* (the task reached a terminal state: the pole fell, the goal
//! was reached; the value of what follows is zero) or *truncated* (a time
//! limit cut it short; the state still has a value, so bootstrapping goes
//! on through it).
//!
//! - [`CartPole`] (`CartPole-v1`), [`Acrobot`] (`Acrobot-v1`),
//!   [`MountainCar`] (`MountainCar-v0`), [`Pendulum`] (`Pendulum-v1`,
//!   continuous torque): the classic control environments, to Gymnasium's
//!   `classic_control` source (constants, equations, f64 state, f32
//!   observations).
//! - [`FrozenLake`] (`FrozenLake-v1`, `FrozenLake8x8-v1`): a grid world,
//!   slippery or not, whose transition table is a [`TabularModel`] for
//!   dynamic programming.
//! - [`Frame`]: an RGB picture of a classic control environment's state,
//!   as Gymnasium's `rgb_array` rendering draws it
//!   ([`CartPole::render_rgb`], [`Acrobot::render_rgb`],
//!   [`MountainCar::render_rgb`], [`Pendulum::render_rgb`]).
//! - [`TimeLimit`] truncates an episode after a number of steps;
//!   [`make`] builds an environment by its Gymnasium id with its registered
//!   limit.
//! - [`SyncVectorEnv`] steps N copies, resetting each as its episode ends.

mod acrobot;
mod cartpole;
mod episode;
mod frozen_lake;
mod mountain_car;
mod pendulum;
mod render;
mod space;
mod tabular;
mod time_limit;
mod vector;

pub use acrobot::Acrobot;
pub use cartpole::CartPole;
pub use frozen_lake::{FrozenLake, MAP_4X4, MAP_8X8};
pub use mountain_car::MountainCar;
pub use pendulum::Pendulum;
pub use render::Frame;
pub use space::{Action, Space};
pub use tabular::{TabularModel, Transition};
pub use time_limit::TimeLimit;
pub use vector::{EpisodeRecord, SyncVectorEnv, VectorStep};

use episode::{step_after_end, EpisodePhase};

use crate::error::{Error, Result};

/// What one step returned.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The observation after the step.
    pub observation: Vec<f32>,
    /// The reward for the step.
    pub reward: f64,
    /// The episode reached a terminal state of the task.
    pub terminated: bool,
    /// The episode was cut short (a time limit) in a non-terminal state.
    pub truncated: bool,
}

impl Step {
    /// Whether the episode is over, either way.
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// An environment, as Gymnasium's `Env`.
///
/// `reset(Some(seed))` re-seeds the environment's generator, so the same
/// seed gives the same episodes; `reset(None)` goes on with the generator
/// as it is. Stepping an environment that has not been reset, or whose
/// episode has ended, is an error (Gymnasium warns and returns reward 0;
/// a silent zero has hidden bugs in many training loops).
///
/// ```
/// use nabla::rl::env::{make, Action, Env};
/// let mut env = make("CartPole-v1").unwrap();
/// let mut observation = env.reset(Some(0));
/// let mut ret = 0.0;
/// loop {
///     // Push the cart towards the side the pole leans to.
///     let action = Action::Discrete(usize::from(observation[2] > 0.0));
///     let step = env.step(&action).unwrap();
///     ret += step.reward;
///     if step.done() {
///         break;
///     }
///     observation = step.observation;
/// }
/// assert!(ret > 20.0 && ret <= 500.0);
/// ```
pub trait Env: Send {
    /// Gymnasium's id: `"CartPole-v1"`.
    fn id(&self) -> &'static str;
    /// The shape and range of observations.
    fn observation_space(&self) -> Space;
    /// The actions the environment accepts.
    fn action_space(&self) -> Space;
    /// The return at which the task counts as solved (averaged over 100
    /// episodes), when Gymnasium registers one.
    fn reward_threshold(&self) -> Option<f64> {
        None
    }
    /// Starts an episode and returns its first observation.
    fn reset(&mut self, seed: Option<u64>) -> Vec<f32>;
    /// Applies `action`. Errors for an action outside the action space or a
    /// step after the episode ended.
    fn step(&mut self, action: &Action) -> Result<Step>;
}

impl<E: Env + ?Sized> Env for Box<E> {
    fn id(&self) -> &'static str {
        (**self).id()
    }
    fn observation_space(&self) -> Space {
        (**self).observation_space()
    }
    fn action_space(&self) -> Space {
        (**self).action_space()
    }
    fn reward_threshold(&self) -> Option<f64> {
        (**self).reward_threshold()
    }
    fn reset(&mut self, seed: Option<u64>) -> Vec<f32> {
        (**self).reset(seed)
    }
    fn step(&mut self, action: &Action) -> Result<Step> {
        (**self).step(action)
    }
}

/// The Gymnasium ids [`make`] knows.
pub const IDS: &[&str] = &[
    "CartPole-v1",
    "Acrobot-v1",
    "MountainCar-v0",
    "Pendulum-v1",
    "FrozenLake-v1",
    "FrozenLake8x8-v1",
];

/// The environment registered as `id`, wrapped in its time limit, as
/// `gymnasium.make(id)`: `"FrozenLake-v1"` is the slippery 4x4 lake (for
/// the non-slippery one, wrap `FrozenLake::new(&MAP_4X4, false)` in a
/// [`TimeLimit`] of its [`FrozenLake::max_episode_steps`]).
pub fn make(id: &str) -> Result<Box<dyn Env>> {
    match id {
        "CartPole-v1" => Ok(Box::new(TimeLimit::new(CartPole::new(), 500))),
        "Acrobot-v1" => Ok(Box::new(TimeLimit::new(Acrobot::new(), 500))),
        "MountainCar-v0" => Ok(Box::new(TimeLimit::new(MountainCar::new(), 200))),
        "Pendulum-v1" => Ok(Box::new(TimeLimit::new(Pendulum::new(), 200))),
        "FrozenLake-v1" => Ok(Box::new(TimeLimit::new(FrozenLake::four_by_four(true), 100))),
        "FrozenLake8x8-v1" => Ok(Box::new(TimeLimit::new(FrozenLake::eight_by_eight(true), 200))),
        _ => Err(Error::InvalidSetting {
            context: "rl::env::make".into(),
            message: format!("unknown environment {id:?}; known: {}", IDS.join(", ")),
        }),
    }
}

/// `x ** 2` as a Python float or numpy float64 scalar computes it: the C
/// library's `pow(x, 2.0)`, which is not always correctly rounded (glibc's
/// differs from `x * x` in the last bit for about 1 in 1000 values). The
/// exponent goes through `black_box` because the compiler would otherwise
/// fold `pow(x, 2)` into `x * x`.
pub(crate) fn pow2(x: f64) -> f64 {
    x.powf(std::hint::black_box(2.0))
}

/// `u ** 2` for a numpy float32 scalar: the C library's `powf(u, 2.0)`,
/// which differs from `u * u` in the last bit for about 1 in 1000 values.
pub(crate) fn pow2_f32(u: f32) -> f32 {
    u.powf(std::hint::black_box(2.0))
}
