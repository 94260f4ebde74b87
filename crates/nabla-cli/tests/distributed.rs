//! `mpirun -np N nabla train --distributed`: one run written by rank 0 with
//! the global batch in its log, a rank started with another seed refused
//! at start-up, a killed rank ending the job within seconds, Ctrl-C on the
//! launcher stopping every rank after a checkpoint that `--resume` reads.
//! Needs Open MPI's `mpirun` (Debian: openmpi-bin); `.ci/run` installs it.

#![cfg(feature = "mpi")]

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{read_until, scratch, signal, tiny_image_folder, wait_or_terminate};

const MPIRUN: [&str; 2] = ["--allow-run-as-root", "--oversubscribe"];

/// `mpirun -np ranks nabla args...`, one thread per rank.
fn mpirun(ranks: usize) -> Command {
    let mut command = Command::new("mpirun");
    command
        .args(MPIRUN)
        .args(["-np", &ranks.to_string(), "-x", "RAYON_NUM_THREADS=1"])
        .arg(env!("CARGO_BIN_EXE_nabla"));
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run(command: &mut Command) -> Output {
    command.output().expect("mpirun runs (install openmpi-bin)")
}

#[test]
fn two_ranks_write_one_run_and_log_the_global_batch() {
    let out = scratch("distributed-run");
    let output = run(mpirun(2).args([
        "train",
        "--distributed",
        "--model",
        "lenet5",
        "--epochs",
        "1",
        "--limit",
        "512",
        "--batch-size",
        "32",
        "--bucket-mb",
        "0.05",
        "--out",
        out.to_str().unwrap(),
    ]));
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    // Rank 0 alone speaks: one start line, one result.
    assert_eq!(
        stdout.matches("batch 32 per rank x 2 ranks = 64").count(),
        1,
        "{stdout}"
    );
    assert_eq!(stdout.matches("test accuracy").count(), 1, "{stdout}");
    for file in [
        "model.safetensors",
        "metrics.jsonl",
        "curves.png",
        "checkpoints/last.safetensors",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(
        metrics.lines().count(),
        1,
        "one epoch line, from rank 0:\n{metrics}"
    );
}

#[test]
fn sync_batchnorm_converts_lenet5_bn_and_refuses_a_model_without_batchnorm() {
    let out = scratch("distributed-sync-bn");
    let train = |model: &str, folder: &str| {
        let folder = out.join(folder);
        run(mpirun(2).args([
            "train",
            "--distributed",
            "--sync-batchnorm",
            "--model",
            model,
            "--epochs",
            "1",
            "--limit",
            "256",
            "--out",
            folder.to_str().unwrap(),
        ]))
    };
    let output = train("lenet5-bn", "bn");
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(out.join("bn/model.safetensors").is_file());
    let output = train("lenet5", "plain");
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("--sync-batchnorm: the model has no BatchNorm layer"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_gan_trains_on_two_ranks() {
    let out = scratch("distributed-gan");
    let output = run(mpirun(2).args([
        "train",
        "--distributed",
        "--model",
        "dcgan",
        "--epochs",
        "1",
        "--limit",
        "128",
        "--score-samples",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]));
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", text(&output.stderr));
    assert_eq!(stdout.matches("epoch   1/1").count(), 1, "{stdout}");
    assert!(out.join("model.safetensors").is_file() && out.join("samples.gif").is_file());
}

#[test]
fn transfer_learning_trains_its_head_on_two_ranks() {
    let data = tiny_image_folder("distributed-transfer");
    let out = data.parent().unwrap().join("run");
    let weights = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/pretrained/efficientnet-lite0.safetensors"
    );
    let output = run(mpirun(2).args([
        "train",
        "--distributed",
        "--model",
        "efficientnet-lite0",
        "--pretrained",
        weights,
        "--dataset",
        data.to_str().unwrap(),
        "--epochs",
        "3",
        "--batch-size",
        "4",
        "--out",
        out.to_str().unwrap(),
    ]));
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", text(&output.stderr));
    assert_eq!(stdout.matches("epoch   3/3").count(), 1, "{stdout}");
    assert!(stdout.contains("test accuracy"), "{stdout}");
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(
        metrics.lines().count(),
        4,
        "three epochs and the test line, from rank 0:\n{metrics}"
    );
    assert!(out.join("model.safetensors").is_file());
}

#[test]
fn a_rank_started_with_another_seed_is_refused() {
    let out = scratch("distributed-seeds");
    let started = Instant::now();
    let rank = |seed: &'static str| {
        vec![
            "-np",
            "1",
            env!("CARGO_BIN_EXE_nabla"),
            "train",
            "--distributed",
            "--model",
            "lenet5",
            "--limit",
            "64",
            "--seed",
            seed,
            "--out",
            out.to_str().unwrap(),
        ]
    };
    // Open MPI's MPMD form: one program line per rank, joined by ':'.
    let output = run(Command::new("mpirun")
        .args(MPIRUN)
        .args(rank("1"))
        .arg(":")
        .args(rank("2")));
    let stderr = text(&output.stderr);
    assert!(!output.status.success());
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    assert!(
        stderr.contains("rank 1 has settings") && stderr.contains("seed: 2") && stderr.contains("seed: 1"),
        "{stderr}"
    );
    assert!(!out.join("model.safetensors").exists());
}

#[test]
fn a_killed_rank_stops_the_job_within_seconds() {
    let out = scratch("distributed-killed");
    // Rank 1 is killed two seconds into an epoch far longer than that.
    let script = format!(
        "if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then (sleep 2; kill -9 $$) & fi; \
         exec {} train --distributed --model lenet5 --epochs 3 --batch-size 16 --out {}",
        env!("CARGO_BIN_EXE_nabla"),
        out.display()
    );
    let started = Instant::now();
    let output = run(Command::new("mpirun").args(MPIRUN).args([
        "-np",
        "2",
        "-x",
        "RAYON_NUM_THREADS=1",
        "sh",
        "-c",
        &script,
    ]));
    let stderr = text(&output.stderr);
    assert!(!output.status.success());
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "the job took {:?}",
        started.elapsed()
    );
    assert!(
        stderr.contains("process rank 1") && stderr.contains("signal 9"),
        "{stderr}"
    );
    assert!(!out.join("model.safetensors").exists());
}

#[test]
fn ctrl_c_on_the_launcher_stops_every_rank_after_a_checkpoint_that_resume_reads() {
    let out = scratch("distributed-interrupt");
    let args = [
        "train",
        "--distributed",
        "--model",
        "lenet5",
        "--epochs",
        "2",
        "--limit",
        "8000",
        "--batch-size",
        "16",
        "--out",
        out.to_str().unwrap(),
    ];
    let mut child = mpirun(2)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mpirun starts");
    read_until(&mut child, "training lenet5");
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, "INT");
    let (status, terminated, stderr) = wait_or_terminate(child, Duration::from_secs(60));
    assert!(!terminated, "the job did not stop on Ctrl-C: {stderr}");
    assert!(!status.success(), "an interrupted run exits with its own code");
    assert!(out.join("checkpoints/last.safetensors").is_file(), "{stderr}");

    let output = run(mpirun(2).args([
        "train",
        "--distributed",
        "--resume",
        out.join("checkpoints").to_str().unwrap(),
    ]));
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", text(&output.stderr));
    assert!(stdout.contains("resuming at epoch"), "{stdout}");
    assert!(stdout.contains("test accuracy"), "{stdout}");
    assert!(out.join("model.safetensors").is_file());
}
