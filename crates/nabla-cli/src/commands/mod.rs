//! One module per subcommand.

pub mod attack;
pub mod bench;
pub mod convert;
pub mod download;
pub mod eval;
pub mod generate;
pub mod graph;
pub mod lipschitz;
pub mod predict;
pub mod rl;
pub mod sample;
pub mod sample_flow;
pub mod sample_gan;
pub mod show;
pub mod summary;
pub mod train;
