//! Gradient checks (f64, central finite differences) of the distributions:
//! `log_prob` (with respect to the parameters and to a continuous value),
//! `entropy`, `rsample` (with respect to `loc` and `scale`, the noise held
//! fixed by reseeding the generator) and `kl_divergence`, for `Normal`,
//! `Bernoulli` from probabilities and from logits, `Categorical` likewise
//! and `Independent`; and second derivatives of the Normal's log-density
//! and divergence.

use nabla::autograd::{gradcheck, gradgradcheck, GradcheckOptions};
use nabla::distributions::{
    kl_divergence, Bernoulli, Categorical, Distribution, Independent, Normal, Rsample,
};
use nabla::{no_grad, Generator, IndexTensor, Tensor};

fn randn(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::<f64>::randn(shape, &mut Generator::new(seed))
}

fn uniform(shape: &[usize], low: f64, high: f64, seed: u64) -> Tensor<f64> {
    Tensor::<f64>::uniform(shape, low, high, &mut Generator::new(seed))
}

/// `gradcheck` with PyTorch's default tolerances, every Jacobian entry compared.
#[track_caller]
fn check(what: &str, f: impl Fn(&[Tensor<f64>]) -> Tensor<f64>, inputs: &[Tensor<f64>]) {
    let n_out = no_grad(|| f(inputs)).numel();
    let n_in: usize = inputs.iter().map(Tensor::numel).sum();
    match gradcheck(&f, inputs, &GradcheckOptions::default()) {
        Ok(report) => assert_eq!(report.entries, n_out * n_in, "{what}: entries compared"),
        Err(e) => panic!("{what}: {e}"),
    }
}

#[track_caller]
fn check2(what: &str, f: impl Fn(&[Tensor<f64>]) -> Tensor<f64>, inputs: &[Tensor<f64>]) {
    if let Err(e) = gradgradcheck(&f, inputs, &GradcheckOptions::default()) {
        panic!("{what}: second derivatives: {e}");
    }
}

// ------------------------------------------------------------------ Normal

#[test]
fn normal_log_prob_gradients() {
    let inputs = [
        randn(&[3, 4], 1),
        uniform(&[4], 0.3, 2.0, 2),
        randn(&[2, 3, 4], 3),
    ];
    let f = |xs: &[Tensor<f64>]| Normal::new(&xs[0], &xs[1]).log_prob(&xs[2]);
    check("Normal::log_prob", f, &inputs);
    check2("Normal::log_prob", f, &inputs);
}

#[test]
fn normal_entropy_gradients() {
    check(
        "Normal::entropy",
        |xs| Normal::new(&xs[0], &xs[1]).entropy(),
        &[randn(&[3], 4), uniform(&[2, 3], 0.3, 2.0, 5)],
    );
}

/// The same seed gives the same noise, so `rsample` is a function of `loc`
/// and `scale` alone: `loc + eps * scale`.
#[test]
fn normal_rsample_gradients_with_fixed_noise() {
    check(
        "Normal::rsample",
        |xs| Normal::new(&xs[0], &xs[1]).rsample(&[3], &mut Generator::new(7)),
        &[randn(&[2, 4], 6), uniform(&[2, 4], 0.3, 2.0, 8)],
    );
}

#[test]
fn normal_kl_divergence_gradients() {
    let inputs = [
        randn(&[2, 3], 9),
        uniform(&[2, 3], 0.3, 2.0, 10),
        randn(&[3], 11),
        uniform(&[3], 0.3, 2.0, 12),
    ];
    let f = |xs: &[Tensor<f64>]| kl_divergence(&Normal::new(&xs[0], &xs[1]), &Normal::new(&xs[2], &xs[3]));
    check("kl_divergence(Normal, Normal)", f, &inputs);
    check2("kl_divergence(Normal, Normal)", f, &inputs);
}

// --------------------------------------------------------------- Bernoulli

#[test]
fn bernoulli_log_prob_gradients() {
    let grey = uniform(&[3, 4], 0.0, 1.0, 13);
    check(
        "Bernoulli::from_probs log_prob",
        |xs| Bernoulli::from_probs(&xs[0]).log_prob(&xs[1]),
        &[uniform(&[3, 4], 0.05, 0.95, 14), grey.clone()],
    );
    check(
        "Bernoulli::from_logits log_prob",
        |xs| Bernoulli::from_logits(&xs[0]).log_prob(&xs[1]),
        &[randn(&[3, 4], 15).mul_scalar(3.0), grey],
    );
}

#[test]
fn bernoulli_entropy_gradients() {
    check(
        "Bernoulli::from_probs entropy",
        |xs| Bernoulli::from_probs(&xs[0]).entropy(),
        &[uniform(&[5], 0.05, 0.95, 16)],
    );
    check(
        "Bernoulli::from_logits entropy",
        |xs| Bernoulli::from_logits(&xs[0]).entropy(),
        &[randn(&[5], 17).mul_scalar(3.0)],
    );
}

#[test]
fn bernoulli_kl_divergence_gradients() {
    check(
        "kl_divergence(Bernoulli, Bernoulli) from probabilities",
        |xs| kl_divergence(&Bernoulli::from_probs(&xs[0]), &Bernoulli::from_probs(&xs[1])),
        &[uniform(&[2, 3], 0.05, 0.95, 18), uniform(&[3], 0.05, 0.95, 19)],
    );
    check(
        "kl_divergence(Bernoulli, Bernoulli) from logits",
        |xs| kl_divergence(&Bernoulli::from_logits(&xs[0]), &Bernoulli::from_logits(&xs[1])),
        &[
            randn(&[2, 3], 20).mul_scalar(3.0),
            randn(&[2, 3], 21).mul_scalar(3.0),
        ],
    );
}

// ------------------------------------------------------------- Categorical

#[test]
fn categorical_log_prob_gradients() {
    let classes = IndexTensor::from_vec(vec![0, 4, 2, 1, 3, 3, 0, 2], &[4, 2]);
    check(
        "Categorical::from_logits log_prob",
        |xs| Categorical::from_logits(&xs[0]).log_prob(&classes),
        &[randn(&[2, 5], 22)],
    );
    check(
        "Categorical::from_probs log_prob",
        |xs| Categorical::from_probs(&xs[0]).log_prob(&classes),
        &[uniform(&[2, 5], 0.1, 1.0, 23)],
    );
}

#[test]
fn categorical_entropy_and_kl_divergence_gradients() {
    check(
        "Categorical::from_logits entropy",
        |xs| Categorical::from_logits(&xs[0]).entropy(),
        &[randn(&[3, 4], 24)],
    );
    check(
        "Categorical::from_probs entropy",
        |xs| Categorical::from_probs(&xs[0]).entropy(),
        &[uniform(&[3, 4], 0.1, 1.0, 25)],
    );
    check(
        "kl_divergence(Categorical, Categorical)",
        |xs| {
            kl_divergence(
                &Categorical::from_logits(&xs[0]),
                &Categorical::from_probs(&xs[1]),
            )
        },
        &[randn(&[3, 4], 26), uniform(&[3, 4], 0.1, 1.0, 27)],
    );
}

// ------------------------------------------------------------- Independent

#[test]
fn independent_gradients() {
    let normal = |xs: &[Tensor<f64>], n| Independent::new(Normal::new(&xs[0], &xs[1]), n);
    let params = [randn(&[2, 3], 28), uniform(&[2, 3], 0.3, 2.0, 29)];
    check(
        "Independent(Normal, 1) log_prob",
        |xs| normal(xs, 1).log_prob(&xs[2]),
        &[params[0].clone(), params[1].clone(), randn(&[4, 2, 3], 30)],
    );
    check(
        "Independent(Normal, 2) entropy",
        |xs| normal(xs, 2).entropy(),
        &params,
    );
    check(
        "Independent(Normal, 1) rsample",
        |xs| normal(xs, 1).rsample(&[2], &mut Generator::new(31)),
        &params,
    );
    check(
        "kl_divergence(Independent(Normal, 1), Independent(Normal, 1))",
        |xs| kl_divergence(&normal(&xs[..2], 1), &normal(&xs[2..], 1)),
        &[
            params[0].clone(),
            params[1].clone(),
            randn(&[2, 3], 32),
            uniform(&[2, 3], 0.3, 2.0, 33),
        ],
    );
}
