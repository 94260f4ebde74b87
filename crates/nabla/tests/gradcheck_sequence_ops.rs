//! Gradient checks (f64, central finite differences) of the ops that
//! sequence models use: `sin`, `cos`, `tril`/`triu`, `masked_fill`,
//! `logsumexp`, `split`/`chunk`, `topk`, `cumsum` and both GELUs, on
//! batched and non-contiguous inputs, to first and second order (the
//! library's `gradcheck` and `gradgradcheck`).

use nabla::autograd::{gradcheck, gradgradcheck, GradcheckOptions};
use nabla::{no_grad, GeluApproximation, Generator, Tensor};

fn randn(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::<f64>::randn(shape, &mut Generator::new(seed))
}

/// Distinct values well apart (a shuffled range), so that `topk` has no
/// ties for the finite differences to cross.
fn distinct(shape: &[usize], seed: u64) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    let mut g = Generator::new(seed);
    let mut values: Vec<f64> = (0..n).map(|i| i as f64 * 0.5 - n as f64 / 4.0).collect();
    for i in (1..n).rev() {
        values.swap(i, g.below(i + 1));
    }
    Tensor::from_vec(values, shape)
}

/// First- and second-order checks with PyTorch's default tolerances; the
/// first-order one must compare every Jacobian entry.
#[track_caller]
fn check(f: impl Fn(&[Tensor<f64>]) -> Tensor<f64>, inputs: &[Tensor<f64>]) {
    let n_out = no_grad(|| f(inputs)).numel();
    let n_in: usize = inputs.iter().map(Tensor::numel).sum();
    match gradcheck(&f, inputs, &GradcheckOptions::default()) {
        Ok(report) => assert_eq!(report.entries, n_out * n_in, "gradcheck compared too few entries"),
        Err(e) => panic!("{e}"),
    }
    if let Err(e) = gradgradcheck(&f, inputs, &GradcheckOptions::default()) {
        panic!("second order: {e}");
    }
}

#[test]
fn sin_and_cos() {
    check(|x| x[0].sin(), &[randn(&[3, 4], 1).mul_scalar(3.0)]);
    check(|x| x[0].cos(), &[randn(&[3, 4], 2).mul_scalar(3.0)]);
    check(|x| x[0].t().sin().cos(), &[randn(&[2, 3], 3)]);
}

#[test]
fn tril_and_triu() {
    check(|x| x[0].tril(0), &[randn(&[2, 3, 4], 4)]);
    check(|x| x[0].tril(-1), &[randn(&[4, 3], 5)]);
    check(|x| x[0].triu(1), &[randn(&[2, 4, 4], 6)]);
    // A transposed (non-contiguous) input.
    check(|x| x[0].transpose(1, 2).triu(-1), &[randn(&[2, 3, 4], 7)]);
}

#[test]
fn masked_fill() {
    let mask = Tensor::<f64>::ones(&[4, 4]).triu(1);
    check(|x| x[0].masked_fill(&mask, -1e9), &[randn(&[2, 4, 4], 8)]);
    // The mask broadcasts the input to its shape.
    let rows = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0], &[2, 3]);
    check(|x| x[0].masked_fill(&rows, 0.5), &[randn(&[3], 9)]);
}

#[test]
fn logsumexp() {
    check(|x| x[0].logsumexp(-1, false), &[randn(&[3, 5], 10)]);
    check(|x| x[0].logsumexp(0, true), &[randn(&[4, 2, 3], 11)]);
    check(|x| x[0].t().logsumexp(1, false), &[randn(&[3, 4], 12)]);
}

#[test]
fn split_and_chunk() {
    // Each piece weighted differently, so that a gradient sent to the
    // wrong slice shows.
    let weighted = |pieces: Vec<Tensor<f64>>| {
        pieces
            .iter()
            .enumerate()
            .map(|(i, p)| p.mul_scalar(i as f64 + 1.0).square().sum())
            .reduce(|a, b| a.add(&b))
            .unwrap()
    };
    check(|x| weighted(x[0].split(2, 0)), &[randn(&[5, 3], 13)]);
    check(
        |x| weighted(x[0].split_with_sizes(&[1, 3, 2], -1)),
        &[randn(&[2, 6], 14)],
    );
    check(|x| weighted(x[0].chunk(3, 1)), &[randn(&[2, 7], 15)]);
}

#[test]
fn topk() {
    check(|x| x[0].topk(2, -1).0, &[distinct(&[3, 5], 16)]);
    check(|x| x[0].topk_with(3, 0, false).0, &[distinct(&[4, 2, 3], 17)]);
}

#[test]
fn cumsum() {
    check(|x| x[0].cumsum(1), &[randn(&[3, 4], 18)]);
    check(|x| x[0].cumsum(-1).square(), &[randn(&[2, 2, 5], 19)]);
    check(|x| x[0].t().cumsum(0), &[randn(&[3, 4], 20)]);
}

/// The exact GELU's fused backward reads Φ(x) off the output as y / x,
/// except at 0, where Φ is 1/2; far out on either side the derivative is
/// 0 or 1.
#[test]
fn gelu_gradient_at_zero_and_far_out() {
    for (x, want) in [
        (0.0f32, 0.5),
        (-0.0, 0.5),
        (-30.0, 0.0),
        (30.0, 1.0),
        (1.0, 1.0833155),
    ] {
        let t = Tensor::from_vec(vec![x], &[1]).requires_grad();
        t.gelu().sum().backward();
        let got = t.grad().unwrap().to_vec()[0];
        assert!((got - want).abs() < 1e-6, "gelu'({x}) = {got}, not {want}");
    }
}

#[test]
fn gelu_exact_and_tanh() {
    let x = randn(&[3, 5], 21).mul_scalar(2.0);
    check(|x| x[0].gelu(), std::slice::from_ref(&x));
    check(
        |x| x[0].gelu_with(GeluApproximation::Tanh),
        std::slice::from_ref(&x),
    );
    check(|x| x[0].t().gelu_with(GeluApproximation::Tanh), &[x]);
}
