//! Performance targets of nabla, each measured side by side with its
//! baseline in one run so that the ratios can be read off directly:
//!
//! 1. `matmul_f32/{nabla,gemm_direct}/N`: f32 `a.matmul(&b)` of square
//!    N x N matrices (N = 256, 512, 1024) under `no_grad`, against
//!    `gemm::gemm` called directly on pre-allocated buffers with the same
//!    `Parallelism`. Throughput is 2 N^3 "elements", so criterion's
//!    `elem/s` reads as FLOP/s. Target: nabla within 5% of the direct call.
//! 2. `elementwise_4M/{add,mul}/{nabla,plain_loop}`: `&a + &b` and `&a * &b`
//!    on two contiguous 4M-element f32 tensors against a plain Rust loop
//!    over slices that allocates its output. Target: within 1.5x.
//!    `plain_loop_prealloc` (no allocation) is a diagnostic extra.
//! 3. `autograd_chain_1000/{backward,forward}/{add_scalar,mul_leaf}`: a chain
//!    of 1,000 ops on shape-[1] tensors that require grad. `backward` times
//!    `backward()` alone (the graph is built in the untimed setup, and the
//!    graph's leftovers are dropped outside the timing); `forward` times
//!    building the graph (dropping it is not timed). Throughput is 1,000 elements, so `elem/s` is ops/s.
//!    Target: backward under 1 microsecond per op.
//!
//! Run with `cargo bench -p nabla --bench tensor_ops`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use nabla::{no_grad, Tensor};

/// Deterministic pseudo-random values in [-1, 1) (a 64-bit LCG), so both
/// sides of every comparison multiply the same numbers.
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// `dst = lhs x rhs` for row-major `n x n` matrices through `gemm::gemm`,
/// with the same strides, flags and parallelism as nabla's kernel uses.
fn gemm_direct(dst: &mut [f32], lhs: &[f32], rhs: &[f32], n: usize, parallelism: gemm::Parallelism) {
    assert!(dst.len() == n * n && lhs.len() == n * n && rhs.len() == n * n);
    // SAFETY: all three buffers hold n x n elements laid out row-major
    // (column stride 1, row stride n), and `dst` does not alias the inputs.
    unsafe {
        gemm::gemm(
            n,
            n,
            n,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            lhs.as_ptr(),
            1,
            n as isize,
            rhs.as_ptr(),
            1,
            n as isize,
            0.0f32,
            1.0f32,
            false,
            false,
            false,
            parallelism,
        )
    }
}

fn matmul(c: &mut Criterion) {
    let threads = rayon::current_num_threads();
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    let mut group = c.benchmark_group("matmul_f32");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    for n in [256usize, 512, 1024] {
        group.sample_size(if n >= 1024 { 10 } else { 20 });
        group.throughput(Throughput::Elements(2 * (n as u64).pow(3)));

        let (va, vb) = (values(n * n, 1), values(n * n, 2));
        let a = Tensor::from_vec(va.clone(), &[n, n]);
        let b = Tensor::from_vec(vb.clone(), &[n, n]);
        let mut dst = vec![0.0f32; n * n];

        // Both sides must compute the same product.
        gemm_direct(&mut dst, &va, &vb, n, parallelism);
        let ours = no_grad(|| a.matmul(&b)).to_vec();
        let worst = ours
            .iter()
            .zip(&dst)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(
            worst <= 1e-3 * n as f32,
            "matmul {n}: nabla and gemm differ by {worst}"
        );

        group.bench_with_input(BenchmarkId::new("nabla", n), &n, |bench, _| {
            bench.iter(|| no_grad(|| black_box(&a).matmul(black_box(&b))))
        });
        group.bench_with_input(BenchmarkId::new("gemm_direct", n), &n, |bench, &n| {
            bench.iter(|| {
                gemm_direct(
                    black_box(&mut dst),
                    black_box(&va),
                    black_box(&vb),
                    n,
                    parallelism,
                );
            })
        });
    }
    group.finish();
}

const ELEMENTWISE_LEN: usize = 4 * 1024 * 1024;

fn elementwise(c: &mut Criterion) {
    let n = ELEMENTWISE_LEN;
    let (va, vb) = (values(n, 3), values(n, 4));
    let a = Tensor::from_vec(va.clone(), &[n]);
    let b = Tensor::from_vec(vb.clone(), &[n]);
    assert_eq!(
        (&a + &b).to_vec(),
        va.iter().zip(&vb).map(|(x, y)| x + y).collect::<Vec<f32>>()
    );
    assert_eq!(
        (&a * &b).to_vec(),
        va.iter().zip(&vb).map(|(x, y)| x * y).collect::<Vec<f32>>()
    );

    let mut group = c.benchmark_group("elementwise_4M");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(20);
    group.throughput(Throughput::Elements(n as u64));

    let mut out = vec![0.0f32; n];
    group.bench_function("add/nabla", |bench| bench.iter(|| black_box(&a) + black_box(&b)));
    group.bench_function("add/plain_loop", |bench| {
        bench.iter(|| {
            black_box(&va)
                .iter()
                .zip(black_box(&vb))
                .map(|(x, y)| x + y)
                .collect::<Vec<f32>>()
        })
    });
    group.bench_function("add/plain_loop_prealloc", |bench| {
        bench.iter(|| {
            for ((o, x), y) in black_box(&mut out)
                .iter_mut()
                .zip(black_box(&va))
                .zip(black_box(&vb))
            {
                *o = x + y;
            }
        })
    });
    group.bench_function("mul/nabla", |bench| bench.iter(|| black_box(&a) * black_box(&b)));
    group.bench_function("mul/plain_loop", |bench| {
        bench.iter(|| {
            black_box(&va)
                .iter()
                .zip(black_box(&vb))
                .map(|(x, y)| x * y)
                .collect::<Vec<f32>>()
        })
    });
    group.bench_function("mul/plain_loop_prealloc", |bench| {
        bench.iter(|| {
            for ((o, x), y) in black_box(&mut out)
                .iter_mut()
                .zip(black_box(&va))
                .zip(black_box(&vb))
            {
                *o = x * y;
            }
        })
    });
    group.finish();
}

const CHAIN_LEN: usize = 1_000;

/// A leaf of shape [1] that requires grad.
fn leaf(value: f32) -> Tensor {
    Tensor::from_vec(vec![value], &[1]).requires_grad()
}

/// `x0 + 1 + 1 + ...`: 1,000 `AddScalar` nodes, whose backward only passes
/// the gradient on, so this measures the engine's own bookkeeping.
fn chain_add_scalar(x0: &Tensor) -> Tensor {
    let mut x = x0.clone();
    for _ in 0..CHAIN_LEN {
        x = x.add_scalar(1.0);
    }
    x
}

/// `x0 * w * w * ...`: 1,000 `Mul` nodes, each also delivering a gradient to
/// the leaf `w` (a typical parameter reused by every op).
fn chain_mul_leaf(x0: &Tensor, w: &Tensor) -> Tensor {
    let mut x = x0.clone();
    for _ in 0..CHAIN_LEN {
        x = &x * w;
    }
    x
}

fn autograd_chain(c: &mut Criterion) {
    // Sanity: the gradients are right.
    let x0 = leaf(2.0);
    chain_add_scalar(&x0).backward();
    assert_eq!(x0.grad().unwrap().to_vec(), vec![1.0]);
    let (x0, w) = (leaf(2.0), leaf(1.0));
    chain_mul_leaf(&x0, &w).backward();
    assert_eq!(x0.grad().unwrap().to_vec(), vec![1.0]);
    assert_eq!(w.grad().unwrap().to_vec(), vec![2.0 * CHAIN_LEN as f32]);

    let mut group = c.benchmark_group("autograd_chain_1000");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(20);
    group.throughput(Throughput::Elements(CHAIN_LEN as u64));

    // One graph per timed iteration (`PerIteration`), built just before its
    // backward pass as in a training step, so it is still in cache and the
    // allocator sees the same pattern as in a training loop. The routines
    // return what they were given, so that dropping what is left of the
    // graph and the leaves happens outside the timing.
    group.bench_function("backward/add_scalar", |bench| {
        bench.iter_batched(
            || {
                let x0 = leaf(2.0);
                let y = chain_add_scalar(&x0);
                (x0, y)
            },
            |(x0, y)| {
                y.backward();
                (x0, y)
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("backward/mul_leaf", |bench| {
        bench.iter_batched(
            || {
                let (x0, w) = (leaf(2.0), leaf(1.0));
                let y = chain_mul_leaf(&x0, &w);
                (x0, w, y)
            },
            |(x0, w, y)| {
                y.backward();
                (x0, w, y)
            },
            BatchSize::PerIteration,
        )
    });

    // Building the graph, timed alone: each graph is dropped right after its
    // iteration, outside the timing.
    let x0 = leaf(2.0);
    let w = leaf(1.0);
    group.bench_function("forward/add_scalar", |bench| {
        bench.iter_batched(
            || (),
            |()| chain_add_scalar(black_box(&x0)),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("forward/mul_leaf", |bench| {
        bench.iter_batched(
            || (),
            |()| chain_mul_leaf(black_box(&x0), black_box(&w)),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, matmul, elementwise, autograd_chain);
criterion_main!(benches);
