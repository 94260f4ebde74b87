//! File-system helpers: [`write_atomic`], which checkpoints and downloads
//! use so that a crash never leaves a half-written file.

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
/// temporary file can remain.)
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
    // Make the rename itself durable. Not every platform or file system can
    // sync a directory; the file is complete either way.
    #[cfg(unix)]
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
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
