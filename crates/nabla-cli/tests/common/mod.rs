//! What the command-line tests share: running the binary, scratch folders,
//! and a tiny image-folder data set that trains in a fraction of a second.

#![allow(dead_code)] // each test file uses its own part of this

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `nabla` with `args` to the end.
pub fn nabla(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nabla"))
        .args(args)
        .output()
        .expect("the nabla binary runs")
}

/// Starts `nabla` with `args`, standard output and error piped.
pub fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_nabla"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the nabla binary starts")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh, empty folder under the target directory.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Sends `signal` (`TERM`, `INT`) to the child.
pub fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args(["-s", signal, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -s {signal}");
}

/// Reads the child's standard output up to the first line that contains
/// `needle`; returns the lines read.
pub fn read_until(child: &mut Child, needle: &str) -> Vec<String> {
    let out = child.stdout.as_mut().expect("piped stdout");
    let mut lines = Vec::new();
    for line in BufReader::new(out).lines() {
        let line = line.expect("utf-8 output");
        let found = line.contains(needle);
        lines.push(line);
        if found {
            return lines;
        }
    }
    panic!("the output ended without {needle:?}: {lines:?}");
}

/// Waits for the child for up to `limit`; then asks it to stop with SIGTERM
/// and waits for that. Returns its status, whether SIGTERM was sent, and its
/// standard error. Both outputs are drained while it runs: a child blocked
/// on a full pipe would never see the signal.
pub fn wait_or_terminate(mut child: Child, limit: Duration) -> (ExitStatus, bool, String) {
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                pipe.read_to_end(&mut text).expect("the child's output");
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let start = Instant::now();
    let mut terminated = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waitable") {
            break status;
        }
        if !terminated && start.elapsed() > limit {
            signal(&child, "TERM");
            terminated = true;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    stdout.join().expect("the stdout reader");
    (status, terminated, stderr.join().expect("the stderr reader"))
}

/// A two-class image folder (`train/` and `test/`, classes `dark` and
/// `light`, a few 8x8 PNGs each) under a fresh scratch folder: loads and
/// trains at once.
pub fn tiny_image_folder(name: &str) -> PathBuf {
    let root = scratch(name).join("tiny");
    for (split, count) in [("train", 12u8), ("test", 4)] {
        for (class, base) in [("dark", 10u8), ("light", 200)] {
            let dir = root.join(split).join(class);
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..count {
                let image = image::GrayImage::from_fn(8, 8, |x, y| {
                    image::Luma([base.wrapping_add(((x * 8 + y) as u8 + i) % 40)])
                });
                image.save(dir.join(format!("{i:02}.png"))).unwrap();
            }
        }
    }
    root
}

/// Values that no numeric option should panic on.
pub const NONSENSE: [&str; 8] = [
    "0",
    "-1",
    "NaN",
    "inf",
    "-inf",
    "1e300",
    "18446744073709551615",
    "18446744073709551616",
];

/// Runs `args`, stopping it with SIGTERM if it is still going after a few
/// seconds (a huge `--epochs` is a valid, long run), and checks that it
/// ended as the command line promises: no panic; 0, 1 (an error), 2 (a
/// usage error) or 130 (stopped after saving); an error is one line.
pub fn check_no_panic(args: &[&str]) {
    let (status, terminated, err) = wait_or_terminate(spawn(args), Duration::from_secs(5));
    assert!(
        !err.contains("panicked") && status.code() != Some(101),
        "{args:?} panicked: {err}"
    );
    match status.code() {
        Some(0) => {}
        Some(130) => assert!(terminated, "{args:?} exited 130 unasked: {err}"),
        Some(1 | 2) => assert!(
            err.starts_with("nabla: ") && err.lines().count() == 1,
            "{args:?}: the error is not one line: {err}"
        ),
        // SIGTERM before the handler was installed (still loading the data).
        None => assert!(terminated, "{args:?} died of a signal: {err}"),
        Some(other) => panic!("{args:?} exited {other}: {err}"),
    }
}
