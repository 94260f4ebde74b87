//! `Pendulum-v1`: swing a pendulum up and hold it upright with a limited
//! torque, to Gymnasium's `classic_control/pendulum.py`.

use std::f64::consts::PI;

use super::{pow2, pow2_f32, Action, Env, EpisodePhase, Space, Step};
use crate::error::{Error, Result};
use crate::tensor::Generator;

const MAX_SPEED: f64 = 8.0;
/// The largest torque; the action space is `[-2, 2]`.
const MAX_TORQUE: f32 = 2.0;
/// Seconds per step.
const DT: f64 = 0.05;
const MASS: f64 = 1.0;
const LENGTH: f64 = 1.0;

/// The pendulum, state `[theta, theta_dot]` in f64 (`theta` 0 upright),
/// observations `[cos theta, sin theta, theta_dot]` in f32.
///
/// The action is a torque `[u]`. Gymnasium does not reject a torque outside
/// `[-2, 2]`: it clips it (`np.clip(u, -2, 2)`), and so does this
/// environment, so a policy's unbounded Gaussian sample can be passed as it
/// is. An action of the wrong length, or NaN, is an error. The torque is an
/// f32, and Gymnasium's float32 action makes the terms `3 u` and
/// `0.001 u^2` float32 arithmetic, mirrored here down to numpy's `u**2`
/// (the C library's `powf`, not `u * u`: they differ in the last bit for
/// about 1 in 1000 torques).
///
/// A step costs `normalize(theta)^2 + 0.1 theta_dot^2 + 0.001 u^2` (the
/// reward is its negative, at most 0), then updates `theta_dot += (3 g /
/// (2 l) sin(theta) + 3 / (m l^2) u) dt`, clips it to `[-8, 8]` and moves
/// `theta += theta_dot dt` (semi-implicit Euler, dt = 0.05, g = 10). It
/// never terminates; [`make`](super::make) adds the 200-step limit, and
/// Gymnasium registers no reward threshold. A reset draws `theta` from
/// `[-pi, pi)` and `theta_dot` from `[-1, 1)`. Since an episode only ends
/// by its time limit, stepping past it is [`TimeLimit`](super::TimeLimit)'s
/// error to give.
///
/// ```
/// use nabla::rl::env::{Action, Env, Pendulum};
/// let mut env = Pendulum::new();
/// env.set_state([0.0, 0.0]);
/// // Upright and still costs only the torque; 5 is clipped to 2.
/// let step = env.step(&Action::Continuous(vec![5.0])).unwrap();
/// assert!((step.reward + 0.004).abs() < 1e-9);
/// assert!((env.state()[1] - 6.0 * 0.05).abs() < 1e-6);
/// assert!(env.step(&Action::Continuous(vec![0.0, 1.0])).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct Pendulum {
    state: [f64; 2],
    gravity: f64,
    last_torque: Option<f32>,
    generator: Generator,
    phase: EpisodePhase,
}

impl Default for Pendulum {
    fn default() -> Self {
        Self::new()
    }
}

impl Pendulum {
    /// A pendulum under Gymnasium's default gravity, 10.
    pub fn new() -> Self {
        Self::with_gravity(10.0)
    }

    /// A pendulum under gravity `g` (Gymnasium's `g` argument).
    pub fn with_gravity(g: f64) -> Self {
        Pendulum {
            state: [0.0; 2],
            gravity: g,
            last_torque: None,
            generator: Generator::new(0),
            phase: EpisodePhase::BeforeReset,
        }
    }

    /// The exact state `[theta, theta_dot]`.
    pub fn state(&self) -> [f64; 2] {
        self.state
    }

    /// Starts an episode from `state` (for tests against recorded
    /// trajectories, and for pictures).
    pub fn set_state(&mut self, state: [f64; 2]) {
        self.state = state;
        self.last_torque = None;
        self.phase = EpisodePhase::Running;
    }

    /// The torque the last step applied, after clipping (none since the
    /// reset).
    pub fn last_torque(&self) -> Option<f32> {
        self.last_torque
    }

    fn observation(&self) -> Vec<f32> {
        let [theta, theta_dot] = self.state;
        vec![theta.cos() as f32, theta.sin() as f32, theta_dot as f32]
    }

    /// The torque of `action`, clipped to `[-2, 2]`.
    fn torque(&self, action: &Action) -> Result<f32> {
        match action {
            Action::Continuous(u) if u.len() == 1 && !u[0].is_nan() => {
                Ok(u[0].clamp(-MAX_TORQUE, MAX_TORQUE))
            }
            _ => Err(Error::InvalidSetting {
                context: self.id().to_string(),
                message: format!(
                    "action {action:?} is not a torque: expected Continuous([u]) with u a number \
                     (clipped to [-{MAX_TORQUE}, {MAX_TORQUE}])"
                ),
            }),
        }
    }
}

/// `x` moved into `[-pi, pi)`, as Gymnasium's `angle_normalize` (Python's
/// `%` takes the sign of the divisor, as `rem_euclid`).
fn angle_normalize(x: f64) -> f64 {
    (x + PI).rem_euclid(2.0 * PI) - PI
}

impl Env for Pendulum {
    fn id(&self) -> &'static str {
        "Pendulum-v1"
    }

    fn observation_space(&self) -> Space {
        let high = vec![1.0, 1.0, MAX_SPEED];
        Space::Box {
            low: high.iter().map(|h| -h).collect(),
            high,
        }
    }

    fn action_space(&self) -> Space {
        Space::Box {
            low: vec![-f64::from(MAX_TORQUE)],
            high: vec![f64::from(MAX_TORQUE)],
        }
    }

    fn reset(&mut self, seed: Option<u64>) -> Vec<f32> {
        if let Some(seed) = seed {
            self.generator = Generator::new(seed);
        }
        for (v, high) in self.state.iter_mut().zip([PI, 1.0]) {
            let low = -high;
            *v = low + (high - low) * self.generator.uniform();
        }
        self.last_torque = None;
        self.phase = EpisodePhase::Running;
        self.observation()
    }

    fn step(&mut self, action: &Action) -> Result<Step> {
        self.phase.check_running(self.id())?;
        let u = self.torque(action)?;
        self.last_torque = Some(u);
        let [theta, theta_dot] = self.state;
        let (g, m, l) = (self.gravity, MASS, LENGTH);
        let costs = pow2(angle_normalize(theta)) + 0.1 * pow2(theta_dot) + f64::from(0.001f32 * pow2_f32(u));
        let torque_acc = f64::from((3.0 / (m * l * l)) as f32 * u);
        let new_theta_dot = theta_dot + (3.0 * g / (2.0 * l) * theta.sin() + torque_acc) * DT;
        let new_theta_dot = new_theta_dot.clamp(-MAX_SPEED, MAX_SPEED);
        let new_theta = theta + new_theta_dot * DT;
        self.state = [new_theta, new_theta_dot];
        Ok(Step {
            observation: self.observation(),
            reward: -costs,
            terminated: false,
            truncated: false,
        })
    }
}
