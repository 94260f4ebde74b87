//! The distributions' draws and divergences checked by sampling: the
//! closed-form `kl_divergence` against a Monte-Carlo estimate
//! `E_p[log p(x) - log q(x)]`, sample means and frequencies against the
//! distributions' moments and probabilities, seeding, shapes, which draws
//! carry gradients, and the errors for bad parameters.

use std::panic::catch_unwind;

use nabla::distributions::{
    kl_divergence, Bernoulli, Categorical, Distribution, Independent, Moments, Normal, Rsample,
};
use nabla::{Generator, IndexTensor, Tensor};

/// The mean of `x` and its standard error.
fn mean_and_standard_error(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let variance = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (variance / n).sqrt())
}

/// Checks each closed-form divergence against the Monte-Carlo estimate over
/// `samples` draws from p (the last dimension of `log_ratio`'s rows):
/// within 4.5 standard errors.
#[track_caller]
fn assert_matches_monte_carlo(what: &str, closed_form: &Tensor<f64>, log_ratio: &Tensor<f64>) {
    let samples = log_ratio.shape()[0];
    let pairs = closed_form.numel();
    let ratios = log_ratio.reshape(&[samples, pairs]).t().contiguous().to_vec();
    for (i, (kl, row)) in closed_form
        .to_vec()
        .iter()
        .zip(ratios.chunks(samples))
        .enumerate()
    {
        let (estimate, error) = mean_and_standard_error(row);
        assert!(
            (kl - estimate).abs() <= 4.5 * error + 1e-12,
            "{what}, pair {i}: closed form {kl}, Monte Carlo {estimate} ± {error}"
        );
    }
}

const DRAWS: usize = 200_000;

#[test]
fn normal_kl_divergence_matches_monte_carlo() {
    let p = Normal::new(
        &Tensor::from_vec(vec![0.0f64, 1.0, -0.5], &[3]),
        &Tensor::from_vec(vec![1.0, 0.5, 2.0], &[3]),
    );
    let q = Normal::new(
        &Tensor::from_vec(vec![0.5f64, 0.0, -0.5], &[3]),
        &Tensor::from_vec(vec![1.5, 1.0, 1.0], &[3]),
    );
    let x = p.sample(&[DRAWS], &mut Generator::new(1));
    let log_ratio = p.log_prob(&x).sub(&q.log_prob(&x));
    assert_matches_monte_carlo("Normal", &kl_divergence(&p, &q), &log_ratio);
}

/// A VAE's KL term: a diagonal Gaussian posterior against the standard
/// normal prior, summed over 4 latents.
#[test]
fn independent_normal_kl_divergence_matches_monte_carlo() {
    let mut g = Generator::new(2);
    let loc = Tensor::<f64>::randn(&[2, 4], &mut g);
    let scale = Tensor::<f64>::uniform(&[2, 4], 0.3, 1.5, &mut g);
    let posterior = Independent::new(Normal::new(&loc, &scale), 1);
    let prior = Independent::new(Normal::standard(&[2, 4]), 1);
    let z = posterior.sample(&[DRAWS], &mut g);
    let log_ratio = posterior.log_prob(&z).sub(&prior.log_prob(&z));
    assert_eq!(log_ratio.shape(), &[DRAWS, 2]);
    assert_matches_monte_carlo(
        "Independent(Normal)",
        &kl_divergence(&posterior, &prior),
        &log_ratio,
    );
}

#[test]
fn bernoulli_kl_divergence_matches_monte_carlo() {
    let p = Bernoulli::from_probs(&Tensor::from_vec(vec![0.1f64, 0.5, 0.9, 0.3], &[4]));
    let q = Bernoulli::from_logits(&Tensor::from_vec(vec![0.0f64, 2.0, -1.0, -0.8], &[4]));
    let x = p.sample(&[DRAWS], &mut Generator::new(3));
    let log_ratio = p.log_prob(&x).sub(&q.log_prob(&x));
    assert_matches_monte_carlo("Bernoulli", &kl_divergence(&p, &q), &log_ratio);
}

#[test]
fn categorical_kl_divergence_matches_monte_carlo() {
    let p = Categorical::from_probs(&Tensor::from_vec(
        vec![0.1f64, 0.2, 0.7, 0.5, 0.25, 0.25],
        &[2, 3],
    ));
    let q = Categorical::from_logits(&Tensor::from_vec(vec![0.0f64, 1.0, -1.0, 0.3, 0.0, 2.0], &[2, 3]));
    let x = p.sample(&[DRAWS], &mut Generator::new(4));
    assert_eq!(x.shape(), &[DRAWS, 2]);
    let log_ratio = p.log_prob(&x).sub(&q.log_prob(&x));
    assert_matches_monte_carlo("Categorical", &kl_divergence(&p, &q), &log_ratio);
}

#[test]
fn samples_have_the_moments_and_frequencies_of_their_distribution() {
    let normal = Normal::new(
        &Tensor::from_vec(vec![-2.0f64, 3.0], &[2]),
        &Tensor::from_vec(vec![0.5, 4.0], &[2]),
    );
    let x = normal.sample(&[DRAWS], &mut Generator::new(5));
    let columns = x.t().contiguous().to_vec();
    for (i, column) in columns.chunks(DRAWS).enumerate() {
        let (mean, error) = mean_and_standard_error(column);
        let (want_mean, want_std) = (normal.mean().to_vec()[i], normal.stddev().to_vec()[i]);
        assert!((mean - want_mean).abs() < 4.5 * error, "Normal {i}: mean {mean}");
        let std = (column.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / DRAWS as f64).sqrt();
        assert!((std / want_std - 1.0).abs() < 0.01, "Normal {i}: std {std}");
    }

    let coins = Bernoulli::from_logits(&Tensor::from_vec(vec![-2.0f64, 0.0, 3.0], &[3]));
    let flips = coins.sample(&[DRAWS], &mut Generator::new(6));
    assert!(flips.to_vec().iter().all(|&v| v == 0.0 || v == 1.0));
    let frequencies = flips.mean_dim(0, false).to_vec();
    for (f, p) in frequencies.iter().zip(coins.probs().to_vec()) {
        let error = (p * (1.0 - p) / DRAWS as f64).sqrt();
        assert!(
            (f - p).abs() < 4.5 * error,
            "Bernoulli: frequency {f}, probability {p}"
        );
    }

    let die = Categorical::from_probs(&Tensor::from_vec(vec![0.1f64, 0.0, 0.6, 0.3], &[4]));
    let rolls = die.sample(&[DRAWS], &mut Generator::new(7)).to_vec();
    for (c, p) in die.probs().to_vec().iter().enumerate() {
        let f = rolls.iter().filter(|&&r| r == c).count() as f64 / DRAWS as f64;
        let error = (p * (1.0 - p) / DRAWS as f64).sqrt();
        assert!(
            (f - p).abs() <= 4.5 * error,
            "Categorical: category {c} frequency {f}, probability {p}"
        );
    }
}

#[test]
fn samples_are_seeded_shaped_and_carry_no_gradient_unless_reparameterised() {
    let loc = Tensor::<f32>::zeros(&[2, 3]).requires_grad();
    let normal = Normal::new(&loc, &Tensor::scalar(1.0));
    let a = normal.sample(&[4], &mut Generator::new(8));
    let b = normal.sample(&[4], &mut Generator::new(8));
    assert_eq!(a.shape(), &[4, 2, 3]);
    assert_eq!(a.to_vec(), b.to_vec());
    assert!(!a.is_requires_grad());
    let r = normal.rsample(&[4], &mut Generator::new(8));
    assert!(r.is_requires_grad());
    assert_eq!(r.to_vec(), a.to_vec());

    let coins = Bernoulli::from_probs(&Tensor::<f32>::full(&[3], 0.5).requires_grad());
    assert!(!coins.sample(&[2], &mut Generator::new(9)).is_requires_grad());
    let die = Categorical::<f32>::from_logits(&Tensor::zeros(&[2, 3, 5]));
    assert_eq!(
        die.sample(&[4, 1], &mut Generator::new(10)).shape(),
        &[4, 1, 2, 3]
    );
    assert_eq!(die.sample(&[], &mut Generator::new(10)).shape(), &[2, 3]);
    let independent = Independent::new(Normal::<f32>::standard(&[2, 3]), 2);
    assert_eq!(
        (independent.batch_shape(), independent.event_shape()),
        (vec![], vec![2, 3])
    );
    assert_eq!(independent.log_prob(&Tensor::zeros(&[5, 2, 3])).shape(), &[5]);
}

#[test]
fn divergences_of_a_distribution_with_itself_are_zero() {
    let normal = Normal::new(&Tensor::from_vec(vec![0.3f64, -1.0], &[2]), &Tensor::scalar(0.7));
    assert_eq!(kl_divergence(&normal, &normal).to_vec(), vec![0.0, 0.0]);
    let coin = Bernoulli::from_probs(&Tensor::from_vec(vec![0.0f64, 0.2, 1.0], &[3]));
    assert_eq!(kl_divergence(&coin, &coin).to_vec(), vec![0.0, 0.0, 0.0]);
    let die = Categorical::from_probs(&Tensor::from_vec(vec![0.0f64, 0.4, 0.6], &[3]));
    assert!(kl_divergence(&die, &die).item().abs() < 1e-15);
}

fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let panic = catch_unwind(f).expect_err("a panic");
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn bad_parameters_and_values_panic_naming_the_problem() {
    let message = panic_message(|| {
        Normal::<f32>::new(&Tensor::zeros(&[3]), &Tensor::ones(&[4]));
    });
    assert!(
        message.contains("Normal: loc of shape [3] and scale of shape [4] do not broadcast"),
        "{message}"
    );
    let message = panic_message(|| {
        Categorical::<f32>::from_logits(&Tensor::zeros(&[2, 0]));
    });
    assert!(
        message.contains("last dimension of at least one category"),
        "{message}"
    );
    let message = panic_message(|| {
        Categorical::<f32>::from_logits(&Tensor::zeros(&[2, 3]))
            .log_prob(&IndexTensor::from_vec(vec![1, 3], &[2]));
    });
    assert!(
        message.contains("category 3 is not below the 3 categories"),
        "{message}"
    );
    let message = panic_message(|| {
        Categorical::<f32>::from_logits(&Tensor::zeros(&[2, 3]))
            .log_prob(&IndexTensor::from_vec(vec![1], &[1]));
    });
    assert!(
        message.contains("does not end with the batch shape [2]"),
        "{message}"
    );
    let message = panic_message(|| {
        Independent::new(Normal::<f32>::standard(&[2]), 2);
    });
    assert!(
        message.contains("cannot reinterpret 2 batch dimensions of a batch of shape [2]"),
        "{message}"
    );
}
