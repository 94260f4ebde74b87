//! [`EpisodePhase`]: where an environment is in its episode, and the check
//! every `step` makes before it moves.

use crate::error::{Error, Result};

/// Before the first reset, within an episode, or after it terminated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum EpisodePhase {
    /// No reset yet.
    #[default]
    BeforeReset,
    /// Stepping is allowed.
    Running,
    /// The episode terminated; only a reset goes on.
    Ended,
}

impl EpisodePhase {
    /// The phase after a step that did or did not terminate.
    pub(crate) fn after_step(terminated: bool) -> Self {
        if terminated {
            EpisodePhase::Ended
        } else {
            EpisodePhase::Running
        }
    }

    /// Errors, naming the environment `id`, unless a step may be taken.
    pub(crate) fn check_running(self, id: &str) -> Result<()> {
        match self {
            EpisodePhase::Running => Ok(()),
            EpisodePhase::BeforeReset => Err(step_before_reset(id)),
            EpisodePhase::Ended => Err(step_after_end(id)),
        }
    }
}

/// The error of a step after the end of an episode.
pub(crate) fn step_after_end(id: &str) -> Error {
    Error::InvalidSetting {
        context: id.to_string(),
        message: "step after the episode ended: call reset first".into(),
    }
}

/// The error of a step before the first reset.
fn step_before_reset(id: &str) -> Error {
    Error::InvalidSetting {
        context: id.to_string(),
        message: "step before reset: call reset first".into(),
    }
}
