//! The nabla guide: the course in code, chapter by chapter.
//!
//! The pages are the Markdown files of `docs/guide/` in the repository,
//! rendered as a book by `mdbook build docs/guide`. Each page is also one
//! of these modules, so that `cargo test` compiles and runs every Rust
//! block of the guide (`cargo test -p nabla --doc guide` runs only them).
//! Pictures are linked relative to the book, so they show in the book, not
//! here.

#[doc = include_str!("../../../docs/guide/introduction.md")]
pub mod introduction {}

#[doc = include_str!("../../../docs/guide/ch01-mlp.md")]
pub mod ch01_mlp {}

#[doc = include_str!("../../../docs/guide/ch01-transfer.md")]
pub mod ch01_transfer {}

#[doc = include_str!("../../../docs/guide/ch02-autodiff.md")]
pub mod ch02_autodiff {}

#[doc = include_str!("../../../docs/guide/ch03-rl.md")]
pub mod ch03_rl {}

#[doc = include_str!("../../../docs/guide/ch04-optimization.md")]
pub mod ch04_optimization {}

#[doc = include_str!("../../../docs/guide/ch05-cnn.md")]
pub mod ch05_cnn {}

#[doc = include_str!("../../../docs/guide/ch06-rnn.md")]
pub mod ch06_rnn {}

#[doc = include_str!("../../../docs/guide/ch07-attention.md")]
pub mod ch07_attention {}

#[doc = include_str!("../../../docs/guide/ch08-robustness.md")]
pub mod ch08_robustness {}

#[doc = include_str!("../../../docs/guide/ch08-lipschitz.md")]
pub mod ch08_lipschitz {}

#[doc = include_str!("../../../docs/guide/ch09-deep-rl.md")]
pub mod ch09_deep_rl {}

#[doc = include_str!("../../../docs/guide/ch10-autoencoders.md")]
pub mod ch10_autoencoders {}

#[doc = include_str!("../../../docs/guide/ch11-gans.md")]
pub mod ch11_gans {}

#[doc = include_str!("../../../docs/guide/ch12-flows.md")]
pub mod ch12_flows {}

#[doc = include_str!("../../../docs/FROM_PYTORCH.md")]
pub mod from_pytorch {}
