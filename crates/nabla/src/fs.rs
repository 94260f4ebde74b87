//! File-system helpers: [`write_atomic`], which checkpoints and downloads
//! use so that a crash never leaves a half-written file, and
//! [`remove_stale_temp_files`], which clears what a killed writer left.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Creates or replaces the file at `path` atomically: `write` fills a new
/// temporary file in the same directory (a unique hidden name starting with
/// `.` and the target's name), which is flushed and synced to disk, then
/// renamed over `path`. Readers of `path` see the old file or the whole new
/// one, never a partial one.
///
/// If `write` fails or panics, or the flush, the sync or the rename fails,
/// the temporary file is removed and `path` is left as it was. (If the
/// process is killed mid-write, `path` is still intact; only a stray
/// temporary file can remain, and the next successful write of `path`
/// removes it, as [`remove_stale_temp_files`] does.)
///
/// ```
/// use std::io::Write;
/// let path = std::env::temp_dir().join(format!("nabla_doc_atomic_{}.txt", std::process::id()));
/// nabla::fs::write_atomic(&path, |w| w.write_all(b"old"))?;
/// let failed = nabla::fs::write_atomic(&path, |w| {
///     w.write_all(b"new, but")?;
///     Err(std::io::Error::other("disk full"))
/// });
/// assert!(matches!(failed, Err(nabla::Error::Io { .. })));
/// assert_eq!(std::fs::read(&path).unwrap(), b"old");
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), nabla::Error>(())
/// ```
///
/// # Errors
/// [`Error::Io`] naming `path`, with the first I/O error (or the one `write`
/// returned).
pub fn write_atomic(
    path: impl AsRef<Path>,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    let path = path.as_ref();
    let io_error = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path.file_name().ok_or_else(|| {
        io_error(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path does not name a file",
        ))
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (temp_path, file) = create_temp_file(&dir, &file_name.to_string_lossy()).map_err(io_error)?;
    // Removes the temporary file on every way out but success, a panic in
    // `write` included.
    let mut guard = RemoveOnDrop(Some(temp_path));
    let temp_path = guard.0.as_deref().expect("just set");
    let mut writer = BufWriter::new(file);
    write(&mut writer).map_err(io_error)?;
    let file = writer.into_inner().map_err(|e| io_error(e.into_error()))?;
    file.sync_all().map_err(io_error)?;
    drop(file);
    fs::rename(temp_path, path).map_err(io_error)?;
    guard.0 = None;
    // Best effort: a leftover that cannot be removed does no harm.
    let _ = remove_stale(&dir, Some(&file_name.to_string_lossy()));
    // Make the rename itself durable. Not every platform or file system can
    // sync a directory; the file is complete either way.
    #[cfg(unix)]
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Removes the temporary files that [`write_atomic`] left in `dir` when
/// its process was killed mid-write (`kill -9`, a power cut): the files
/// named `.{name}.{pid}.{n}.tmp` whose process `pid` is no longer running.
/// Those of running processes (a write in progress) and every other file
/// are left alone. Returns the files removed.
///
/// On platforms other than Unix, whether a process runs is not checked
/// and nothing is removed.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("nabla_doc_stale_{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// // Left by a process that is gone (no process has an id this large).
/// let stale = dir.join(".model.safetensors.4000000000.0.tmp");
/// std::fs::write(&stale, b"half a checkpoint").unwrap();
/// let removed = nabla::fs::remove_stale_temp_files(&dir)?;
/// assert_eq!(removed, [stale.clone()]);
/// assert!(!stale.exists());
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), nabla::Error>(())
/// ```
///
/// # Errors
/// [`Error::Io`] naming `dir` if it cannot be listed, or a file that
/// cannot be removed.
pub fn remove_stale_temp_files(dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
    remove_stale(dir.as_ref(), None)
}

/// [`remove_stale_temp_files`], only of the temporary files of `target`
/// when it is given.
fn remove_stale(dir: &Path, target: Option<&str>) -> Result<Vec<PathBuf>> {
    let io_error = |path: &Path, source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut removed = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        let name = entry.file_name();
        let Some((of, pid)) = name.to_str().and_then(parse_temp_name) else {
            continue;
        };
        if target.is_some_and(|t| t != of) || pid == std::process::id() || process_runs(pid) {
            continue;
        }
        let path = entry.path();
        match fs::remove_file(&path) {
            Ok(()) => removed.push(path),
            // Removed meanwhile by another cleaner.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&path, e)),
        }
    }
    Ok(removed)
}

/// The target's name and the writer's process id of a temporary file name
/// `.{name}.{pid}.{n}.tmp`.
fn parse_temp_name(file_name: &str) -> Option<(&str, u32)> {
    let inner = file_name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (rest, n) = inner.rsplit_once('.')?;
    let (name, pid) = rest.rsplit_once('.')?;
    n.parse::<u64>().ok()?;
    Some((name, pid.parse().ok()?)).filter(|(name, _)| !name.is_empty())
}

/// Whether a process with this id runs (or cannot be known not to).
fn process_runs(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: signal 0 only asks whether `pid` could be signalled; it
        // sends nothing.
        if unsafe { libc::kill(pid, 0) } == 0 {
            return true;
        }
        // EPERM: it runs, as another user.
        io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Removes the file it holds when dropped.
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = fs::remove_file(path);
        }
    }
}

/// A new file `.{name}.{pid}.{n}.tmp` in `dir`, created exclusively.
fn create_temp_file(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // The name's form is what `parse_temp_name` reads back.
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((temp, file)),
            // Left over by a killed process that had the same id: try the next.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_read_back() {
        assert_eq!(
            parse_temp_name(".last.safetensors.1234.7.tmp"),
            Some(("last.safetensors", 1234))
        );
        for other in [
            "last.safetensors",
            ".x.tmp",
            ".a.b.tmp",
            ".model.safetensors.12.x.tmp",
            "..1.2.tmp",
        ] {
            assert_eq!(parse_temp_name(other), None, "{other}");
        }
    }

    #[test]
    fn a_write_removes_its_targets_stale_temporary_files_only() {
        let dir = std::env::temp_dir().join(format!("nabla_stale_{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let gone = u32::MAX - 1;
        let stale = dir.join(format!(".a.bin.{gone}.0.tmp"));
        let other_target = dir.join(format!(".b.bin.{gone}.0.tmp"));
        let ours = dir.join(format!(".a.bin.{}.99.tmp", std::process::id()));
        for p in [&stale, &other_target, &ours] {
            fs::write(p, b"x").unwrap();
        }
        write_atomic(dir.join("a.bin"), |w| w.write_all(b"new")).unwrap();
        assert!(!stale.exists() && other_target.exists() && ours.exists());
        assert_eq!(remove_stale_temp_files(&dir).unwrap(), vec![other_target]);
        assert!(ours.exists(), "a running process's file stays");
        fs::remove_dir_all(&dir).unwrap();
    }
}
