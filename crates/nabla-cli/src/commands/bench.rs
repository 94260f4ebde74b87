//! `nabla bench`: the standard benchmarks, as a table or one JSON object.

use nabla::bench;

use crate::output::say;

/// Arguments of `nabla bench`.
#[derive(clap::Args)]
pub struct Args {
    /// Worker threads, 1 to 1024 (default: all cores).
    #[arg(long, value_parser = crate::options::threads)]
    threads: Option<usize>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Timed repetitions per benchmark, 1 to 1000 (the median is reported).
    #[arg(long, default_value_t = 7, value_parser = crate::options::repetitions)]
    repetitions: usize,
    /// Run only the benchmarks whose key contains this text (e.g. `lenet_train`).
    #[arg(long, default_value = "")]
    only: String,
    /// The data-parallel benchmarks, as one rank of an MPI job (`mpirun -np N nabla bench
    /// --distributed`): all-reduce bandwidth against plain MPI_Allreduce (into a second buffer and
    /// in place) for 1 and 64 MiB, and the training throughput of LeNet-5 (batch 256 per rank) and the char-GPT over all the ranks. Needs
    /// a nabla built with --features nabla-cli/mpi.
    #[arg(long)]
    distributed: bool,
}

/// Runs the benchmarks and prints them.
pub fn run(args: Args) -> Result<(), String> {
    let (results, ranks) = if args.distributed {
        distributed(&args)?
    } else {
        crate::set_threads(args.threads)?;
        (bench::run_matching(&args.only, args.repetitions), None)
    };
    let threads = rayon::current_num_threads();
    if args.json {
        let mut object = serde_json::Map::new();
        for (key, value) in &results {
            object.insert(key.to_string(), serde_json::json!(value));
        }
        object.insert("threads".into(), serde_json::json!(threads));
        if let Some(ranks) = ranks {
            object.insert("ranks".into(), serde_json::json!(ranks));
        }
        object.insert("version".into(), serde_json::json!(env!("CARGO_PKG_VERSION")));
        say!("{}", serde_json::Value::Object(object));
    } else {
        let ranks = ranks.map_or(String::new(), |r| format!(" per rank x {r} ranks"));
        say!(
            "nabla {} on {threads} threads{ranks} (medians of {} runs)",
            env!("CARGO_PKG_VERSION"),
            args.repetitions
        );
        for (key, value) in &results {
            say!("{key:<34} {value:>12.1}");
        }
    }
    Ok(())
}

/// Benchmarks as `(key, value)`.
type Rows = Vec<(&'static str, f64)>;

/// The data-parallel rows, measured by every rank, printed by rank 0.
#[cfg(feature = "mpi")]
fn distributed(args: &Args) -> Result<(Rows, Option<usize>), String> {
    let group = nabla::distributed::ProcessGroup::init().map_err(|e| e.to_string())?;
    crate::set_threads(Some(args.threads.unwrap_or(1)))?;
    if group.rank() != 0 {
        crate::output::silence();
    }
    let results = bench::distributed::run_matching(&group, &args.only, args.repetitions);
    Ok((results, Some(group.world_size())))
}

#[cfg(not(feature = "mpi"))]
fn distributed(_: &Args) -> Result<(Rows, Option<usize>), String> {
    Err(crate::distributed::WITHOUT_MPI.to_string())
}
