use nabla::rl::{
    env::{make, SyncVectorEnv},
    evaluate, train_a2c, train_ppo, A2cConfig, Event, PpoConfig,
};
use std::ops::ControlFlow;
fn main() {
    let seed: u64 = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(0);
    let algo = std::env::args().nth(2).unwrap_or("ppo".into());
    let envs = SyncVectorEnv::new((0..8).map(|_| make("CartPole-v1").unwrap()).collect()).unwrap();
    let t = std::time::Instant::now();
    let mut last = Vec::new();
    let mut cb = |e: &Event| {
        if let Event::Episode {
            step,
            episodic_return,
            ..
        } = e
        {
            last.push(*episodic_return);
            if last.len() % 50 == 0 {
                let n = last.len();
                let m: f64 = last[n - 50..].iter().sum::<f64>() / 50.0;
                eprintln!("step {step} ep {n} mean50 {m:.1}");
            }
        }
        if let Event::Update { step, metrics } = e {
            if step % 10240 == 0 {
                eprintln!("{step} {metrics:?}");
            }
        }
        ControlFlow::Continue(())
    };
    let model = if algo == "ppo" {
        train_ppo(envs, &PpoConfig::cartpole(), seed, &mut cb).unwrap()
    } else {
        train_a2c(
            envs,
            &A2cConfig {
                total_steps: 200_000,
                ..A2cConfig::cartpole()
            },
            seed,
            &mut cb,
        )
        .unwrap()
    };
    let secs = t.elapsed().as_secs_f64();
    let mut env = make("CartPole-v1").unwrap();
    let r = evaluate(&model, &mut *env, 100, 1000, true).unwrap();
    println!(
        "{algo} seed {seed}: train {secs:.1}s eval mean {:.1} std {:.1}",
        r.mean(),
        r.std()
    );
}
