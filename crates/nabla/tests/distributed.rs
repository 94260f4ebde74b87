//! Data-parallel training on MPI: K steps at N ranks with batch B per rank
//! give the parameters of K steps in one process with batch N x B (to 1e-5
//! relative in f32, for an MLP and LeNet-5 through `fit`; bit for bit in
//! f64, against one process summing the ranks' gradients in rank order).
//!
//! The `#[test]`s launch this test binary under
//! `mpirun --allow-run-as-root --oversubscribe -np N`, running one of the
//! ignored `rank_*` tests, in which every rank trains and checks its result;
//! a failed check panics, and a panic on any rank stops the whole job.
//! They need Open MPI's `mpirun` (Debian: openmpi-bin); `.ci/run` installs it.

#![cfg(feature = "mpi")]

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nabla::data::{DataLoader, LoaderConfig, Shard, TensorDataset};
use nabla::distributed::{DistributedDataParallel, ProcessGroup};
use nabla::nn::loss::cross_entropy;
use nabla::nn::zoo::lenet5;
use nabla::nn::{Layer, Linear, Module, Sequential, Tanh};
use nabla::optim::{Sgd, SgdConfig};
use nabla::train::{fit, Classification, TrainConfig};
use nabla::{Generator, IndexTensor, Tensor};

/// The world (MPI is finalised when the test drops its last handle; each
/// launched process runs one test).
fn group() -> Arc<ProcessGroup> {
    ProcessGroup::init().expect("MPI initialises")
}

/// Runs the ignored test `name` of this binary at `ranks` ranks; fails with
/// the job's output unless every rank passed.
fn launch(name: &str, ranks: usize) {
    let exe = std::env::current_exe().expect("the test binary");
    let started = Instant::now();
    let output = Command::new("mpirun")
        .args([
            "--allow-run-as-root",
            "--oversubscribe",
            "-np",
            &ranks.to_string(),
        ])
        .arg(exe)
        .args([name, "--exact", "--ignored", "--test-threads=1", "--nocapture"])
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .expect("mpirun runs (install openmpi-bin)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{name} at {ranks} ranks failed after {:?}:\n{stdout}\n{stderr}",
        started.elapsed()
    );
    assert_eq!(
        stdout.matches("test result: ok. 1 passed").count(),
        ranks,
        "every rank runs {name}:\n{stdout}"
    );
}

const FEATURES: usize = 4;
const CLASSES: usize = 3;

fn mlp<T: nabla::Float>(seed: u64) -> Sequential<T> {
    let mut g = Generator::new(seed);
    Sequential::new()
        .add(Linear::new(FEATURES, 16, true, &mut g))
        .add(Tanh)
        .add(Linear::new(16, CLASSES, true, &mut g))
}

fn blobs(n: usize) -> Arc<TensorDataset> {
    let mut g = Generator::new(7);
    let x = Tensor::<f32>::randn(&[n, FEATURES], &mut g);
    let labels = (0..n).map(|i| i % CLASSES).collect();
    Arc::new(TensorDataset::new(
        x,
        IndexTensor::from_vec(labels, &[n]),
        CLASSES,
    ))
}

fn loader(data: Arc<TensorDataset>, batch_size: usize, shard: Option<Shard>) -> DataLoader {
    let config = LoaderConfig {
        batch_size,
        seed: 3,
        workers: 0,
        shard,
        ..LoaderConfig::default()
    };
    DataLoader::new(data, config)
}

/// `steps` optimizer steps of `model` with SGD (momentum 0.9) through
/// `fit`, data-parallel over `group` when given (batch `batch` per rank),
/// alone otherwise.
fn train_steps(
    model: &mut Sequential,
    data: Arc<TensorDataset>,
    batch: usize,
    steps: usize,
    group: Option<Arc<ProcessGroup>>,
) {
    let shard = group.as_ref().map(|g| Shard::new(g.rank(), g.world_size()));
    let loader = loader(data, batch, shard);
    if let Some(g) = &group {
        g.broadcast_module(&*model);
    }
    let mut optimizer = Sgd::new(model.parameters(), SgdConfig::new(0.05).momentum(0.9));
    let config = TrainConfig {
        max_steps: Some(steps),
        eval_every: Some(steps),
        parallel: group.map(|g| Arc::new(DistributedDataParallel::new(g, 4096)) as _),
        ..TrainConfig::default()
    };
    fit(
        model,
        &mut Classification::default(),
        &mut optimizer,
        None,
        &loader,
        None,
        &config,
        &mut (),
    )
    .expect("fit");
}

/// The largest relative difference between the two models' parameters
/// (over each tensor's largest magnitude).
fn max_relative_difference(a: &Sequential, b: &Sequential) -> f64 {
    a.named_parameters()
        .iter()
        .zip(b.named_parameters())
        .map(|((name, x), (other, y))| {
            assert_eq!(name, &other);
            let (x, y) = (x.to_vec(), y.to_vec());
            let scale = x.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
            x.iter()
                .zip(&y)
                .map(|(p, q)| f64::from((p - q).abs() / scale))
                .fold(0.0, f64::max)
        })
        .fold(0.0, f64::max)
}

/// Every rank's parameters, bit for bit the same as rank 0's.
fn assert_same_on_every_rank(group: &ProcessGroup, model: &Sequential) {
    let bits: Vec<(&str, String)> = model
        .named_parameters()
        .iter()
        .map(|(_, p)| {
            (
                "parameters",
                format!("{:?}", p.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>()),
            )
        })
        .collect();
    group
        .check_same(&bits)
        .expect("identical parameters on every rank");
}

#[test]
#[ignore = "run at several ranks by mlp_matches_one_process"]
fn rank_mlp_f32() {
    let group = group();
    let n = group.world_size();
    let (batch, steps) = (8, 5);
    let data = blobs(batch * n * steps);
    // Each rank starts from its own seed: the broadcast gives them rank 0's weights.
    let mut model = mlp(group.rank() as u64);
    train_steps(&mut model, data.clone(), batch, steps, Some(group.clone()));
    let mut alone = mlp(0);
    train_steps(&mut alone, data, batch * n, steps, None);
    let difference = max_relative_difference(&model, &alone);
    assert!(
        difference < 1e-5,
        "rank {}: {difference:e} from one process",
        group.rank()
    );
    assert_same_on_every_rank(&group, &model);
}

#[test]
fn mlp_matches_one_process() {
    launch("rank_mlp_f32", 2);
}

#[test]
fn mlp_matches_one_process_at_4_ranks() {
    launch("rank_mlp_f32", 4);
}

#[test]
fn mlp_matches_one_process_at_8_ranks() {
    launch("rank_mlp_f32", 8);
}

#[test]
#[ignore = "run at two ranks by lenet5_matches_one_process"]
fn rank_lenet5() {
    let group = group();
    let n = group.world_size();
    let (batch, steps) = (4, 3);
    let examples = batch * n * steps;
    let mut g = Generator::new(11);
    let images = Tensor::<f32>::rand(&[examples, 1, 28, 28], &mut g);
    let labels = IndexTensor::from_vec((0..examples).map(|i| (i * 7) % 10).collect(), &[examples]);
    let data = Arc::new(TensorDataset::new(images, labels, 10));
    let mut model = lenet5(&mut Generator::new(100 + group.rank() as u64));
    train_steps(&mut model, data.clone(), batch, steps, Some(group.clone()));
    let mut alone = lenet5(&mut Generator::new(100));
    train_steps(&mut alone, data, batch * n, steps, None);
    let difference = max_relative_difference(&model, &alone);
    assert!(
        difference < 1e-5,
        "rank {}: {difference:e} from one process",
        group.rank()
    );
    assert_same_on_every_rank(&group, &model);
}

#[test]
fn lenet5_matches_one_process() {
    launch("rank_lenet5", 2);
}

/// The mean cross-entropy of `model` on the examples `rows` of (`x`, `labels`).
fn loss_on(model: &Sequential<f64>, x: &Tensor<f64>, labels: &[usize], rows: &[usize]) -> Tensor<f64> {
    let inputs: Vec<f64> = rows
        .iter()
        .flat_map(|&r| x.to_vec()[r * FEATURES..(r + 1) * FEATURES].to_vec())
        .collect();
    let targets = IndexTensor::from_vec(rows.iter().map(|&r| labels[r]).collect(), &[rows.len()]);
    let logits = model.forward(&Tensor::from_vec(inputs, &[rows.len(), FEATURES]));
    cross_entropy(&logits, &targets)
}

#[test]
#[ignore = "run at two ranks by f64_is_exact"]
fn rank_mlp_f64_exact() {
    let group = group();
    let n = group.world_size();
    let (batch, steps) = (6, 4);
    let mut g = Generator::new(5);
    let x = Tensor::<f64>::randn(&[batch * n * steps, FEATURES], &mut g);
    let labels: Vec<usize> = (0..batch * n * steps).map(|i| (i * 5) % CLASSES).collect();
    let ddp = DistributedDataParallel::new(group.clone(), 256);
    let model = mlp::<f64>(group.rank() as u64);
    group.broadcast_module(&model);
    let reference = mlp::<f64>(0);
    let lr = 0.1;
    let sgd_step = |m: &Sequential<f64>| {
        for p in m.parameters() {
            let g = p.grad().expect("a gradient").to_vec();
            p.update_data(|w| w.iter_mut().zip(&g).for_each(|(w, g)| *w -= lr * g));
            p.zero_grad();
        }
    };
    for step in 0..steps {
        // The rows of the global batch, and each rank's shard of them.
        let global: Vec<usize> = (step * batch * n..(step + 1) * batch * n).collect();
        let rows_of = |rank: usize| Shard::new(rank, n).take(&global);
        let loss = loss_on(&model, &x, &labels, &rows_of(group.rank()));
        ddp.backward_averaged(&loss, &model.parameters());
        sgd_step(&model);
        // One process: the ranks' gradients summed in rank order, over n.
        let mut sums: Vec<Vec<f64>> = reference
            .parameters()
            .iter()
            .map(|p| vec![0.0; p.numel()])
            .collect();
        for rank in 0..n {
            loss_on(&reference, &x, &labels, &rows_of(rank)).backward();
            for (sum, p) in sums.iter_mut().zip(reference.parameters()) {
                sum.iter_mut()
                    .zip(p.grad().unwrap().to_vec())
                    .for_each(|(s, g)| *s += g);
                p.zero_grad();
            }
        }
        for (sum, p) in sums.iter().zip(reference.parameters()) {
            let mean: Vec<f64> = sum.iter().map(|s| s / n as f64).collect();
            p.update_data(|w| w.iter_mut().zip(&mean).for_each(|(w, g)| *w -= lr * g));
        }
    }
    for ((name, p), (_, q)) in model.named_parameters().iter().zip(reference.named_parameters()) {
        assert_eq!(
            p.to_vec(),
            q.to_vec(),
            "rank {}: {name} differs in f64",
            group.rank()
        );
    }
}

#[test]
fn f64_is_exact() {
    launch("rank_mlp_f64_exact", 2);
}

#[test]
#[ignore = "run at two ranks by a_failing_rank_stops_the_job"]
fn rank_fails() {
    let group = group();
    if group.rank() == 1 {
        panic!("rank 1 fails on purpose");
    }
    // Rank 0 waits in a collective that rank 1 never joins.
    group.barrier();
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn a_failing_rank_stops_the_job() {
    let exe = std::env::current_exe().expect("the test binary");
    let started = Instant::now();
    let output = Command::new("mpirun")
        .args(["--allow-run-as-root", "--oversubscribe", "-np", "2"])
        .arg(exe)
        .args([
            "rank_fails",
            "--exact",
            "--ignored",
            "--test-threads=1",
            "--nocapture",
        ])
        .output()
        .expect("mpirun runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the job took {:?}",
        started.elapsed()
    );
    assert!(stderr.contains("rank 1 fails on purpose"), "{stderr}");
    assert!(stderr.contains("nabla: rank 1 of 2: panicked"), "{stderr}");
}
