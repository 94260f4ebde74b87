//! Raw loops on slices: the arithmetic under every op. Kernels know shapes
//! and strides only as they are handed them, and nothing about the graph.

pub(crate) mod accumulate;
pub(crate) mod attention;
pub(crate) mod batch_norm;
pub(crate) mod conv;
pub(crate) mod depthwise;
pub(crate) mod elementwise;
pub(crate) mod fill;
pub(crate) mod im2col;
pub(crate) mod index;
pub(crate) mod lstm;
pub(crate) mod matmul;
pub(crate) mod optimizer;
pub(crate) mod pool;
pub(crate) mod reduce;
pub(crate) mod softmax;

/// Below this many elements a kernel runs on the calling thread: waking the
/// pool costs more than it saves.
pub(crate) const PARALLEL_THRESHOLD: usize = 1 << 15;
