//! Raw loops on slices: the arithmetic under every op. Kernels know shapes
//! and strides only as they are handed them, and nothing about the graph.

/// Defines `$name`, which runs `$body` (a function of the same arguments)
/// compiled for AVX-512 or AVX2 when the CPU has it (checked at run time)
/// and for the baseline otherwise. The compiler vectorises the body's
/// loops for the widest registers it is given.
macro_rules! dispatch_simd {
    ($name:ident, $body:ident, ($($arg:ident: $ty:ty),*)) => {
        fn $name<T: crate::element::Float>($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                unsafe fn with_avx512<T: crate::element::Float>($($arg: $ty),*) {
                    $body($($arg),*)
                }

                #[target_feature(enable = "avx2")]
                unsafe fn with_avx2<T: crate::element::Float>($($arg: $ty),*) {
                    $body($($arg),*)
                }

                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU supports AVX-512F, checked just above.
                    return unsafe { with_avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2, checked just above.
                    return unsafe { with_avx2($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}

pub(crate) mod accumulate;
pub(crate) mod attention;
pub(crate) mod batch_norm;
pub(crate) mod conv;
pub(crate) mod decoder;
pub(crate) mod depthwise;
pub(crate) mod elementwise;
pub(crate) mod fill;
pub(crate) mod im2col;
pub(crate) mod index;
pub(crate) mod layer_norm;
pub(crate) mod lstm;
pub(crate) mod matmul;
pub(crate) mod optimizer;
pub(crate) mod pool;
pub(crate) mod reduce;
pub(crate) mod softmax;

/// Below this many elements a kernel runs on the calling thread: waking the
/// pool costs more than it saves.
pub(crate) const PARALLEL_THRESHOLD: usize = 1 << 15;
