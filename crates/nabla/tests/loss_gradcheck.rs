//! Gradient checks (f64, central finite differences) of every loss, every
//! reduction, with class weights, `pos_weight` and `ignore_index`, and
//! second-derivative checks (`gradgradcheck`) of the losses whose backward
//! is differentiated again in practice: MSE, the binary cross-entropy with
//! logits, the cross-entropy (and the binary cross-entropy on
//! probabilities, whose backward is written with tensor ops too).

use nabla::autograd::{gradcheck, gradgradcheck, GradcheckOptions};
use nabla::nn::loss::{
    binary_cross_entropy_with, binary_cross_entropy_with_logits_with, cross_entropy_with,
    cross_entropy_with_label_smoothing, huber_loss, mse_loss_with, nll_loss_with, smooth_l1_loss, Reduction,
};
use nabla::{no_grad, Generator, IndexTensor, Tensor};

const REDUCTIONS: [Reduction; 3] = [Reduction::Mean, Reduction::Sum, Reduction::None];

fn randn(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::<f64>::randn(shape, &mut Generator::new(seed))
}

fn uniform(shape: &[usize], low: f64, high: f64, seed: u64) -> Tensor<f64> {
    Tensor::<f64>::uniform(shape, low, high, &mut Generator::new(seed))
}

fn classes(values: &[usize], shape: &[usize]) -> IndexTensor {
    IndexTensor::from_vec(values.to_vec(), shape)
}

/// `gradcheck` with PyTorch's default tolerances, panicking with the report
/// (and `what`) on failure; every Jacobian entry must have been compared.
#[track_caller]
fn check(what: &str, f: impl Fn(&[Tensor<f64>]) -> Tensor<f64>, inputs: &[Tensor<f64>]) {
    let n_out = no_grad(|| f(inputs)).numel();
    let n_in: usize = inputs.iter().map(Tensor::numel).sum();
    match gradcheck(&f, inputs, &GradcheckOptions::default()) {
        Ok(report) => assert_eq!(report.entries, n_out * n_in, "{what}: entries compared"),
        Err(e) => panic!("{what}: {e}"),
    }
}

/// `gradgradcheck` with PyTorch's default tolerances.
#[track_caller]
fn check2(what: &str, f: impl Fn(&[Tensor<f64>]) -> Tensor<f64>, inputs: &[Tensor<f64>]) {
    if let Err(e) = gradgradcheck(&f, inputs, &GradcheckOptions::default()) {
        panic!("{what}: second derivatives: {e}");
    }
}

// ------------------------------------------------------------------- MSE

#[test]
fn mse_loss_gradients() {
    for r in REDUCTIONS {
        let inputs = [randn(&[3, 4], 1), randn(&[3, 4], 2)];
        check(
            &format!("mse_loss {r:?}"),
            |xs| mse_loss_with(&xs[0], &xs[1], r),
            &inputs,
        );
        check(
            &format!("mse_loss {r:?} [2,3,2]"),
            |xs| mse_loss_with(&xs[0], &xs[1], r),
            &[randn(&[2, 3, 2], 3), randn(&[2, 3, 2], 4)],
        );
    }
}

// ------------------------------------------------------- Huber / smooth L1

#[test]
fn huber_and_smooth_l1_gradients() {
    // Errors of scale 2 fall on both sides of thresholds 0.5 to 2.5; the
    // finite differences (step 1e-6) never straddle a kink for these seeds.
    let errors = || [randn(&[3, 4], 5).mul_scalar(2.0), randn(&[3, 4], 6)];
    for r in REDUCTIONS {
        for beta in [1.0, 0.5, 0.0] {
            check(
                &format!("smooth_l1_loss {r:?} beta {beta}"),
                |xs| smooth_l1_loss(&xs[0], &xs[1], r, beta),
                &errors(),
            );
        }
        for delta in [1.0, 2.5] {
            check(
                &format!("huber_loss {r:?} delta {delta}"),
                |xs| huber_loss(&xs[0], &xs[1], r, delta),
                &errors(),
            );
        }
    }
}

#[test]
fn mse_loss_second_derivatives() {
    for r in REDUCTIONS {
        let inputs = [randn(&[3, 4], 5), randn(&[3, 4], 6)];
        check2(
            &format!("mse_loss {r:?}"),
            |xs| mse_loss_with(&xs[0], &xs[1], r),
            &inputs,
        );
    }
}

// ------------------------------------------------------------------- BCE

/// Probabilities and soft targets away from 0 and 1, where the loss is smooth.
fn bce_inputs(seed: u64) -> [Tensor<f64>; 2] {
    [
        uniform(&[3, 4], 0.05, 0.95, seed),
        uniform(&[3, 4], 0.0, 1.0, seed + 1),
    ]
}

#[test]
fn binary_cross_entropy_gradients() {
    let weight = uniform(&[4], 0.2, 2.0, 10);
    for r in REDUCTIONS {
        check(
            &format!("binary_cross_entropy {r:?}"),
            |xs| binary_cross_entropy_with(&xs[0], &xs[1], None, r),
            &bce_inputs(11),
        );
        check(
            &format!("binary_cross_entropy {r:?} weight [4]"),
            |xs| binary_cross_entropy_with(&xs[0], &xs[1], Some(&weight), r),
            &bce_inputs(13),
        );
    }
}

#[test]
fn binary_cross_entropy_second_derivatives() {
    let weight = uniform(&[3, 1], 0.2, 2.0, 15);
    for r in REDUCTIONS {
        check2(
            &format!("binary_cross_entropy {r:?} weight [3,1]"),
            |xs| binary_cross_entropy_with(&xs[0], &xs[1], Some(&weight), r),
            &bce_inputs(16),
        );
    }
}

// ------------------------------------------------------ BCE with logits

fn logits_inputs(seed: u64) -> [Tensor<f64>; 2] {
    [
        randn(&[3, 4], seed).mul_scalar(3.0),
        uniform(&[3, 4], 0.0, 1.0, seed + 1),
    ]
}

#[test]
fn binary_cross_entropy_with_logits_gradients() {
    let weight = uniform(&[3, 1], 0.2, 2.0, 20);
    let pos_weight = uniform(&[4], 0.5, 4.0, 21);
    for r in REDUCTIONS {
        for (label, w, pw) in [
            ("", None, None),
            (" weight [3,1]", Some(&weight), None),
            (" pos_weight [4]", None, Some(&pos_weight)),
            (" weight [3,1] pos_weight [4]", Some(&weight), Some(&pos_weight)),
        ] {
            check(
                &format!("binary_cross_entropy_with_logits {r:?}{label}"),
                |xs| binary_cross_entropy_with_logits_with(&xs[0], &xs[1], w, pw, r),
                &logits_inputs(22),
            );
        }
    }
}

#[test]
fn binary_cross_entropy_with_logits_second_derivatives() {
    let weight = uniform(&[4], 0.2, 2.0, 30);
    let pos_weight = uniform(&[4], 0.5, 4.0, 31);
    for r in REDUCTIONS {
        check2(
            &format!("binary_cross_entropy_with_logits {r:?}"),
            |xs| binary_cross_entropy_with_logits_with(&xs[0], &xs[1], None, None, r),
            &logits_inputs(32),
        );
        check2(
            &format!("binary_cross_entropy_with_logits {r:?} weight pos_weight"),
            |xs| binary_cross_entropy_with_logits_with(&xs[0], &xs[1], Some(&weight), Some(&pos_weight), r),
            &logits_inputs(34),
        );
    }
}

// --------------------------------------------------------- class targets

/// `[5, 4]` with class 2 among the targets (to ignore), and a `[2, 4, 3]`
/// spatial input with its `[2, 3]` targets.
fn class_problems() -> Vec<(&'static str, Tensor<f64>, IndexTensor)> {
    vec![
        (
            "[5,4]",
            randn(&[5, 4], 40).mul_scalar(2.0),
            classes(&[2, 0, 3, 2, 1], &[5]),
        ),
        (
            "[2,4,3]",
            randn(&[2, 4, 3], 41).mul_scalar(2.0),
            classes(&[1, 2, 0, 3, 2, 2], &[2, 3]),
        ),
        ("unbatched [4]", randn(&[4], 42), classes(&[2], &[])),
    ]
}

#[test]
fn nll_loss_gradients() {
    let weight = uniform(&[4], 0.2, 2.0, 43);
    for (shape, x, t) in class_problems() {
        let log_probs = x.log_softmax(if x.ndim() == 1 { 0 } else { 1 }).detach();
        for r in REDUCTIONS {
            for (label, w, ignore) in [
                ("", None, None),
                (" weight", Some(&weight), None),
                (" ignore_index=2", None, Some(2)),
                (" weight ignore_index=2", Some(&weight), Some(2)),
            ] {
                if shape.starts_with("unbatched") && ignore.is_some() {
                    continue; // its only target would be ignored: 0 / 0
                }
                check(
                    &format!("nll_loss {shape} {r:?}{label}"),
                    |xs| nll_loss_with(&xs[0], &t, w, ignore, r),
                    std::slice::from_ref(&log_probs),
                );
            }
        }
    }
}

/// Unlike PyTorch's, nabla's class weights are differentiable too.
#[test]
fn nll_loss_gradient_with_respect_to_the_class_weights() {
    let x = randn(&[5, 4], 44).log_softmax(1).detach();
    let t = classes(&[2, 0, 3, 2, 1], &[5]);
    for r in REDUCTIONS {
        check(
            &format!("nll_loss {r:?} d/d weight"),
            |xs| nll_loss_with(&xs[0], &t, Some(&xs[1]), Some(3), r),
            &[x.clone(), uniform(&[4], 0.2, 2.0, 45)],
        );
    }
}

#[test]
fn cross_entropy_gradients() {
    let weight = uniform(&[4], 0.2, 2.0, 50);
    for (shape, x, t) in class_problems() {
        for r in REDUCTIONS {
            for (label, w, ignore) in [
                ("", None, None),
                (" weight", Some(&weight), None),
                (" ignore_index=2", None, Some(2)),
                (" weight ignore_index=2", Some(&weight), Some(2)),
            ] {
                if shape.starts_with("unbatched") && ignore.is_some() {
                    continue;
                }
                check(
                    &format!("cross_entropy {shape} {r:?}{label}"),
                    |xs| cross_entropy_with(&xs[0], &t, w, ignore, r),
                    std::slice::from_ref(&x),
                );
                check(
                    &format!("cross_entropy {shape} {r:?}{label} label_smoothing=0.2"),
                    |xs| cross_entropy_with_label_smoothing(&xs[0], &t, w, ignore, r, 0.2),
                    std::slice::from_ref(&x),
                );
            }
        }
    }
}

#[test]
fn cross_entropy_second_derivatives() {
    let weight = uniform(&[4], 0.2, 2.0, 60);
    for (shape, x, t) in class_problems() {
        let ignore = if shape.starts_with("unbatched") {
            None
        } else {
            Some(2)
        };
        for r in REDUCTIONS {
            check2(
                &format!("cross_entropy {shape} {r:?}"),
                |xs| cross_entropy_with(&xs[0], &t, None, None, r),
                std::slice::from_ref(&x),
            );
            check2(
                &format!("cross_entropy {shape} {r:?} weight ignore_index label_smoothing=0.1"),
                |xs| cross_entropy_with_label_smoothing(&xs[0], &t, Some(&weight), ignore, r, 0.1),
                std::slice::from_ref(&x),
            );
        }
    }
}

/// Large logits of either sign, where the stable form's `max(-z, 0)` and
/// `log1p(e^-|z|)` pieces take over from each other.
#[test]
fn binary_cross_entropy_with_logits_gradients_at_large_logits() {
    let z = Tensor::from_vec(vec![-30.0f64, -8.0, -0.5, 0.25, 8.0, 30.0], &[6]);
    let y = Tensor::from_vec(vec![1.0f64, 0.0, 0.3, 1.0, 0.0, 0.7], &[6]);
    let pos_weight = Tensor::scalar(2.0f64);
    check(
        "binary_cross_entropy_with_logits large logits",
        |xs| binary_cross_entropy_with_logits_with(&xs[0], &xs[1], None, Some(&pos_weight), Reduction::None),
        &[z.clone(), y.clone()],
    );
    check2(
        "binary_cross_entropy_with_logits large logits",
        |xs| binary_cross_entropy_with_logits_with(&xs[0], &xs[1], None, Some(&pos_weight), Reduction::Sum),
        &[z, y],
    );
}
