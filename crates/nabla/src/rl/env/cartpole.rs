//! `CartPole-v1`: a pole hinged on a cart; push the cart left or right to
//! keep the pole up (Barto, Sutton and Anderson, 1983), to Gymnasium's
//! `classic_control/cartpole.py`.

use super::{Action, Env, EpisodePhase, Space, Step};
use crate::error::Result;
use crate::tensor::Generator;

const GRAVITY: f64 = 9.8;
const MASS_CART: f64 = 1.0;
const MASS_POLE: f64 = 0.1;
const TOTAL_MASS: f64 = MASS_POLE + MASS_CART;
/// Half the pole's length.
pub(crate) const LENGTH: f64 = 0.5;
const POLE_MASS_LENGTH: f64 = MASS_POLE * LENGTH;
const FORCE_MAG: f64 = 10.0;
/// Seconds between state updates.
const TAU: f64 = 0.02;
/// The pole falls at 12 degrees.
const THETA_THRESHOLD: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
/// The cart leaves the track at 2.4.
pub(crate) const X_THRESHOLD: f64 = 2.4;

/// The cart-pole system, state `[x, x_dot, theta, theta_dot]` in f64 and
/// observations in f32, as Gymnasium keeps them.
///
/// Actions: 0 pushes the cart left, 1 right, with a force of 10 N. Each
/// step integrates the equations of motion for 0.02 s with Euler's method
/// (x, then its velocity, then theta, then its velocity, each from the old
/// values). The reward is 1 for every step, the terminating one included.
/// The episode terminates when the pole passes 12 degrees or the cart
/// leaves `[-2.4, 2.4]`; [`make`](super::make) adds the 500-step limit.
/// A reset draws each state variable uniformly from `[-0.05, 0.05)`.
///
/// ```
/// use nabla::rl::env::{Action, CartPole, Env};
/// let mut env = CartPole::new();
/// env.set_state([0.0, 0.0, 0.0, 0.0]);
/// let step = env.step(&Action::Discrete(1)).unwrap();
/// // One push right: the cart speeds up by (10 / 1.1 - 0.05 * a_theta / 1.1) * 0.02.
/// assert!(step.observation[1] > 0.17 && step.observation[1] < 0.2);
/// assert!(step.observation[3] < 0.0); // the pole starts to fall left
/// assert_eq!(step.reward, 1.0);
/// ```
#[derive(Clone, Debug)]
pub struct CartPole {
    state: [f64; 4],
    generator: Generator,
    phase: EpisodePhase,
}

impl Default for CartPole {
    fn default() -> Self {
        Self::new()
    }
}

impl CartPole {
    /// A cart-pole whose generator is seeded with 0 until a reset gives a
    /// seed.
    pub fn new() -> Self {
        CartPole {
            state: [0.0; 4],
            generator: Generator::new(0),
            phase: EpisodePhase::BeforeReset,
        }
    }

    /// The exact state `[x, x_dot, theta, theta_dot]`.
    pub fn state(&self) -> [f64; 4] {
        self.state
    }

    /// Starts an episode from `state` (for tests against recorded
    /// trajectories, and for pictures).
    pub fn set_state(&mut self, state: [f64; 4]) {
        self.state = state;
        self.phase = EpisodePhase::Running;
    }

    fn observation(&self) -> Vec<f32> {
        self.state.iter().map(|&v| v as f32).collect()
    }
}

impl Env for CartPole {
    fn id(&self) -> &'static str {
        "CartPole-v1"
    }

    fn observation_space(&self) -> Space {
        let high = vec![
            X_THRESHOLD * 2.0,
            f64::INFINITY,
            THETA_THRESHOLD * 2.0,
            f64::INFINITY,
        ];
        Space::Box {
            low: high.iter().map(|h| -h).collect(),
            high,
        }
    }

    fn action_space(&self) -> Space {
        Space::Discrete(2)
    }

    fn reward_threshold(&self) -> Option<f64> {
        Some(475.0)
    }

    fn reset(&mut self, seed: Option<u64>) -> Vec<f32> {
        if let Some(seed) = seed {
            self.generator = Generator::new(seed);
        }
        for v in &mut self.state {
            *v = -0.05 + 0.1 * self.generator.uniform();
        }
        self.phase = EpisodePhase::Running;
        self.observation()
    }

    fn step(&mut self, action: &Action) -> Result<Step> {
        self.phase.check_running(self.id())?;
        self.action_space().check(action, self.id())?;
        let force = if *action == Action::Discrete(1) {
            FORCE_MAG
        } else {
            -FORCE_MAG
        };
        let [x, x_dot, theta, theta_dot] = self.state;
        let (sin, cos) = (theta.sin(), theta.cos());
        let temp = (force + POLE_MASS_LENGTH * (theta_dot * theta_dot) * sin) / TOTAL_MASS;
        let theta_acc =
            (GRAVITY * sin - cos * temp) / (LENGTH * (4.0 / 3.0 - MASS_POLE * (cos * cos) / TOTAL_MASS));
        let x_acc = temp - POLE_MASS_LENGTH * theta_acc * cos / TOTAL_MASS;
        self.state = [
            x + TAU * x_dot,
            x_dot + TAU * x_acc,
            theta + TAU * theta_dot,
            theta_dot + TAU * theta_acc,
        ];
        let [x, _, theta, _] = self.state;
        let terminated = !(-X_THRESHOLD..=X_THRESHOLD).contains(&x)
            || !(-THETA_THRESHOLD..=THETA_THRESHOLD).contains(&theta);
        self.phase = EpisodePhase::after_step(terminated);
        Ok(Step {
            observation: self.observation(),
            reward: 1.0,
            terminated,
            truncated: false,
        })
    }
}
