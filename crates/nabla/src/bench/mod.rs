//! The standard benchmarks of nabla, shared by `nabla bench` and the
//! criterion benches: matrix products, training steps of an MLP and of
//! LeNet-5, a convolution layer, single-image inference latency, the
//! language models ([`language_models`]), the VAE ([`generative`]), a
//! DCGAN step ([`gan`]), a training step and a PGD step of Madry et
//! al.'s MNIST model ([`adversarial`]), a DQN update and a PPO epoch
//! ([`rl`]), and EfficientNet-Lite0 inference and fine-tuning
//! ([`pretrained`]).
//!
//! Each measurement warms up, then reports the median of several timed
//! repetitions: the machine may be shared and noisy, and a median is robust
//! to the occasional slow run.

mod adversarial;
#[cfg(feature = "mpi")]
pub mod distributed;
mod gan;
mod generative;
mod language_models;
mod pretrained;
mod rl;

use std::sync::Arc;
use std::time::Instant;

pub use adversarial::MadryBatch;
pub use gan::dcgan_train_samples_per_second;
pub use generative::VaeStep;
pub use language_models::{gpt_generate_tokens_per_second, LanguageModelStep};
pub use pretrained::{efficientnet_finetune_step_seconds, efficientnet_inference_milliseconds};
pub use rl::{dqn_updates_per_second, ppo_epochs_per_second};

use crate::autograd::no_grad;
use crate::nn::loss::{cross_entropy_with, Reduction};
use crate::nn::{zoo, Layer, Linear, Module, Relu, Sequential};
use crate::ops::Conv2dOptions;
use crate::optim::{Optimizer, Sgd, SgdConfig};
use crate::parallel::on_worker_thread;
use crate::tensor::{Generator, IndexTensor, Tensor};
use crate::train::{data_parallel_backward, DataParallel};

/// The median of `repetitions` timings of `f`, in seconds, after `warmup` untimed calls.
pub fn median_seconds(warmup: usize, repetitions: usize, f: impl FnMut()) -> f64 {
    median_seconds_prepared(warmup, repetitions, || (), f)
}

/// The median of `repetitions` timings of `run`, in seconds, each after an
/// untimed `prepare`, and after `warmup` untimed rounds of both.
pub fn median_seconds_prepared(
    warmup: usize,
    repetitions: usize,
    mut prepare: impl FnMut(),
    mut run: impl FnMut(),
) -> f64 {
    for _ in 0..warmup {
        prepare();
        run();
    }
    let mut times: Vec<f64> = (0..repetitions.max(1))
        .map(|_| {
            prepare();
            let start = Instant::now();
            run();
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// GFLOP/s of an `n x n` by `n x n` f32 matrix product (2 n^3 flops).
pub fn sgemm_gflops(n: usize, repetitions: usize) -> f64 {
    let mut g = Generator::new(1);
    let a = Tensor::<f32>::randn(&[n, n], &mut g);
    let b = Tensor::<f32>::randn(&[n, n], &mut g);
    let seconds = median_seconds(2, repetitions, || {
        std::hint::black_box(a.matmul(&b));
    });
    2.0 * (n as f64).powi(3) / seconds / 1e9
}

/// One training step (forward, cross-entropy, backward, SGD with momentum)
/// of a model on a fixed random batch, ready to be timed.
pub struct TrainStep {
    model: Box<dyn Layer>,
    inputs: Tensor,
    targets: IndexTensor,
    optimizer: Sgd,
    parallel: Option<Arc<dyn DataParallel>>,
}

impl TrainStep {
    /// A step of `model` on random inputs of `input_shape` (batch first)
    /// with labels `i % 10`.
    pub fn new(model: Box<dyn Layer>, input_shape: &[usize]) -> Self {
        let mut g = Generator::new(2);
        let batch = input_shape[0];
        let optimizer = Sgd::new(model.parameters(), SgdConfig::new(0.01).momentum(0.9));
        TrainStep {
            inputs: Tensor::randn(input_shape, &mut g),
            targets: IndexTensor::from_vec((0..batch).map(|i| i % 10).collect(), &[batch]),
            model,
            optimizer,
            parallel: None,
        }
    }

    /// The step with its gradients averaged over the processes of
    /// `parallel` (data-parallel training: each process its own batch).
    pub fn data_parallel(mut self, parallel: Arc<dyn DataParallel>) -> Self {
        self.parallel = Some(parallel);
        self
    }

    /// The MLP 784-256-128-10 at `batch`.
    pub fn mlp(batch: usize) -> Self {
        Self::new(Box::new(benchmark_mlp()), &[batch, 784])
    }

    /// LeNet-5 at `batch`.
    pub fn lenet(batch: usize) -> Self {
        Self::new(
            Box::new(zoo::lenet5::<f32>(&mut Generator::new(4))),
            &[batch, 1, 28, 28],
        )
    }

    /// The batch size.
    pub fn batch(&self) -> usize {
        self.inputs.shape()[0]
    }

    /// Runs one step.
    pub fn run(&mut self) {
        self.optimizer.zero_grad();
        let loss = cross_entropy_with(
            &self.model.forward(&self.inputs),
            &self.targets,
            None,
            None,
            Reduction::Mean,
        );
        data_parallel_backward(self.parallel.as_deref(), &loss, self.optimizer.parameters());
        self.optimizer.step();
    }

    /// Samples per second over the median of `repetitions` steps.
    pub fn samples_per_second(&mut self, repetitions: usize) -> f64 {
        self.batch() as f64 / median_seconds(3, repetitions, || self.run())
    }
}

/// The MLP of the benchmarks: 784-256-128-10 with ReLU.
pub fn benchmark_mlp() -> Sequential {
    let mut g = Generator::new(3);
    Sequential::new()
        .add(Linear::new(784, 256, true, &mut g))
        .add(Relu)
        .add(Linear::new(256, 128, true, &mut g))
        .add(Relu)
        .add(Linear::new(128, 10, true, &mut g))
}

/// A conv2d layer at N=32, C=C'=64, 32x32, 3x3, padding 1 with bias: the
/// forward alone, or forward and backward to input, weight and bias.
pub struct ConvStep {
    input: Tensor,
    weight: Tensor,
    bias: Tensor,
    backward: bool,
}

impl ConvStep {
    /// The forward (`backward = false`) or forward + backward measurement.
    pub fn new(backward: bool) -> Self {
        let mut g = Generator::new(5);
        let make = |shape: &[usize], g: &mut Generator| {
            let t = Tensor::<f32>::randn(shape, g);
            if backward {
                t.requires_grad()
            } else {
                t
            }
        };
        ConvStep {
            input: make(&[32, 64, 32, 32], &mut g),
            weight: make(&[64, 64, 3, 3], &mut g),
            bias: make(&[64], &mut g),
            backward,
        }
    }

    /// Runs it once.
    pub fn run(&self) {
        let options = Conv2dOptions::default().padding(1);
        if self.backward {
            self.input
                .conv2d(&self.weight, Some(&self.bias), options)
                .sum()
                .backward();
            for t in [&self.input, &self.weight, &self.bias] {
                t.zero_grad();
            }
        } else {
            std::hint::black_box(no_grad(|| {
                self.input.conv2d(&self.weight, Some(&self.bias), options)
            }));
        }
    }
}

/// Samples per second of an MLP 784-256-128-10 training step at `batch`.
pub fn mlp_train_samples_per_second(batch: usize, repetitions: usize) -> f64 {
    TrainStep::mlp(batch).samples_per_second(repetitions)
}

/// Samples per second of a LeNet-5 training step at `batch`.
pub fn lenet_train_samples_per_second(batch: usize, repetitions: usize) -> f64 {
    TrainStep::lenet(batch).samples_per_second(repetitions)
}

/// Milliseconds of conv2d forward (and, with `backward`, forward plus
/// backward) at N=32, C=C'=64, 32x32, 3x3, padding 1.
pub fn conv_milliseconds(backward: bool, repetitions: usize) -> f64 {
    let step = ConvStep::new(backward);
    median_seconds(2, repetitions, || step.run()) * 1e3
}

/// Microseconds of LeNet-5 inference on one image, without recording.
pub fn lenet_inference_microseconds(repetitions: usize) -> f64 {
    let mut model = zoo::lenet5::<f32>(&mut Generator::new(6));
    model.eval();
    let x = Tensor::<f32>::randn(&[1, 1, 28, 28], &mut Generator::new(7));
    median_seconds(20, repetitions, || {
        std::hint::black_box(no_grad(|| model.forward(&x)));
    }) * 1e6
}

/// A benchmark's measurement: its value for a number of timed repetitions.
pub type Measure = fn(usize) -> f64;

/// The standard benchmarks as `(key, measurement)`, in the order of the JSON
/// report of `nabla bench --json`.
pub fn benchmarks() -> Vec<(&'static str, Measure)> {
    vec![
        ("sgemm_512_gflops", |r| sgemm_gflops(512, r)),
        ("sgemm_1024_gflops", |r| sgemm_gflops(1024, r)),
        ("sgemm_2048_gflops", |r| sgemm_gflops(2048, r.div_ceil(2))),
        ("mlp_train_bs64_samples_per_s", |r| {
            mlp_train_samples_per_second(64, r * 4)
        }),
        ("mlp_train_bs256_samples_per_s", |r| {
            mlp_train_samples_per_second(256, r * 2)
        }),
        ("lenet_train_bs64_samples_per_s", |r| {
            lenet_train_samples_per_second(64, r * 2)
        }),
        ("lenet_train_bs256_samples_per_s", |r| {
            lenet_train_samples_per_second(256, r)
        }),
        ("conv_fwd_ms", |r| conv_milliseconds(false, r)),
        ("conv_fwdbwd_ms", |r| conv_milliseconds(true, r)),
        ("lenet_b1_latency_us", |r| lenet_inference_microseconds(r * 20)),
        ("gpt_train_tokens_per_s", |r| {
            LanguageModelStep::gpt().tokens_per_second(r * 2)
        }),
        ("lstm_train_tokens_per_s", |r| {
            LanguageModelStep::lstm().tokens_per_second(r)
        }),
        ("gpt_generate_tokens_per_s", |r| {
            gpt_generate_tokens_per_second(r.div_ceil(2))
        }),
        ("dcgan_train_samples_per_s", |r| {
            dcgan_train_samples_per_second(r * 2)
        }),
        ("vae_train_samples_per_s", |r| {
            VaeStep::new(128).samples_per_second(r * 4)
        }),
        ("madry_train_bs256_samples_per_s", |r| {
            MadryBatch::new(256).train_samples_per_second(r)
        }),
        ("madry_pgd_step_bs256_samples_per_s", |r| {
            MadryBatch::new(256).pgd_step_samples_per_second(r)
        }),
        ("dqn_update_per_s", |r| dqn_updates_per_second(r * 40)),
        ("ppo_epoch_per_s", |r| ppo_epochs_per_second(r * 2)),
        ("efficientnet_b1_latency_ms", |r| {
            efficientnet_inference_milliseconds(1, r * 4)
        }),
        ("efficientnet_b32_inference_ms", |r| {
            efficientnet_inference_milliseconds(32, r)
        }),
        ("efficientnet_finetune_b32_step_s", |r| {
            efficientnet_finetune_step_seconds(32, r.div_ceil(2))
        }),
    ]
}

/// Runs the standard benchmarks whose key contains `filter` (all of them
/// for an empty filter), as `(key, value)`.
pub fn run_matching(filter: &str, repetitions: usize) -> Vec<(&'static str, f64)> {
    benchmarks()
        .into_iter()
        .filter(|(key, _)| key.contains(filter))
        .map(|(key, measure)| (key, on_worker_thread(|| measure(repetitions))))
        .collect()
}

/// Every standard benchmark, as `(key, value)`.
pub fn run_all(repetitions: usize) -> Vec<(&'static str, f64)> {
    run_matching("", repetitions)
}
