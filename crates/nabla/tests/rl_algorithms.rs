//! The algorithms of `nabla::rl`: returns and GAE against hand-computed
//! values, the replay buffer's uniform sampling, value iteration's optimal
//! values on a deterministic lake, short learning runs of Q-learning,
//! REINFORCE, DQN and PPO, reproducibility, policy checkpoints and the
//! errors for bad settings and environments.

use std::collections::VecDeque;
use std::ops::ControlFlow;

use nabla::nn::Module;
use nabla::rl::env::{make, Env, FrozenLake, SyncVectorEnv, TabularModel, TimeLimit};
use nabla::rl::{
    discounted_returns, evaluate, gae, load_policy, q_learning, save_policy, train_a2c, train_dqn, train_ppo,
    train_reinforce, value_iteration, A2cConfig, DqnConfig, Event, PpoConfig, QLearningConfig,
    ReinforceConfig, ReplayBuffer, Rollout, TrainedPolicy,
};
use nabla::{Generator, Tensor};

#[test]
fn discounted_returns_by_hand() {
    // G_2 = 3; G_1 = 2 + 0.9 * 3 = 4.7; G_0 = 1 + 0.9 * 4.7 = 5.23
    let g = discounted_returns(&[1.0, 2.0, 3.0], 0.9);
    for (got, want) in g.iter().zip([5.23, 4.7, 3.0]) {
        assert!((got - want).abs() < 1e-12, "{g:?}");
    }
}

#[test]
fn gae_by_hand_over_two_environments_and_an_episode_boundary() {
    // T = 3 steps of N = 2 environments, time-major; env 1's episode ends at t = 1.
    let rewards = [1.0, 0.0, 0.5, 2.0, -1.0, 1.0];
    let values = [0.2, 0.4, 0.1, 0.3, 0.6, 0.5];
    let ends = [false, false, false, true, false, false];
    let next_values = [0.7, 0.9];
    let (gamma, lambda) = (0.9, 0.8);
    let (adv, ret) = gae(
        Rollout {
            rewards: &rewards,
            values: &values,
            episode_ends: &ends,
            next_values: &next_values,
        },
        gamma,
        lambda,
    );
    // env 0: deltas from the back
    let d02 = -1.0 + 0.9 * 0.7 - 0.6;
    let d01 = 0.5 + 0.9 * 0.6 - 0.1;
    let d00 = 1.0 + 0.9 * 0.1 - 0.2;
    let a02 = d02;
    let a01 = d01 + 0.72 * a02;
    let a00 = d00 + 0.72 * a01;
    // env 1: t = 1 ends the episode, so t = 1 does not look at t = 2
    let d12 = 1.0 + 0.9 * 0.9 - 0.5;
    let d11 = 2.0 - 0.3;
    let d10 = 0.0 + 0.9 * 0.3 - 0.4;
    let a12 = d12;
    let a11 = d11;
    let a10 = d10 + 0.72 * a11;
    let want = [a00, a10, a01, a11, a02, a12];
    for i in 0..6 {
        assert!(
            (adv[i] - want[i]).abs() < 1e-12,
            "advantage {i}: {} vs {}",
            adv[i],
            want[i]
        );
        assert!((ret[i] - (want[i] + values[i])).abs() < 1e-12);
    }
}

#[test]
fn gae_with_lambda_one_is_the_discounted_return_minus_the_value() {
    let rewards = [1.0, 2.0, 3.0, 4.0];
    let values = [0.5, -0.5, 1.5, 0.25];
    let ends = [false, false, false, true];
    let (adv, _) = gae(
        Rollout {
            rewards: &rewards,
            values: &values,
            episode_ends: &ends,
            next_values: &[100.0],
        },
        0.95,
        1.0,
    );
    let g = discounted_returns(&rewards, 0.95);
    for i in 0..4 {
        assert!((adv[i] - (g[i] - values[i])).abs() < 1e-12);
    }
    // lambda = 0: the one-step TD errors
    let (td, _) = gae(
        Rollout {
            rewards: &rewards,
            values: &values,
            episode_ends: &ends,
            next_values: &[100.0],
        },
        0.95,
        0.0,
    );
    assert!((td[0] - (1.0 + 0.95 * -0.5 - 0.5)).abs() < 1e-12);
    assert!((td[3] - (4.0 - 0.25)).abs() < 1e-12);
}

#[test]
fn the_replay_buffer_samples_uniformly() {
    // Ten transitions told apart by their reward; 100,000 draws. Pearson's
    // chi-square with 9 degrees of freedom is below 27.9 with probability
    // 0.999 under uniform sampling.
    let mut buffer = ReplayBuffer::new(10, 1);
    for i in 0..15 {
        // The first five are overwritten: rewards 5..15 remain.
        buffer.push(&[i as f32], 0, i as f64, &[0.0], false);
    }
    let mut counts = [0usize; 10];
    let mut g = Generator::new(2024);
    for _ in 0..100 {
        for r in buffer.sample(1000, &mut g).rewards.to_vec() {
            assert!((5.0..15.0).contains(&r), "a replaced transition was drawn: {r}");
            counts[r as usize - 5] += 1;
        }
    }
    let expected = 10_000.0;
    let chi2: f64 = counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum();
    assert!(chi2 < 27.9, "counts {counts:?}, chi-square {chi2}");
}

/// Shortest path lengths (in moves) from every cell of a deterministic lake
/// to the goal, through frozen cells, by breadth-first search.
fn moves_to_goal(lake: &FrozenLake) -> Vec<Option<usize>> {
    let (rows, cols) = lake.shape();
    let mut distance = vec![None; rows * cols];
    let goal = (0..rows * cols).find(|&s| lake.cell(s) == b'G').unwrap();
    distance[goal] = Some(0);
    let mut queue = VecDeque::from([goal]);
    while let Some(s) = queue.pop_front() {
        let (r, c) = (s / cols, s % cols);
        let neighbours = [
            (r.wrapping_sub(1), c),
            (r + 1, c),
            (r, c.wrapping_sub(1)),
            (r, c + 1),
        ];
        for (nr, nc) in neighbours {
            if nr < rows && nc < cols {
                let n = nr * cols + nc;
                if distance[n].is_none() && matches!(lake.cell(n), b'F' | b'S') {
                    distance[n] = Some(distance[s].unwrap() + 1);
                    queue.push_back(n);
                }
            }
        }
    }
    distance
}

#[test]
fn value_iteration_finds_the_optimal_values_of_a_deterministic_lake() {
    // Reward 1 on reaching the goal, nothing else: V*(s) = gamma^(d - 1)
    // for a cell d moves away, 0 for holes, the goal and cut-off cells.
    for lake in [FrozenLake::four_by_four(false), FrozenLake::eight_by_eight(false)] {
        let gamma = 0.9;
        let (q, _) = value_iteration(&lake, gamma, 1e-14);
        let values = q.state_values();
        for (s, d) in moves_to_goal(&lake).into_iter().enumerate() {
            let want = match (lake.cell(s), d) {
                (b'F' | b'S', Some(d)) => gamma.powi(d as i32 - 1),
                _ => 0.0,
            };
            assert!(
                (values[s] - want).abs() < 1e-12,
                "state {s}: {} vs {want}",
                values[s]
            );
        }
        // Its greedy policy walks to the goal.
        let mut env = TimeLimit::new(lake.clone(), lake.max_episode_steps());
        let report = evaluate(&q, &mut env, 1, 0, true).unwrap();
        assert_eq!(report.returns, vec![1.0]);
        assert_eq!(report.lengths[0], moves_to_goal(&lake)[0].unwrap());
    }
}

#[test]
fn value_iteration_on_the_slippery_lake_beats_q_learning_and_both_beat_chance() {
    let lake = FrozenLake::four_by_four(true);
    assert_eq!(lake.num_states(), 16);
    let (optimal, _) = value_iteration(&lake, 0.99, 1e-12);
    let mut env = make("FrozenLake-v1").unwrap();
    let planned = evaluate(&optimal, &mut *env, 1000, 0, true).unwrap().mean();
    let config = QLearningConfig {
        episodes: 5000,
        ..QLearningConfig::frozen_lake()
    };
    let learned = q_learning(&mut *env, &config, 0, &mut nabla::rl::ignore_events).unwrap();
    let learned = evaluate(&learned, &mut *env, 1000, 0, true).unwrap().mean();
    // The optimal policy of the slippery 4x4 lake succeeds about 74% of
    // the time within 100 steps; a random one about 1.5%.
    assert!(planned > 0.65, "value iteration's policy succeeds {planned}");
    assert!(learned > 0.3, "Q-learning's policy succeeds {learned}");
}

fn episode_returns(events: &[Event]) -> Vec<f64> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Episode { episodic_return, .. } => Some(*episodic_return),
            _ => None,
        })
        .collect()
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

#[test]
fn reinforce_learns_to_balance_the_pole() {
    let mut env = make("CartPole-v1").unwrap();
    let mut events = Vec::new();
    let config = ReinforceConfig {
        episodes: 120,
        ..ReinforceConfig::cartpole()
    };
    train_reinforce(&mut *env, &config, 1, &mut |e: &Event| {
        events.push(e.clone());
        ControlFlow::Continue(())
    })
    .unwrap();
    let returns = episode_returns(&events);
    assert_eq!(returns.len(), 120);
    let (first, last) = (mean(&returns[..20]), mean(&returns[100..]));
    assert!(
        last > 2.0 * first && last > 60.0,
        "first 20: {first}, last 20: {last}"
    );
}

fn cartpoles(n: usize) -> SyncVectorEnv {
    SyncVectorEnv::new((0..n).map(|_| make("CartPole-v1").unwrap()).collect()).unwrap()
}

#[test]
fn ppo_learns_and_is_reproducible() {
    let config = PpoConfig {
        total_steps: 12_288,
        ..PpoConfig::cartpole()
    };
    let run = || {
        let mut events = Vec::new();
        let model = train_ppo(cartpoles(8), &config, 3, &mut |e: &Event| {
            events.push(e.clone());
            ControlFlow::Continue(())
        })
        .unwrap();
        (model, events)
    };
    let (model, events) = run();
    let returns = episode_returns(&events);
    let (first, last) = (mean(&returns[..20]), mean(&returns[returns.len() - 20..]));
    assert!(last > 3.0 * first, "first 20: {first}, last 20: {last}");
    let updates = events
        .iter()
        .filter(|e| matches!(e, Event::Update { .. }))
        .count();
    assert_eq!(updates, 12_288 / 256);
    // Same seed, same run, to the bit.
    let (again, again_events) = run();
    assert_eq!(events, again_events);
    for ((name, a), (_, b)) in model.named_parameters().iter().zip(again.named_parameters()) {
        assert_eq!(a.to_vec(), b.to_vec(), "{name}");
    }
}

#[test]
fn a2c_and_dqn_run_and_report() {
    let a2c = A2cConfig {
        total_steps: 2000,
        ..A2cConfig::cartpole()
    };
    let mut updates = 0;
    train_a2c(cartpoles(4), &a2c, 0, &mut |e: &Event| {
        if let Event::Update { metrics, .. } = e {
            updates += 1;
            assert!(metrics.iter().all(|(_, v)| v.is_finite()), "{metrics:?}");
        }
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(updates, 2000 / 20);

    let dqn = DqnConfig {
        total_steps: 3000,
        learning_starts: 500,
        train_frequency: 100,
        gradient_steps: 10,
        hidden: vec![32, 32],
        eval_every: 1000,
        eval_episodes: 2,
        double: true,
        ..DqnConfig::cartpole()
    };
    let mut evaluations = 0;
    let mut losses = Vec::new();
    let mut env = make("CartPole-v1").unwrap();
    train_dqn(&mut *env, &dqn, 0, &mut |e: &Event| {
        match e {
            Event::Evaluation { .. } => evaluations += 1,
            Event::Update { metrics, .. } => losses.push(metrics[0].1),
            Event::Episode { .. } => {}
        }
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(evaluations, 3);
    assert_eq!(losses.len(), (3000 - 500) / 100);
    assert!(losses.iter().all(|l| l.is_finite() && *l >= 0.0), "{losses:?}");
}

#[test]
fn a_callback_stops_a_run() {
    let mut episodes = 0;
    let mut env = make("CartPole-v1").unwrap();
    train_reinforce(&mut *env, &ReinforceConfig::cartpole(), 0, &mut |e: &Event| {
        episodes += matches!(e, Event::Episode { .. }) as usize;
        if episodes == 3 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap();
    assert_eq!(episodes, 3);
}

#[test]
fn policies_round_trip_through_safetensors() {
    let dir = std::env::temp_dir().join(format!("nabla-rl-policies-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let x = Tensor::from_vec(vec![0.01f32, -0.2, 0.03, 0.4, 0.1, 0.1, -0.1, 0.0], &[2, 4]);

    let envs = SyncVectorEnv::new(vec![make("Pendulum-v1").unwrap()]).unwrap();
    let config = PpoConfig {
        total_steps: 64,
        num_steps: 64,
        minibatch_size: 32,
        update_epochs: 1,
        ..PpoConfig::continuous()
    };
    let gaussian = train_ppo(envs, &config, 0, &mut nabla::rl::ignore_events).unwrap();
    let names: Vec<String> = gaussian.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert!(
        names.contains(&"actor_logstd".to_string()) && names.contains(&"critic.4.bias".to_string()),
        "{names:?}"
    );
    let path = dir.join("ppo.safetensors");
    let obs3 = Tensor::from_vec(vec![1.0f32, 0.0, 0.5, 0.2, 0.3, -1.0], &[2, 3]);
    let before = gaussian.value(&obs3).to_vec();
    save_policy(&TrainedPolicy::ActorCritic(gaussian), "Pendulum-v1", "ppo", &path).unwrap();
    let (loaded, saved) = load_policy(&path).unwrap();
    assert_eq!(
        (saved.env.as_str(), saved.algorithm.as_str()),
        ("Pendulum-v1", "ppo")
    );
    let TrainedPolicy::ActorCritic(loaded) = loaded else {
        panic!("an actor-critic was saved")
    };
    assert_eq!(loaded.value(&obs3).to_vec(), before);

    let mut env = make("CartPole-v1").unwrap();
    let small = DqnConfig {
        total_steps: 200,
        learning_starts: 100,
        train_frequency: 50,
        gradient_steps: 1,
        hidden: vec![8],
        eval_every: 0,
        ..DqnConfig::cartpole()
    };
    let q = train_dqn(&mut *env, &small, 0, &mut nabla::rl::ignore_events).unwrap();
    let before = q.forward(&x).to_vec();
    let path = dir.join("dqn.safetensors");
    save_policy(&TrainedPolicy::QNetwork(q), "CartPole-v1", "dqn", &path).unwrap();
    let TrainedPolicy::QNetwork(loaded) = load_policy(&path).unwrap().0 else {
        panic!("a Q-network was saved")
    };
    assert_eq!(loaded.forward(&x).to_vec(), before);

    // A safetensors file that is not a policy, and one whose config lies.
    let other = dir.join("weights.safetensors");
    nabla::checkpoint::save_tensors(&other, &[("w".to_string(), Tensor::<f32>::zeros(&[2]))], None).unwrap();
    let message = load_policy(&other).err().unwrap().to_string();
    assert!(
        message.contains("weights.safetensors") && message.contains("not a policy"),
        "{message}"
    );
    let mut metadata = nabla::checkpoint::load_metadata(&path).unwrap();
    metadata.insert("nabla.config".into(), r#"{"env":"CartPole-v1","algorithm":"dqn","policy":{"kind":"q-network","observation_dim":4,"action_space":{"discrete":2},"hidden":[1000000,1000000],"activation":"relu"}}"#.into());
    let huge = dir.join("huge.safetensors");
    nabla::checkpoint::save_tensors(
        &huge,
        &[("w".to_string(), Tensor::<f32>::zeros(&[2]))],
        Some(metadata),
    )
    .unwrap();
    let message = load_policy(&huge).err().unwrap().to_string();
    assert!(
        message.contains("huge.safetensors") && message.contains("parameters"),
        "{message}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_settings_and_environments_are_errors_that_say_why() {
    let mut pendulum = make("Pendulum-v1").unwrap();
    let e = train_dqn(
        &mut *pendulum,
        &DqnConfig::cartpole(),
        0,
        &mut nabla::rl::ignore_events,
    )
    .err()
    .unwrap();
    assert!(
        e.to_string().contains("Pendulum-v1 has continuous actions"),
        "{e}"
    );
    let mut cartpole = make("CartPole-v1").unwrap();
    let e = q_learning(
        &mut *cartpole,
        &QLearningConfig::frozen_lake(),
        0,
        &mut nabla::rl::ignore_events,
    )
    .err()
    .unwrap();
    assert!(
        e.to_string()
            .contains("CartPole-v1 does not have discrete states"),
        "{e}"
    );
    let e = train_dqn(
        &mut *cartpole,
        &DqnConfig {
            gamma: 1.5,
            ..DqnConfig::cartpole()
        },
        0,
        &mut nabla::rl::ignore_events,
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("gamma = 1.5"), "{e}");
    let e = train_ppo(
        cartpoles(2),
        &PpoConfig {
            minibatch_size: 0,
            ..PpoConfig::cartpole()
        },
        0,
        &mut nabla::rl::ignore_events,
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("minibatch_size"), "{e}");
    let mut lake = make("FrozenLake-v1").unwrap();
    lake.reset(Some(0));
    assert!(lake.step(&nabla::rl::env::Action::Discrete(4)).is_err());
}
