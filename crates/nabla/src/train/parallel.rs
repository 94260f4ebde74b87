//! [`DataParallel`]: what the training loop needs of data-parallel training
//! (the processes, the averaged gradients, sums across processes), so that
//! [`fit`](super::fit) itself knows nothing of the transport. nabla's
//! implementation is `distributed::DistributedDataParallel`, on MPI (the
//! `mpi` feature).

use std::fmt;

use super::running::RunningMeans;
use crate::error::Result;
use crate::nn::Module;
use crate::tensor::Tensor;

/// Data-parallel training as [`fit`](super::fit) drives it: every process
/// runs the same loop on its own [`Shard`](crate::data::Shard) of the data;
/// `fit` calls [`backward`](Self::backward) instead of `loss.backward()`,
/// agrees with the other processes on stopping (Ctrl-C, a loss that is not
/// finite) through [`any`](Self::any), sums the metrics across processes,
/// and writes files on rank 0 only.
///
/// Every method but [`abort`](Self::abort) is collective: all processes
/// call it, in the same order.
pub trait DataParallel: fmt::Debug + Send + Sync {
    /// This process's rank, from 0.
    fn rank(&self) -> usize;

    /// The number of processes.
    fn world_size(&self) -> usize;

    /// Backpropagates `loss` and leaves in the `.grad` of each of
    /// `parameters` its mean over the processes (every process ends with
    /// the same gradients, so identical optimizer steps keep the models
    /// identical).
    fn backward(&self, loss: &Tensor, parameters: &[Tensor]);

    /// Sums `values` elementwise over the processes, in place; every
    /// process gets the same sums.
    fn all_reduce_sum(&self, values: &mut [f64]);

    /// Copies rank 0's parameters and buffers into every process's
    /// `module`, so that all start from the same weights.
    fn broadcast_module(&self, module: &dyn Module);

    /// Checks that every process was started the same way: `entries` are
    /// named descriptions (the model, the data, the settings), compared
    /// with rank 0's.
    ///
    /// # Errors
    /// [`Error::Distributed`](crate::Error::Distributed) on every process
    /// when any differs, naming the rank, the entry and both values.
    fn check_same(&self, entries: &[(&str, String)]) -> Result<()>;

    /// Prints `message` naming this rank and stops every process: what an
    /// error on one process must do, since the others would wait for it in
    /// their next collective. Not collective.
    fn abort(&self, message: &str) -> !;

    /// True on every process if `flag` is true on any.
    fn any(&self, flag: bool) -> bool {
        let mut value = [f64::from(u8::from(flag))];
        self.all_reduce_sum(&mut value);
        value[0] > 0.0
    }
}

/// `loss.backward()`, or with `parallel` the backward pass that leaves in
/// `parameters` their gradients averaged over the processes
/// ([`DataParallel::backward`]): what every training loop calls, so that
/// one loop serves both.
pub fn data_parallel_backward(parallel: Option<&dyn DataParallel>, loss: &Tensor, parameters: &[Tensor]) {
    match parallel {
        Some(parallel) => parallel.backward(loss, parameters),
        None => loss.backward(),
    }
}

impl RunningMeans {
    /// The sums and counts of every metric, and the examples, added up over
    /// the processes of `parallel` (each process must have the same metrics
    /// in the same order, as the same step reports them).
    pub fn all_reduced(&self, parallel: &dyn DataParallel) -> RunningMeans {
        let mut values = Vec::with_capacity(1 + 2 * self.sums.len());
        values.push(self.examples as f64);
        for s in &self.sums {
            values.extend([s.sum, s.count as f64]);
        }
        parallel.all_reduce_sum(&mut values);
        let mut reduced = self.clone();
        reduced.examples = values[0] as u64;
        for (s, pair) in reduced.sums.iter_mut().zip(values[1..].chunks_exact(2)) {
            s.sum = pair[0];
            s.count = pair[1] as u64;
        }
        reduced
    }
}
