//! [`TabularModel`]: an environment's full transition table, for dynamic
//! programming.

/// One possible outcome of an action: Gymnasium's `P[s][a]` entries
/// `(probability, next_state, reward, terminated)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transition {
    /// The probability of this outcome.
    pub probability: f64,
    /// The state it leads to.
    pub next_state: usize,
    /// The reward on the way.
    pub reward: f64,
    /// Whether `next_state` ends the episode.
    pub terminated: bool,
}

/// An environment with finitely many states whose dynamics are known, so
/// value iteration can plan in it without sampling.
pub trait TabularModel {
    /// The number of states, `0..num_states()`.
    fn num_states(&self) -> usize;
    /// The number of actions, `0..num_actions()`.
    fn num_actions(&self) -> usize;
    /// The outcomes of `action` in `state` (probabilities summing to 1).
    fn transitions(&self, state: usize, action: usize) -> &[Transition];
}
