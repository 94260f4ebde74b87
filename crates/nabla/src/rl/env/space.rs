//! Observation and action spaces, and actions.

use crate::error::{Error, Result};

/// A set of observations or actions, as Gymnasium's `spaces`.
#[derive(Clone, Debug, PartialEq)]
pub enum Space {
    /// The integers `0..n`.
    Discrete(usize),
    /// Vectors with each coordinate in `[low[i], high[i]]` (bounds may be
    /// infinite).
    Box {
        /// The lower bounds.
        low: Vec<f64>,
        /// The upper bounds.
        high: Vec<f64>,
    },
}

impl Space {
    /// The length of a vector in the space; 1 for a discrete space (whose
    /// element is one number).
    pub fn dim(&self) -> usize {
        match self {
            Space::Discrete(_) => 1,
            Space::Box { low, .. } => low.len(),
        }
    }

    /// The number of elements of a discrete space.
    pub fn n(&self) -> Option<usize> {
        match self {
            Space::Discrete(n) => Some(*n),
            Space::Box { .. } => None,
        }
    }

    /// Checks that `action` is in the space; the error names the
    /// environment, the action and the space.
    pub fn check(&self, action: &Action, env: &str) -> Result<()> {
        let fits = match (self, action) {
            (Space::Discrete(n), Action::Discrete(a)) => a < n,
            (Space::Box { low, high }, Action::Continuous(a)) => {
                a.len() == low.len()
                    && a.iter()
                        .zip(low.iter().zip(high))
                        .all(|(&x, (&lo, &hi))| (lo..=hi).contains(&f64::from(x)))
            }
            _ => false,
        };
        if fits {
            Ok(())
        } else {
            Err(Error::InvalidSetting {
                context: env.to_string(),
                message: format!("action {action:?} is outside the action space {self:?}"),
            })
        }
    }
}

/// An action: an index into a discrete space or a vector in a box.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// One of `0..n`.
    Discrete(usize),
    /// A point of a box.
    Continuous(Vec<f32>),
}
