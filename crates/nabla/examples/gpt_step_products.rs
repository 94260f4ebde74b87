//! The matrix products of one char-GPT training step (nanoGPT's CPU
//! configuration: batch 12 x 64 characters, 128 features, 4 heads, 4
//! layers, 65 characters), each timed alone, forward and both backward
//! products, and their sum per step: the time a step cannot go below
//! without a faster GEMM. `benches/torch_gpt_products.py` times the same
//! products in PyTorch; `docs/PERFORMANCE.md` compares the two sums with
//! each library's whole step.
//!
//! Run with `RAYON_NUM_THREADS=2 cargo run --release -p nabla --example
//! gpt_step_products`.

use std::time::Instant;

use nabla::{on_worker_thread, Generator, Tensor};

/// The median of 7 rounds of 50 calls, in seconds per call.
fn seconds_per_call(mut f: impl FnMut() -> Tensor) -> f64 {
    for _ in 0..10 {
        f();
    }
    let mut rounds: Vec<f64> = (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..50 {
                f();
            }
            start.elapsed().as_secs_f64() / 50.0
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[3]
}

fn main() {
    on_worker_thread(|| {
        let mut g = Generator::new(0);
        let (batch, t, c, heads, layers, vocab) = (12, 64, 128, 4, 4, 65);
        let (rows, d) = (batch * t, c / heads);
        let mut total = 0.0;
        // c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj (per layer), then lm_head.
        for (k, n, count) in [
            (c, 3 * c, layers),
            (c, c, layers),
            (c, 4 * c, layers),
            (4 * c, c, layers),
            (c, vocab, 1),
        ] {
            let x = Tensor::<f32>::randn(&[rows, k], &mut g);
            let w = Tensor::<f32>::randn(&[n, k], &mut g);
            let dy = Tensor::<f32>::randn(&[rows, n], &mut g);
            let forward = seconds_per_call(|| x.matmul(&w.t()));
            let input_grad = seconds_per_call(|| dy.matmul(&w));
            let weight_grad = seconds_per_call(|| dy.t().matmul(&x));
            total += count as f64 * (forward + input_grad + weight_grad);
            println!(
                "[{rows}, {k}] x [{k}, {n}]: forward {:.0} us, input gradient {:.0} us, weight gradient {:.0} us",
                forward * 1e6,
                input_grad * 1e6,
                weight_grad * 1e6
            );
        }
        let mut randn = |shape: &[usize]| Tensor::<f32>::randn(shape, &mut g);
        let (q, k, v, dout) = (
            randn(&[batch, heads, t, d]),
            randn(&[batch, heads, t, d]),
            randn(&[batch, heads, t, d]),
            randn(&[batch, heads, t, d]),
        );
        let (p, dscores) = (randn(&[batch, heads, t, t]), randn(&[batch, heads, t, t]));
        let forward = seconds_per_call(|| q.matmul(&k.transpose(-1, -2))) + seconds_per_call(|| p.matmul(&v));
        let backward = seconds_per_call(|| dscores.matmul(&k))
            + seconds_per_call(|| dscores.transpose(-1, -2).matmul(&q))
            + seconds_per_call(|| dout.matmul(&v.transpose(-1, -2)))
            + seconds_per_call(|| p.transpose(-1, -2).matmul(&dout));
        total += layers as f64 * (forward + backward);
        println!(
            "attention, per layer: forward {:.0} us, backward {:.0} us",
            forward * 1e6,
            backward * 1e6
        );
        println!("all products of a step: {:.2} ms", total * 1e3);
    });
}
