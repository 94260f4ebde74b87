//! Standard output that a closed pipe ends quietly: `nabla train | head -1`
//! stops the output after one line, not the command, which finishes its
//! work (a training run still writes its files) and exits as it would have.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once a write to standard output has failed: later lines are dropped.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Set on the ranks other than 0 of a data-parallel run: only rank 0 speaks.
static SILENT: AtomicBool = AtomicBool::new(false);

/// Drops every later line of standard output and note on standard error.
pub fn silence() {
    SILENT.store(true, Ordering::Relaxed);
}

/// True once [`silence`] was called.
pub fn silenced() -> bool {
    SILENT.load(Ordering::Relaxed)
}

/// Writes `text` to standard output and flushes it, unless it was found
/// closed or silenced. A broken pipe is the reader's way of saying it has seen enough;
/// any other failure (a full disk) is said once on standard error.
pub fn write(text: fmt::Arguments<'_>) {
    if CLOSED.load(Ordering::Relaxed) || silenced() {
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_fmt(text).and_then(|()| out.flush()) {
        CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != io::ErrorKind::BrokenPipe {
            let _ = writeln!(io::stderr(), "nabla: cannot write to standard output: {e}");
        }
    }
}

/// True once standard output was found closed: commands that only print
/// may stop early.
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// `println!` for [`write`]: a line on standard output that a closed pipe
/// ends quietly.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use say;
