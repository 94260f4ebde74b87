//! Reinforcement learning (the course's chapters 3 and 9): environments
//! with Gymnasium's API, and the algorithms from tabular value iteration and
//! Q-learning to DQN, REINFORCE, A2C and PPO.

pub mod env;
