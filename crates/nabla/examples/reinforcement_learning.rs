//! The course's chapters 3 and 9 in one run: value iteration and Q-learning
//! on FrozenLake, then DQN, REINFORCE and PPO on CartPole-v1, each
//! evaluated over 100 greedy episodes.
//!
//! ```text
//! cargo run --release -p nabla --example reinforcement_learning
//! ```

use std::ops::ControlFlow;
use std::time::Instant;

use nabla::rl::env::{make, Env, FrozenLake, SyncVectorEnv};
use nabla::rl::{
    evaluate, ignore_events, q_learning, train_dqn, train_ppo, train_reinforce, value_iteration, DqnConfig,
    Event, Policy, PpoConfig, QLearningConfig, ReinforceConfig,
};

fn report(name: &str, policy: &dyn Policy, env: &mut dyn Env, started: Instant) -> nabla::Result<()> {
    let r = evaluate(policy, env, 100, 1_000_000, true)?;
    println!(
        "{name:<38} {:>7.2} +- {:<6.2} ({:.1} s)",
        r.mean(),
        r.std(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> nabla::Result<()> {
    println!("chapter 3: FrozenLake-v1 (4x4, slippery), mean success over 100 episodes");
    let mut lake = make("FrozenLake-v1")?;
    let started = Instant::now();
    let (optimal, sweeps) = value_iteration(&FrozenLake::four_by_four(true), 0.99, 1e-10);
    report(
        &format!("value iteration ({sweeps} sweeps)"),
        &optimal,
        &mut *lake,
        started,
    )?;
    let started = Instant::now();
    let learned = q_learning(&mut *lake, &QLearningConfig::frozen_lake(), 0, &mut ignore_events)?;
    report("Q-learning (20,000 episodes)", &learned, &mut *lake, started)?;

    println!("chapter 9: CartPole-v1, mean return over 100 greedy episodes (solved at 475)");
    let mut cartpole = make("CartPole-v1")?;
    let started = Instant::now();
    let mut episodes = 0;
    let (reinforce, _) = train_reinforce(
        &mut *cartpole,
        &ReinforceConfig::cartpole(),
        0,
        &mut |e: &Event| {
            episodes += matches!(e, Event::Episode { .. }) as usize;
            ControlFlow::Continue(())
        },
    )?;
    report(
        &format!("REINFORCE ({episodes} episodes)"),
        &reinforce,
        &mut *cartpole,
        started,
    )?;
    let started = Instant::now();
    let q = train_dqn(&mut *cartpole, &DqnConfig::cartpole(), 0, &mut ignore_events)?;
    report("DQN (50,000 steps)", &q, &mut *cartpole, started)?;
    let started = Instant::now();
    let envs = SyncVectorEnv::new((0..8).map(|_| make("CartPole-v1")).collect::<Result<_, _>>()?)?;
    let ppo = train_ppo(envs, &PpoConfig::cartpole(), 0, &mut ignore_events)?;
    report("PPO (100,000 steps)", &ppo, &mut *cartpole, started)?;
    Ok(())
}
