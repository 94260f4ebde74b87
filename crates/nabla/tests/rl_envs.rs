//! The environments' behaviour beyond their equations (which
//! `rl_env_golden` checks against Gymnasium): seeding, errors for bad
//! input, time limits, the vectorised wrapper's autoreset and episode
//! records, FrozenLake's paths and slips, and rendered frames.

use nabla::rl::env::{
    make, Acrobot, Action, CartPole, Env, FrozenLake, MountainCar, Pendulum, Space, SyncVectorEnv,
    TabularModel, TimeLimit, IDS, MAP_4X4, MAP_8X8,
};
use nabla::Generator;

/// An action of `space` chosen by `generator`.
fn sample(space: &Space, generator: &mut Generator) -> Action {
    match space {
        Space::Discrete(n) => Action::Discrete(generator.below(*n)),
        Space::Box { low, high } => Action::Continuous(
            low.iter()
                .zip(high)
                .map(|(l, h)| (l + (h - l) * generator.uniform()) as f32)
                .collect(),
        ),
    }
}

/// The observations and rewards of one episode of `env` from
/// `reset(seed)` under actions drawn from a generator seeded with 99.
fn episode(env: &mut dyn Env, seed: Option<u64>) -> (Vec<Vec<f32>>, Vec<f64>) {
    let mut actions = Generator::new(99);
    let mut observations = vec![env.reset(seed)];
    let mut rewards = Vec::new();
    loop {
        let step = env.step(&sample(&env.action_space(), &mut actions)).unwrap();
        rewards.push(step.reward);
        let done = step.done();
        observations.push(step.observation);
        if done {
            return (observations, rewards);
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_episode_and_other_seeds_others() {
    for id in IDS {
        let mut env = make(id).unwrap();
        let first = episode(env.as_mut(), Some(3));
        let again = episode(make(id).unwrap().as_mut(), Some(3));
        assert_eq!(first, again, "{id}: seed 3 twice");
        let other = episode(env.as_mut(), Some(4));
        assert_ne!(first, other, "{id}: seeds 3 and 4");
        // Without a seed the generator goes on: another episode.
        let next = episode(env.as_mut(), None);
        assert_ne!(other, next, "{id}: a reset without a seed");
    }
}

#[test]
fn registered_spaces_limits_and_thresholds() {
    let expected: [(&str, usize, Space, Option<f64>); 6] = [
        ("CartPole-v1", 4, Space::Discrete(2), Some(475.0)),
        ("Acrobot-v1", 6, Space::Discrete(3), Some(-100.0)),
        ("MountainCar-v0", 2, Space::Discrete(3), Some(-110.0)),
        (
            "Pendulum-v1",
            3,
            Space::Box {
                low: vec![-2.0],
                high: vec![2.0],
            },
            None,
        ),
        ("FrozenLake-v1", 1, Space::Discrete(4), Some(0.70)),
        ("FrozenLake8x8-v1", 1, Space::Discrete(4), Some(0.85)),
    ];
    assert_eq!(IDS.len(), expected.len());
    for (id, dim, action_space, threshold) in expected {
        let env = make(id).unwrap();
        assert_eq!(env.id(), id);
        assert_eq!(env.observation_space().dim(), dim, "{id}");
        assert_eq!(env.action_space(), action_space, "{id}");
        assert_eq!(env.reward_threshold(), threshold, "{id}");
    }
    assert_eq!(
        make("FrozenLake-v1").unwrap().observation_space(),
        Space::Discrete(16)
    );
    assert_eq!(
        make("FrozenLake8x8-v1").unwrap().observation_space(),
        Space::Discrete(64)
    );
    let err = make("LunarLander-v3").err().unwrap().to_string();
    assert!(
        err.contains("LunarLander-v3") && err.contains("Pendulum-v1"),
        "{err}"
    );
}

/// Steps `env` with `action` until the episode ends; the number of steps
/// and the last step's flags.
fn run_to_end(env: &mut dyn Env, action: &Action) -> (usize, bool, bool) {
    for n in 1.. {
        let step = env.step(action).unwrap();
        if step.done() {
            return (n, step.terminated, step.truncated);
        }
    }
    unreachable!()
}

#[test]
fn time_limits_truncate_at_the_registered_step() {
    // Actions that never reach a terminal state: no torque, no push, walking
    // into the lake's left edge.
    let cases = [
        ("Acrobot-v1", Action::Discrete(1), 500),
        ("MountainCar-v0", Action::Discrete(1), 200),
        ("Pendulum-v1", Action::Continuous(vec![0.0]), 200),
        ("FrozenLake-v1", Action::Discrete(0), 100),
        ("FrozenLake8x8-v1", Action::Discrete(0), 200),
    ];
    for (id, action, limit) in cases {
        let mut env = make(id).unwrap();
        env.reset(Some(0));
        if id.starts_with("FrozenLake") {
            // Left from the start stays put or slips down; keep it on the
            // non-slippery lake of the same map and limit instead.
            let map: &[&str] = if id == "FrozenLake-v1" { &MAP_4X4 } else { &MAP_8X8 };
            let lake = FrozenLake::new(map, false).unwrap();
            env = Box::new(TimeLimit::new(lake.clone(), lake.max_episode_steps()));
            env.reset(Some(0));
        }
        assert_eq!(run_to_end(env.as_mut(), &action), (limit, false, true), "{id}");
        let err = env.step(&action).unwrap_err().to_string();
        assert!(err.contains(id) && err.contains("reset"), "{id}: {err}");
        // A reset starts the count again.
        env.reset(None);
        assert_eq!(
            run_to_end(env.as_mut(), &action),
            (limit, false, true),
            "{id} after a reset"
        );
    }
}

#[test]
fn bad_actions_are_errors_naming_the_environment() {
    for id in IDS {
        let mut env = make(id).unwrap();
        env.reset(Some(0));
        let bad = match env.action_space() {
            Space::Discrete(n) => vec![Action::Discrete(n), Action::Continuous(vec![0.0])],
            Space::Box { .. } => vec![
                Action::Discrete(0),
                Action::Continuous(vec![]),
                Action::Continuous(vec![0.5, 0.5]),
                Action::Continuous(vec![f32::NAN]),
            ],
        };
        for action in bad {
            let err = env.step(&action).unwrap_err().to_string();
            assert!(err.contains(id), "{id}, {action:?}: {err}");
        }
        // A rejected action leaves the episode going.
        env.step(&sample(&env.action_space(), &mut Generator::new(0)))
            .unwrap();
    }
}

#[test]
fn pendulum_clips_out_of_range_torques_as_gymnasium() {
    let mut clipped = Pendulum::new();
    let mut bound = Pendulum::new();
    for (torque, limit) in [(7.5f32, 2.0f32), (-100.0, -2.0), (f32::INFINITY, 2.0)] {
        clipped.set_state([0.3, -0.2]);
        bound.set_state([0.3, -0.2]);
        let a = clipped.step(&Action::Continuous(vec![torque])).unwrap();
        let b = bound.step(&Action::Continuous(vec![limit])).unwrap();
        assert_eq!(a, b, "torque {torque}");
        assert_eq!(clipped.state(), bound.state());
        assert_eq!(clipped.last_torque(), Some(limit));
    }
}

#[test]
fn steps_before_reset_or_after_termination_are_errors() {
    let fresh: Vec<Box<dyn Env>> = vec![
        Box::new(CartPole::new()),
        Box::new(Acrobot::new()),
        Box::new(MountainCar::new()),
        Box::new(Pendulum::new()),
        Box::new(FrozenLake::four_by_four(true)),
        make("CartPole-v1").unwrap(),
    ];
    for mut env in fresh {
        let action = sample(&env.action_space(), &mut Generator::new(0));
        let err = env.step(&action).unwrap_err().to_string();
        assert!(err.contains(env.id()) && err.contains("before reset"), "{err}");
    }

    // Each driven into a terminal state, then stepped again.
    let mut cart = CartPole::new();
    cart.reset(Some(0));
    assert!(run_to_end(&mut cart, &Action::Discrete(1)).1);
    let mut acrobot = Acrobot::new();
    acrobot.set_state([std::f64::consts::PI - 0.1, 0.0, 0.0, 0.0]);
    assert!(acrobot.step(&Action::Discrete(1)).unwrap().terminated);
    let mut car = MountainCar::new();
    car.set_state([0.49, 0.05]);
    assert!(car.step(&Action::Discrete(2)).unwrap().terminated);
    let mut lake = FrozenLake::four_by_four(false);
    lake.reset(Some(0));
    lake.step(&Action::Discrete(2)).unwrap();
    let hole = lake.step(&Action::Discrete(1)).unwrap(); // from 1 down into the hole at 5
    assert_eq!(
        (hole.observation, hole.reward, hole.terminated),
        (vec![5.0], 0.0, true)
    );
    let ended: [(&mut dyn Env, Action); 4] = [
        (&mut cart, Action::Discrete(0)),
        (&mut acrobot, Action::Discrete(0)),
        (&mut car, Action::Discrete(0)),
        (&mut lake, Action::Discrete(0)),
    ];
    for (env, action) in ended {
        let err = env.step(&action).unwrap_err().to_string();
        assert!(err.contains(env.id()) && err.contains("ended"), "{err}");
        env.reset(None);
        env.step(&action).unwrap();
    }
}

#[test]
fn frozen_lake_paths_reach_the_goal_without_slipping() {
    // Down, down, right, down, right, right on the 4x4 map.
    let mut env = TimeLimit::new(FrozenLake::four_by_four(false), 100);
    assert_eq!(env.reset(Some(5)), vec![0.0]);
    let mut cells = Vec::new();
    let mut last = None;
    for a in [1, 1, 2, 1, 2, 2] {
        let step = env.step(&Action::Discrete(a)).unwrap();
        cells.push(step.observation[0] as usize);
        last = Some(step);
    }
    assert_eq!(cells, [4, 8, 9, 13, 14, 15]);
    let last = last.unwrap();
    assert_eq!((last.reward, last.terminated, last.truncated), (1.0, true, false));

    // The 8x8 lake: right along the top row, then down the right edge.
    let mut env = FrozenLake::eight_by_eight(false);
    env.reset(Some(5));
    let path = [2; 7].into_iter().chain([1; 7]);
    let rewards: Vec<f64> = path
        .map(|a| env.step(&Action::Discrete(a)).unwrap().reward)
        .collect();
    assert_eq!(rewards.iter().sum::<f64>(), 1.0);
    assert_eq!(env.state(), 63);
    assert_eq!(env.id(), "FrozenLake8x8-v1");
}

#[test]
fn slippery_moves_go_each_of_three_ways_a_third_of_the_time() {
    let mut lake = FrozenLake::four_by_four(true);
    // From cell 1 (top row), down: left to 0, down into the hole at 5, or
    // right to 2.
    let outcomes: Vec<usize> = lake.transitions(1, 1).iter().map(|t| t.next_state).collect();
    assert_eq!(outcomes, [0, 5, 2]);
    lake.reset(Some(11));
    let n = 6000;
    let mut counts = [0usize; 16];
    for _ in 0..n {
        lake.set_state(1).unwrap();
        let step = lake.step(&Action::Discrete(1)).unwrap();
        counts[step.observation[0] as usize] += 1;
    }
    for cell in [0, 2, 5] {
        let share = counts[cell] as f64 / n as f64;
        // 4 standard deviations of a share of 1/3 over 6000 draws: 0.024.
        assert!((share - 1.0 / 3.0).abs() < 0.024, "cell {cell}: {share}");
    }
    assert_eq!(counts[0] + counts[2] + counts[5], n);
    for s in 0..lake.num_states() {
        for a in 0..lake.num_actions() {
            let total: f64 = lake.transitions(s, a).iter().map(|t| t.probability).sum();
            assert!((total - 1.0).abs() < 1e-15, "P[{s}][{a}] sums to {total}");
        }
    }
    assert!(lake.set_state(16).is_err());
    assert!(FrozenLake::new(&["SFX"], true).is_err());
    assert!(FrozenLake::new(&["SF", "F"], true).is_err());
    assert!(FrozenLake::new(&["FF", "FG"], true).is_err());
}

#[test]
fn vector_env_resets_finished_copies_and_records_their_episodes() {
    // MountainCar doing nothing never reaches the flag: every copy is
    // truncated at step 200, and reset in the same step.
    let envs = (0..3)
        .map(|_| make("MountainCar-v0"))
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let mut vector = SyncVectorEnv::new(envs).unwrap();
    let first = vector.reset(Some(10));
    let idle = vec![Action::Discrete(1); 3];
    for _ in 0..199 {
        let step = vector.step(&idle).unwrap();
        assert!(step.episodes.is_empty());
    }
    let step = vector.step(&idle).unwrap();
    assert_eq!(step.truncated, [true; 3]);
    assert_eq!(step.terminated, [false; 3]);
    assert_eq!(step.episodes.len(), 3);
    for (i, record) in step.episodes.iter().enumerate() {
        assert_eq!(
            (record.env_index, record.length, record.terminated),
            (i, 200, false)
        );
        assert_eq!(record.episodic_return, -200.0);
        let last = step.final_observations[i].as_ref().unwrap();
        // The new episode starts at rest in [-0.6, -0.4], not where the
        // old one ended.
        let new = &step.observations[2 * i..2 * i + 2];
        assert!((-0.6..-0.4).contains(&new[0]) && new[1] == 0.0, "{new:?}");
        assert_ne!(last.as_slice(), new);
        // Copy i was seeded with 10 + i, then reset without a seed.
        assert_ne!(&first[2 * i..2 * i + 2], new);
    }

    // CartPole pushed always right ends at different steps in each copy;
    // each record's return is its length.
    let envs = (0..4)
        .map(|_| make("CartPole-v1"))
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let mut vector = SyncVectorEnv::new(envs).unwrap();
    vector.reset(Some(0));
    let mut lengths = [0usize; 4];
    let mut records = Vec::new();
    while records.len() < 12 {
        let step = vector
            .step(&[
                Action::Discrete(1),
                Action::Discrete(1),
                Action::Discrete(1),
                Action::Discrete(1),
            ])
            .unwrap();
        for (i, length) in lengths.iter_mut().enumerate() {
            *length += 1;
            if step.terminated[i] {
                assert!(step.final_observations[i].is_some());
            }
        }
        for record in step.episodes {
            assert!(record.terminated);
            assert_eq!(record.length, lengths[record.env_index]);
            assert_eq!(record.episodic_return, record.length as f64);
            lengths[record.env_index] = 0;
            records.push(record);
        }
    }
    assert!(vector.step(&[Action::Discrete(0)]).is_err());
    let mixed = vec![make("CartPole-v1").unwrap(), make("Acrobot-v1").unwrap()];
    assert!(SyncVectorEnv::new(mixed).is_err());
}

#[test]
fn frames_show_each_environment() {
    let mut cart = CartPole::new();
    cart.set_state([1.0, 0.0, 0.2, 0.0]);
    let frame = cart.render_rgb();
    assert_eq!(frame.pixels.len(), 600 * 400 * 3);
    // The cart is centred at x = 1.0 * 125 + 300 = 425; the track line is
    // row 399 - 100 = 299, white far from the cart.
    assert_eq!(frame.pixel(410, 295), [0, 0, 0]);
    assert_eq!(frame.pixel(425, 292), [129, 132, 203]); // the axle
    assert_eq!(frame.pixel(300, 295), [255, 255, 255]);
    assert_eq!(frame.pixel(10, 299), [0, 0, 0]);
    // The pole leans right by 0.2 rad: 100 pixels up its axis the pole is
    // at x = 425 + 100 sin 0.2 = 444.9.
    let row = (399.0 - (107.5 + 100.0 * 0.2f64.cos())) as usize;
    assert_eq!(frame.pixel(445, row), [202, 152, 101]);
    assert_eq!(frame.pixel(425, row), [255, 255, 255]);

    let mut acrobot = Acrobot::new();
    acrobot.set_state([0.0; 4]);
    let frame = acrobot.render_rgb();
    assert_eq!((frame.width, frame.height), (500, 500));
    // Hanging straight down from the centre: link pixels below it.
    assert_eq!(frame.pixel(250, 300), [0, 204, 204]);
    assert_eq!(frame.pixel(250, 200), [255, 255, 255]);

    let mut car = MountainCar::new();
    car.set_state([-0.5, 0.0]);
    assert_eq!(car.render_rgb().width, 600);
    let mut pendulum = Pendulum::new();
    pendulum.set_state([0.0, 0.0]);
    let frame = pendulum.render_rgb();
    // Upright: the rod rises above the centre.
    assert_eq!(frame.pixel(250, 180), [204, 77, 77]);
    assert_eq!(frame.pixel(250, 320), [255, 255, 255]);
}
