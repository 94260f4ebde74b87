//! Attention: [`scaled_dot_product_attention`], [`MultiheadAttention`]
//! with PyTorch's semantics and state-dict names, the masks they take
//! ([`AttentionMask`]) and the [`KvCache`] for generation.
//!
//! Every batch element and head is computed in the same few operations: a
//! batched product for the scores `[..., L, S]`, one fused pass that
//! scales, masks and normalises them in place, a batched product with the
//! values. Heads are split and merged as strided views of the projections.

mod kv_cache;
mod mask;
mod multihead;
mod options;
mod sdpa;

pub use kv_cache::KvCache;
pub use mask::{generate_square_subsequent_mask, AttentionMask};
pub use multihead::MultiheadAttention;
pub use options::{AttentionArgs, MultiheadAttentionOptions};
pub use sdpa::scaled_dot_product_attention;
