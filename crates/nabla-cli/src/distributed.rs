//! `--distributed`: a training run as one rank of an MPI job
//! (`mpirun -np N nabla train --distributed ...`). Each rank trains on its
//! shard of the data with `--batch-size` examples per step and the
//! gradients averaged over the ranks; rank 0 alone prints and writes files.
//! Needs a nabla built with `--features nabla-cli/mpi`.

use std::path::Path;
use std::sync::Arc;

use nabla::data::Shard;
use nabla::train::DataParallel;

use crate::options;

/// The options of data-parallel training.
#[derive(clap::Args, Clone, Debug, Default)]
#[command(
    next_help_heading = "Data-parallel training (under mpirun; a nabla built with --features nabla-cli/mpi)"
)]
pub struct DistributedArgs {
    /// Train as one rank of an MPI job: `mpirun -np N nabla train --distributed ...`. --batch-size is
    /// per rank (the global batch is N times it); --threads defaults to the cores over the ranks on
    /// this machine.
    #[arg(long)]
    pub distributed: bool,
    /// The gradients averaged in one all-reduce, in MiB, each started during the backward pass as soon
    /// as its gradients are final [default: 25, PyTorch's].
    #[arg(long, value_parser = options::bucket_mb, requires = "distributed")]
    pub bucket_mb: Option<f64>,
    /// Normalise with the statistics of the global batch (SyncBatchNorm: a small all-reduce per
    /// BatchNorm layer in the forward and in the backward pass) instead of each rank's own, PyTorch's
    /// default. For the classifiers with BatchNorm (lenet5-bn).
    #[arg(long, requires = "distributed")]
    pub sync_batchnorm: bool,
}

/// The ranks of a `--distributed` run, as this process sees them.
pub struct Distributed {
    parallel: Arc<dyn DataParallel>,
    args: DistributedArgs,
    #[cfg(feature = "mpi")]
    group: Arc<nabla::distributed::ProcessGroup>,
}

impl Distributed {
    /// Joins the MPI job if `--distributed` was given (before any other
    /// thread starts), and sets the threads (per rank).
    pub fn start(args: &DistributedArgs, threads: Option<usize>) -> Result<Option<Distributed>, String> {
        if !args.distributed {
            crate::set_threads(threads)?;
            return Ok(None);
        }
        let joined = join(args)?;
        let parallel = joined.parallel.clone();
        // The machine's cores shared by the ranks on it.
        let local_ranks = std::env::var("OMPI_COMM_WORLD_LOCAL_SIZE")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        crate::set_threads(Some(threads.unwrap_or((cores / local_ranks).max(1))))?;
        if parallel.rank() != 0 {
            crate::output::silence();
        }
        Ok(Some(joined))
    }

    /// This rank.
    pub fn rank(&self) -> usize {
        self.parallel.rank()
    }

    /// The number of ranks.
    pub fn world_size(&self) -> usize {
        self.parallel.world_size()
    }

    /// This rank's part of every epoch.
    pub fn shard(&self) -> Shard {
        Shard::new(self.rank(), self.world_size())
    }

    /// The ranks, as `fit` takes them.
    pub fn parallel(&self) -> Arc<dyn DataParallel> {
        self.parallel.clone()
    }

    /// Refuses to start unless every rank was given the same `settings` (a
    /// run's resolved options) and output folder: a rank started with
    /// another model, data set or seed would train something else, or wait
    /// forever for collectives the others never make.
    pub fn check_same_start(&self, settings: &impl std::fmt::Debug, out: &Path) -> Result<(), String> {
        self.parallel
            .check_same(&[
                ("settings", format!("{settings:?}")),
                ("--out", out.display().to_string()),
                ("data-parallel options", format!("{:?}", self.args)),
            ])
            .map_err(|e| e.to_string())
    }

    /// With `--sync-batchnorm`, makes every BatchNorm layer of `model` a
    /// SyncBatchNorm; refuses a model without one.
    #[cfg(feature = "mpi")]
    pub fn sync_batch_norm(&self, model: &mut nabla::nn::Sequential) -> Result<(), String> {
        if !self.args.sync_batchnorm {
            return Ok(());
        }
        match nabla::distributed::convert_sync_batchnorm(model, &self.group) {
            0 => Err("--sync-batchnorm: the model has no BatchNorm layer (lenet5-bn has)".to_string()),
            _ => Ok(()),
        }
    }

    /// `batch` per rank, as the log says it: `256 per rank x 2 ranks = 512`.
    pub fn describe_batch(&self, batch: usize) -> String {
        format!(
            "{batch} per rank x {} ranks = {}",
            self.world_size(),
            batch * self.world_size()
        )
    }
}

#[cfg(feature = "mpi")]
fn join(args: &DistributedArgs) -> Result<Distributed, String> {
    use nabla::distributed::{DistributedDataParallel, ProcessGroup, DEFAULT_BUCKET_BYTES};
    let group = ProcessGroup::init().map_err(|e| e.to_string())?;
    let bucket_bytes = args.bucket_mb.map_or(DEFAULT_BUCKET_BYTES, |mb| {
        (mb * 1024.0 * 1024.0).round().max(1.0) as usize
    });
    Ok(Distributed {
        parallel: Arc::new(DistributedDataParallel::new(group.clone(), bucket_bytes)),
        args: args.clone(),
        group,
    })
}

/// The answer to `--distributed` from a nabla built without MPI.
#[cfg(not(feature = "mpi"))]
pub const WITHOUT_MPI: &str =
    "--distributed needs a nabla built with MPI: cargo build --release --features nabla-cli/mpi \
     (with Open MPI installed: apt-get install libopenmpi-dev openmpi-bin libclang-dev)";

#[cfg(not(feature = "mpi"))]
fn join(_: &DistributedArgs) -> Result<Distributed, String> {
    Err(WITHOUT_MPI.to_string())
}
