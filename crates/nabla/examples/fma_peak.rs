//! The machine's floating-point ceiling: f32 fused multiply-adds per second
//! on one thread with AVX2, from 12 independent chains of FMAs (enough to
//! hide their latency). `docs/PERFORMANCE.md` measures the GEMM and training
//! rows against this number. (AVX-512 intrinsics need a newer Rust than the
//! crate's minimum; on the AMD EPYC of the table, which splits each 512-bit
//! FMA in two, a hand-written AVX-512 loop measured the same rate.)
//!
//! ```sh
//! cargo run --release -p nabla --example fma_peak
//! ```

use std::time::Instant;

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    const CHAINS: usize = 12;

    /// Runs `iters` rounds of `CHAINS` 8-lane FMAs; returns a value that
    /// depends on all of them, so none can be optimized away.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn avx2(iters: u64) -> f32 {
        let m = _mm256_set1_ps(std::hint::black_box(0.999_999));
        let a = _mm256_set1_ps(1e-7);
        let mut acc = [_mm256_set1_ps(1.0); CHAINS];
        for _ in 0..std::hint::black_box(iters) {
            for r in acc.iter_mut() {
                *r = _mm256_fmadd_ps(*r, m, a);
            }
        }
        let sum = acc.iter().fold(_mm256_setzero_ps(), |s, &r| _mm256_add_ps(s, r));
        let mut lanes = [0f32; 8];
        _mm256_storeu_ps(lanes.as_mut_ptr(), sum);
        lanes.iter().sum()
    }

    /// FLOPs (2 per lane per FMA) of `iters` rounds of `lanes`-wide FMAs.
    pub fn flops(iters: u64, lanes: usize) -> f64 {
        iters as f64 * (CHAINS * lanes * 2) as f64
    }
}

/// The best of 5 runs, in GFLOP/s.
fn best_gflops(flops: f64, mut run: impl FnMut() -> f32) -> f64 {
    (0..5)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(run());
            flops / start.elapsed().as_secs_f64() / 1e9
        })
        .fold(0.0, f64::max)
}

#[cfg(target_arch = "x86_64")]
fn main() {
    let iters = 20_000_000;
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA, checked just above.
        let gflops = best_gflops(x86::flops(iters, 8), || unsafe { x86::avx2(iters) });
        println!("AVX2 FMA: {gflops:.1} GFLOP/s on one thread");
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {
    let _ = best_gflops;
    println!("fma_peak measures x86-64 FMA units only");
}
