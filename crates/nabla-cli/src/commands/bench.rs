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
}

/// Runs the benchmarks and prints them.
pub fn run(args: Args) -> Result<(), String> {
    crate::set_threads(args.threads)?;
    let threads = rayon::current_num_threads();
    let results = bench::run_matching(&args.only, args.repetitions);
    if args.json {
        let mut object = serde_json::Map::new();
        for (key, value) in &results {
            object.insert(key.to_string(), serde_json::json!(value));
        }
        object.insert("threads".into(), serde_json::json!(threads));
        object.insert("version".into(), serde_json::json!(env!("CARGO_PKG_VERSION")));
        say!("{}", serde_json::Value::Object(object));
    } else {
        say!(
            "nabla {} on {threads} threads (medians of {} runs)",
            env!("CARGO_PKG_VERSION"),
            args.repetitions
        );
        for (key, value) in &results {
            say!("{key:<34} {value:>12.1}");
        }
    }
    Ok(())
}
