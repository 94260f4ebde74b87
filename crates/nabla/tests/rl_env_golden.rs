//! The environments against Gymnasium 1.4: trajectories of CartPole-v1,
//! Acrobot-v1, MountainCar-v0 and Pendulum-v1 under recorded action
//! sequences, FrozenLake-v1's transition tables and text render, and what
//! Gymnasium's renderer draws, from `scripts/make_rl_env_fixtures.py`.
//!
//! Each trajectory starts from Gymnasium's recorded state (nabla's
//! generator is not numpy's, so a reset draws other states) and replays the
//! recorded actions through the registered time limit. States must agree to
//! 1e-12 (relative to values above 1), observations exactly as f32,
//! rewards to 1e-12 and the terminated / truncated flags exactly. The
//! arithmetic is Gymnasium's operation for operation (numpy's `x**2` as the
//! C library's `pow`, Pendulum's float32 torque terms in f32), so on Linux
//! with glibc the states agree to the last bit (the test prints the largest
//! deviation), even over Acrobot's chaotic 500 steps and Pendulum's swings
//! through its unstable upright position, where a one-ulp difference would
//! grow past 1e-12 within tens of steps. The tolerance leaves room for a C
//! library whose sin, cos or pow differs from glibc's by an ulp on short
//! trajectories; on another platform the long chaotic ones may then need
//! regenerating there.

mod common;

use common::read_fixtures;
use nabla::rl::env::{
    Acrobot, Action, CartPole, Env, Frame, FrozenLake, MountainCar, Pendulum, TabularModel, TimeLimit,
    MAP_4X4, MAP_8X8,
};
use serde_json::Value;

const PATH: &str = "tests/fixtures/rl_envs.json";
const SCRIPT: &str = "make_rl_env_fixtures.py";
const STATE_TOLERANCE: f64 = 1e-12;

/// An environment whose exact state a test can set and read.
trait WithState: Env {
    fn set(&mut self, state: &[f64]);
    fn get(&self) -> Vec<f64>;
}

impl WithState for CartPole {
    fn set(&mut self, state: &[f64]) {
        self.set_state(state.try_into().unwrap());
    }
    fn get(&self) -> Vec<f64> {
        self.state().to_vec()
    }
}

impl WithState for Acrobot {
    fn set(&mut self, state: &[f64]) {
        self.set_state(state.try_into().unwrap());
    }
    fn get(&self) -> Vec<f64> {
        self.state().to_vec()
    }
}

impl WithState for MountainCar {
    fn set(&mut self, state: &[f64]) {
        self.set_state(state.try_into().unwrap());
    }
    fn get(&self) -> Vec<f64> {
        self.state().to_vec()
    }
}

impl WithState for Pendulum {
    fn set(&mut self, state: &[f64]) {
        self.set_state(state.try_into().unwrap());
    }
    fn get(&self) -> Vec<f64> {
        self.state().to_vec()
    }
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn rows(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(floats).collect()
}

fn flags(v: &Value) -> Vec<bool> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() == 1)
        .collect()
}

/// How far `got` is from `want`, relative to values above 1.
fn deviation(got: f64, want: f64) -> f64 {
    (got - want).abs() / want.abs().max(1.0)
}

/// What a replay found: the steps compared and the largest state deviation.
struct Replay {
    steps: usize,
    worst: f64,
}

/// Replays the trajectory `case` from its initial state through `env`
/// (unwrapped) under the time limit `limit`, asserting each step.
fn replay<E: WithState>(mut env: E, limit: usize, case: &Value) -> Replay {
    let name = format!("{} seed {}", case["env"].as_str().unwrap(), case["seed"]);
    env.set(&floats(&case["initial_state"]));
    let mut env = TimeLimit::new(env, limit);
    let actions = case["actions"].as_array().unwrap();
    let states = rows(&case["states"]);
    let observations = rows(&case["observations"]);
    let rewards = floats(&case["rewards"]);
    let (terminated, truncated) = (flags(&case["terminated"]), flags(&case["truncated"]));
    let mut worst: f64 = 0.0;
    for (t, action) in actions.iter().enumerate() {
        let action = match action.as_u64() {
            Some(a) => Action::Discrete(a as usize),
            None => Action::Continuous(vec![action.as_f64().unwrap() as f32]),
        };
        let step = env
            .step(&action)
            .unwrap_or_else(|e| panic!("{name} step {t}: {e}"));
        let state = env.inner().get();
        let step_worst = state
            .iter()
            .zip(&states[t])
            .map(|(&g, &w)| deviation(g, w))
            .fold(0.0, f64::max);
        worst = worst.max(step_worst);
        assert!(
            step_worst <= STATE_TOLERANCE,
            "{name} step {t}: state {state:?}, Gymnasium's {:?}",
            states[t]
        );
        let want: Vec<f32> = observations[t].iter().map(|&v| v as f32).collect();
        assert_eq!(step.observation, want, "{name} step {t}: observation");
        assert!(
            deviation(step.reward, rewards[t]) <= STATE_TOLERANCE,
            "{name} step {t}: reward {} vs Gymnasium's {}",
            step.reward,
            rewards[t]
        );
        assert_eq!(
            (step.terminated, step.truncated),
            (terminated[t], truncated[t]),
            "{name} step {t}: (terminated, truncated)"
        );
    }
    if terminated.last() == Some(&true) || truncated.last() == Some(&true) {
        assert!(
            env.step(&actions_like(&actions[0])).is_err(),
            "{name}: a step after the end must fail"
        );
    }
    Replay {
        steps: actions.len(),
        worst,
    }
}

fn actions_like(action: &Value) -> Action {
    match action.as_u64() {
        Some(_) => Action::Discrete(0),
        None => Action::Continuous(vec![0.0]),
    }
}

#[test]
fn classic_control_trajectories_match_gymnasium() {
    let root = read_fixtures(PATH, SCRIPT);
    let cases = root["trajectories"].as_array().unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for case in cases {
        let id = case["env"].as_str().unwrap();
        seen.insert(id);
        let replay = match id {
            "CartPole-v1" => replay(CartPole::new(), 500, case),
            "Acrobot-v1" => replay(Acrobot::new(), 500, case),
            "MountainCar-v0" => replay(MountainCar::new(), 200, case),
            "Pendulum-v1" => replay(Pendulum::new(), 200, case),
            other => panic!("{PATH}: unexpected environment {other}"),
        };
        eprintln!(
            "{id} seed {}: {} steps, largest state deviation {:e}",
            case["seed"], replay.steps, replay.worst
        );
    }
    assert_eq!(seen.len(), 4, "{PATH}: trajectories of {seen:?}");
}

#[test]
fn frozen_lake_tables_match_gymnasium() {
    let root = read_fixtures(PATH, SCRIPT);
    let lakes = root["frozen_lake"].as_array().unwrap();
    assert_eq!(lakes.len(), 4);
    for lake in lakes {
        let slippery = lake["slippery"].as_bool().unwrap();
        let map: &[&str] = match lake["map"].as_str().unwrap() {
            "4x4" => &MAP_4X4,
            _ => &MAP_8X8,
        };
        let env = FrozenLake::new(map, slippery).unwrap();
        let table = lake["P"].as_array().unwrap();
        assert_eq!(env.num_states(), table.len());
        for (s, actions) in table.iter().enumerate() {
            for (a, outcomes) in actions.as_array().unwrap().iter().enumerate() {
                let want: Vec<(f64, usize, f64, bool)> = outcomes
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|o| {
                        (
                            o[0].as_f64().unwrap(),
                            o[1].as_u64().unwrap() as usize,
                            o[2].as_f64().unwrap(),
                            o[3].as_u64().unwrap() == 1,
                        )
                    })
                    .collect();
                let got: Vec<(f64, usize, f64, bool)> = env
                    .transitions(s, a)
                    .iter()
                    .map(|t| (t.probability, t.next_state, t.reward, t.terminated))
                    .collect();
                assert_eq!(got, want, "{} slippery={slippery}: P[{s}][{a}]", lake["map"]);
            }
        }
        for case in lake["texts"].as_array().unwrap() {
            let mut env = FrozenLake::new(map, slippery).unwrap();
            env.reset(Some(0));
            let actions = case["actions"].as_array().unwrap();
            for a in actions {
                env.step(&Action::Discrete(a.as_u64().unwrap() as usize)).unwrap();
            }
            let want = case["text"].as_str().unwrap();
            assert_eq!(env.render_text(), want, "{} after {actions:?}", lake["map"]);
        }
    }
}

/// The pixels of exactly `rgb` in `frame`: their number and bounding box
/// `[x0, y0, x1, y1]`.
fn colour_stats(frame: &Frame, rgb: [u8; 3]) -> (usize, [usize; 4]) {
    let mut count = 0;
    let mut bounds = [usize::MAX, usize::MAX, 0, 0];
    for y in 0..frame.height {
        for x in 0..frame.width {
            if frame.pixel(x, y) == rgb {
                count += 1;
                bounds = [
                    bounds[0].min(x),
                    bounds[1].min(y),
                    bounds[2].max(x),
                    bounds[3].max(y),
                ];
            }
        }
    }
    (count, bounds)
}

/// Frames drawn where Gymnasium's pygame renderer draws. The fills follow
/// SDL_gfx's, so every pixel Gymnasium paints in a solid colour is painted
/// so here too (checked by hand on whole frames: the only differing pixels
/// are the anti-aliased outlines Gymnasium blends over the fills' edges and
/// MountainCar's anti-aliased track); the fixture keeps per colour its
/// pixel count and box. nabla's count may exceed Gymnasium's by the edge
/// pixels Gymnasium blended (up to 6%), and the boxes agree to a pixel.
#[test]
fn frames_match_gymnasium_renders() {
    let root = read_fixtures(PATH, SCRIPT);
    let cases = root["frames"].as_array().unwrap();
    assert!(cases.len() >= 4);
    for case in cases {
        let id = case["env"].as_str().unwrap();
        let state = floats(&case["state"]);
        let frame = match id {
            "CartPole-v1" => with_state(CartPole::new(), &state).render_rgb(),
            "Acrobot-v1" => with_state(Acrobot::new(), &state).render_rgb(),
            "MountainCar-v0" => with_state(MountainCar::new(), &state).render_rgb(),
            "Pendulum-v1" => with_state(Pendulum::new(), &state).render_rgb(),
            other => panic!("{PATH}: unexpected environment {other}"),
        };
        let size = (
            case["width"].as_u64().unwrap() as usize,
            case["height"].as_u64().unwrap() as usize,
        );
        assert_eq!((frame.width, frame.height), size, "{id}");
        for colour in case["colours"].as_array().unwrap() {
            let rgb: Vec<u8> = colour["rgb"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_u64().unwrap() as u8)
                .collect();
            let rgb = [rgb[0], rgb[1], rgb[2]];
            let want_count = colour["count"].as_u64().unwrap() as f64;
            let want_box: Vec<f64> = floats(&colour["box"]);
            let (count, bounds) = colour_stats(&frame, rgb);
            let at = format!("{id} at {state:?}, colour {rgb:?}");
            assert!(
                count as f64 >= want_count && count as f64 <= 1.06 * want_count,
                "{at}: {count} pixels, Gymnasium {want_count}"
            );
            for (got, want) in bounds.iter().zip(&want_box) {
                assert!(
                    (*got as f64 - want).abs() <= 2.0,
                    "{at}: box {bounds:?}, Gymnasium {want_box:?}"
                );
            }
        }
    }
}

fn with_state<E: WithState>(mut env: E, state: &[f64]) -> E {
    env.set(state);
    env
}
