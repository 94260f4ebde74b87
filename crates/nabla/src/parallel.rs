//! Where nabla's kernels run: on the rayon thread pool, sized by
//! `RAYON_NUM_THREADS` or by `rayon::ThreadPoolBuilder::build_global`.

use std::sync::atomic::{AtomicBool, Ordering};

/// Runs `f` on a thread of the rayon pool and returns its result.
///
/// Kernels above a size threshold split their work over the pool. Started
/// from a thread outside the pool (a program's main thread), each such
/// kernel wakes the workers and sleeps until they finish; started on a
/// worker, it runs its share itself and hands the rest to the others, as
/// PyTorch's kernels run on a thread of their OpenMP team. For the small
/// kernels of a training step (an MLP at batch 64) that is a third of the
/// step's time, so run a whole training loop inside this.
///
/// While `f` runs, one other worker of a pool of two or more stays awake:
/// it spins, taking whatever work the kernels hand out, as OpenMP's threads
/// spin between parallel regions. Between kernels rayon would put it to
/// sleep, and waking it took longer than many of a step's kernels: with it
/// awake, a GPT training step ran 19% faster, an MLP step at batch 64 50%,
/// and the LeNet-5 run took 16% less time (`docs/PERFORMANCE.md`). The
/// cost is that core, busy until `f` returns or panics: where other busy
/// processes share the cores (several ranks of a data-parallel run, say),
/// give the pool no more threads than the cores left to it, as `nabla
/// train --distributed` does by default.
///
/// ```
/// use nabla::{on_worker_thread, Tensor};
/// let sum = on_worker_thread(|| Tensor::<f32>::ones(&[256, 256]).matmul(&Tensor::ones(&[256, 1])).sum().item());
/// assert_eq!(sum, 256.0 * 256.0);
/// ```
pub fn on_worker_thread<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let done = AtomicBool::new(false);
    rayon::scope(|scope| {
        if rayon::current_num_threads() > 1 {
            scope.spawn(|_| {
                while !done.load(Ordering::Acquire) {
                    if rayon::yield_now() != Some(rayon::Yield::Executed) {
                        std::hint::spin_loop();
                    }
                }
            });
        }
        // Set on return and on unwinding alike: the scope waits for the
        // spinner, which stops only when it sees this.
        let _stop = StopOnDrop(&done);
        f()
    })
}

/// Sets its flag when dropped.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::on_worker_thread;

    #[test]
    fn a_panic_inside_comes_out_and_leaves_the_pool_usable() {
        let caught = std::panic::catch_unwind(|| on_worker_thread(|| panic!("inside")));
        assert!(caught.is_err());
        // The spinner stopped: the pool still runs work, nested calls too.
        let sum: u64 = on_worker_thread(|| on_worker_thread(|| (0..1000u64).sum()));
        assert_eq!(sum, 499_500);
    }
}
