//! A backend wrapper for tests that counts every call by operation name,
//! per thread, before handing it to the backend it wraps.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::marker::PhantomData;

use super::Backend;

/// `B` with every call counted (see [`calls`]).
pub(crate) struct Counting<B>(PhantomData<B>);

impl<B: Backend> Backend for Counting<B> {}

thread_local! {
    static CALLS: RefCell<BTreeMap<&'static str, usize>> = const { RefCell::new(BTreeMap::new()) };
}

/// Counts one call of the operation `name` on this thread.
pub(crate) fn count(name: &'static str) {
    CALLS.with(|calls| *calls.borrow_mut().entry(name).or_default() += 1);
}

/// Runs `f` and returns how many times each operation was called on this
/// thread while it ran.
pub(crate) fn calls<R>(f: impl FnOnce() -> R) -> (R, BTreeMap<&'static str, usize>) {
    let before = CALLS.with(|calls| calls.borrow().clone());
    let out = f();
    let after = CALLS.with(|calls| calls.borrow().clone());
    let delta = after
        .into_iter()
        .filter_map(|(name, n)| {
            let d = n - before.get(name).copied().unwrap_or(0);
            (d > 0).then_some((name, d))
        })
        .collect();
    (out, delta)
}
