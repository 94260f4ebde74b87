//! RealNVP's invariants: each coupling's log-determinant is the log of the
//! absolute determinant of its Jacobian computed by autodiff (`jacobian`),
//! the whole flow's too; the flows invert to 1e-5 in f32; samples map back
//! to standard normal latents; short learning runs lower the
//! negative log-likelihood.

use std::sync::Arc;

use nabla::autograd::jacobian;
use nabla::data::{
    DataLoader, Dataset, LoaderConfig, Mnist, Split, Stack, TensorDataset, TwoMoons, Unlabeled,
};
use nabla::generative::flow::{
    dequantize, AffineCoupling, ConvCoupling, CouplingMask, MultiScaleConfig, MultiScaleRealNvp,
    NegativeLogLikelihood, RealNvp, RealNvpConfig,
};
use nabla::nn::init::{normal_, uniform_};
use nabla::nn::Module;
use nabla::optim::{Adam, AdamConfig};
use nabla::train::{fit, TrainConfig};
use nabla::{no_grad, Float, Generator, IndexTensor, Tensor};

/// ln |det a| of a square matrix `n x n` (row-major), by Gaussian
/// elimination with partial pivoting.
fn log_abs_det(mut a: Vec<f64>, n: usize) -> f64 {
    let mut log_det = 0.0;
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs()))
            .expect("a row");
        for k in 0..n {
            a.swap(col * n + k, pivot * n + k);
        }
        let p = a[col * n + col];
        assert!(p != 0.0, "singular Jacobian");
        log_det += p.abs().ln();
        for row in col + 1..n {
            let factor = a[row * n + col] / p;
            for k in col..n {
                a[row * n + k] -= factor * a[col * n + k];
            }
        }
    }
    log_det
}

/// ln |det J| of `f` at the single example `x` `[1, ...]`, `J` by autodiff.
fn autodiff_log_det(f: impl Fn(&Tensor<f64>) -> Tensor<f64>, x: &Tensor<f64>) -> f64 {
    let n = x.numel();
    let j = &jacobian(|xs| f(&xs[0]).reshape(&[n]), std::slice::from_ref(x))[0];
    assert_eq!(j.numel(), n * n, "a square Jacobian");
    log_abs_det(j.to_vec(), n)
}

/// Gives every coupling's last convolution and scale random values: a new
/// coupling's are zero and one, so it would be the identity.
fn randomize_couplings<T: Float>(module: &dyn Module<T>, std: f64, generator: &mut Generator) {
    for (name, p) in module.named_parameters() {
        if name.contains("net.4.") {
            normal_(&p, 0.0, std, generator);
        } else if name.ends_with("scale") {
            uniform_(&p, 0.5, 1.5, generator);
        }
    }
}

fn assert_near(what: &str, got: f64, want: f64, tolerance: f64) {
    assert!(
        (got - want).abs() <= tolerance,
        "{what}: {got} but autodiff says {want}"
    );
}

#[test]
fn an_affine_couplings_log_det_is_that_of_its_jacobian() {
    let mut g = Generator::new(1);
    for index in 0..2 {
        let coupling = AffineCoupling::<f64>::new(4, 16, 2, index, &mut g);
        let x = Tensor::randn(&[1, 4], &mut g);
        let want = autodiff_log_det(|x| coupling.forward(x).0, &x);
        let got = coupling.forward(&x).1.item();
        assert!(got.abs() > 1e-3, "a trivial log-determinant tests nothing");
        assert_near(&format!("coupling {index}"), got, want, 1e-10);
    }
}

#[test]
fn a_realnvps_log_det_accumulates_through_the_stack() {
    let mut g = Generator::new(2);
    let config = RealNvpConfig {
        hidden: 16,
        hidden_layers: 2,
        ..RealNvpConfig::moons()
    };
    let flow = RealNvp::<f64>::new(&config, &mut g);
    let x = Tensor::randn(&[1, 2], &mut g);
    let want = autodiff_log_det(|x| flow.forward(x).0, &x);
    assert_near("the stack", flow.forward(&x).1.item(), want, 1e-10);
}

#[test]
fn conv_couplings_log_dets_are_those_of_their_jacobians() {
    let mut g = Generator::new(3);
    let masks = [
        CouplingMask::Checkerboard { parity: 0 },
        CouplingMask::Checkerboard { parity: 1 },
        CouplingMask::Channels { parity: 0 },
        CouplingMask::Channels { parity: 1 },
    ];
    for mask in masks {
        let coupling = ConvCoupling::<f64>::new(2, 4, mask, &mut g);
        randomize_couplings(&coupling, 0.3, &mut g);
        let x = Tensor::randn(&[1, 2, 4, 4], &mut g);
        let want = autodiff_log_det(|x| coupling.forward(x).0, &x);
        let got = coupling.forward(&x).1.item();
        assert!(
            got.abs() > 1e-3,
            "{mask:?}: a trivial log-determinant tests nothing"
        );
        assert_near(&format!("{mask:?}"), got, want, 1e-10);
    }
}

#[test]
fn a_multiscale_flows_log_det_counts_the_logit_squeeze_and_factor_out() {
    let mut g = Generator::new(4);
    let config = MultiScaleConfig {
        height: 4,
        width: 4,
        hidden: 4,
        couplings: 2,
        final_couplings: 2,
        ..MultiScaleConfig::mnist()
    };
    let flow = MultiScaleRealNvp::<f64>::new(&config, &mut g);
    randomize_couplings(&flow, 0.3, &mut g);
    let x = Tensor::rand(&[1, 1, 4, 4], &mut g);
    let want = autodiff_log_det(|x| flow.forward(x).0, &x);
    assert_near("multi-scale", flow.forward(&x).1.item(), want, 1e-9);
}

fn max_difference(a: &Tensor, b: &Tensor) -> f32 {
    a.to_vec()
        .iter()
        .zip(b.to_vec())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn the_flows_invert_to_1e_5_in_f32() {
    let mut g = Generator::new(5);
    let flow = RealNvp::new(&RealNvpConfig::moons(), &mut g);
    let x = Tensor::randn(&[256, 2], &mut g).mul_scalar(1.5);
    let (z, _) = no_grad(|| flow.forward(&x));
    assert!(max_difference(&z, &x) > 0.1, "the flow moves the points");
    let back = no_grad(|| flow.inverse(&z));
    assert!(
        max_difference(&back, &x) < 1e-5,
        "dense: {}",
        max_difference(&back, &x)
    );

    let images = MultiScaleRealNvp::new(&MultiScaleConfig::mnist(), &mut g);
    randomize_couplings(&images, 0.05, &mut g);
    let pixels = Tensor::<f32>::rand(&[4, 1, 28, 28], &mut g).map(|v| (v * 255.0).round() / 255.0);
    let x = dequantize(&pixels, &mut g);
    let (z, _) = no_grad(|| images.forward(&x));
    let back = no_grad(|| images.inverse(&z));
    assert!(
        max_difference(&back, &x) < 1e-5,
        "multi-scale: {}",
        max_difference(&back, &x)
    );
}

#[test]
fn samples_map_back_to_standard_normal_latents() {
    // Samples are standard normal latents sent backwards through the
    // flow: forwards again, they are standard normal.
    let mut g = Generator::new(6);
    let config = RealNvpConfig {
        hidden: 16,
        hidden_layers: 2,
        ..RealNvpConfig::moons()
    };
    let flow = RealNvp::<f64>::new(&config, &mut g);
    let x = flow.sample(4000, &mut g);
    let (z, log_det) = no_grad(|| flow.forward(&x));
    let z_values = z.to_vec();
    let mean = z_values.iter().sum::<f64>() / z_values.len() as f64;
    let var = z_values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / z_values.len() as f64;
    assert!(
        mean.abs() < 0.05 && (var - 1.0).abs() < 0.05,
        "latents of samples: mean {mean}, var {var}"
    );
    assert!(log_det.to_vec().iter().any(|l| l.abs() > 1e-3));
}

/// A loader of the rows of `points` `[N, 2]`.
fn rows(
    points: &Tensor,
    batch_size: usize,
    shuffle: bool,
) -> DataLoader<nabla::data::Collated<Unlabeled, Stack>> {
    let n = points.shape()[0];
    let labelled = TensorDataset::new(points.clone(), IndexTensor::from_vec(vec![0; n], &[n]), 1);
    let config = LoaderConfig {
        batch_size,
        shuffle,
        ..LoaderConfig::default()
    };
    DataLoader::collated(Arc::new(Unlabeled::new(Arc::new(labelled))), Stack, config)
}

#[test]
fn a_small_realnvp_learns_the_moons() {
    let moons = TwoMoons::new(3000, 0.05, 0.2, &mut Generator::new(0));
    let config = RealNvpConfig {
        couplings: 6,
        hidden: 64,
        hidden_layers: 2,
        features: 2,
    };
    let mut flow = RealNvp::new(&config, &mut Generator::new(0));
    let mut optimizer = Adam::new(flow.parameters(), AdamConfig::new(3e-3));
    let history = fit(
        &mut flow,
        &mut NegativeLogLikelihood,
        &mut optimizer,
        None,
        &rows(&moons.train, 128, true),
        Some(&rows(&moons.validation, 600, false)),
        &TrainConfig {
            epochs: 20,
            ..TrainConfig::default()
        },
        &mut (),
    )
    .expect("training runs");
    let first = history.epochs[0].val_loss().expect("validation");
    let last = history
        .epochs
        .last()
        .and_then(|s| s.val_loss())
        .expect("validation");
    // A standard normal fitted to standardised data scores ln(2 pi e) = 2.84 nats.
    assert!(last < 1.6 && last < first, "validation NLL {first} -> {last}");
}

#[test]
fn a_small_multiscale_realnvp_learns_digits() {
    let digits = Mnist::bundled(Split::Train).expect("the bundled MNIST");
    let subset = nabla::data::Subset::new(Arc::new(digits), (0..512).collect());
    let images = Unlabeled::new(Arc::new(subset));
    assert_eq!(images.get(0).shape(), &[1, 28, 28]);
    let loader = DataLoader::collated(
        Arc::new(images),
        Stack,
        LoaderConfig {
            batch_size: 64,
            shuffle: true,
            ..LoaderConfig::default()
        },
    )
    .with_item_transform(|x: Tensor, rng: &mut Generator| dequantize(&x, rng));
    let config = MultiScaleConfig {
        hidden: 8,
        couplings: 1,
        final_couplings: 1,
        ..MultiScaleConfig::mnist()
    };
    let mut flow = MultiScaleRealNvp::new(&config, &mut Generator::new(0));
    let mut optimizer = Adam::new(flow.parameters(), AdamConfig::new(1e-2));
    let history = fit(
        &mut flow,
        &mut NegativeLogLikelihood,
        &mut optimizer,
        None,
        &loader,
        None,
        &TrainConfig {
            epochs: 3,
            ..TrainConfig::default()
        },
        &mut (),
    )
    .expect("training runs");
    let first = history.epochs[0].train_loss();
    let last = history.epochs.last().expect("epochs").train_loss();
    assert!(last < first - 0.5, "bits per dimension {first} -> {last}");
}
