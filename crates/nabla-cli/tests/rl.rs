//! `nabla rl` end to end: a short PPO run writes its metrics, chart and
//! policy, `nabla rl eval` reads the policy back and draws an episode as a
//! GIF; Q-learning and value iteration on FrozenLake; Ctrl-C saving the
//! policy so far; and the one-line errors for pairings that cannot work and
//! checkpoints that are not policies.

mod common;

use common::*;

#[test]
fn a_ppo_run_writes_metrics_a_chart_and_a_policy_that_eval_replays() {
    let out = scratch("rl-ppo");
    let dir = out.to_str().unwrap();
    let run = nabla(&[
        "rl",
        "--algo",
        "ppo",
        "--env",
        "cartpole",
        "--steps",
        "4096",
        "--seed",
        "3",
        "--threads",
        "1",
        "--eval-episodes",
        "3",
        "--out",
        dir,
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let text = stdout(&run);
    assert!(
        text.contains("ppo on CartPole-v1:") && text.contains("over 3 episodes"),
        "{text}"
    );
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let updates = lines.iter().filter(|l| l["event"] == "update").count();
    assert_eq!(updates, 4096 / 256, "one line per PPO iteration");
    let episodes: Vec<&serde_json::Value> = lines.iter().filter(|l| l["event"] == "episode").collect();
    assert!(episodes.len() > 10);
    assert!(episodes
        .iter()
        .all(|e| e["return"].as_f64().unwrap() >= 1.0 && e["return"].as_f64() == e["length"].as_f64()));
    let png = std::fs::read(out.join("returns.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let evaluation: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("evaluation.json")).unwrap()).unwrap();
    assert_eq!(evaluation["returns"].as_array().unwrap().len(), 3);

    let gif = out.join("episode.gif");
    let policy = out.join("policy.safetensors");
    let eval = nabla(&[
        "rl",
        "eval",
        "--checkpoint",
        policy.to_str().unwrap(),
        "--episodes",
        "2",
        "--gif",
        gif.to_str().unwrap(),
    ]);
    assert!(eval.status.success(), "{}", stderr(&eval));
    assert!(
        stdout(&eval).contains("CartPole-v1 (ppo): mean return"),
        "{}",
        stdout(&eval)
    );
    let bytes = std::fs::read(&gif).unwrap();
    assert_eq!(&bytes[..6], b"GIF89a");
    // 600 x 400, little-endian in the logical screen descriptor.
    assert_eq!(
        (
            u16::from_le_bytes([bytes[6], bytes[7]]),
            u16::from_le_bytes([bytes[8], bytes[9]])
        ),
        (600, 400)
    );
}

#[test]
fn tabular_methods_solve_the_lake_from_the_command_line() {
    let out = scratch("rl-lake");
    let vi = nabla(&[
        "rl",
        "--algo",
        "value-iteration",
        "--env",
        "frozenlake",
        "--eval-episodes",
        "200",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(vi.status.success(), "{}", stderr(&vi));
    let evaluation: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("evaluation.json")).unwrap()).unwrap();
    let mean = evaluation["mean"].as_f64().unwrap();
    assert!(
        mean > 0.6,
        "the optimal policy reaches the goal about 74% of the time, got {mean}"
    );
    let ql = nabla(&[
        "rl",
        "--algo",
        "q-learning",
        "--env",
        "frozenlake",
        "--steps",
        "20000",
        "--eval-episodes",
        "10",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ql.status.success(), "{}", stderr(&ql));
    assert!(out.join("returns.png").exists());
}

#[test]
fn pairings_that_cannot_work_and_foreign_checkpoints_are_one_line_errors() {
    for (args, expected) in [
        (
            &["rl", "--algo", "dqn", "--env", "pendulum"][..],
            "pendulum has continuous actions",
        ),
        (
            &["rl", "--algo", "ppo", "--env", "frozenlake"][..],
            "its states are cells",
        ),
        (
            &["rl", "--algo", "q-learning", "--env", "cartpole"][..],
            "needs --env frozenlake",
        ),
    ] {
        let run = nabla(args);
        assert_eq!(run.status.code(), Some(1), "{args:?}");
        let message = stderr(&run);
        assert!(
            message.contains(expected) && message.lines().count() == 1,
            "{args:?}: {message}"
        );
    }
    let out = scratch("rl-foreign");
    let file = out.join("weights.safetensors");
    nabla::checkpoint::save_tensors(
        &file,
        &[("w".to_string(), nabla::Tensor::<f32>::zeros(&[2]))],
        None,
    )
    .unwrap();
    let run = nabla(&["rl", "eval", "--checkpoint", file.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("weights.safetensors") && stderr(&run).contains("not a policy"),
        "{}",
        stderr(&run)
    );
}

#[test]
fn ctrl_c_stops_a_run_after_saving_its_policy() {
    let out = scratch("rl-interrupt");
    let child = spawn(&[
        "rl",
        "--algo",
        "ppo",
        "--steps",
        "100000000",
        "--threads",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    // Wait until the run has written its first episodes.
    let metrics = out.join("metrics.jsonl");
    let start = std::time::Instant::now();
    while std::fs::metadata(&metrics).map_or(0, |m| m.len()) == 0 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "no metrics after two minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    signal(&child, "INT");
    let (status, terminated, errors) = wait_or_terminate(child, std::time::Duration::from_secs(60));
    assert!(!terminated, "the run did not stop on SIGINT: {errors}");
    assert_eq!(status.code(), Some(130), "{errors}");
    let (_, saved) = nabla::rl::load_policy(out.join("policy.safetensors")).unwrap();
    assert_eq!(saved.algorithm, "ppo");
}
