//! The [`DataLoader`]: batches of a data set in a seeded, per-epoch order,
//! built ahead of time on worker threads by a [`BatchSource`].

use std::fmt;
use std::iter::FusedIterator;
use std::panic::resume_unwind;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use super::collate::{Collate, Collated};
use super::labeled::LabeledBatches;
use super::transforms::Pipeline;
use super::{Dataset, LabeledDataset};
use crate::tensor::Generator;

/// How a [`DataLoader`] batches, orders and prefetches.
///
/// ```
/// use nabla::data::LoaderConfig;
/// let config = LoaderConfig { batch_size: 128, seed: 7, ..LoaderConfig::default() };
/// assert!(config.shuffle && !config.drop_last);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoaderConfig {
    /// Examples per batch (the last batch may be smaller unless `drop_last`).
    pub batch_size: usize,
    /// Shuffle the examples, differently every epoch.
    pub shuffle: bool,
    /// Drop the last batch when it is smaller than `batch_size`.
    pub drop_last: bool,
    /// The seed of the order and of every random transform.
    pub seed: u64,
    /// Worker threads building batches; 0 builds them on the calling thread
    /// when `next` is called.
    pub workers: usize,
    /// Batches queued ahead of the consumer, over all workers (ignored when
    /// `workers` is 0).
    pub prefetch: usize,
    /// This process's share of every epoch in data-parallel training
    /// (PyTorch's `DistributedSampler`); `None` reads the whole data set.
    pub shard: Option<Shard>,
}

/// One process's part of every epoch in data-parallel training, as
/// PyTorch's `DistributedSampler` (with its default `drop_last=False`) cuts
/// it: the epoch's order (the same seeded permutation on every process) is
/// padded with its own first indices up to a multiple of `world_size`, and
/// process `rank` takes every `world_size`-th index from position `rank`.
/// Every process gets `ceil(len / world_size)` examples, the shards are
/// disjoint but for the padding, and batch `b` of the shards together holds
/// the examples of batch `b` of one process reading `world_size` times the
/// batch size.
///
/// ```
/// use nabla::data::Shard;
/// let order = vec![4, 0, 3, 1, 2];
/// assert_eq!(Shard::new(0, 2).take(&order), vec![4, 3, 2]);
/// assert_eq!(Shard::new(1, 2).take(&order), vec![0, 1, 4]); // padded with the first index
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This process's rank, from 0.
    pub rank: usize,
    /// The number of processes.
    pub world_size: usize,
}

impl Shard {
    /// The shard of process `rank` of `world_size`.
    ///
    /// # Panics
    /// If `rank` is not below `world_size`.
    pub fn new(rank: usize, world_size: usize) -> Self {
        assert!(
            rank < world_size,
            "Shard: rank {rank} is not below the world size {world_size}"
        );
        Shard { rank, world_size }
    }

    /// The number of examples of a data set of `len` in each shard.
    pub fn len_of(&self, len: usize) -> usize {
        len.div_ceil(self.world_size)
    }

    /// This shard of an epoch's `order`.
    pub fn take(&self, order: &[usize]) -> Vec<usize> {
        let total = self.len_of(order.len()) * self.world_size;
        (self.rank..total)
            .step_by(self.world_size)
            .map(|i| order[i % order.len()])
            .collect()
    }
}

impl Default for LoaderConfig {
    /// Batches of 64, shuffled, last batch kept, seed 0, two workers, four batches ahead.
    fn default() -> Self {
        LoaderConfig {
            batch_size: 64,
            shuffle: true,
            drop_last: false,
            seed: 0,
            workers: 2,
            prefetch: 4,
            shard: None,
        }
    }
}

/// What a [`DataLoader`] batches: reads the examples at some indices of a
/// data set and turns them into one batch, on whichever thread asks.
///
/// Two are provided: [`LabeledBatches`] (a [`LabeledDataset`] with
/// [`Pipeline`] transforms, read straight into the batch buffer; what
/// [`DataLoader::new`] builds) and [`Collated`] (any [`Dataset`] with a
/// [`Collate`] step; what [`DataLoader::collated`] builds). Implement it for
/// a faster path of your own.
///
/// ```
/// use nabla::data::{BatchContext, BatchSource, DataLoader, LoaderConfig};
/// /// The squares of the indices, as a batch of `u64`.
/// struct Squares(usize);
/// impl BatchSource for Squares {
///     type Batch = Vec<u64>;
///     fn len(&self) -> usize {
///         self.0
///     }
///     fn build(&self, indices: &[usize], _context: &BatchContext<'_>) -> Option<Vec<u64>> {
///         Some(indices.iter().map(|&i| (i * i) as u64).collect())
///     }
/// }
/// let config = LoaderConfig { batch_size: 2, shuffle: false, ..LoaderConfig::default() };
/// let loader = DataLoader::from_source(Squares(5), config);
/// assert_eq!(loader.epoch(0).collect::<Vec<_>>(), vec![vec![0, 1], vec![4, 9], vec![16]]);
/// ```
pub trait BatchSource: Send + Sync + 'static {
    /// What a batch is.
    type Batch: Send + 'static;

    /// The number of examples in the data set.
    fn len(&self) -> usize;

    /// True when the data set is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batch of the examples at `indices` (in that order), or `None`
    /// when [`context.is_stopped()`](BatchContext::is_stopped) turned true
    /// part way (check it between examples, so that dropping an epoch's
    /// iterator stops its workers promptly). Random transforms of example
    /// `i` draw from [`context.generator(i)`](BatchContext::generator).
    fn build(&self, indices: &[usize], context: &BatchContext<'_>) -> Option<Self::Batch>;
}

impl<S: BatchSource> BatchSource for Arc<S> {
    type Batch = S::Batch;

    fn len(&self) -> usize {
        (**self).len()
    }

    fn build(&self, indices: &[usize], context: &BatchContext<'_>) -> Option<S::Batch> {
        (**self).build(indices, context)
    }
}

/// What a [`BatchSource`] building a batch may ask: the generator of each
/// example and whether to stop.
#[derive(Clone, Copy, Debug)]
pub struct BatchContext<'a> {
    seed: u64,
    epoch: usize,
    stop: Option<&'a AtomicBool>,
}

impl BatchContext<'_> {
    /// The context of a loader seeded with `seed` in `epoch`, never stopped
    /// (for building a batch by hand, as the loader would).
    pub fn new(seed: u64, epoch: usize) -> BatchContext<'static> {
        BatchContext {
            seed,
            epoch,
            stop: None,
        }
    }

    /// The epoch being built.
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// The generator for the random transforms of example `index` of the
    /// data set: [`example_generator`]`(seed, epoch, index)`, the same
    /// whichever thread builds the batch.
    pub fn generator(&self, index: usize) -> Generator {
        example_generator(self.seed, self.epoch, index)
    }

    /// True when the epoch's iterator was dropped and the batch is not wanted.
    pub fn is_stopped(&self) -> bool {
        self.stop.is_some_and(|s| s.load(Ordering::Relaxed))
    }
}

/// Splits a data set into batches, in a seeded order that changes every
/// epoch, built by a [`BatchSource`] on background threads.
///
/// [`DataLoader::new`] batches a [`LabeledDataset`] (inputs
/// `[B, ...example_shape]` and labels `[B]` in a [`Batch`](super::Batch),
/// with [`Pipeline`] transforms); [`DataLoader::collated`] batches any
/// [`Dataset`] with a [`Collate`] step (with an optional per-item
/// transform); [`DataLoader::from_source`] takes any [`BatchSource`].
///
/// # Determinism
///
/// Everything an epoch yields is a function of `(seed, epoch)` alone, never
/// of the number of workers, the prefetch depth or thread timing:
///
/// - the order of the examples is a Fisher-Yates shuffle of `0..len` by a
///   [`Generator`] seeded from `(seed, epoch)` ([`DataLoader::order`]);
/// - example `index` is transformed with its own generator seeded from
///   `(seed, epoch, index)` ([`example_generator`]), so its augmentation does
///   not depend on which thread read it or where it falls in the order;
/// - batch `b` is always the examples `order[b * batch_size..]`, and batches
///   arrive in order `0, 1, 2, ...`.
///
/// So [`DataLoader::epoch_from`]`(e, k)` resumes epoch `e` exactly after its
/// first `k` batches.
///
/// # Threads
///
/// With `workers = n > 0`, [`DataLoader::epoch`] starts `n` threads at once
/// (fewer if the epoch has fewer batches), which build the batches. Worker
/// `w` builds the batches `w, w + n, w + 2n, ...` of the iterator and sends
/// each into its own bounded channel; the iterator takes its `k`-th batch
/// from worker `k % n`, so batches come out in order without a reordering
/// buffer. The channels hold `prefetch` batches between them, plus at most
/// one being built per worker, which bounds the memory.
///
/// Dropping the iterator stops the workers (they check between examples)
/// and joins them. A panic in a worker (say, in
/// [`LabeledDataset::read_example`]) is re-raised by the iterator's `next`,
/// with the original payload, when it reaches the batch the worker failed
/// on; the batches before it arrive first. With `workers = 0`, `next`
/// builds the batch on the calling thread.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use nabla::data::{DataLoader, LoaderConfig, Normalize, Pipeline, TensorDataset};
/// use nabla::{IndexTensor, Tensor};
/// let data = TensorDataset::new(
///     Tensor::arange(0.0, 10.0, 1.0).reshape(&[10, 1]),
///     IndexTensor::from_vec((0..10).map(|i| i % 2).collect(), &[10]),
///     2,
/// );
/// let config = LoaderConfig { batch_size: 4, seed: 1, ..LoaderConfig::default() };
/// let loader = DataLoader::new(Arc::new(data), config)
///     .with_transforms(Pipeline::new().add(Normalize::new(&[0.0], &[2.0])));
/// assert_eq!(loader.num_batches(), 3); // 4 + 4 + 2
///
/// let mut seen = Vec::new();
/// for batch in loader.epoch(0) {
///     assert_eq!(batch.inputs.shape()[1..], [1]);
///     for (x, i) in batch.inputs.to_vec().into_iter().zip(&batch.indices) {
///         assert_eq!(x, *i as f32 / 2.0);
///     }
///     seen.extend(batch.indices);
/// }
/// seen.sort();
/// assert_eq!(seen, (0..10).collect::<Vec<_>>());
///
/// // The same epoch again gives the same batches; the next epoch another order.
/// let first: Vec<_> = loader.epoch(0).map(|b| b.indices).collect();
/// let again: Vec<_> = loader.epoch(0).map(|b| b.indices).collect();
/// assert_eq!(first, again);
/// assert_ne!(loader.order(0), loader.order(1));
/// ```
///
/// Any item type, here `(x, y)` float pairs stacked into two tensors:
///
/// ```
/// use std::sync::Arc;
/// use nabla::data::{DataLoader, LoaderConfig, Stack, TensorPairDataset};
/// use nabla::Tensor;
/// let x = Tensor::arange(0.0, 6.0, 1.0).reshape(&[6, 1]);
/// let data = TensorPairDataset::new(x.clone(), &x * 2.0);
/// let config = LoaderConfig { batch_size: 4, ..LoaderConfig::default() };
/// let loader = DataLoader::collated(Arc::new(data), Stack, config);
/// for (x, y) in loader.epoch(0) {
///     assert_eq!((&x * 2.0).to_vec(), y.to_vec());
/// }
/// ```
pub struct DataLoader<S: BatchSource = LabeledBatches> {
    source: Arc<S>,
    config: LoaderConfig,
}

impl<S: BatchSource> Clone for DataLoader<S> {
    fn clone(&self) -> Self {
        DataLoader {
            source: Arc::clone(&self.source),
            config: self.config.clone(),
        }
    }
}

impl DataLoader<LabeledBatches> {
    /// A loader of the labelled `dataset` with `config` and no transforms.
    ///
    /// # Panics
    /// If `config.batch_size` is 0.
    pub fn new(dataset: Arc<dyn LabeledDataset>, config: LoaderConfig) -> Self {
        Self::from_source(LabeledBatches::new(dataset, Pipeline::new()), config)
    }

    /// The loader with `transforms` applied to every example (replacing any
    /// earlier pipeline).
    pub fn with_transforms(self, transforms: Pipeline) -> Self {
        let dataset = Arc::clone(self.source.dataset());
        DataLoader {
            source: Arc::new(LabeledBatches::new(dataset, transforms)),
            config: self.config,
        }
    }

    /// The data set.
    pub fn dataset(&self) -> &Arc<dyn LabeledDataset> {
        self.source.dataset()
    }

    /// The transforms applied to every example.
    pub fn transforms(&self) -> &Pipeline {
        self.source.transforms()
    }
}

impl<D, C> DataLoader<Collated<D, C>>
where
    D: Dataset + ?Sized + 'static,
    C: Collate<D::Item> + 'static,
    C::Batch: Send + 'static,
{
    /// A loader of `dataset` whose batches are its items collated by
    /// `collate` (as PyTorch's `DataLoader(dataset, collate_fn=...)`).
    ///
    /// # Panics
    /// If `config.batch_size` is 0.
    pub fn collated(dataset: Arc<D>, collate: C, config: LoaderConfig) -> Self {
        Self::from_source(Collated::new(dataset, collate), config)
    }

    /// The loader with `transform` applied to every item before collating,
    /// drawing any randomness from the example's own generator (replacing
    /// any earlier item transform).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use nabla::data::{DataLoader, LoaderConfig, Stack, Unlabeled, TensorDataset};
    /// use nabla::{IndexTensor, Generator, Tensor};
    /// let images = TensorDataset::new(Tensor::ones(&[8, 1, 2, 2]), IndexTensor::from_vec(vec![0; 8], &[8]), 1);
    /// let noisy = DataLoader::collated(Arc::new(Unlabeled::new(Arc::new(images))), Stack, LoaderConfig::default())
    ///     .with_item_transform(|x: Tensor, rng: &mut Generator| &x + &Tensor::randn(x.shape(), rng));
    /// let batch: Tensor = noisy.epoch(0).next().unwrap();
    /// assert_eq!(batch.shape(), [8, 1, 2, 2]);
    /// assert!(batch.to_vec().iter().any(|&v| v != 1.0));
    /// ```
    pub fn with_item_transform<F>(self, transform: F) -> Self
    where
        F: Fn(D::Item, &mut Generator) -> D::Item + Send + Sync + 'static,
    {
        DataLoader {
            source: Arc::new(self.source.with_transform(transform)),
            config: self.config,
        }
    }
}

impl<S: BatchSource> DataLoader<S> {
    /// A loader of the batches `source` builds, with `config`.
    ///
    /// # Panics
    /// If `config.batch_size` is 0.
    pub fn from_source(source: S, config: LoaderConfig) -> Self {
        assert!(config.batch_size > 0, "DataLoader: batch_size must be at least 1");
        DataLoader {
            source: Arc::new(source),
            config,
        }
    }

    /// The loader reading only `shard`'s part of every epoch (all of it
    /// with `None`): one process's loader in data-parallel training.
    pub fn with_shard(mut self, shard: Option<Shard>) -> Self {
        self.config.shard = shard;
        self
    }

    /// What builds the batches.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The configuration.
    pub fn config(&self) -> &LoaderConfig {
        &self.config
    }

    /// The number of examples in the data set.
    pub fn len(&self) -> usize {
        self.source.len()
    }

    /// True when the data set is empty.
    pub fn is_empty(&self) -> bool {
        self.source.is_empty()
    }

    /// The number of examples an epoch reads: the data set's, or its
    /// [`Shard`]'s.
    pub fn examples_per_epoch(&self) -> usize {
        let len = self.source.len();
        self.config.shard.map_or(len, |s| s.len_of(len))
    }

    /// The number of batches in an epoch: [`examples_per_epoch`](Self::examples_per_epoch)
    /// `/ batch_size`, rounded up unless `drop_last`.
    pub fn num_batches(&self) -> usize {
        let (n, b) = (self.examples_per_epoch(), self.config.batch_size);
        if self.config.drop_last {
            n / b
        } else {
            n.div_ceil(b)
        }
    }

    /// The order of the data set's indices in `epoch` (all of them, before
    /// any `drop_last`): `0..len` without shuffling, otherwise a Fisher-Yates
    /// shuffle with a generator seeded from `(seed, epoch)`; with a
    /// [`Shard`], this process's part of it.
    pub fn order(&self, epoch: usize) -> Vec<usize> {
        let order = self.full_order(epoch);
        match self.config.shard {
            Some(shard) => shard.take(&order),
            None => order,
        }
    }

    fn full_order(&self, epoch: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.source.len()).collect();
        if self.config.shuffle {
            let mut rng = Generator::new(mix(SHUFFLE_STREAM, self.config.seed, epoch as u64, 0));
            for i in (1..order.len()).rev() {
                let j = rng.below(i + 1);
                order.swap(i, j);
            }
        }
        order
    }

    /// The batches of `epoch`, in order. With workers, their threads start
    /// now and build batches ahead.
    pub fn epoch(&self, epoch: usize) -> EpochIter<S> {
        self.epoch_from(epoch, 0)
    }

    /// The batches of `epoch` from batch `first_batch` on: the same batches
    /// as [`epoch`](Self::epoch) without its first `first_batch`, for
    /// resuming exactly in the middle of an epoch (nothing before
    /// `first_batch` is read).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use nabla::data::{DataLoader, LoaderConfig, TensorDataset};
    /// use nabla::{IndexTensor, Tensor};
    /// let data = TensorDataset::new(Tensor::zeros(&[10, 2]), IndexTensor::from_vec(vec![0; 10], &[10]), 1);
    /// let loader = DataLoader::new(Arc::new(data), LoaderConfig { batch_size: 3, ..LoaderConfig::default() });
    /// let all: Vec<_> = loader.epoch(5).map(|b| b.indices).collect();
    /// let rest: Vec<_> = loader.epoch_from(5, 2).map(|b| b.indices).collect();
    /// assert_eq!(rest, all[2..]);
    /// ```
    ///
    /// # Panics
    /// If `first_batch` is greater than [`num_batches`](Self::num_batches)
    /// (equal gives an empty iterator).
    pub fn epoch_from(&self, epoch: usize, first_batch: usize) -> EpochIter<S> {
        let end = self.num_batches();
        assert!(
            first_batch <= end,
            "DataLoader::epoch_from: batch {first_batch} is past the {end} batches of an epoch \
             ({} examples in batches of {}{})",
            self.examples_per_epoch(),
            self.config.batch_size,
            if self.config.drop_last {
                ", last dropped"
            } else {
                ""
            }
        );
        let job = Arc::new(Job {
            source: Arc::clone(&self.source),
            order: self.order(epoch),
            batch_size: self.config.batch_size,
            seed: self.config.seed,
            epoch,
        });
        let mut iter = EpochIter {
            job,
            first: first_batch,
            next: first_batch,
            end,
            workers: Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let n = self.config.workers.min(end - first_batch);
        let prefetch = self.config.prefetch;
        for w in 0..n {
            // The queue depth of this worker: `prefetch` spread over the workers.
            let depth = prefetch / n + usize::from(w < prefetch % n);
            let (tx, rx) = sync_channel::<S::Batch>(depth);
            let job = Arc::clone(&iter.job);
            let stop = Arc::clone(&iter.stop);
            let handle = thread::Builder::new()
                .name(format!("nabla-loader-{w}"))
                .spawn(move || {
                    for b in (first_batch + w..end).step_by(n) {
                        let Some(batch) = job.build(b, Some(&stop)) else {
                            return;
                        };
                        if tx.send(batch).is_err() {
                            return; // the iterator was dropped
                        }
                    }
                })
                .unwrap_or_else(|e| panic!("DataLoader: cannot start a worker thread: {e}"));
            iter.workers.push(Worker {
                rx: Some(rx),
                handle: Some(handle),
            });
        }
        iter
    }
}

impl<S: BatchSource + fmt::Debug> fmt::Debug for DataLoader<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataLoader")
            .field("source", &self.source)
            .field("config", &self.config)
            .finish()
    }
}

const SHUFFLE_STREAM: u64 = 0x5348_5546_464c_4521; // "SHUFFLE!"
const EXAMPLE_STREAM: u64 = 0x4558_414d_504c_4521; // "EXAMPLE!"

/// SplitMix64's finaliser: a bijection of `u64` that mixes every bit.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn mix(stream: u64, a: u64, b: u64, c: u64) -> u64 {
    splitmix64(splitmix64(splitmix64(stream ^ a) ^ b) ^ c)
}

/// The seed of example `index`'s generator in `epoch` of a loader seeded
/// with `seed` (a SplitMix64 hash of the three).
pub fn example_seed(seed: u64, epoch: usize, index: usize) -> u64 {
    mix(EXAMPLE_STREAM, seed, epoch as u64, index as u64)
}

/// The generator a [`DataLoader`] seeded with `seed` gives its transforms
/// for example `index` of the data set in `epoch`; with it, one example's
/// augmentation can be reproduced alone.
///
/// ```
/// use std::sync::Arc;
/// use nabla::data::{example_generator, DataLoader, LabeledDataset, LoaderConfig, Pipeline};
/// use nabla::data::{RandomHorizontalFlip, TensorDataset};
/// use nabla::{IndexTensor, Tensor};
/// let data = Arc::new(TensorDataset::new(
///     Tensor::arange(0.0, 24.0, 1.0).reshape(&[6, 1, 2, 2]),
///     IndexTensor::from_vec(vec![0; 6], &[6]),
///     1,
/// ));
/// let pipeline = || Pipeline::new().add(RandomHorizontalFlip::new(0.5));
/// let config = LoaderConfig { batch_size: 6, seed: 9, ..LoaderConfig::default() };
/// let loader = DataLoader::new(data.clone(), config).with_transforms(pipeline());
/// let batch = loader.epoch(3).next().unwrap();
/// let (pos, index) = (2, batch.indices[2]);
/// let mut x = vec![0.0f32; 4];
/// data.read_example(index, &mut x);
/// pipeline().apply(&mut x, &[1, 2, 2], &mut example_generator(9, 3, index));
/// assert_eq!(x, batch.inputs.to_vec()[pos * 4..pos * 4 + 4]);
/// ```
pub fn example_generator(seed: u64, epoch: usize, index: usize) -> Generator {
    Generator::new(example_seed(seed, epoch, index))
}

/// What one epoch needs to build any of its batches; shared by the workers.
struct Job<S> {
    source: Arc<S>,
    order: Vec<usize>,
    batch_size: usize,
    seed: u64,
    epoch: usize,
}

impl<S: BatchSource> Job<S> {
    /// Builds batch `b`, or `None` when `stop` is raised part way.
    fn build(&self, b: usize, stop: Option<&AtomicBool>) -> Option<S::Batch> {
        let start = b * self.batch_size;
        let end = (start + self.batch_size).min(self.order.len());
        let context = BatchContext {
            seed: self.seed,
            epoch: self.epoch,
            stop,
        };
        self.source.build(&self.order[start..end], &context)
    }
}

struct Worker<B> {
    rx: Option<Receiver<B>>,
    handle: Option<JoinHandle<()>>,
}

/// The batches of one epoch, in order (from [`DataLoader::epoch`]).
///
/// Dropping it early stops and joins its worker threads.
pub struct EpochIter<S: BatchSource = LabeledBatches> {
    job: Arc<Job<S>>,
    /// The first batch this iterator yields (worker `w` builds `first + w + k * workers`).
    first: usize,
    next: usize,
    end: usize,
    workers: Vec<Worker<S::Batch>>,
    stop: Arc<AtomicBool>,
}

impl<S: BatchSource> EpochIter<S> {
    /// The epoch being iterated.
    pub fn epoch(&self) -> usize {
        self.job.epoch
    }

    /// The index in the epoch of the next batch `next` returns (the number
    /// of batches of the epoch already consumed): with
    /// [`DataLoader::epoch_from`] it resumes exactly here.
    pub fn position(&self) -> usize {
        self.next
    }

    /// The number of batches in the whole epoch.
    pub fn num_batches(&self) -> usize {
        self.end
    }

    fn receive(&mut self, b: usize) -> S::Batch {
        let w = (b - self.first) % self.workers.len();
        let rx = self.workers[w].rx.as_ref().expect("DataLoader: receiver is open");
        match rx.recv() {
            Ok(batch) => batch,
            Err(_) => {
                // The worker hung up without sending batch `b`: it panicked.
                self.next = self.end;
                match self.workers[w].handle.take().map(JoinHandle::join) {
                    Some(Err(payload)) => resume_unwind(payload),
                    _ => panic!(
                        "DataLoader: worker {w} stopped before batch {b} of epoch {}",
                        self.job.epoch
                    ),
                }
            }
        }
    }
}

impl<S: BatchSource> Iterator for EpochIter<S> {
    type Item = S::Batch;

    fn next(&mut self) -> Option<S::Batch> {
        if self.next >= self.end {
            return None;
        }
        let b = self.next;
        let batch = if self.workers.is_empty() {
            self.job
                .build(b, None)
                .expect("no stop flag on the calling thread")
        } else {
            self.receive(b)
        };
        self.next += 1;
        Some(batch)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.next;
        (n, Some(n))
    }
}

impl<S: BatchSource> ExactSizeIterator for EpochIter<S> {}

impl<S: BatchSource> FusedIterator for EpochIter<S> {}

impl<S: BatchSource> Drop for EpochIter<S> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Closing the channels wakes workers blocked on a full queue.
        for w in &mut self.workers {
            w.rx = None;
        }
        for w in &mut self.workers {
            if let Some(handle) = w.handle.take() {
                // A worker's panic was, or would have been, reported by `next`.
                let _ = handle.join();
            }
        }
    }
}

impl<S: BatchSource> fmt::Debug for EpochIter<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EpochIter")
            .field("epoch", &self.job.epoch)
            .field("position", &self.next)
            .field("num_batches", &self.end)
            .field("workers", &self.workers.len())
            .finish()
    }
}
