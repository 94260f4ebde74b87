//! The DataLoader over data sets of other item types than labelled
//! examples: token windows (`TokenWindows`), unlabeled images, float `(x, y)` pairs, and a
//! custom collate; determinism across worker counts and exact resume.

use std::sync::Arc;

use nabla::data::{
    Collate, DataLoader, Dataset, LabeledDataset, LoaderConfig, Stack, TensorDataset, TensorPairDataset,
    TokenWindows, Unlabeled,
};
use nabla::{Generator, IndexTensor, Tensor};

fn windows() -> Arc<TokenWindows> {
    // Distinct tokens (7 is invertible mod 101), so a window is found by its content.
    let tokens: Vec<u32> = (0..100).map(|t| (t * 7) % 101).collect();
    Arc::new(TokenWindows::new(Arc::from(tokens), 5))
}

fn token_ids(data: &TokenWindows, range: std::ops::Range<usize>) -> Vec<usize> {
    data.tokens()[range].iter().map(|&t| t as usize).collect()
}

fn config(batch_size: usize, workers: usize) -> LoaderConfig {
    LoaderConfig {
        batch_size,
        seed: 11,
        workers,
        prefetch: 3,
        ..LoaderConfig::default()
    }
}

#[test]
fn token_windows_batch_into_index_tensors_with_shifted_targets() {
    let data = windows();
    let loader = DataLoader::collated(Arc::clone(&data), Stack, config(8, 2));
    assert_eq!((loader.len(), loader.num_batches()), (95, 12));
    let mut starts = Vec::new();
    for (inputs, targets) in loader.epoch(0) {
        let b = inputs.shape()[0];
        assert_eq!(inputs.shape(), [b, 5]);
        assert_eq!(targets.shape(), [b, 5]);
        let (x, y) = (inputs.to_vec(), targets.to_vec());
        for row in 0..b {
            let start = (0..95)
                .find(|&s| token_ids(&data, s..s + 5) == x[row * 5..row * 5 + 5])
                .unwrap();
            assert_eq!(y[row * 5..row * 5 + 5], token_ids(&data, start + 1..start + 6));
            starts.push(start);
        }
    }
    starts.sort();
    starts.dedup();
    assert_eq!(starts.len(), 95, "every window once");
}

#[test]
fn token_windows_as_one_index_tensor_through_a_closure_collate() {
    // Item = IndexTensor: the window and its target stacked as [2, L].
    struct AsIndexTensor(Arc<TokenWindows>);
    impl Dataset for AsIndexTensor {
        type Item = IndexTensor;
        fn len(&self) -> usize {
            self.0.len()
        }
        fn get(&self, i: usize) -> IndexTensor {
            let (x, y) = self.0.get(i);
            IndexTensor::from_vec([x, y].concat(), &[2, 5])
        }
    }
    let collate = |items: Vec<IndexTensor>| {
        let n = items.len();
        IndexTensor::from_vec(items.iter().flat_map(|t| t.to_vec()).collect(), &[n, 2, 5])
    };
    let loader = DataLoader::collated(Arc::new(AsIndexTensor(windows())), collate, config(16, 1));
    let batches: Vec<IndexTensor> = loader.epoch(3).collect();
    assert_eq!(batches.len(), 6);
    assert_eq!(batches[0].shape(), [16, 2, 5]);
    assert_eq!(batches[5].shape(), [15, 2, 5]);
    for b in &batches {
        for pair in b.as_slice().chunks(10) {
            assert_eq!(pair[1..5], pair[5..9], "the target is the window shifted by one");
        }
    }
}

fn images(n: usize) -> Arc<dyn LabeledDataset> {
    let pixels: Vec<f32> = (0..n * 4).map(|v| v as f32).collect();
    Arc::new(TensorDataset::new(
        Tensor::from_vec(pixels, &[n, 1, 2, 2]),
        IndexTensor::from_vec((0..n).map(|i| i % 3).collect(), &[n]),
        3,
    ))
}

#[test]
fn unlabeled_images_batch_into_one_tensor_of_the_example_shape() {
    let loader = DataLoader::collated(Arc::new(Unlabeled::new(images(10))), Stack, config(4, 2));
    let order = loader.order(0);
    let batches: Vec<Tensor> = loader.epoch(0).collect();
    assert_eq!(
        batches.iter().map(|b| b.shape().to_vec()).collect::<Vec<_>>(),
        [vec![4, 1, 2, 2], vec![4, 1, 2, 2], vec![2, 1, 2, 2]]
    );
    let all: Vec<f32> = batches.iter().flat_map(|b| b.to_vec()).collect();
    let expected: Vec<f32> = order
        .iter()
        .flat_map(|&i| (0..4).map(move |k| (i * 4 + k) as f32))
        .collect();
    assert_eq!(all, expected);
}

#[test]
fn float_pairs_batch_into_input_and_target_tensors() {
    let x = Tensor::from_vec((0..12).map(|v| v as f32).collect(), &[6, 2]);
    let y = Tensor::from_vec((0..6).map(|v| v as f32 * 0.5).collect(), &[6, 1]);
    let loader = DataLoader::collated(Arc::new(TensorPairDataset::new(x, y)), Stack, config(4, 0));
    let mut seen = 0;
    for (x, y) in loader.epoch(1) {
        let b = x.shape()[0];
        assert_eq!((x.shape(), y.shape()), (&[b, 2][..], &[b, 1][..]));
        for (pair, target) in x.to_vec().chunks(2).zip(y.to_vec()) {
            let i = pair[0] / 2.0;
            assert_eq!((pair[1], target), (pair[0] + 1.0, i * 0.5));
        }
        seen += b;
    }
    assert_eq!(seen, 6);
}

#[test]
#[should_panic(expected = "must have the same first dimension")]
fn float_pairs_of_different_counts_panic() {
    TensorPairDataset::new(Tensor::<f32>::zeros(&[3, 2]), Tensor::zeros(&[4]));
}

#[test]
#[should_panic(expected = "cannot stack token lists of lengths 2 and 3")]
fn stacking_token_lists_of_different_lengths_panics() {
    Stack.collate(vec![vec![1, 2], vec![1, 2, 3]]);
}

/// A loader of noisy unlabeled images: the item transform adds noise from
/// each example's own generator.
fn noisy(workers: usize, prefetch: usize) -> DataLoader<nabla::data::Collated<Unlabeled, Stack>> {
    let loader = DataLoader::collated(
        Arc::new(Unlabeled::new(images(23))),
        Stack,
        LoaderConfig {
            prefetch,
            ..config(5, workers)
        },
    );
    loader.with_item_transform(|x: Tensor, rng: &mut Generator| &x + &Tensor::randn(x.shape(), rng))
}

#[test]
fn the_same_seed_gives_the_same_batches_for_any_workers_and_prefetch() {
    let reference: Vec<Vec<f32>> = noisy(0, 0).epoch(2).map(|b| b.to_vec()).collect();
    assert_eq!(reference.len(), 5);
    for (workers, prefetch) in [(1, 0), (1, 4), (2, 1), (3, 8), (8, 2)] {
        let got: Vec<Vec<f32>> = noisy(workers, prefetch).epoch(2).map(|b| b.to_vec()).collect();
        assert_eq!(got, reference, "workers {workers}, prefetch {prefetch}");
    }
    // The noise is there and differs between epochs.
    let clean: Vec<f32> = (0..23 * 4).map(|v| v as f32).collect();
    assert!(reference.concat().iter().all(|v| !clean.contains(v)));
    let next: Vec<Vec<f32>> = noisy(2, 2).epoch(3).map(|b| b.to_vec()).collect();
    assert_ne!(next, reference);
}

#[test]
fn resuming_mid_epoch_gives_the_same_remaining_batches() {
    for workers in [0, 2] {
        let all: Vec<Vec<f32>> = noisy(workers, 2).epoch(4).map(|b| b.to_vec()).collect();
        for k in 0..=all.len() {
            let rest: Vec<Vec<f32>> = noisy(workers, 2).epoch_from(4, k).map(|b| b.to_vec()).collect();
            assert_eq!(rest, all[k..], "resumed at batch {k} with {workers} workers");
        }
        let tokens = DataLoader::collated(windows(), Stack, config(7, workers));
        let all: Vec<_> = tokens.epoch(1).collect();
        let mut it = tokens.epoch(1);
        it.nth(5);
        assert_eq!(it.position(), 6);
        assert_eq!(tokens.epoch_from(1, it.position()).collect::<Vec<_>>(), all[6..]);
    }
}
