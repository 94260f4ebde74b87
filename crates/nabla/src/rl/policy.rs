//! The networks of the deep-RL algorithms: a Q-network for DQN and an
//! actor-critic for REINFORCE, A2C and PPO, with CleanRL's parameter names
//! so weights move to and from PyTorch through safetensors.

use serde::{Deserialize, Serialize};

use super::env::{Action, Space};
use crate::autograd::no_grad;
use crate::distributions::{Categorical, Distribution, Normal};
use crate::nn::init::{constant_, orthogonal_};
use crate::nn::{Layer, Linear, Relu, Sequential, Tanh};
use crate::tensor::{Generator, IndexTensor, Tensor};

/// The hidden layers' nonlinearity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `nn.Tanh` (CleanRL's and SB3's policies).
    Tanh,
    /// `nn.ReLU` (CleanRL's and SB3's Q-networks).
    Relu,
}

/// How the last layer of a network is initialised.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// PyTorch's default for `nn.Linear` (Kaiming uniform).
    Default,
    /// Orthogonal weights with gain sqrt(2) in the hidden layers and the
    /// given gain in the last, zero biases (CleanRL's `layer_init`, SB3's
    /// `ortho_init`).
    Orthogonal {
        /// The last layer's gain: 0.01 for a policy head, 1 for a value head.
        last_gain: f64,
    },
}

/// An MLP `sizes[0] -> sizes[1] -> ... -> sizes[last]` with `activation`
/// between the linear layers, named as PyTorch's `nn.Sequential` names it
/// (`0.weight`, `2.weight`, ...).
///
/// ```
/// use nabla::nn::{Layer, Module};
/// use nabla::rl::{mlp, Activation, Init};
/// let net = mlp(&[4, 64, 64, 2], Activation::Tanh, Init::Orthogonal { last_gain: 0.01 }, &mut nabla::Generator::new(0));
/// let names: Vec<String> = net.named_parameters().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]);
/// assert_eq!(net.forward(&nabla::Tensor::zeros(&[3, 4])).shape(), &[3, 2]);
/// ```
pub fn mlp(sizes: &[usize], activation: Activation, init: Init, generator: &mut Generator) -> Sequential {
    let mut net = Sequential::new();
    let layers = sizes.len().saturating_sub(1);
    for (i, pair) in sizes.windows(2).enumerate() {
        let linear = Linear::new(pair[0], pair[1], true, generator);
        if let Init::Orthogonal { last_gain } = init {
            let gain = if i + 1 == layers { last_gain } else { 2f64.sqrt() };
            orthogonal_(&linear.weight, gain, generator);
            constant_(linear.bias.as_ref().expect("built with a bias"), 0.0);
        }
        net = net.add(linear);
        if i + 1 < layers {
            net = match activation {
                Activation::Tanh => net.add(Tanh),
                Activation::Relu => net.add(Relu),
            };
        }
    }
    net
}

/// The sizes of a policy network, recorded in its checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkConfig {
    /// The observation's length.
    pub observation_dim: usize,
    /// The actions: `Discrete(n)` or a box of continuous actions.
    pub action_space: SpaceConfig,
    /// The hidden layers' widths.
    pub hidden: Vec<usize>,
    /// Their nonlinearity.
    pub activation: Activation,
}

/// A [`Space`] in a checkpoint's JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpaceConfig {
    /// `0..n`.
    Discrete(usize),
    /// `[low, high]` per coordinate.
    Box {
        /// The lower bounds.
        low: Vec<f64>,
        /// The upper bounds.
        high: Vec<f64>,
    },
}

impl From<&Space> for SpaceConfig {
    fn from(space: &Space) -> Self {
        match space {
            Space::Discrete(n) => SpaceConfig::Discrete(*n),
            Space::Box { low, high } => SpaceConfig::Box {
                low: low.clone(),
                high: high.clone(),
            },
        }
    }
}

impl SpaceConfig {
    /// The number of network outputs that parameterise an action.
    pub fn outputs(&self) -> usize {
        match self {
            SpaceConfig::Discrete(n) => *n,
            SpaceConfig::Box { low, .. } => low.len(),
        }
    }
}

/// Something that picks actions: what evaluation, pictures and GIFs need.
pub trait Policy {
    /// The action for one observation: the greedy or mean action when
    /// `deterministic`, else a draw from the policy.
    fn act(&self, observation: &[f32], deterministic: bool, generator: &mut Generator) -> Action;
}

/// DQN's action-value network `Q(s, .)`: an MLP from observations to one
/// value per action, named `network.{i}` as CleanRL's `QNetwork`.
#[derive(nabla_derive::Module)]
pub struct QNetwork {
    /// The MLP.
    pub network: Sequential,
    /// Its sizes.
    #[module(skip)]
    pub config: NetworkConfig,
}

impl QNetwork {
    /// A Q-network with PyTorch's default initialisation.
    ///
    /// # Panics
    /// If the action space is not discrete.
    pub fn new(config: NetworkConfig, generator: &mut Generator) -> Self {
        let SpaceConfig::Discrete(n) = config.action_space else {
            panic!(
                "QNetwork: DQN needs a discrete action space, got {:?}",
                config.action_space
            );
        };
        let sizes: Vec<usize> = std::iter::once(config.observation_dim)
            .chain(config.hidden.iter().copied())
            .chain(std::iter::once(n))
            .collect();
        QNetwork {
            network: mlp(&sizes, config.activation, Init::Default, generator),
            config,
        }
    }

    /// `Q(s, .)`: `[B, obs] -> [B, actions]`.
    pub fn forward(&self, observations: &Tensor) -> Tensor {
        self.network.forward(observations)
    }
}

impl Policy for QNetwork {
    fn act(&self, observation: &[f32], _deterministic: bool, _generator: &mut Generator) -> Action {
        let q = no_grad(|| self.forward(&Tensor::from_vec(observation.to_vec(), &[1, observation.len()])));
        Action::Discrete(q.argmax(1, false).to_vec()[0])
    }
}

/// A policy and a value function (separate MLPs, as CleanRL's PPO):
/// `actor` gives the logits of a categorical policy, or the mean of a
/// Gaussian one whose state-independent log standard deviation is
/// `actor_logstd` (`[1, action_dim]`, starting at 0); `critic` gives
/// `V(s)`. Orthogonal initialisation (policy head gain 0.01, value head 1).
#[derive(nabla_derive::Module)]
pub struct ActorCritic {
    /// The policy network.
    pub actor: Sequential,
    /// The value network.
    pub critic: Sequential,
    /// The Gaussian policy's log standard deviations.
    pub actor_logstd: Option<Tensor>,
    /// Its sizes.
    #[module(skip)]
    pub config: NetworkConfig,
}

/// A batch of actions: indices for a discrete space, vectors for a box.
#[derive(Clone, Debug)]
pub enum Actions {
    /// `[B]` indices.
    Discrete(IndexTensor),
    /// `[B, action_dim]`.
    Continuous(Tensor),
}

impl Actions {
    /// Every row as an environment action (continuous actions clipped into
    /// the box, as SB3 and CleanRL's `ClipAction` do before stepping).
    pub fn to_env_actions(&self, space: &SpaceConfig) -> Vec<Action> {
        match (self, space) {
            (Actions::Discrete(a), _) => a.as_slice().iter().map(|&i| Action::Discrete(i)).collect(),
            (Actions::Continuous(a), SpaceConfig::Box { low, high }) => a
                .to_vec()
                .chunks(a.shape()[1])
                .map(|row| {
                    Action::Continuous(
                        row.iter()
                            .zip(low.iter().zip(high))
                            .map(|(&v, (&lo, &hi))| f64::from(v).clamp(lo, hi) as f32)
                            .collect(),
                    )
                })
                .collect(),
            (Actions::Continuous(a), SpaceConfig::Discrete(_)) => {
                panic!("continuous actions {:?} for a discrete space", a.shape())
            }
        }
    }
}

/// What the policy says about a batch of observations and actions.
pub struct PolicyEvaluation {
    /// `log pi(a | s)`, `[B]`.
    pub log_prob: Tensor,
    /// The policy's entropy at each state, `[B]`.
    pub entropy: Tensor,
    /// `V(s)`, `[B]`.
    pub value: Tensor,
}

/// The policy's distribution at a batch of states.
enum ActionDistribution {
    Categorical(Categorical),
    Gaussian(Normal),
}

impl ActorCritic {
    /// An actor-critic for `config`, orthogonally initialised.
    pub fn new(config: NetworkConfig, generator: &mut Generator) -> Self {
        let sizes = |outputs: usize| -> Vec<usize> {
            std::iter::once(config.observation_dim)
                .chain(config.hidden.iter().copied())
                .chain(std::iter::once(outputs))
                .collect()
        };
        let outputs = config.action_space.outputs();
        let critic = mlp(
            &sizes(1),
            config.activation,
            Init::Orthogonal { last_gain: 1.0 },
            generator,
        );
        let actor = mlp(
            &sizes(outputs),
            config.activation,
            Init::Orthogonal { last_gain: 0.01 },
            generator,
        );
        let actor_logstd = match config.action_space {
            SpaceConfig::Discrete(_) => None,
            SpaceConfig::Box { .. } => Some(Tensor::zeros(&[1, outputs]).requires_grad()),
        };
        ActorCritic {
            actor,
            critic,
            actor_logstd,
            config,
        }
    }

    /// `V(s)`: `[B, obs] -> [B]`.
    pub fn value(&self, observations: &Tensor) -> Tensor {
        let b = observations.shape()[0];
        self.critic.forward(observations).reshape(&[b])
    }

    fn distribution(&self, observations: &Tensor) -> ActionDistribution {
        let out = self.actor.forward(observations);
        match &self.actor_logstd {
            None => ActionDistribution::Categorical(Categorical::from_logits(&out)),
            Some(logstd) => {
                ActionDistribution::Gaussian(Normal::new(&out, &logstd.expand(out.shape()).exp()))
            }
        }
    }

    /// Draws actions for a batch of observations (no gradient): returns the
    /// actions, their log-probabilities `[B]` and the values `[B]`.
    pub fn sample(&self, observations: &Tensor, generator: &mut Generator) -> (Actions, Tensor, Tensor) {
        no_grad(|| {
            let value = self.value(observations);
            match self.distribution(observations) {
                ActionDistribution::Categorical(d) => {
                    let a = d.sample(&[], generator);
                    let log_prob = d.log_prob(&a);
                    (Actions::Discrete(a), log_prob, value)
                }
                ActionDistribution::Gaussian(d) => {
                    let a = d.sample(&[], generator);
                    let log_prob = d.log_prob(&a).sum_dim(1, false);
                    (Actions::Continuous(a), log_prob, value)
                }
            }
        })
    }

    /// Log-probabilities, entropies and values for the actions taken
    /// (recorded, for the loss).
    pub fn evaluate(&self, observations: &Tensor, actions: &Actions) -> PolicyEvaluation {
        let value = self.value(observations);
        let (log_prob, entropy) = match (self.distribution(observations), actions) {
            (ActionDistribution::Categorical(d), Actions::Discrete(a)) => (d.log_prob(a), d.entropy()),
            (ActionDistribution::Gaussian(d), Actions::Continuous(a)) => {
                (d.log_prob(a).sum_dim(1, false), d.entropy().sum_dim(1, false))
            }
            _ => panic!("ActorCritic::evaluate: actions of the wrong kind for the policy"),
        };
        PolicyEvaluation {
            log_prob,
            entropy,
            value,
        }
    }
}

impl Policy for ActorCritic {
    fn act(&self, observation: &[f32], deterministic: bool, generator: &mut Generator) -> Action {
        let x = Tensor::from_vec(observation.to_vec(), &[1, observation.len()]);
        if deterministic {
            let out = no_grad(|| self.actor.forward(&x));
            return match self.config.action_space {
                SpaceConfig::Discrete(_) => Action::Discrete(out.argmax(1, false).to_vec()[0]),
                ref space => Actions::Continuous(out).to_env_actions(space).remove(0),
            };
        }
        let (actions, _, _) = self.sample(&x, generator);
        actions.to_env_actions(&self.config.action_space).remove(0)
    }
}
