//! Criterion benchmarks of the training steps and layers the issues set
//! targets for: an MLP 784-256-128-10 step and a LeNet-5 step at batch 64
//! and 256, and conv2d (N=32, 64->64 channels, 32x32, 3x3, padding 1)
//! forward and forward+backward. The same code backs `nabla bench`.
//!
//! Run with `cargo bench -p nabla --bench training`.
//!
//! As in `nabla bench`, the steps run on a rayon worker thread and with
//! mimalloc as the allocator (see the `nabla` binary's `main.rs`).

use criterion::{criterion_group, Criterion, Throughput};
use nabla::bench::{ConvStep, TrainStep};
use nabla::on_worker_thread;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn training_steps(c: &mut Criterion) {
    let mut group = c.benchmark_group("train_step");
    group.sample_size(20);
    for (name, make) in [
        ("mlp", TrainStep::mlp as fn(usize) -> TrainStep),
        ("lenet5", TrainStep::lenet),
    ] {
        for batch in [64, 256] {
            let mut step = make(batch);
            group.throughput(Throughput::Elements(batch as u64));
            group.bench_function(format!("{name}/batch{batch}"), |b| b.iter(|| step.run()));
        }
    }
    group.finish();
}

fn conv2d(c: &mut Criterion) {
    let mut group = c.benchmark_group("conv2d_n32_c64_32x32_k3");
    group.sample_size(10);
    for (name, backward) in [("forward", false), ("forward_backward", true)] {
        let step = ConvStep::new(backward);
        group.bench_function(name, |b| b.iter(|| step.run()));
    }
    group.finish();
}

criterion_group!(benches, training_steps, conv2d);

fn main() {
    on_worker_thread(|| {
        benches();
        Criterion::default().configure_from_args().final_summary();
    });
}
