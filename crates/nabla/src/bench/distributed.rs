//! The data-parallel benchmarks (`nabla bench --distributed`, under
//! `mpirun -np N`): the bandwidth of averaging gradients with
//! [`DistributedDataParallel`] against a plain `MPI_Allreduce` of the same
//! bytes, and the training throughput of LeNet-5 and of the char-GPT over
//! all the ranks.

use std::cell::RefCell;
use std::sync::Arc;

use super::{median_seconds_prepared, LanguageModelStep, TrainStep};
use crate::distributed::{DistributedDataParallel, ProcessGroup, DEFAULT_BUCKET_BYTES};
use crate::tensor::{Generator, Tensor};
use crate::train::DataParallel;

const MIB: usize = 1024 * 1024;

/// Gigabytes (10^9 bytes) per second of averaging `bytes` of f32
/// gradients held by 16 parameters over the processes with `ddp`'s
/// buckets (the copy into the buckets included): the bytes over the median
/// time of one averaging. Before each, the parameters get fresh gradients,
/// as a backward pass after `zero_grad` gives them.
pub fn ddp_allreduce_gb_per_second(ddp: &DistributedDataParallel, bytes: usize, repetitions: usize) -> f64 {
    let per_tensor = bytes / 4 / 16;
    let mut g = Generator::new(ddp.group().rank() as u64);
    let parameters: Vec<Tensor> = (0..16)
        .map(|_| Tensor::<f32>::zeros(&[per_tensor]).requires_grad())
        .collect();
    let gradients: Vec<Tensor> = (0..16).map(|_| Tensor::randn(&[per_tensor], &mut g)).collect();
    let seconds = median_seconds_in_step(
        ddp.group(),
        repetitions,
        || {
            for (p, gradient) in parameters.iter().zip(&gradients) {
                *p.inner.grad.lock().unwrap_or_else(|e| e.into_inner()) = Some(gradient.clone());
            }
        },
        || ddp.average_gradients(&parameters),
    );
    (per_tensor * 16 * 4) as f64 / seconds / 1e9
}

/// Gigabytes per second of one plain `MPI_Allreduce` (sum) of `bytes` of
/// f32 into a second buffer: the yardstick of
/// [`ddp_allreduce_gb_per_second`].
pub fn mpi_allreduce_gb_per_second(group: &ProcessGroup, bytes: usize, repetitions: usize) -> f64 {
    let n = bytes / 4;
    let values = vec![1.0f32; n];
    let mut sums = vec![0.0f32; n];
    let seconds = median_seconds_in_step(
        group,
        repetitions,
        || (),
        || group.all_reduce_sum_into(&values, &mut sums),
    );
    (n * 4) as f64 / seconds / 1e9
}

/// Gigabytes per second of one `MPI_Allreduce` of `bytes` of f32 in place
/// (`MPI_IN_PLACE`, as [`DistributedDataParallel`] sums its buckets): the
/// floor under the averaging, which adds one pass over the gradients.
pub fn mpi_allreduce_in_place_gb_per_second(group: &ProcessGroup, bytes: usize, repetitions: usize) -> f64 {
    let n = bytes / 4;
    let values = vec![1.0f32; n];
    let sums = RefCell::new(vec![0.0f32; n]);
    let seconds = median_seconds_in_step(
        group,
        repetitions,
        || sums.borrow_mut().copy_from_slice(&values),
        || group.all_reduce_sum(&mut sums.borrow_mut()),
    );
    (n * 4) as f64 / seconds / 1e9
}

/// The median time of `run` over `repetitions` calls (after two more not
/// counted), each after `prepare` and a barrier, neither timed, so that
/// every process starts the collective together.
fn median_seconds_in_step(
    group: &ProcessGroup,
    repetitions: usize,
    mut prepare: impl FnMut(),
    run: impl FnMut(),
) -> f64 {
    let prepare_and_wait = || {
        prepare();
        group.barrier();
    };
    median_seconds_prepared(2, repetitions, prepare_and_wait, run)
}

/// Every data-parallel benchmark whose key contains `filter`, as
/// `(key, value)`; the training rows count the examples (characters) of
/// all the ranks. Collective: every rank calls it with the same arguments.
pub fn run_matching(group: &Arc<ProcessGroup>, filter: &str, repetitions: usize) -> Vec<(&'static str, f64)> {
    let ddp = Arc::new(DistributedDataParallel::new(group.clone(), DEFAULT_BUCKET_BYTES));
    let ranks = group.world_size() as f64;
    type Measure = Box<dyn Fn(usize) -> f64 + Send + Sync>;
    let rows: Vec<(&'static str, Measure)> = vec![
        ("allreduce_1mb_gb_per_s", {
            let ddp = ddp.clone();
            Box::new(move |r| ddp_allreduce_gb_per_second(&ddp, MIB, r))
        }),
        ("mpi_allreduce_1mb_gb_per_s", {
            let group = group.clone();
            Box::new(move |r| mpi_allreduce_gb_per_second(&group, MIB, r))
        }),
        ("mpi_allreduce_in_place_1mb_gb_per_s", {
            let group = group.clone();
            Box::new(move |r| mpi_allreduce_in_place_gb_per_second(&group, MIB, r))
        }),
        ("allreduce_64mb_gb_per_s", {
            let ddp = ddp.clone();
            Box::new(move |r| ddp_allreduce_gb_per_second(&ddp, 64 * MIB, r))
        }),
        ("mpi_allreduce_64mb_gb_per_s", {
            let group = group.clone();
            Box::new(move |r| mpi_allreduce_gb_per_second(&group, 64 * MIB, r))
        }),
        ("mpi_allreduce_in_place_64mb_gb_per_s", {
            let group = group.clone();
            Box::new(move |r| mpi_allreduce_in_place_gb_per_second(&group, 64 * MIB, r))
        }),
        ("ddp_lenet5_b256_samples_per_s", {
            let ddp = ddp.clone();
            Box::new(move |r| {
                ranks
                    * TrainStep::lenet(256)
                        .data_parallel(ddp.clone() as Arc<dyn DataParallel>)
                        .samples_per_second(r)
            })
        }),
        ("ddp_char_gpt_tokens_per_s", {
            let ddp = ddp.clone();
            Box::new(move |r| {
                ranks
                    * LanguageModelStep::gpt()
                        .data_parallel(ddp.clone() as Arc<dyn DataParallel>)
                        .tokens_per_second(r)
            })
        }),
    ];
    rows.into_iter()
        .filter(|(key, _)| key.contains(filter))
        .map(|(key, measure)| (key, crate::parallel::on_worker_thread(|| measure(repetitions))))
        .collect()
}
