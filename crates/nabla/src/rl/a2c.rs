//! A2C (Mnih et al., 2016): the synchronous advantage actor-critic, one
//! gradient step per short rollout of many environments.

use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};

use super::env::SyncVectorEnv;
use super::events::{Event, OnEvent};
use super::policy::{Activation, ActorCritic};
use super::ppo::{check_on_policy, new_model};
use super::rollout::Collector;
use crate::error::Result;
use crate::nn::loss::mse_loss;
use crate::nn::Module;
use crate::optim::{clip_grad_norm_, Optimizer, RmsProp, RmsPropConfig};
use crate::tensor::Generator;

/// A2C's hyper-parameters: Stable-Baselines3's defaults (with the Zoo's 8
/// environments for CartPole-v1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct A2cConfig {
    /// Environment steps in all, over all copies.
    pub total_steps: usize,
    /// Steps of each copy per update.
    pub num_steps: usize,
    /// RMSprop's learning rate.
    pub learning_rate: f64,
    /// The discount.
    pub gamma: f64,
    /// GAE's lambda (1: plain n-step returns).
    pub gae_lambda: f64,
    /// The entropy bonus' weight.
    pub ent_coef: f64,
    /// The value loss' weight.
    pub vf_coef: f64,
    /// The gradient's norm is clipped to this.
    pub max_grad_norm: f64,
    /// Hidden widths of the actor and of the critic.
    pub hidden: Vec<usize>,
    /// Their nonlinearity.
    pub activation: Activation,
}

impl A2cConfig {
    /// SB3's A2C: 5 steps per update, RMSprop (lr 7e-4, alpha 0.99, eps
    /// 1e-5), gamma 0.99, lambda 1, value weight 0.5, gradient norm 0.5,
    /// [64, 64] tanh; the Zoo's CartPole-v1 run uses 8 environments and
    /// 500,000 steps.
    pub fn cartpole() -> Self {
        A2cConfig {
            total_steps: 500_000,
            num_steps: 5,
            learning_rate: 7e-4,
            gamma: 0.99,
            gae_lambda: 1.0,
            ent_coef: 0.0,
            vf_coef: 0.5,
            max_grad_norm: 0.5,
            hidden: vec![64, 64],
            activation: Activation::Tanh,
        }
    }
}

/// Trains A2C on `envs`: one gradient step per rollout on all of it, the
/// loss `-A log pi(a|s) + vf_coef (V(s) - R)^2 - ent_coef H`, RMSprop.
///
/// ```
/// use nabla::rl::{env::{make, SyncVectorEnv}, train_a2c, A2cConfig};
/// let envs = SyncVectorEnv::new(vec![make("CartPole-v1")?, make("CartPole-v1")?])?;
/// let model = train_a2c(envs, &A2cConfig { total_steps: 100, ..A2cConfig::cartpole() }, 0, &mut nabla::rl::ignore_events)?;
/// assert_eq!(model.actor_logstd.is_none(), true); // a categorical policy
/// # Ok::<(), nabla::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidSetting`] for a bad setting; the environments' errors.
pub fn train_a2c(
    envs: SyncVectorEnv,
    config: &A2cConfig,
    seed: u64,
    on_event: OnEvent<'_>,
) -> Result<ActorCritic> {
    check_on_policy(
        "A2C",
        config.num_steps,
        config.learning_rate,
        config.gamma,
        config.gae_lambda,
        config.max_grad_norm,
    )?;
    let mut generator = Generator::new(seed);
    let model = new_model(&envs, &config.hidden, config.activation, &mut generator);
    let mut optimizer = RmsProp::new(
        model.parameters(),
        RmsPropConfig::new(config.learning_rate).alpha(0.99).eps(1e-5),
    );
    let mut collector = Collector::new(envs, seed);
    while collector.steps < config.total_steps {
        let ControlFlow::Continue(rollout) = collector.collect(
            &model,
            config.num_steps,
            config.gamma,
            config.gae_lambda,
            &mut generator,
            on_event,
        )?
        else {
            break;
        };
        let all: Vec<usize> = (0..rollout.len()).collect();
        let batch = rollout.minibatch(&all, false);
        let eval = model.evaluate(&batch.observations, &batch.actions);
        let policy_loss = batch.advantages.mul(&eval.log_prob).mean().neg();
        let value_loss = mse_loss(&eval.value, &batch.returns);
        let entropy = eval.entropy.mean();
        let loss = policy_loss
            .add(&value_loss.mul_scalar(config.vf_coef as f32))
            .sub(&entropy.mul_scalar(config.ent_coef as f32));
        optimizer.zero_grad();
        loss.backward();
        clip_grad_norm_(optimizer.parameters(), config.max_grad_norm);
        optimizer.step();
        let metrics = vec![
            ("policy_loss", f64::from(policy_loss.item())),
            ("value_loss", f64::from(value_loss.item())),
            ("entropy", f64::from(entropy.item())),
        ];
        if on_event(&Event::Update {
            step: collector.steps,
            metrics,
        })
        .is_break()
        {
            break;
        }
    }
    Ok(model)
}
