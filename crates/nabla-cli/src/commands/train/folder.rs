//! The output folder of a run: which files make a run, and whether a run
//! may be written into a folder. A folder that holds a run is never
//! overwritten unasked: a new run there needs `--overwrite`, and only the
//! run that is there may continue in it (`--resume`).

use std::path::{Path, PathBuf};

use nabla::fs::remove_stale_temp_files;

/// The model file a run writes at its end.
pub const MODEL_FILE: &str = "model.safetensors";
/// One JSON line per epoch.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// The chart of the metrics.
pub const CURVES_FILE: &str = "curves.png";
/// The training checkpoints.
pub const CHECKPOINTS_DIR: &str = "checkpoints";

/// What a run writes in its folder.
const RUN_FILES: [&str; 4] = [MODEL_FILE, METRICS_FILE, CURVES_FILE, CHECKPOINTS_DIR];

/// How a run takes its folder, for the first line it prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The folder held no run.
    New,
    /// `--overwrite`: the run that was there was removed.
    Replaced,
    /// `--resume`: the run there goes on.
    Resumed,
    /// A rank other than 0 of a `--distributed` run: rank 0 claimed it.
    ClaimedByRank0,
}

impl Claim {
    /// The words after the folder's name.
    pub fn describe(self) -> &'static str {
        match self {
            Claim::New => "a new run",
            Claim::Replaced => "replacing the run that was there",
            Claim::Resumed => "resuming the run there",
            Claim::ClaimedByRank0 => "the run rank 0 writes",
        }
    }
}

/// The default folder of a new run.
pub fn default_folder(model: &str, dataset: &str) -> PathBuf {
    PathBuf::from("runs").join(format!("{model}-{dataset}"))
}

/// The folder of the run a checkpoint file belongs to: the folder holding
/// its `checkpoints/` folder (or the checkpoint's own folder otherwise).
pub fn run_folder_of(checkpoint: &Path) -> PathBuf {
    let dir = match checkpoint.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if dir.file_name().is_some_and(|n| n == CHECKPOINTS_DIR) {
        dir.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// True when two paths name the same existing folder.
pub fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The files of a run that `dir` holds (a `checkpoints/` folder counts
/// when it is not empty: an interrupted start can leave an empty one).
fn run_files(dir: &Path) -> Vec<&'static str> {
    RUN_FILES
        .into_iter()
        .filter(|f| {
            let path = dir.join(f);
            if *f == CHECKPOINTS_DIR {
                std::fs::read_dir(&path).is_ok_and(|mut entries| entries.next().is_some())
            } else {
                path.exists()
            }
        })
        .collect()
}

/// Makes `out` ready for a run: creates it; refuses a folder holding
/// another run unless `overwrite` (which removes that run's files, and no
/// others), or unless `resuming_here` (the run there goes on); removes
/// temporary files that a killed process left.
///
/// # Errors
/// The folder holds a run and neither applies (naming the folder, what it
/// holds and the ways out), or a file cannot be created or removed.
pub fn claim(out: &Path, resuming_here: bool, overwrite: bool) -> Result<Claim, String> {
    let found = run_files(out);
    let claim = if resuming_here {
        Claim::Resumed
    } else if found.is_empty() {
        Claim::New
    } else if overwrite {
        for file in &found {
            let path = out.join(file);
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
        }
        Claim::Replaced
    } else {
        return Err(format!(
            "{} holds a run already ({}): continue it with --resume {}, replace it with --overwrite, \
             or write the new run elsewhere with --out",
            out.display(),
            found.join(", "),
            out.join(CHECKPOINTS_DIR).display()
        ));
    };
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let checkpoints = out.join(CHECKPOINTS_DIR);
    for dir in [out, checkpoints.as_path()].into_iter().filter(|d| d.is_dir()) {
        remove_stale_temp_files(dir).map_err(|e| e.to_string())?;
    }
    Ok(claim)
}

/// The error of a run whose loss stopped being finite in batch `batch` of
/// epoch `epoch` (both from 0), before any model was written.
pub fn diverged(epoch: usize, batch: usize, checkpoints: &Path) -> String {
    format!(
        "training diverged: the loss of epoch {}, batch {} is not a finite number (try a lower --lr); no \
         model was written, {} holds the last finished epoch",
        epoch + 1,
        batch + 1,
        checkpoints.display()
    )
}
