use nabla::rl::{env::make, evaluate, train_dqn, DqnConfig, Event};
use std::ops::ControlFlow;
fn main() {
    let seed: u64 = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(0);
    let mut env = make("CartPole-v1").unwrap();
    let t = std::time::Instant::now();
    let mut last = Vec::new();
    let q = train_dqn(&mut *env, &DqnConfig::cartpole(), seed, &mut |e: &Event| {
        if let Event::Episode {
            step,
            episodic_return,
            ..
        } = e
        {
            last.push(*episodic_return);
            if last.len() % 20 == 0 {
                let n = last.len();
                let m: f64 = last[n - 20..].iter().sum::<f64>() / 20.0;
                eprintln!("step {step} ep {n} mean20 {m:.1}");
            }
        }
        ControlFlow::Continue(())
    })
    .unwrap();
    let secs = t.elapsed().as_secs_f64();
    let r = evaluate(&q, &mut *env, 100, 1000, true).unwrap();
    println!(
        "seed {seed}: train {secs:.1}s eval mean {:.1} std {:.1}",
        r.mean(),
        r.std()
    );
}
