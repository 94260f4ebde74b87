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
//!
//! `SyncBatchNorm`: LeNet-5 with BatchNorm converted to it trains at 2
//! ranks exactly as one process on the global batch (without the
//! conversion it does not); its gradients at 2 ranks are those of
//! BatchNorm on the global batch and of central finite differences of the
//! global loss (f64); evaluation mode sends nothing.

#![cfg(feature = "mpi")]

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nabla::autograd::no_grad;
use nabla::data::{DataLoader, LoaderConfig, Shard, TensorDataset};
use nabla::distributed::{convert_sync_batchnorm, DistributedDataParallel, ProcessGroup, SyncBatchNorm};
use nabla::nn::loss::cross_entropy;
use nabla::nn::zoo::{lenet5, lenet5_bn};
use nabla::nn::{
    AsAny, BatchNorm1d, BatchNorm2d, BatchNormOptions, Layer, Linear, Module, Relu, Sequential, Tanh, ToDtype,
};
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
    // The ranks' lines interleave, so only this much can be read: the test
    // ran (a name that matched nothing would pass 0 tests on every rank).
    assert!(
        stdout.contains("1 passed") && !stdout.contains("0 passed"),
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
    largest_relative_difference(a.named_parameters(), b.named_parameters())
}

/// The largest relative difference between tensors of the same names
/// (over each tensor's largest magnitude).
fn largest_relative_difference(a: Vec<(String, Tensor)>, b: Vec<(String, Tensor)>) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
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

/// `model`, trained on every rank, is within 1e-5 (relative) of `alone`,
/// trained in one process on the global batches, and the same on every rank.
fn assert_matches_one_process(group: &ProcessGroup, model: &Sequential, alone: &Sequential) {
    let difference = max_relative_difference(model, alone);
    assert!(
        difference < 1e-5,
        "rank {}: {difference:e} from one process",
        group.rank()
    );
    assert_same_on_every_rank(group, model);
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
    assert_matches_one_process(&group, &model, &alone);
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
    assert_matches_one_process(&group, &model, &alone);
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

/// The LeNet-5 with BatchNorm of `rank_lenet5_sync_bn`: its data, and the
/// model trained at `group`'s ranks (converted to SyncBatchNorm when
/// `sync`) and alone on the global batch.
fn lenet5_bn_at_ranks_and_alone(group: &Arc<ProcessGroup>, sync: bool) -> (Sequential, Sequential) {
    let n = group.world_size();
    let (batch, steps) = (4, 3);
    let examples = batch * n * steps;
    let mut g = Generator::new(11);
    // Pixels far from zero mean, as raw images are: BatchNorm's statistics matter.
    let images = Tensor::<f32>::rand(&[examples, 1, 28, 28], &mut g).mul_scalar(3.0);
    let labels = IndexTensor::from_vec((0..examples).map(|i| (i * 7) % 10).collect(), &[examples]);
    let data = Arc::new(TensorDataset::new(images, labels, 10));
    let mut model = lenet5_bn(&mut Generator::new(100 + group.rank() as u64));
    if sync {
        let names: Vec<String> = model.state_dict().into_iter().map(|(n, _)| n).collect();
        assert_eq!(convert_sync_batchnorm(&mut model, group), 4);
        let converted: Vec<String> = model.state_dict().into_iter().map(|(n, _)| n).collect();
        assert_eq!(converted, names, "the state_dict keeps BatchNorm's names");
    }
    train_steps(&mut model, data.clone(), batch, steps, Some(group.clone()));
    let mut alone = lenet5_bn(&mut Generator::new(100));
    train_steps(&mut alone, data, batch * n, steps, None);
    (model, alone)
}

#[test]
#[ignore = "run at two ranks by lenet5_sync_bn_matches_one_process"]
fn rank_lenet5_sync_bn() {
    let group = group();
    let (model, alone) = lenet5_bn_at_ranks_and_alone(&group, true);
    let parameters = max_relative_difference(&model, &alone);
    let buffers = largest_relative_difference(model.named_buffers(), alone.named_buffers());
    assert!(
        parameters < 1e-5 && buffers < 1e-5,
        "rank {}: parameters {parameters:e} and running statistics {buffers:e} from one process",
        group.rank()
    );
    assert_eq!(
        model.named_buffers()[2].1.item(),
        3.0,
        "num_batches_tracked counts the steps"
    );
    assert_same_on_every_rank(&group, &model);
}

#[test]
fn lenet5_sync_bn_matches_one_process() {
    launch("rank_lenet5_sync_bn", 2);
}

#[test]
#[ignore = "run at two ranks by lenet5_per_rank_bn_differs_from_one_process"]
fn rank_lenet5_per_rank_bn() {
    let group = group();
    let (model, alone) = lenet5_bn_at_ranks_and_alone(&group, false);
    let parameters = max_relative_difference(&model, &alone);
    let buffers = largest_relative_difference(model.named_buffers(), alone.named_buffers());
    // Each rank normalises its 4 examples with their own statistics: the
    // gradients, and so the parameters, are not those of the global batch,
    // and each rank's running statistics are its own shard's.
    assert!(
        parameters > 1e-3 && buffers > 1e-3,
        "rank {}: parameters {parameters:e} and running statistics {buffers:e} from one process",
        group.rank()
    );
}

/// Why SyncBatchNorm exists: per-rank BatchNorm (PyTorch's default) at 2
/// ranks is not the one-process model on the global batch.
#[test]
fn lenet5_per_rank_bn_differs_from_one_process() {
    launch("rank_lenet5_per_rank_bn", 2);
}

/// `n` values from `seed`, scaled by `scale` and shifted by `shift`.
fn values(n: usize, seed: u64, scale: f64, shift: f64) -> Vec<f64> {
    Tensor::<f64>::randn(&[n], &mut Generator::new(seed))
        .to_vec()
        .into_iter()
        .map(|v| v * scale + shift)
        .collect()
}

/// Rows `rows` of the `[N, ...]` values `all` whose rows hold `row` values.
fn rows_of(all: &[f64], row: usize, rows: std::ops::Range<usize>) -> Vec<f64> {
    all[rows.start * row..rows.end * row].to_vec()
}

/// Every rank's share of a global batch, for the gradient checks: uneven
/// (rank `r` has `r + 2` examples), or with rank 0's empty.
fn shares(ranks: usize, rank_0_empty: bool) -> Vec<std::ops::Range<usize>> {
    let mut start = 0;
    (0..ranks)
        .map(|r| {
            let rows = if rank_0_empty && r == 0 { 0 } else { r + 2 };
            let range = start..start + rows;
            start = range.end;
            range
        })
        .collect()
}

#[test]
#[ignore = "run at two ranks by sync_batch_norm_gradients_are_the_global_batchs"]
fn rank_sync_batch_norm_gradients_f64() {
    let group = group();
    let (rank, n) = (group.rank(), group.world_size());
    for (tail, rank_0_empty) in [
        (vec![], false),
        (vec![4], false),
        (vec![2, 3], false),
        (vec![2, 3], true),
    ] {
        let shares = shares(n, rank_0_empty);
        let global_rows = shares.last().unwrap().end;
        let channels = 3;
        let row: usize = channels * tail.iter().product::<usize>();
        let shape_of = |rows: usize| [vec![rows, channels], tail.clone()].concat();
        let x_all = values(global_rows * row, 1, 2.0, 5.0);
        let u_all = values(global_rows * row, 2, 1.0, 0.0);
        let (weight, bias) = (values(channels, 3, 1.0, 0.5), values(channels, 4, 1.0, 0.0));
        let mine = shares[rank].clone();
        let x = Tensor::from_vec(rows_of(&x_all, row, mine.clone()), &shape_of(mine.len())).requires_grad();
        let u = Tensor::from_vec(rows_of(&u_all, row, mine.clone()), &shape_of(mine.len()));

        let options = BatchNormOptions::default().momentum(Some(0.3));
        let mut sync = SyncBatchNorm::<f64>::with_options(channels, options.clone(), group.clone());
        sync.weight = Some(Tensor::from_vec(weight.clone(), &[channels]).requires_grad());
        sync.bias = Some(Tensor::from_vec(bias.clone(), &[channels]).requires_grad());
        let y = sync.forward(&x);
        y.mul(&u).sum().backward();

        // BatchNorm on the global batch, with the same parameters, on every rank.
        let xg = Tensor::from_vec(x_all.clone(), &shape_of(global_rows)).requires_grad();
        let (w, b) = (
            Tensor::from_vec(weight.clone(), &[channels]).requires_grad(),
            Tensor::from_vec(bias.clone(), &[channels]).requires_grad(),
        );
        let (yg, rm, rv) = if tail.len() == 2 {
            let mut bn = BatchNorm2d::<f64>::with_options(channels, options.clone());
            (bn.weight, bn.bias) = (Some(w.clone()), Some(b.clone()));
            (bn.forward(&xg), bn.running_mean.unwrap(), bn.running_var.unwrap())
        } else {
            let mut bn = BatchNorm1d::<f64>::with_options(channels, options.clone());
            (bn.weight, bn.bias) = (Some(w.clone()), Some(b.clone()));
            (bn.forward(&xg), bn.running_mean.unwrap(), bn.running_var.unwrap())
        };
        yg.mul(&Tensor::from_vec(u_all.clone(), &shape_of(global_rows)))
            .sum()
            .backward();

        let close = |what: &str, ours: &[f64], theirs: &[f64]| {
            assert_eq!(ours.len(), theirs.len(), "{what}");
            for (a, b) in ours.iter().zip(theirs) {
                assert!(
                    (a - b).abs() <= 1e-10 * (1.0 + b.abs()),
                    "rank {rank}, input {:?}: {what} {a} vs BatchNorm's {b}",
                    shape_of(mine.len())
                );
            }
        };
        close("output", &y.to_vec(), &rows_of(&yg.to_vec(), row, mine.clone()));
        let dx = x.grad().unwrap().to_vec();
        close(
            "input gradient",
            &dx,
            &rows_of(&xg.grad().unwrap().to_vec(), row, mine.clone()),
        );
        // The weight's and bias's are this rank's shares: their sum over the
        // ranks is the global batch's.
        let mut dw = sync.weight.as_ref().unwrap().grad().unwrap().to_vec();
        let mut db = sync.bias.as_ref().unwrap().grad().unwrap().to_vec();
        group.all_reduce_sum(&mut dw);
        group.all_reduce_sum(&mut db);
        close("weight gradient (summed)", &dw, &w.grad().unwrap().to_vec());
        close("bias gradient (summed)", &db, &b.grad().unwrap().to_vec());
        close(
            "running_mean",
            &sync.running_mean.as_ref().unwrap().to_vec(),
            &rm.to_vec(),
        );
        close(
            "running_var",
            &sync.running_var.as_ref().unwrap().to_vec(),
            &rv.to_vec(),
        );

        // Central differences of the global loss Σ y u (summed over the
        // ranks), each rank's inputs perturbed in turn, all ranks running
        // every forward pass together.
        let global_loss = |x: Vec<f64>, w: Vec<f64>, b: Vec<f64>| {
            let untracked = options.clone().track_running_stats(false);
            let mut layer = SyncBatchNorm::<f64>::with_options(channels, untracked, group.clone());
            layer.weight = Some(Tensor::from_vec(w, &[channels]));
            layer.bias = Some(Tensor::from_vec(b, &[channels]));
            let y = no_grad(|| layer.forward(&Tensor::from_vec(x, &shape_of(mine.len()))));
            let mut loss = [y.mul(&u).sum().item()];
            group.all_reduce_sum(&mut loss);
            loss[0]
        };
        let h = 1e-6;
        let x_mine = rows_of(&x_all, row, mine.clone());
        let numeric = |perturb: &dyn Fn(f64) -> (Vec<f64>, Vec<f64>, Vec<f64>)| {
            let (xp, wp, bp) = perturb(h);
            let (xm, wm, bm) = perturb(-h);
            (global_loss(xp, wp, bp) - global_loss(xm, wm, bm)) / (2.0 * h)
        };
        let fd_close = |what: String, analytic: f64, numeric: f64| {
            assert!(
                (analytic - numeric).abs() <= 1e-6 * (1.0 + numeric.abs()),
                "rank {rank}: {what}: analytic {analytic} vs finite difference {numeric}"
            );
        };
        for (owner, share) in shares.iter().enumerate() {
            for j in 0..share.len() * row {
                let d = numeric(&|step| {
                    let mut xs = x_mine.clone();
                    if owner == rank {
                        xs[j] += step;
                    }
                    (xs, weight.clone(), bias.clone())
                });
                if owner == rank {
                    fd_close(format!("d loss / d x[{j}]"), dx[j], d);
                }
            }
        }
        for ch in 0..channels {
            let dw_fd = numeric(&|step| {
                let mut ws = weight.clone();
                ws[ch] += step;
                (x_mine.clone(), ws, bias.clone())
            });
            fd_close(format!("d loss / d weight[{ch}]"), dw[ch], dw_fd);
            let db_fd = numeric(&|step| {
                let mut bs = bias.clone();
                bs[ch] += step;
                (x_mine.clone(), weight.clone(), bs)
            });
            fd_close(format!("d loss / d bias[{ch}]"), db[ch], db_fd);
        }
    }
}

/// SyncBatchNorm::forward's gradients at 2 ranks (uneven shares, one of
/// them empty; inputs [N, C], [N, C, L], [N, C, H, W]) are BatchNorm's on
/// the global batch and the central differences of the global loss, in
/// f64.
#[test]
fn sync_batch_norm_gradients_are_the_global_batchs() {
    launch("rank_sync_batch_norm_gradients_f64", 2);
}

#[test]
#[ignore = "run at two ranks by sync_batch_norm_evaluates_like_batch_norm_without_sending"]
fn rank_sync_batch_norm_eval() {
    let group = group();
    let mut g = Generator::new(20 + group.rank() as u64);
    let mut sync: SyncBatchNorm = SyncBatchNorm::new(3, group.clone());
    for _ in 0..2 {
        let _ = sync.forward(&Tensor::randn(&[4, 3, 5, 5], &mut g).add_scalar(2.0));
    }
    // Trained on the global batches, every rank keeps the same running statistics.
    let statistics: Vec<(&str, String)> = sync
        .named_buffers()
        .iter()
        .map(|(_, t)| ("buffer", format!("{:?}", t.to_vec())))
        .collect();
    group
        .check_same(&statistics)
        .expect("the same running statistics");
    sync.eval();
    let mut bn: BatchNorm2d = BatchNorm2d::new(3);
    (bn.running_mean, bn.running_var) = (sync.running_mean.clone(), sync.running_var.clone());
    bn.eval();
    // Only rank 0 evaluates: a collective in it would leave rank 0 waiting
    // (or meet the barrier below) instead of passing.
    if group.rank() == 0 {
        let x = Tensor::randn(&[2, 3, 5, 5], &mut g).requires_grad();
        let y = sync.forward(&x);
        assert_eq!(y.to_vec(), bn.forward(&x).to_vec());
        y.sum().backward();
        assert!(x.grad().is_some());
        assert_eq!(sync.num_batches_tracked.as_ref().unwrap().item(), 2.0);
    }
    group.barrier();
}

#[test]
fn sync_batch_norm_evaluates_like_batch_norm_without_sending() {
    launch("rank_sync_batch_norm_eval", 2);
}

#[test]
#[ignore = "run at one rank by convert_sync_batchnorm_replaces_nested_batch_norms"]
fn rank_convert_sync_batchnorm() {
    let group = group();
    let mut g = Generator::new(0);
    let inner: Sequential = Sequential::new()
        .add(Linear::new(4, 6, true, &mut g))
        .add_named("norm", BatchNorm1d::new(6));
    let mut bn = BatchNorm1d::with_options(4, BatchNormOptions::default().eps(1e-3).momentum(None));
    bn.eval();
    let mut model: Sequential = Sequential::new()
        .add(bn)
        .add(inner)
        .add(Relu)
        .add(Linear::new(6, 2, true, &mut g));
    let before = model.state_dict();
    assert_eq!(convert_sync_batchnorm(&mut model, &group), 2);
    assert_eq!(
        convert_sync_batchnorm(&mut model, &group),
        0,
        "nothing left to convert"
    );
    let after = model.state_dict();
    for ((name, t), (other, u)) in before.iter().zip(&after) {
        assert_eq!(name, other);
        // The same tensor: a change to one is a change to the other.
        t.update_data(|d| d[0] += 1.0);
        assert_eq!(t.to_vec(), u.to_vec(), "{name}: the same tensor");
    }
    let first = AsAny::as_any(model.layers().next().unwrap())
        .downcast_ref::<SyncBatchNorm>()
        .expect("a SyncBatchNorm");
    assert_eq!((first.eps(), first.momentum()), (1e-3, None));
    assert!(!first.is_training(), "the mode carries over");
    // A world of one: SyncBatchNorm is BatchNorm; the chain still converts to f64.
    let double = model.to_f64();
    let x = Tensor::<f32>::randn(&[5, 4], &mut g);
    let (y, y64) = (
        model.forward(&x).to_vec(),
        double.forward(&x.to_dtype::<f64>()).to_vec(),
    );
    assert!(y.iter().zip(&y64).all(|(a, b)| (f64::from(*a) - b).abs() < 1e-5));
}

#[test]
fn convert_sync_batchnorm_replaces_nested_batch_norms() {
    launch("rank_convert_sync_batchnorm", 1);
}
