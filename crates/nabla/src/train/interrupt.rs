//! Stopping a training run cleanly: Ctrl-C, or a request to terminate
//! (SIGTERM, as `kill`, `timeout` and job schedulers send, and SIGHUP when
//! the terminal goes away), sets a flag (with the `ctrlc` crate) that the
//! training loop checks after each optimizer step; it then saves a
//! checkpoint at the exact batch position and returns
//! [`Outcome::Interrupted`](super::Outcome::Interrupted).
//!
//! The handler is optional: [`install_ctrlc_handler`] installs it (once; later
//! calls do nothing). A second signal before the loop has seen the first
//! exits the process at once, with status 130, for a run that hangs.
//!
//! An [`Interrupt`] is the flag the loop checks. [`Interrupt::ctrl_c`] (the
//! default) is the process-wide flag the handler sets; [`Interrupt::new`]
//! makes a private one, which a test (or a program embedding the loop)
//! triggers with [`Interrupt::trigger`], without a signal and without
//! disturbing other runs in the same process.
//!
//! ```
//! use nabla::train::Interrupt;
//! let stop = Interrupt::new();
//! assert!(!stop.is_triggered());
//! stop.clone().trigger(); // clones share the flag
//! assert!(stop.take()); // the loop consumes it...
//! assert!(!stop.is_triggered()); // ...so a resumed run starts clear
//! ```

#[cfg(feature = "ctrlc")]
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// The process-wide flag that Ctrl-C (and SIGTERM) sets.
static CTRL_C: AtomicBool = AtomicBool::new(false);

/// Whether the handler was installed, decided by the first call.
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// Installs a handler of Ctrl-C and of requests to terminate (SIGINT,
/// SIGTERM and SIGHUP; on Windows, CTRL_C_EVENT and CTRL_BREAK_EVENT) that
/// sets the flag of [`Interrupt::ctrl_c`] and prints nothing (the program
/// reports the [`Outcome::Interrupted`](super::Outcome::Interrupted) that
/// the loop returns). A second signal while the flag is still set prints a
/// line and exits the process with status 130.
///
/// Idempotent: only the first call installs; every call returns whether
/// the handler is in place. It returns `false` when the process already has
/// a handler set through the `ctrlc` crate (which allows only one) or the
/// system refused, or nabla was built without its `ctrlc` cargo feature
/// (on by default); the training loop works the same without it, it just
/// cannot be interrupted by Ctrl-C.
pub fn install_ctrlc_handler() -> bool {
    #[cfg(feature = "ctrlc")]
    let install = || {
        ctrlc::set_handler(|| {
            if CTRL_C.swap(true, Ordering::SeqCst) {
                // Not eprintln!: a closed standard error must not stop the exit.
                let _ = writeln!(std::io::stderr(), "interrupted twice: exiting without saving");
                std::process::exit(130);
            }
        })
        .is_ok()
    };
    #[cfg(not(feature = "ctrlc"))]
    let install = || false;
    *INSTALLED.get_or_init(install)
}

/// True if [`install_ctrlc_handler`] has installed the handler.
pub fn ctrlc_handler_installed() -> bool {
    INSTALLED.get().copied().unwrap_or(false)
}

/// A flag that asks a training run to stop after its current step: the
/// process-wide Ctrl-C flag (also `Default`), or a private one
/// ([`Interrupt::new`]). Cheap to clone; clones share the flag.
#[derive(Clone, Debug, Default)]
pub struct Interrupt {
    /// `None`: the process-wide Ctrl-C flag.
    own: Option<Arc<AtomicBool>>,
}

impl Interrupt {
    /// The process-wide flag that the Ctrl-C handler sets (the default).
    /// Triggering it interrupts every run in the process that uses it.
    pub fn ctrl_c() -> Self {
        Interrupt { own: None }
    }

    /// A new private flag, not set and not touched by Ctrl-C.
    pub fn new() -> Self {
        Interrupt {
            own: Some(Arc::new(AtomicBool::new(false))),
        }
    }

    fn flag(&self) -> &AtomicBool {
        self.own.as_deref().unwrap_or(&CTRL_C)
    }

    /// Asks the run to stop after its current step, as Ctrl-C does.
    pub fn trigger(&self) {
        self.flag().store(true, Ordering::SeqCst);
    }

    /// True if a stop was asked for and not yet taken.
    pub fn is_triggered(&self) -> bool {
        self.flag().load(Ordering::SeqCst)
    }

    /// Clears the flag, returning whether it was set: what the training
    /// loop does when it stops, so that a run resumed in the same process
    /// does not stop at once.
    pub fn take(&self) -> bool {
        self.flag().swap(false, Ordering::SeqCst)
    }

    /// True if this is the process-wide Ctrl-C flag.
    pub fn is_ctrl_c(&self) -> bool {
        self.own.is_none()
    }
}
