//! The DataLoader and transforms: batching, per-epoch seeded order,
//! determinism across worker counts, exact resume, transforms, early drop
//! and worker panics.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use nabla::data::{
    example_generator, Batch, DataLoader, LabeledDataset, LoaderConfig, Normalize, Pipeline, RandomCrop,
    RandomHorizontalFlip, Shard, TensorDataset, Transform,
};
use nabla::{Generator, IndexTensor, Tensor};

/// `n` examples of shape `[1, 4, 4]`; example `i` holds `i * 100 + k` at position `k`.
fn images(n: usize) -> Arc<dyn LabeledDataset> {
    let data: Vec<f32> = (0..n)
        .flat_map(|i| (0..16).map(move |k| (i * 100 + k) as f32))
        .collect();
    Arc::new(TensorDataset::new(
        Tensor::from_vec(data, &[n, 1, 4, 4]),
        IndexTensor::from_vec((0..n).map(|i| i % 3).collect(), &[n]),
        3,
    ))
}

fn config(batch_size: usize) -> LoaderConfig {
    LoaderConfig {
        batch_size,
        seed: 1234,
        ..LoaderConfig::default()
    }
}

fn augment() -> Pipeline {
    Pipeline::new()
        .add(Normalize::new(&[10.0], &[2.0]))
        .add(RandomCrop::new((4, 4), 1))
        .add(RandomHorizontalFlip::new(0.5))
}

/// Everything observable about a batch, comparable with `==`: indices, input
/// bits, targets, input shape.
type Key = (Vec<usize>, Vec<u32>, Vec<usize>, Vec<usize>);

fn key(b: &Batch) -> Key {
    (
        b.indices.clone(),
        b.inputs.to_vec().iter().map(|x| x.to_bits()).collect(),
        b.targets.to_vec(),
        b.inputs.shape().to_vec(),
    )
}

fn keys(it: impl Iterator<Item = Batch>) -> Vec<Key> {
    it.map(|b| key(&b)).collect()
}

#[test]
fn default_config() {
    let c = LoaderConfig::default();
    assert_eq!(
        c,
        LoaderConfig {
            batch_size: 64,
            shuffle: true,
            drop_last: false,
            seed: 0,
            workers: 2,
            prefetch: 4,
            shard: None,
        }
    );
}

/// The shards of 3 processes, as PyTorch's DistributedSampler cuts them:
/// 10 examples padded to 12 with the epoch's first two, every process the
/// same number of batches, and batch `b` of the shards together the
/// examples of batch `b` of one loader with 3 times the batch size.
#[test]
fn shards_split_every_epoch_like_distributed_sampler() {
    let data = Arc::new(TensorDataset::new(
        Tensor::<f32>::zeros(&[10, 1]),
        IndexTensor::from_vec(vec![0; 10], &[10]),
        1,
    ));
    let config = |batch_size, shard| LoaderConfig {
        batch_size,
        seed: 9,
        workers: 0,
        shard,
        ..LoaderConfig::default()
    };
    let whole = DataLoader::new(data.clone(), config(6, None));
    let shards: Vec<DataLoader> = (0..3)
        .map(|rank| DataLoader::new(data.clone(), config(2, Some(Shard::new(rank, 3)))))
        .collect();
    for epoch in 0..2 {
        let order = whole.order(epoch);
        let mut seen: Vec<usize> = shards.iter().flat_map(|s| s.order(epoch)).collect();
        assert_eq!(seen.len(), 12);
        seen.sort_unstable();
        let mut expected: Vec<usize> = (0..10).chain(order[..2].iter().copied()).collect();
        expected.sort_unstable();
        assert_eq!(
            seen, expected,
            "epoch {epoch}: every example once, the first two twice"
        );
        for s in &shards {
            assert_eq!((s.examples_per_epoch(), s.num_batches()), (4, 2));
        }
        let whole_batches: Vec<Vec<usize>> = whole.epoch(epoch).map(|b| b.indices).collect();
        let shard_batches: Vec<Vec<Vec<usize>>> = shards
            .iter()
            .map(|s| s.epoch(epoch).map(|b| b.indices).collect())
            .collect();
        for (b, batch) in whole_batches.iter().enumerate() {
            let mut union: Vec<usize> = shard_batches.iter().flat_map(|s| s[b].clone()).collect();
            let mut batch = batch.clone();
            if b == 1 {
                batch.extend(&order[..2]); // the padding completes the last global batch
            }
            union.sort_unstable();
            batch.sort_unstable();
            assert_eq!(union, batch, "epoch {epoch}, batch {b}");
        }
    }
}

#[test]
fn batch_counts_and_drop_last() {
    for (n, bs, drop_last, expected_sizes) in [
        (10, 4, false, vec![4, 4, 2]),
        (10, 4, true, vec![4, 4]),
        (12, 4, false, vec![4, 4, 4]),
        (12, 4, true, vec![4, 4, 4]),
        (3, 4, false, vec![3]),
        (3, 4, true, vec![]),
        (0, 4, false, vec![]),
        (7, 1, true, vec![1; 7]),
    ] {
        for workers in [0, 2] {
            let loader = DataLoader::new(
                images(n),
                LoaderConfig {
                    drop_last,
                    workers,
                    ..config(bs)
                },
            );
            assert_eq!(
                loader.num_batches(),
                expected_sizes.len(),
                "n={n} bs={bs} drop_last={drop_last}"
            );
            let it = loader.epoch(0);
            assert_eq!(it.len(), expected_sizes.len());
            let sizes: Vec<usize> = it
                .map(|b| {
                    assert_eq!(b.inputs.shape()[1..], [1, 4, 4]);
                    assert_eq!(b.targets.shape(), &[b.indices.len()]);
                    b.indices.len()
                })
                .collect();
            assert_eq!(
                sizes, expected_sizes,
                "n={n} bs={bs} drop_last={drop_last} workers={workers}"
            );
        }
    }
}

#[test]
fn batches_hold_the_right_examples_and_labels() {
    let loader = DataLoader::new(
        images(11),
        LoaderConfig {
            workers: 3,
            ..config(4)
        },
    );
    for batch in loader.epoch(2) {
        let x = batch.inputs.to_vec();
        for (pos, &i) in batch.indices.iter().enumerate() {
            let expected: Vec<f32> = (0..16).map(|k| (i * 100 + k) as f32).collect();
            assert_eq!(x[pos * 16..(pos + 1) * 16], expected[..]);
            assert_eq!(batch.targets.to_vec()[pos], i % 3);
        }
    }
}

#[test]
fn every_example_exactly_once_per_epoch() {
    for workers in [0, 1, 3] {
        let loader = DataLoader::new(
            images(103),
            LoaderConfig {
                workers,
                ..config(10)
            },
        );
        for epoch in 0..3 {
            let mut seen: Vec<usize> = loader.epoch(epoch).flat_map(|b| b.indices).collect();
            assert_eq!(seen.len(), 103);
            seen.sort_unstable();
            assert_eq!(
                seen,
                (0..103).collect::<Vec<_>>(),
                "epoch {epoch} workers {workers}"
            );
        }
    }
    // With drop_last, each example at most once, and exactly the batches' worth.
    let loader = DataLoader::new(
        images(103),
        LoaderConfig {
            drop_last: true,
            ..config(10)
        },
    );
    let seen: Vec<usize> = loader.epoch(0).flat_map(|b| b.indices).collect();
    assert_eq!(seen.len(), 100);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 100);
}

#[test]
fn without_shuffle_the_order_is_the_data_set_order() {
    let loader = DataLoader::new(
        images(10),
        LoaderConfig {
            shuffle: false,
            ..config(4)
        },
    );
    for epoch in 0..2 {
        let seen: Vec<usize> = loader.epoch(epoch).flat_map(|b| b.indices).collect();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }
}

#[test]
fn same_seed_and_epoch_give_identical_batches_for_any_workers_and_prefetch() {
    let n = 77;
    let reference = DataLoader::new(
        images(n),
        LoaderConfig {
            workers: 0,
            ..config(8)
        },
    )
    .with_transforms(augment());
    for epoch in [0, 1, 5] {
        let expected = keys(reference.epoch(epoch));
        assert_eq!(expected.len(), 10);
        for workers in [0, 1, 3] {
            for prefetch in [0, 1, 8] {
                let loader = DataLoader::new(
                    images(n),
                    LoaderConfig {
                        workers,
                        prefetch,
                        ..config(8)
                    },
                )
                .with_transforms(augment());
                assert_eq!(
                    keys(loader.epoch(epoch)),
                    expected,
                    "epoch {epoch} workers {workers} prefetch {prefetch}"
                );
            }
        }
    }
}

#[test]
fn a_slow_consumer_gets_the_same_batches() {
    let loader = DataLoader::new(
        images(40),
        LoaderConfig {
            workers: 3,
            prefetch: 1,
            ..config(3)
        },
    )
    .with_transforms(augment());
    let slow = keys(
        loader
            .epoch(4)
            .inspect(|_| thread::sleep(Duration::from_millis(2))),
    );
    let fast = keys(
        DataLoader::new(
            images(40),
            LoaderConfig {
                workers: 0,
                ..config(3)
            },
        )
        .with_transforms(augment())
        .epoch(4),
    );
    assert_eq!(slow, fast);
}

#[test]
fn different_epochs_give_different_orders() {
    let loader = DataLoader::new(images(50), config(50));
    let orders: Vec<Vec<usize>> = (0..5).map(|e| loader.epoch(e).next().unwrap().indices).collect();
    for a in 0..orders.len() {
        for b in a + 1..orders.len() {
            assert_ne!(orders[a], orders[b], "epochs {a} and {b}");
        }
    }
    assert_eq!(loader.order(3), orders[3]);
}

#[test]
fn different_seeds_give_different_orders_and_augmentations() {
    let a = DataLoader::new(
        images(50),
        LoaderConfig {
            seed: 1,
            ..config(50)
        },
    )
    .with_transforms(augment());
    let b = DataLoader::new(
        images(50),
        LoaderConfig {
            seed: 2,
            ..config(50)
        },
    )
    .with_transforms(augment());
    assert_ne!(a.order(0), b.order(0));
    // Same order, different seeds: the augmentations still differ.
    let a = DataLoader::new(
        images(50),
        LoaderConfig {
            seed: 1,
            shuffle: false,
            ..config(50)
        },
    )
    .with_transforms(augment());
    let b = DataLoader::new(
        images(50),
        LoaderConfig {
            seed: 2,
            shuffle: false,
            ..config(50)
        },
    )
    .with_transforms(augment());
    assert_ne!(keys(a.epoch(0)), keys(b.epoch(0)));
}

#[test]
fn epoch_from_skips_exactly_the_first_batches() {
    for workers in [0, 2, 3] {
        let loader =
            DataLoader::new(images(47), LoaderConfig { workers, ..config(5) }).with_transforms(augment());
        let all = keys(loader.epoch(3));
        assert_eq!(all.len(), 10);
        for k in 0..=10 {
            let it = loader.epoch_from(3, k);
            assert_eq!(it.position(), k);
            assert_eq!(it.len(), 10 - k);
            assert_eq!(keys(it), all[k..], "k {k} workers {workers}");
        }
    }
}

#[test]
fn position_counts_consumed_batches() {
    let loader = DataLoader::new(images(20), config(6));
    let mut it = loader.epoch(1);
    assert_eq!((it.epoch(), it.position(), it.num_batches()), (1, 0, 4));
    it.next();
    it.next();
    assert_eq!(it.position(), 2);
    let rest = keys(it);
    assert_eq!(rest, keys(loader.epoch_from(1, 2)));
}

#[test]
#[should_panic(expected = "epoch_from: batch 5 is past the 4 batches")]
fn epoch_from_past_the_end_panics() {
    DataLoader::new(images(20), config(6)).epoch_from(0, 5);
}

#[test]
#[should_panic(expected = "batch_size must be at least 1")]
fn zero_batch_size_panics() {
    DataLoader::new(images(20), config(0));
}

// ---- transforms ----

#[test]
fn normalize_values() {
    let mut g = Generator::new(0);
    let mut x = vec![0.0f32, 0.5, 1.0];
    Normalize::new(&[0.5], &[0.25]).apply(&mut x, &[1, 1, 3], &mut g);
    assert_eq!(x, vec![-2.0, 0.0, 2.0]);

    // Per channel: [3, 1, 2].
    let mut x = vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    Normalize::new(&[1.0, 2.0, 3.0], &[1.0, 2.0, 0.5]).apply(&mut x, &[3, 1, 2], &mut g);
    assert_eq!(x, vec![0.0, 1.0, 0.5, 1.0, 4.0, 6.0]);

    // MNIST's statistics, as the course uses them.
    let mut x = vec![0.0f32, 1.0];
    Normalize::new(&[0.1307], &[0.3081]).apply(&mut x, &[1, 1, 2], &mut g);
    assert!((x[0] - (-0.1307 / 0.3081)).abs() < 1e-6);
    assert!((x[1] - ((1.0 - 0.1307) / 0.3081)).abs() < 1e-6);
}

#[test]
#[should_panic(expected = "Normalize: 3 means and stds for an example of shape [1, 2, 2]")]
fn normalize_channel_mismatch_panics() {
    let mut x = vec![0.0f32; 4];
    Normalize::new(&[0.0; 3], &[1.0; 3]).apply(&mut x, &[1, 2, 2], &mut Generator::new(0));
}

#[test]
#[should_panic(expected = "Normalize: std 0 is not positive")]
fn normalize_zero_std_panics() {
    Normalize::new(&[0.0], &[0.0]);
}

/// A 3 x 3 image 1..=9 in two channels (the second is the first plus 10).
fn two_channel_3x3() -> Vec<f32> {
    (1..=9).chain(11..=19).map(|v| v as f32).collect()
}

#[test]
fn random_crop_at_known_offsets() {
    let crop = RandomCrop::new((3, 3), 1);
    let shape = [2, 3, 3];
    let at = |top, left| {
        let mut x = two_channel_3x3();
        crop.apply_at(&mut x, &shape, top, left);
        x
    };
    // The centre of the padded image is the image itself.
    assert_eq!(at(1, 1), two_channel_3x3());
    // Window at the padded top-left: content moves down and right, zeros on top and left.
    #[rustfmt::skip]
    assert_eq!(at(0, 0), vec![
        0.0, 0.0, 0.0,   0.0, 1.0, 2.0,   0.0, 4.0, 5.0,
        0.0, 0.0, 0.0,   0.0, 11.0, 12.0, 0.0, 14.0, 15.0,
    ]);
    // Window at the padded bottom-right: content moves up and left.
    #[rustfmt::skip]
    assert_eq!(at(2, 2), vec![
        5.0, 6.0, 0.0,   8.0, 9.0, 0.0,   0.0, 0.0, 0.0,
        15.0, 16.0, 0.0, 18.0, 19.0, 0.0, 0.0, 0.0, 0.0,
    ]);
    // Only down / only left.
    assert_eq!(at(0, 1)[..9], [0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(at(1, 2)[..9], [2.0, 3.0, 0.0, 5.0, 6.0, 0.0, 8.0, 9.0, 0.0]);
    // Padding larger than the image: everything can move out.
    let big = RandomCrop::new((3, 3), 4);
    let mut x = two_channel_3x3();
    big.apply_at(&mut x, &shape, 0, 4);
    assert_eq!(x, vec![0.0; 18]);
    // [H, W] works too.
    let mut x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
    crop.apply_at(&mut x, &[3, 3], 2, 0);
    assert_eq!(x, vec![0.0, 4.0, 5.0, 0.0, 7.0, 8.0, 0.0, 0.0, 0.0]);
}

#[test]
fn random_crop_with_a_fixed_generator() {
    let crop = RandomCrop::new((3, 3), 1);
    // It draws the top row, then the left column, each in 0..=2 * padding.
    let mut g = Generator::new(2);
    let (top, left) = (g.below(3), g.below(3));
    let mut expected = two_channel_3x3();
    crop.apply_at(&mut expected, &[2, 3, 3], top, left);
    let mut x = two_channel_3x3();
    crop.apply(&mut x, &[2, 3, 3], &mut Generator::new(2));
    assert_eq!(x, expected);

    // Exact output for seed 2 (pins the draw order and the generator).
    assert_eq!((top, left), (0, 2), "Generator::new(2) draws changed");
    #[rustfmt::skip]
    assert_eq!(x, vec![
        0.0, 0.0, 0.0,   2.0, 3.0, 0.0,   5.0, 6.0, 0.0,
        0.0, 0.0, 0.0,   12.0, 13.0, 0.0, 15.0, 16.0, 0.0,
    ]);

    // Over many draws, every offset occurs and content is only ever moved, never invented.
    let mut offsets = HashSet::new();
    let mut g = Generator::new(0);
    for _ in 0..200 {
        let mut probe = g.clone();
        offsets.insert((probe.below(3), probe.below(3)));
        let mut x = two_channel_3x3();
        crop.apply(&mut x, &[2, 3, 3], &mut g);
        assert!(x.iter().all(|v| *v == 0.0 || two_channel_3x3().contains(v)));
        assert!(x.contains(&5.0), "the centre pixel stays inside with padding 1");
    }
    assert_eq!(offsets.len(), 9);
}

#[test]
#[should_panic(expected = "RandomCrop: crop size (2, 2) differs from the example's (H, W) = (3, 3)")]
fn random_crop_of_another_size_panics() {
    let mut x = vec![0.0f32; 9];
    RandomCrop::new((2, 2), 1).apply(&mut x, &[1, 3, 3], &mut Generator::new(0));
}

#[test]
fn flip_reverses_the_width_axis() {
    let mut x: Vec<f32> = (0..12).map(|v| v as f32).collect(); // [2, 2, 3]
    RandomHorizontalFlip::flip(&mut x, &[2, 2, 3]);
    assert_eq!(
        x,
        vec![2.0, 1.0, 0.0, 5.0, 4.0, 3.0, 8.0, 7.0, 6.0, 11.0, 10.0, 9.0]
    );

    let mut g = Generator::new(0);
    let original: Vec<f32> = (0..12).map(|v| v as f32).collect();
    let mut x = original.clone();
    RandomHorizontalFlip::new(0.0).apply(&mut x, &[2, 2, 3], &mut g);
    assert_eq!(x, original);
    RandomHorizontalFlip::new(1.0).apply(&mut x, &[2, 2, 3], &mut g);
    assert_eq!(x[..3], [2.0, 1.0, 0.0]);

    // With p = 0.5 it flips when the one uniform draw is below 0.5, about half the time.
    let flip = RandomHorizontalFlip::new(0.5);
    let mut flips = 0;
    for _ in 0..1000 {
        let expect_flip = g.clone().uniform() < 0.5;
        let mut x = original.clone();
        flip.apply(&mut x, &[2, 2, 3], &mut g);
        assert_eq!(x != original, expect_flip);
        flips += usize::from(expect_flip);
    }
    assert!((400..600).contains(&flips), "{flips} flips in 1000");
}

#[test]
fn pipeline_applies_in_order_and_nests() {
    let mut g = Generator::new(0);
    let add_one = |x: &mut [f32], _: &[usize], _: &mut Generator| x.iter_mut().for_each(|v| *v += 1.0);
    let mut x = vec![1.0f32, 3.0];
    Pipeline::new()
        .add(add_one)
        .add(Normalize::new(&[0.0], &[2.0]))
        .apply(&mut x, &[2], &mut g);
    assert_eq!(x, vec![1.0, 2.0]);
    let mut x = vec![1.0f32, 3.0];
    Pipeline::new()
        .add(Normalize::new(&[0.0], &[2.0]))
        .add(Pipeline::new().add(add_one))
        .apply(&mut x, &[2], &mut g);
    assert_eq!(x, vec![1.5, 2.5]);
    let p = augment();
    assert_eq!(p.len(), 3);
    assert_eq!(
        format!("{p:?}"),
        r#"["Normalize", "RandomCrop", "RandomHorizontalFlip"]"#
    );
    assert!(Pipeline::new().is_empty());
}

#[test]
fn augmentation_is_reproducible_per_seed_epoch_and_index() {
    let data = images(30);
    let shape = data.example_shape();
    let shuffled = DataLoader::new(
        data.clone(),
        LoaderConfig {
            workers: 3,
            ..config(7)
        },
    )
    .with_transforms(augment());
    let ordered = DataLoader::new(
        data.clone(),
        LoaderConfig {
            shuffle: false,
            workers: 0,
            ..config(30)
        },
    )
    .with_transforms(augment());
    for epoch in 0..3 {
        let reference = ordered.epoch(epoch).next().unwrap().inputs.to_vec();
        for batch in shuffled.epoch(epoch) {
            let x = batch.inputs.to_vec();
            for (pos, &i) in batch.indices.iter().enumerate() {
                let got = &x[pos * 16..(pos + 1) * 16];
                // Independent of the example's place in the order and of the worker.
                assert_eq!(got, &reference[i * 16..(i + 1) * 16]);
                // And equal to the pipeline run alone with the example's generator.
                let mut alone = vec![0.0f32; 16];
                data.read_example(i, &mut alone);
                augment().apply(&mut alone, &shape, &mut example_generator(1234, epoch, i));
                assert_eq!(got, &alone[..]);
            }
        }
    }
    // Across epochs, the same example is augmented differently (somewhere).
    let e0 = ordered.epoch(0).next().unwrap().inputs.to_vec();
    let e1 = ordered.epoch(1).next().unwrap().inputs.to_vec();
    assert_ne!(e0, e1);
}

// ---- threads ----

/// A data set whose reads sleep, counting reads and optionally panicking on one index.
struct Slow {
    len: usize,
    delay: Duration,
    reads: Arc<AtomicUsize>,
    panic_on: Option<usize>,
}

impl LabeledDataset for Slow {
    fn len(&self) -> usize {
        self.len
    }
    fn example_shape(&self) -> Vec<usize> {
        vec![2]
    }
    fn num_classes(&self) -> usize {
        1
    }
    fn label(&self, _index: usize) -> usize {
        0
    }
    fn read_example(&self, index: usize, out: &mut [f32]) {
        if Some(index) == self.panic_on {
            panic!("corrupt example {index}");
        }
        thread::sleep(self.delay);
        self.reads.fetch_add(1, Ordering::SeqCst);
        out.fill(index as f32);
    }
}

fn slow(len: usize, delay_ms: u64, panic_on: Option<usize>) -> (Arc<dyn LabeledDataset>, Arc<AtomicUsize>) {
    let reads = Arc::new(AtomicUsize::new(0));
    let data = Slow {
        len,
        delay: Duration::from_millis(delay_ms),
        reads: reads.clone(),
        panic_on,
    };
    (Arc::new(data), reads)
}

#[test]
fn dropping_the_iterator_early_stops_the_workers_promptly() {
    // A full epoch would take 1000 * 5 ms / 4 workers = 1.25 s; a batch of 50, 62 ms.
    let (data, reads) = slow(1000, 5, None);
    let loader = DataLoader::new(
        data,
        LoaderConfig {
            workers: 4,
            prefetch: 8,
            ..config(50)
        },
    );
    let mut it = loader.epoch(0);
    let first = it.next().unwrap();
    assert_eq!(first.indices.len(), 50);
    let start = Instant::now();
    drop(it);
    let took = start.elapsed();
    assert!(took < Duration::from_millis(200), "drop took {took:?}");
    // The workers are joined: no read happens any more.
    let after_drop = reads.load(Ordering::SeqCst);
    thread::sleep(Duration::from_millis(50));
    assert_eq!(reads.load(Ordering::SeqCst), after_drop);
    assert!(after_drop < 1000);

    // Dropping before the first batch, and with full queues, returns too.
    for prefetch in [0, 1, 16] {
        let (data, _) = slow(1000, 1, None);
        let loader = DataLoader::new(
            data,
            LoaderConfig {
                workers: 3,
                prefetch,
                ..config(10)
            },
        );
        let it = loader.epoch(0);
        thread::sleep(Duration::from_millis(30));
        let start = Instant::now();
        drop(it);
        assert!(start.elapsed() < Duration::from_millis(200));
    }
}

#[test]
fn prefetch_bounds_the_work_done_ahead() {
    // 2 workers, 2 batches queued: at most 2 queued + 2 being built = 4 batches of 5 read ahead.
    let (data, reads) = slow(200, 0, None);
    let loader = DataLoader::new(
        data,
        LoaderConfig {
            workers: 2,
            prefetch: 2,
            ..config(5)
        },
    );
    let mut it = loader.epoch(0);
    thread::sleep(Duration::from_millis(100));
    assert!(
        reads.load(Ordering::SeqCst) <= 4 * 5,
        "{} reads ahead",
        reads.load(Ordering::SeqCst)
    );
    it.next();
    thread::sleep(Duration::from_millis(100));
    assert!(reads.load(Ordering::SeqCst) <= 5 * 5);
    assert!(reads.load(Ordering::SeqCst) >= 3 * 5, "workers prefetch");
}

#[test]
fn the_workers_prefetch_while_the_consumer_works() {
    // 10 batches of 4 reads of 5 ms: 200 ms of reading. The consumer "trains" 20 ms
    // per batch (200 ms); on the calling thread the epoch takes at least 400 ms, with
    // 2 workers reading ahead about 220 ms.
    let (data, _) = slow(40, 5, None);
    let loader = DataLoader::new(
        data,
        LoaderConfig {
            workers: 2,
            prefetch: 4,
            ..config(4)
        },
    );
    let start = Instant::now();
    let n = loader
        .epoch(0)
        .inspect(|_| thread::sleep(Duration::from_millis(20)))
        .count();
    assert_eq!(n, 10);
    let took = start.elapsed();
    assert!(took < Duration::from_millis(350), "epoch took {took:?}");
}

#[test]
#[should_panic(expected = "corrupt example 37")]
fn a_worker_panic_reaches_the_consumer() {
    let (data, _) = slow(100, 0, Some(37));
    let loader = DataLoader::new(
        data,
        LoaderConfig {
            shuffle: false,
            workers: 3,
            ..config(10)
        },
    );
    for batch in loader.epoch(0) {
        assert!(batch.indices[0] < 30, "batches before the failing one arrive");
    }
}

#[test]
fn a_worker_panic_delivers_earlier_batches_then_panics() {
    let (data, _) = slow(100, 0, Some(37));
    let loader = DataLoader::new(
        data,
        LoaderConfig {
            shuffle: false,
            workers: 3,
            ..config(10)
        },
    );
    let mut it = loader.epoch(0);
    for b in 0..3 {
        assert_eq!(it.next().unwrap().indices[0], b * 10);
    }
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| it.next())).unwrap_err();
    let message = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap();
    assert_eq!(message, "corrupt example 37");
    // After the panic the iterator is finished, and dropping it joins the other workers.
    assert!(it.next().is_none());
    drop(it);
}

#[test]
#[should_panic(expected = "corrupt example 3")]
fn a_panic_on_the_calling_thread_propagates() {
    let (data, _) = slow(10, 0, Some(3));
    let loader = DataLoader::new(
        data,
        LoaderConfig {
            workers: 0,
            ..config(4)
        },
    );
    loader.epoch(0).for_each(drop);
}

#[test]
fn loaders_are_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>() {}
    assert_send_sync::<DataLoader>();
    assert_send_sync::<Pipeline>();
    assert_send::<nabla::data::EpochIter>();
    let loader = DataLoader::new(images(9), config(4));
    assert!(format!("{loader:?}").contains("batch_size: 4"));
    assert_eq!(loader.dataset().len(), 9);
    assert_eq!(loader.config().batch_size, 4);
}
