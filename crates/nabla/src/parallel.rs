//! Where nabla's kernels run: on the rayon thread pool, sized by
//! `RAYON_NUM_THREADS` or by `rayon::ThreadPoolBuilder::build_global`.

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
/// ```
/// use nabla::{on_worker_thread, Tensor};
/// let sum = on_worker_thread(|| Tensor::<f32>::ones(&[256, 256]).matmul(&Tensor::ones(&[256, 1])).sum().item());
/// assert_eq!(sum, 256.0 * 256.0);
/// ```
pub fn on_worker_thread<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| f())
}
