//! Reinforcement learning (the course's chapters 3 and 9): environments
//! with Gymnasium's API, and the algorithms from tabular value iteration and
//! Q-learning to DQN, REINFORCE, A2C and PPO.

mod a2c;
mod checkpoint;
mod dqn;
pub mod env;
mod evaluate;
mod events;
mod policy;
mod ppo;
mod reinforce;
mod replay;
mod returns;
mod rollout;
mod schedule;
mod tabular;

pub use a2c::{train_a2c, A2cConfig};
pub use checkpoint::{load_policy, save_policy, PolicyConfig, SavedPolicy, TrainedPolicy, RL_POLICY};
pub(crate) use dqn::dqn_update_for_bench;
pub use dqn::{train_dqn, DqnConfig, TdLoss};
pub use evaluate::{evaluate, EvaluationReport};
pub use events::{ignore_events, Event, OnEvent};
pub use policy::{
    mlp, Actions, Activation, ActorCritic, Init, NetworkConfig, Policy, PolicyEvaluation, QNetwork,
    SpaceConfig,
};
pub(crate) use ppo::ppo_epoch_for_bench;
pub use ppo::{train_ppo, PpoConfig};
pub use reinforce::{train_reinforce, ReinforceConfig};
pub use replay::{ReplayBatch, ReplayBuffer};
pub use returns::{discounted_returns, gae, Rollout};
pub use schedule::LinearSchedule;
pub use tabular::{q_learning, value_iteration, QLearningConfig, QTable};
