//! `Acrobot-v1`: two links hanging from a pivot, a torque at the joint
//! between them; swing the tip above a line (Sutton, 1996; Sutton and
//! Barto's book), to Gymnasium's `classic_control/acrobot.py`.

use std::f64::consts::PI;

use super::{pow2, Action, Env, EpisodePhase, Space, Step};
use crate::error::Result;
use crate::tensor::Generator;

/// Seconds integrated per step.
const DT: f64 = 0.2;
const LINK_LENGTH_1: f64 = 1.0;
const LINK_MASS_1: f64 = 1.0;
const LINK_MASS_2: f64 = 1.0;
/// Where each link's centre of mass sits along it.
const LINK_COM_POS_1: f64 = 0.5;
const LINK_COM_POS_2: f64 = 0.5;
/// Both links' moment of inertia.
const LINK_MOI: f64 = 1.0;
const GRAVITY: f64 = 9.8;
const MAX_VEL_1: f64 = 4.0 * PI;
const MAX_VEL_2: f64 = 9.0 * PI;
/// The torques of actions 0, 1 and 2.
const AVAIL_TORQUE: [f64; 3] = [-1.0, 0.0, 1.0];

/// The acrobot, state `[theta1, theta2, dtheta1, dtheta2]` in f64 (`theta1`
/// from straight down, `theta2` relative to the first link), observations
/// `[cos theta1, sin theta1, cos theta2, sin theta2, dtheta1, dtheta2]` in
/// f32.
///
/// Actions 0, 1, 2 apply a torque of -1, 0, +1 at the joint (Gymnasium's
/// torque noise is 0). A step integrates the book's equations of motion
/// (not the NIPS paper's, which miss a term) over 0.2 s with one step of
/// fourth-order Runge-Kutta, as Gymnasium's `rk4`, then wraps both angles
/// into `[-pi, pi]` and clips the velocities to `4 pi` and `9 pi`. The
/// reward is -1 per step and 0 on the step that terminates, when the tip
/// rises above the line: `-cos(theta1) - cos(theta2 + theta1) > 1`.
/// [`make`](super::make) adds the 500-step limit; the task counts as solved
/// at a mean return of -100. A reset draws each state variable uniformly
/// from `[-0.1, 0.1)` and rounds it to f32, as Gymnasium does.
///
/// ```
/// use nabla::rl::env::{Acrobot, Action, Env};
/// let mut env = Acrobot::new();
/// env.set_state([0.0; 4]);
/// let step = env.step(&Action::Discrete(2)).unwrap();
/// // Hanging still, a positive torque bends the joint one way and the first
/// // link swings back the other way.
/// assert!(env.state()[3] > 0.0 && env.state()[2] < 0.0);
/// assert_eq!(step.observation.len(), 6);
/// assert_eq!((step.reward, step.terminated), (-1.0, false));
/// ```
#[derive(Clone, Debug)]
pub struct Acrobot {
    state: [f64; 4],
    generator: Generator,
    phase: EpisodePhase,
}

impl Default for Acrobot {
    fn default() -> Self {
        Self::new()
    }
}

impl Acrobot {
    /// An acrobot whose generator is seeded with 0 until a reset gives a
    /// seed.
    pub fn new() -> Self {
        Acrobot {
            state: [0.0; 4],
            generator: Generator::new(0),
            phase: EpisodePhase::BeforeReset,
        }
    }

    /// The exact state `[theta1, theta2, dtheta1, dtheta2]`.
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
        let [theta1, theta2, dtheta1, dtheta2] = self.state;
        [
            theta1.cos(),
            theta1.sin(),
            theta2.cos(),
            theta2.sin(),
            dtheta1,
            dtheta2,
        ]
        .iter()
        .map(|&v| v as f32)
        .collect()
    }

    fn terminal(&self) -> bool {
        let [theta1, theta2, _, _] = self.state;
        -theta1.cos() - (theta2 + theta1).cos() > 1.0
    }
}

/// The time derivative of `[theta1, theta2, dtheta1, dtheta2, torque]`
/// (the torque's is 0), the book's equations in Gymnasium's order of
/// operations, its `**2` included (see [`pow2`]).
fn dsdt(s: [f64; 5]) -> [f64; 5] {
    let (m1, m2, l1) = (LINK_MASS_1, LINK_MASS_2, LINK_LENGTH_1);
    let (lc1, lc2) = (LINK_COM_POS_1, LINK_COM_POS_2);
    let (i1, i2, g) = (LINK_MOI, LINK_MOI, GRAVITY);
    let [theta1, theta2, dtheta1, dtheta2, a] = s;
    let d1 = m1 * pow2(lc1) + m2 * (pow2(l1) + pow2(lc2) + 2.0 * l1 * lc2 * theta2.cos()) + i1 + i2;
    let d2 = m2 * (pow2(lc2) + l1 * lc2 * theta2.cos()) + i2;
    let phi2 = m2 * lc2 * g * (theta1 + theta2 - PI / 2.0).cos();
    let phi1 = -m2 * l1 * lc2 * pow2(dtheta2) * theta2.sin()
        - 2.0 * m2 * l1 * lc2 * dtheta2 * dtheta1 * theta2.sin()
        + (m1 * lc1 + m2 * l1) * g * (theta1 - PI / 2.0).cos()
        + phi2;
    let ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * pow2(dtheta1) * theta2.sin() - phi2)
        / (m2 * pow2(lc2) + i2 - pow2(d2) / d1);
    let ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    [dtheta1, dtheta2, ddtheta1, ddtheta2, 0.0]
}

/// `y + h * k`, elementwise.
fn axpy(y: [f64; 5], h: f64, k: [f64; 5]) -> [f64; 5] {
    std::array::from_fn(|i| y[i] + h * k[i])
}

/// One fourth-order Runge-Kutta step of `dt` from `y0`, as Gymnasium's
/// `rk4(derivs, y0, [0, dt])`.
fn rk4(y0: [f64; 5], dt: f64) -> [f64; 5] {
    let dt2 = dt / 2.0;
    let k1 = dsdt(y0);
    let k2 = dsdt(axpy(y0, dt2, k1));
    let k3 = dsdt(axpy(y0, dt2, k2));
    let k4 = dsdt(axpy(y0, dt, k3));
    std::array::from_fn(|i| y0[i] + dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
}

/// `x` moved into `[low, high]` by whole turns, as Gymnasium's `wrap`.
fn wrap(mut x: f64, low: f64, high: f64) -> f64 {
    let diff = high - low;
    while x > high {
        x -= diff;
    }
    while x < low {
        x += diff;
    }
    x
}

impl Env for Acrobot {
    fn id(&self) -> &'static str {
        "Acrobot-v1"
    }

    fn observation_space(&self) -> Space {
        // Gymnasium's bounds are float32.
        let high: Vec<f64> = [1.0, 1.0, 1.0, 1.0, MAX_VEL_1, MAX_VEL_2]
            .iter()
            .map(|&h| f64::from(h as f32))
            .collect();
        Space::Box {
            low: high.iter().map(|h| -h).collect(),
            high,
        }
    }

    fn action_space(&self) -> Space {
        Space::Discrete(3)
    }

    fn reward_threshold(&self) -> Option<f64> {
        Some(-100.0)
    }

    fn reset(&mut self, seed: Option<u64>) -> Vec<f32> {
        if let Some(seed) = seed {
            self.generator = Generator::new(seed);
        }
        let (low, high) = (-0.1, 0.1);
        for v in &mut self.state {
            *v = f64::from((low + (high - low) * self.generator.uniform()) as f32);
        }
        self.phase = EpisodePhase::Running;
        self.observation()
    }

    fn step(&mut self, action: &Action) -> Result<Step> {
        self.phase.check_running(self.id())?;
        self.action_space().check(action, self.id())?;
        let Action::Discrete(a) = *action else {
            unreachable!("checked against a discrete space")
        };
        let [theta1, theta2, dtheta1, dtheta2] = self.state;
        let ns = rk4([theta1, theta2, dtheta1, dtheta2, AVAIL_TORQUE[a]], DT);
        self.state = [
            wrap(ns[0], -PI, PI),
            wrap(ns[1], -PI, PI),
            ns[2].clamp(-MAX_VEL_1, MAX_VEL_1),
            ns[3].clamp(-MAX_VEL_2, MAX_VEL_2),
        ];
        let terminated = self.terminal();
        self.phase = EpisodePhase::after_step(terminated);
        Ok(Step {
            observation: self.observation(),
            reward: if terminated { 0.0 } else { -1.0 },
            terminated,
            truncated: false,
        })
    }
}
