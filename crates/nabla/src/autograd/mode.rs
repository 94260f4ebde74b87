//! Whether operations record the graph: on by default, off inside `no_grad`.

use std::cell::Cell;

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// True when operations on this thread record the graph for `backward`.
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(Cell::get)
}

/// Runs `f` with graph recording switched off on this thread, as
/// `with torch.no_grad():` does. Results have no history and no gradient.
///
/// ```
/// use nabla::{no_grad, Tensor};
/// let w = Tensor::from_vec(vec![1.0f32, 2.0], &[2]).requires_grad();
/// let y = no_grad(|| &w * 3.0);
/// assert!(!y.is_requires_grad());
/// ```
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    with_grad_mode(false, f)
}

/// Runs `f` with recording set to `enabled`, restoring the previous mode
/// afterwards (also on panic).
pub(crate) fn with_grad_mode<R>(enabled: bool, f: impl FnOnce() -> R) -> R {
    let _guard = GradModeGuard::set(enabled);
    f()
}

/// Switches graph recording off until it is dropped: the guard form of
/// [`no_grad`].
///
/// ```
/// let _guard = nabla::NoGradGuard::new();
/// assert!(!nabla::is_grad_enabled());
/// ```
pub struct NoGradGuard {
    _restore_on_drop: GradModeGuard,
}

impl NoGradGuard {
    /// Switches recording off on this thread until the guard is dropped.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        NoGradGuard {
            _restore_on_drop: GradModeGuard::set(false),
        }
    }
}

struct GradModeGuard {
    previous: bool,
}

impl GradModeGuard {
    fn set(enabled: bool) -> Self {
        let previous = GRAD_ENABLED.with(|g| g.replace(enabled));
        GradModeGuard { previous }
    }
}

impl Drop for GradModeGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.previous));
    }
}
