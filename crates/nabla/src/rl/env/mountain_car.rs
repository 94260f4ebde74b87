//! `MountainCar-v0`: an under-powered car in a valley must rock back and
//! forth to reach the flag on the right hill (Moore, 1990), to Gymnasium's
//! `classic_control/mountain_car.py`.

use super::{Action, Env, EpisodePhase, Space, Step};
use crate::error::Result;
use crate::tensor::Generator;

const MIN_POSITION: f64 = -1.2;
const MAX_POSITION: f64 = 0.6;
const MAX_SPEED: f64 = 0.07;
pub(crate) const GOAL_POSITION: f64 = 0.5;
const GOAL_VELOCITY: f64 = 0.0;
const FORCE: f64 = 0.001;
const GRAVITY: f64 = 0.0025;

/// The mountain car, state `[position, velocity]` in f64 and observations
/// in f32; the track's height at `x` is `sin(3 x)`.
///
/// Actions: 0 accelerates left, 1 not at all, 2 right. A step updates the
/// velocity by `(action - 1) * 0.001 - 0.0025 cos(3 position)`, clips it to
/// `[-0.07, 0.07]`, moves the position by it and clips the position to
/// `[-1.2, 0.6]`; hitting the left wall stops the car. The reward is -1 per
/// step; the episode terminates when the position reaches 0.5 (with a
/// velocity >= 0). [`make`](super::make) adds the 200-step limit; the task
/// counts as solved at a mean return of -110. A reset puts the car at rest
/// at a position drawn uniformly from `[-0.6, -0.4)`.
///
/// ```
/// use nabla::rl::env::{Action, Env, MountainCar};
/// let mut env = MountainCar::new();
/// env.set_state([-0.5, 0.0]);
/// let step = env.step(&Action::Discrete(2)).unwrap();
/// // Near the valley's bottom, pushing right wins against the slope.
/// assert!(env.state()[1] > 0.0);
/// assert_eq!((step.reward, step.terminated), (-1.0, false));
/// ```
#[derive(Clone, Debug)]
pub struct MountainCar {
    state: [f64; 2],
    generator: Generator,
    phase: EpisodePhase,
}

impl Default for MountainCar {
    fn default() -> Self {
        Self::new()
    }
}

impl MountainCar {
    /// A mountain car whose generator is seeded with 0 until a reset gives
    /// a seed.
    pub fn new() -> Self {
        MountainCar {
            state: [0.0; 2],
            generator: Generator::new(0),
            phase: EpisodePhase::BeforeReset,
        }
    }

    /// The exact state `[position, velocity]`.
    pub fn state(&self) -> [f64; 2] {
        self.state
    }

    /// Starts an episode from `state` (for tests against recorded
    /// trajectories, and for pictures).
    pub fn set_state(&mut self, state: [f64; 2]) {
        self.state = state;
        self.phase = EpisodePhase::Running;
    }

    fn observation(&self) -> Vec<f32> {
        self.state.iter().map(|&v| v as f32).collect()
    }
}

impl Env for MountainCar {
    fn id(&self) -> &'static str {
        "MountainCar-v0"
    }

    fn observation_space(&self) -> Space {
        // Gymnasium's bounds are float32.
        let f32_bounds = |b: [f64; 2]| b.iter().map(|&v| f64::from(v as f32)).collect();
        Space::Box {
            low: f32_bounds([MIN_POSITION, -MAX_SPEED]),
            high: f32_bounds([MAX_POSITION, MAX_SPEED]),
        }
    }

    fn action_space(&self) -> Space {
        Space::Discrete(3)
    }

    fn reward_threshold(&self) -> Option<f64> {
        Some(-110.0)
    }

    fn reset(&mut self, seed: Option<u64>) -> Vec<f32> {
        if let Some(seed) = seed {
            self.generator = Generator::new(seed);
        }
        let (low, high) = (-0.6, -0.4);
        self.state = [low + (high - low) * self.generator.uniform(), 0.0];
        self.phase = EpisodePhase::Running;
        self.observation()
    }

    fn step(&mut self, action: &Action) -> Result<Step> {
        self.phase.check_running(self.id())?;
        self.action_space().check(action, self.id())?;
        let Action::Discrete(a) = *action else {
            unreachable!("checked against a discrete space")
        };
        let [mut position, mut velocity] = self.state;
        velocity += (a as f64 - 1.0) * FORCE + (3.0 * position).cos() * (-GRAVITY);
        velocity = velocity.clamp(-MAX_SPEED, MAX_SPEED);
        position += velocity;
        position = position.clamp(MIN_POSITION, MAX_POSITION);
        if position == MIN_POSITION && velocity < 0.0 {
            velocity = 0.0;
        }
        let terminated = position >= GOAL_POSITION && velocity >= GOAL_VELOCITY;
        self.state = [position, velocity];
        self.phase = EpisodePhase::after_step(terminated);
        Ok(Step {
            observation: self.observation(),
            reward: -1.0,
            terminated,
            truncated: false,
        })
    }
}
