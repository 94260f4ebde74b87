//! Criterion benchmarks of the autograd graph's own cost (issue 10, item 6):
//!
//! - `chain_of_adds/1000`: the backward pass through a chain of 1,000 adds
//!   of one-element tensors, where the arithmetic is nothing and the time
//!   is the graph's bookkeeping (target: at most 0.3 us per op).
//! - `time_step_slices/32x32x128`: the backward of 32 time-step slices
//!   `x.select(1, t)` of a `[32, 32, 128]` tensor, each times a `[32, 128]`
//!   weight and summed, as a hand-written RNN does (target: within 1.2x of
//!   PyTorch's; `benches/graph_overhead_pytorch.py` times the same).
//!
//! Only the backward pass is timed; each sample's forward pass is built
//! untimed. Run with `cargo bench -p nabla --bench graph_overhead`.

use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use nabla::{on_worker_thread, Generator, Tensor};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CHAIN: usize = 1000;

fn chain_of_adds(c: &mut Criterion) {
    let mut group = c.benchmark_group("chain_of_adds");
    group.throughput(Throughput::Elements(CHAIN as u64));
    let one = Tensor::<f32>::ones(&[1]);
    group.bench_function(format!("{CHAIN}"), |b| {
        b.iter_batched(
            || {
                let x = Tensor::<f32>::ones(&[1]).requires_grad();
                let mut y = x.clone();
                for _ in 0..CHAIN {
                    y = y.add(&one);
                }
                (x, y)
            },
            |(x, y)| {
                y.backward();
                x
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn time_step_slices(c: &mut Criterion) {
    let mut group = c.benchmark_group("time_step_slices");
    let mut rng = Generator::new(0);
    let x = Tensor::<f32>::randn(&[32, 32, 128], &mut rng).requires_grad();
    let w = Tensor::<f32>::randn(&[32, 128], &mut rng).requires_grad();
    group.bench_function("32x32x128", |b| {
        b.iter_batched(
            || {
                x.zero_grad();
                w.zero_grad();
                let mut total = x.select(1, 0).mul(&w).sum();
                for t in 1..32 {
                    total = total.add(&x.select(1, t).mul(&w).sum());
                }
                total
            },
            |total| total.backward(),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, chain_of_adds, time_step_slices);

fn main() {
    on_worker_thread(|| {
        benches();
        Criterion::default().configure_from_args().final_summary();
    });
}
