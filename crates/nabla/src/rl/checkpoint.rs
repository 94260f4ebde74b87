//! Policies in safetensors files, with what rebuilds them in the metadata:
//! `nabla.model = rl-policy` and `nabla.config` the [`SavedPolicy`] as
//! JSON (the environment, the algorithm, the network's sizes).

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::env::Action;
use super::policy::{ActorCritic, NetworkConfig, Policy, QNetwork};
use super::tabular::QTable;
use crate::checkpoint::{load_metadata, load_module, load_tensors, save_module_with_metadata, save_tensors};
use crate::error::{Error, Result};
use crate::lm::{CONFIG_KEY, MODEL_KEY};
use crate::tensor::{Generator, Tensor};

/// The value of `nabla.model` for every policy.
pub const RL_POLICY: &str = "rl-policy";

/// The largest network or table a checkpoint may ask for.
const MAX_PARAMETERS: usize = 100_000_000;

/// What a policy checkpoint records besides the weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedPolicy {
    /// The Gymnasium id of the environment it was trained on.
    pub env: String,
    /// The algorithm that trained it (`dqn`, `ppo`, ...).
    pub algorithm: String,
    /// The kind of policy and its sizes.
    pub policy: PolicyConfig,
}

/// The kind of a policy and its sizes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PolicyConfig {
    /// A [`QNetwork`].
    QNetwork(NetworkConfig),
    /// An [`ActorCritic`].
    ActorCritic(NetworkConfig),
    /// A [`QTable`], saved as the f64 tensor `q_table` `[states, actions]`.
    QTable {
        /// The number of states.
        num_states: usize,
        /// The number of actions.
        num_actions: usize,
    },
}

/// A policy of any kind the algorithms train.
pub enum TrainedPolicy {
    /// DQN's.
    QNetwork(QNetwork),
    /// REINFORCE's, A2C's or PPO's.
    ActorCritic(ActorCritic),
    /// Q-learning's or value iteration's.
    QTable(QTable),
}

impl Policy for TrainedPolicy {
    fn act(&self, observation: &[f32], deterministic: bool, generator: &mut Generator) -> Action {
        match self {
            TrainedPolicy::QNetwork(q) => q.act(observation, deterministic, generator),
            TrainedPolicy::ActorCritic(m) => m.act(observation, deterministic, generator),
            TrainedPolicy::QTable(t) => t.act(observation, deterministic, generator),
        }
    }
}

impl TrainedPolicy {
    fn config(&self) -> PolicyConfig {
        match self {
            TrainedPolicy::QNetwork(q) => PolicyConfig::QNetwork(q.config.clone()),
            TrainedPolicy::ActorCritic(m) => PolicyConfig::ActorCritic(m.config.clone()),
            TrainedPolicy::QTable(t) => PolicyConfig::QTable {
                num_states: t.values.len() / t.num_actions.max(1),
                num_actions: t.num_actions,
            },
        }
    }
}

/// Writes `policy` to a safetensors file, atomically, recording the
/// environment and the algorithm, so [`load_policy`] needs nothing else.
/// Networks keep CleanRL's names (`network.0.weight`, `actor.0.weight`,
/// `critic.4.bias`, `actor_logstd`).
///
/// ```
/// use nabla::rl::{load_policy, save_policy, QTable, TrainedPolicy};
/// let path = std::env::temp_dir().join(format!("nabla_doc_policy_{}.safetensors", std::process::id()));
/// let table = QTable { values: vec![0.0, 1.0, 2.0, 0.5], num_actions: 2 };
/// save_policy(&TrainedPolicy::QTable(table.clone()), "FrozenLake-v1", "q-learning", &path)?;
/// let (loaded, saved) = load_policy(&path)?;
/// assert_eq!(saved.algorithm, "q-learning");
/// assert!(matches!(loaded, TrainedPolicy::QTable(t) if t == table));
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), nabla::Error>(())
/// ```
///
/// # Errors
/// [`Error::Io`] if the file cannot be written (the target is then left as
/// it was).
pub fn save_policy(policy: &TrainedPolicy, env: &str, algorithm: &str, path: impl AsRef<Path>) -> Result<()> {
    let saved = SavedPolicy {
        env: env.to_string(),
        algorithm: algorithm.to_string(),
        policy: policy.config(),
    };
    let metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        (MODEL_KEY.to_string(), RL_POLICY.to_string()),
        (
            CONFIG_KEY.to_string(),
            serde_json::to_string(&saved).expect("a policy's sizes serialize"),
        ),
    ]);
    match policy {
        TrainedPolicy::QNetwork(q) => save_module_with_metadata(q, path, metadata),
        TrainedPolicy::ActorCritic(m) => save_module_with_metadata(m, path, metadata),
        TrainedPolicy::QTable(t) => {
            let table = Tensor::from_vec(
                t.values.clone(),
                &[t.values.len() / t.num_actions.max(1), t.num_actions],
            );
            save_tensors(path, &[("q_table".to_string(), table)], Some(metadata))
        }
    }
}

/// Reads a policy written by [`save_policy`].
///
/// # Errors
/// [`Error::Format`] naming the file when the metadata does not describe a
/// policy (another kind of model, a config that is not valid JSON, sizes
/// past 100 million parameters); the tensor errors of
/// [`load_module`](crate::checkpoint::load_module) (missing, misshapen or
/// unexpected tensors, by name).
pub fn load_policy(path: impl AsRef<Path>) -> Result<(TrainedPolicy, SavedPolicy)> {
    let path = path.as_ref();
    let format_error = |message: String| Error::Format {
        path: path.to_path_buf(),
        message,
    };
    let metadata = load_metadata(path)?;
    let kind = metadata.get(MODEL_KEY).map(String::as_str);
    if kind != Some(RL_POLICY) {
        return Err(format_error(match kind {
            Some(kind) => format!("holds a {kind} model, not a reinforcement-learning policy"),
            None => format!("the metadata has no {MODEL_KEY:?}: not a policy (nabla rl writes one)"),
        }));
    }
    let config = metadata
        .get(CONFIG_KEY)
        .ok_or_else(|| format_error(format!("the metadata has no {CONFIG_KEY:?}")))?;
    let saved: SavedPolicy = serde_json::from_str(config)
        .map_err(|e| format_error(format!("{CONFIG_KEY} is not a valid policy config: {e}")))?;
    let size = match &saved.policy {
        PolicyConfig::QNetwork(n) | PolicyConfig::ActorCritic(n) => network_size(n),
        PolicyConfig::QTable {
            num_states,
            num_actions,
        } => num_states.saturating_mul(*num_actions),
    };
    if size > MAX_PARAMETERS {
        return Err(format_error(format!(
            "{CONFIG_KEY} asks for about {size} parameters, more than the {MAX_PARAMETERS} allowed"
        )));
    }
    // The weights come from the file; the generator only sizes the networks.
    let mut generator = Generator::new(0);
    let policy = match &saved.policy {
        PolicyConfig::QNetwork(n) => {
            if n.action_space.outputs() == 0 || !matches!(n.action_space, super::SpaceConfig::Discrete(_)) {
                return Err(format_error("a Q-network needs a discrete action space".into()));
            }
            let q = QNetwork::new(n.clone(), &mut generator);
            load_module(&q, path, true)?;
            TrainedPolicy::QNetwork(q)
        }
        PolicyConfig::ActorCritic(n) => {
            let m = ActorCritic::new(n.clone(), &mut generator);
            load_module(&m, path, true)?;
            TrainedPolicy::ActorCritic(m)
        }
        PolicyConfig::QTable {
            num_states,
            num_actions,
        } => {
            let tensors = load_tensors::<f64>(path)?;
            let table = tensors
                .into_iter()
                .find(|(name, _)| name == "q_table")
                .ok_or_else(|| Error::MissingTensor {
                    context: path.display().to_string(),
                    name: "q_table".into(),
                })?
                .1;
            if table.shape() != [*num_states, *num_actions] {
                return Err(Error::ShapeMismatch {
                    context: path.display().to_string(),
                    name: "q_table".into(),
                    found: table.shape().to_vec(),
                    expected: vec![*num_states, *num_actions],
                });
            }
            TrainedPolicy::QTable(QTable {
                values: table.to_vec(),
                num_actions: *num_actions,
            })
        }
    };
    Ok((policy, saved))
}

/// About how many parameters an MLP of these sizes has (saturating, so a
/// hostile config cannot overflow).
fn network_size(n: &NetworkConfig) -> usize {
    let sizes: Vec<usize> = std::iter::once(n.observation_dim)
        .chain(n.hidden.iter().copied())
        .chain(std::iter::once(n.action_space.outputs().max(1)))
        .collect();
    sizes
        .windows(2)
        .fold(0usize, |acc, w| {
            acc.saturating_add(w[0].saturating_mul(w[1]).saturating_add(w[1]))
        })
        .saturating_mul(2)
}
