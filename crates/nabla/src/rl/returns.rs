//! Discounted returns and generalised advantage estimation, on plain
//! numbers (rollouts are collected outside the graph).

/// The discounted return of every step of one episode,
/// `G_t = r_t + gamma * G_{t+1}`, computed backwards from `G_T = 0`.
///
/// ```
/// let g = nabla::rl::discounted_returns(&[1.0, 1.0, 1.0], 0.5);
/// assert_eq!(g, vec![1.75, 1.5, 1.0]);
/// ```
pub fn discounted_returns(rewards: &[f64], gamma: f64) -> Vec<f64> {
    let mut returns = vec![0.0; rewards.len()];
    let mut next = 0.0;
    for (g, &r) in returns.iter_mut().zip(rewards).rev() {
        next = r + gamma * next;
        *g = next;
    }
    returns
}

/// One rollout of `T` steps of `N` environments, time-major (`[T, N]`
/// row-major), as [`gae`] reads it.
#[derive(Clone, Copy, Debug)]
pub struct Rollout<'a> {
    /// `r_t`, `[T, N]`.
    pub rewards: &'a [f64],
    /// `V(s_t)`, `[T, N]`.
    pub values: &'a [f64],
    /// Whether the episode ended at step `t` so that nothing after it is
    /// bootstrapped (a termination), `[T, N]`.
    pub episode_ends: &'a [bool],
    /// `V(s_T)`: the value of the observation after the last step, `[N]`.
    pub next_values: &'a [f64],
}

/// Generalised advantage estimation (Schulman et al., 2016), as CleanRL's
/// PPO computes it: with `delta_t = r_t + gamma V(s_{t+1}) (1 - end_t) -
/// V(s_t)`, the advantage is `A_t = delta_t + gamma lambda (1 - end_t)
/// A_{t+1}`, backwards from the last step; the returns (the value
/// targets) are `A_t + V(s_t)`. Returns `(advantages, returns)`, `[T, N]`.
///
/// With `lambda = 1` the advantages are the discounted returns minus the
/// values; with `lambda = 0`, the one-step TD errors.
///
/// ```
/// use nabla::rl::{gae, Rollout};
/// // One environment, two steps, the episode ending at the second.
/// let rollout = Rollout { rewards: &[1.0, 1.0], values: &[0.5, 0.25], episode_ends: &[false, true], next_values: &[9.0] };
/// let (adv, ret) = gae(rollout, 0.9, 0.5);
/// // delta_1 = 1 - 0.25 (ended: no bootstrap); delta_0 = 1 + 0.9 * 0.25 - 0.5
/// assert!((adv[1] - 0.75).abs() < 1e-12);
/// assert!((adv[0] - (0.725 + 0.9 * 0.5 * 0.75)).abs() < 1e-12);
/// assert!((ret[0] - (adv[0] + 0.5)).abs() < 1e-12);
/// ```
///
/// # Panics
/// If the slices' lengths disagree.
pub fn gae(rollout: Rollout<'_>, gamma: f64, lambda: f64) -> (Vec<f64>, Vec<f64>) {
    let n = rollout.next_values.len();
    let len = rollout.rewards.len();
    assert!(
        n > 0 && len % n == 0 && rollout.values.len() == len && rollout.episode_ends.len() == len,
        "gae: rewards ({len}), values ({}) and episode ends ({}) must be [T, N] with N = {n} next values",
        rollout.values.len(),
        rollout.episode_ends.len()
    );
    let mut advantages = vec![0.0; len];
    let mut next_advantage = vec![0.0; n];
    for t in (0..len / n).rev() {
        for (e, carried) in next_advantage.iter_mut().enumerate() {
            let i = t * n + e;
            let next_value = if t + 1 == len / n {
                rollout.next_values[e]
            } else {
                rollout.values[i + n]
            };
            let live = if rollout.episode_ends[i] { 0.0 } else { 1.0 };
            let delta = rollout.rewards[i] + gamma * next_value * live - rollout.values[i];
            *carried = delta + gamma * lambda * live * *carried;
            advantages[i] = *carried;
        }
    }
    let returns = advantages
        .iter()
        .zip(rollout.values)
        .map(|(a, v)| a + v)
        .collect();
    (advantages, returns)
}
