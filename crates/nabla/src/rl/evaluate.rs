//! [`evaluate`]: a policy's returns over whole episodes.

use serde::Serialize;

use super::env::Env;
use super::policy::Policy;
use crate::error::Result;
use crate::tensor::Generator;

/// The returns of a policy's evaluation episodes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvaluationReport {
    /// Each episode's return.
    pub returns: Vec<f64>,
    /// Each episode's length.
    pub lengths: Vec<usize>,
}

impl EvaluationReport {
    /// The mean return.
    pub fn mean(&self) -> f64 {
        self.returns.iter().sum::<f64>() / self.returns.len().max(1) as f64
    }

    /// The standard deviation of the returns (population, as NumPy's
    /// `np.std` that CleanRL and SB3 report).
    pub fn std(&self) -> f64 {
        let mean = self.mean();
        (self.returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / self.returns.len().max(1) as f64)
            .sqrt()
    }
}

/// Runs `episodes` episodes of `policy` in `env`, episode `i` from
/// `reset(seed + i)`, greedy (the mean action, the best Q) when
/// `deterministic`, as SB3's `evaluate_policy`.
///
/// # Errors
/// The environment's errors (an action outside its space).
pub fn evaluate(
    policy: &dyn Policy,
    env: &mut dyn Env,
    episodes: usize,
    seed: u64,
    deterministic: bool,
) -> Result<EvaluationReport> {
    let mut generator = Generator::new(seed);
    let mut report = EvaluationReport {
        returns: Vec::with_capacity(episodes),
        lengths: Vec::with_capacity(episodes),
    };
    for episode in 0..episodes {
        let mut observation = env.reset(Some(seed + episode as u64));
        let (mut total, mut length) = (0.0, 0);
        loop {
            let step = env.step(&policy.act(&observation, deterministic, &mut generator))?;
            total += step.reward;
            length += 1;
            if step.done() {
                break;
            }
            observation = step.observation;
        }
        report.returns.push(total);
        report.lengths.push(length);
    }
    Ok(report)
}
