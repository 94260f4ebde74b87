use nabla::rl::{env::make, train_reinforce, Event, ReinforceConfig};
use std::ops::ControlFlow;
fn main() {
    let seed: u64 = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(0);
    let mut env = make("CartPole-v1").unwrap();
    let t = std::time::Instant::now();
    let mut n = 0;
    let (_, running) = train_reinforce(&mut *env, &ReinforceConfig::cartpole(), seed, &mut |e: &Event| {
        if let Event::Episode { .. } = e {
            n += 1;
        }
        ControlFlow::Continue(())
    })
    .unwrap();
    println!(
        "reinforce seed {seed}: {n} episodes, running {running:.1}, {:.1}s",
        t.elapsed().as_secs_f64()
    );
}
