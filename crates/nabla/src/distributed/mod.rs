//! Data-parallel training across processes and machines on MPI (the `mpi`
//! feature; Open MPI or MPICH through the `mpi` crate), the way PyTorch's
//! `DistributedDataParallel` does it:
//!
//! - [`ProcessGroup`]: the processes of the job (`MPI_COMM_WORLD`); rank
//!   0's weights broadcast to all ([`ProcessGroup::broadcast_module`]); a
//!   start-up check that every process was started with the same model,
//!   data and seed ([`ProcessGroup::check_same`]); every collective checked,
//!   and an error or a panic on any rank stops the whole job
//!   ([`ProcessGroup::abort`]) instead of leaving the others waiting.
//! - [`DistributedDataParallel`]: gradients averaged over the processes in
//!   buckets, each started during the backward pass as soon as it is
//!   complete; a [`DataParallel`](crate::train::DataParallel), so
//!   [`fit`](crate::train::fit) drives it.
//! - Each process reads its [`Shard`](crate::data::Shard) of every epoch
//!   (PyTorch's `DistributedSampler`).
//!
//! BatchNorm keeps its statistics per process, as PyTorch's default does:
//! each process normalises with its own shard's batch statistics, and each
//! keeps its own running statistics (rank 0's are the ones its checkpoints
//! hold). [`SyncBatchNorm`] normalises with the statistics of the global
//! batch instead (two small all-reduces per layer per step), and
//! [`convert_sync_batchnorm`] puts it in place of a model's BatchNorm
//! layers; then `N` processes train exactly the model one process trains
//! on the global batch.
//!
//! Run under `mpirun -np N`; a process started without it is a world of
//! one, where everything works and nothing is sent.
//!
//! ```no_run
//! use std::sync::Arc;
//! use nabla::data::{DataLoader, LoaderConfig, Shard, TensorDataset};
//! use nabla::distributed::{DistributedDataParallel, ProcessGroup, DEFAULT_BUCKET_BYTES};
//! use nabla::nn::{Linear, Module};
//! use nabla::optim::{Sgd, SgdConfig, Optimizer};
//! use nabla::train::{fit, Classification, TrainConfig};
//! use nabla::{Generator, IndexTensor, Tensor};
//!
//! let group = ProcessGroup::init()?;
//! let mut g = Generator::new(0);
//! let data = Arc::new(TensorDataset::new(
//!     Tensor::randn(&[512, 4], &mut g),
//!     IndexTensor::from_vec((0..512).map(|i| i % 2).collect(), &[512]),
//!     2,
//! ));
//! let shard = Some(Shard::new(group.rank(), group.world_size()));
//! let loader = DataLoader::new(data, LoaderConfig { batch_size: 32, shard, ..LoaderConfig::default() });
//! let mut model = Linear::new(4, 2, true, &mut Generator::new(group.rank() as u64));
//! group.broadcast_module(&model); // every rank starts from rank 0's weights
//! let mut optimizer = Sgd::new(model.parameters(), SgdConfig::new(0.1));
//! let config = TrainConfig {
//!     epochs: 2,
//!     parallel: Some(Arc::new(DistributedDataParallel::new(group.clone(), DEFAULT_BUCKET_BYTES))),
//!     ..TrainConfig::default()
//! };
//! fit(&mut model, &mut Classification::default(), &mut optimizer, None, &loader, None, &config, &mut ())?;
//! # Ok::<(), nabla::Error>(())
//! ```

mod ddp;
mod element;
mod group;
mod sync_batch_norm;

pub use ddp::{DistributedDataParallel, DEFAULT_BUCKET_BYTES};
pub use element::MpiElement;
pub use group::ProcessGroup;
pub use sync_batch_norm::{convert_sync_batchnorm, SyncBatchNorm};
