//! The logistic loss (binary cross-entropy), on probabilities and, in its
//! stable form, on logits.

use super::{check_broadcasts_to, check_same_shape, reduce, weighted, Reduction};
use crate::autograd::record;
use crate::backend::ops::{BinaryOp, ReduceOp, UnaryOp, BCE_EPSILON};
use crate::backend::{self, reduce_all};
use crate::element::Float;
use crate::tensor::Tensor;

/// Panics unless every value of `x` lies in [0, 1] (NaN does not).
#[track_caller]
fn check_unit_interval<T: Float>(what: &str, x: &Tensor<T>) {
    if x.numel() == 0 {
        return;
    }
    let (low, high) = (
        reduce_all(ReduceOp::Min, x).item(),
        reduce_all(ReduceOp::Max, x).item(),
    );
    if low >= T::zero() && high <= T::one() {
        return;
    }
    // Only on failure: find the element to name.
    let (i, v) = backend::read_host(x, |values| {
        values
            .iter()
            .copied()
            .enumerate()
            .find(|&(_, v)| !(v >= T::zero() && v <= T::one()))
            .expect("an element outside [0, 1]")
    });
    panic!(
        "binary_cross_entropy: every element of the {what} must lie in [0, 1], but element {i} (flat) of the {what} of shape {:?} is {v}",
        x.shape()
    );
}

/// Binary cross-entropy of `probabilities` in [0, 1] against `target`
/// (same shape), averaged: PyTorch's `F.binary_cross_entropy(p, y)`;
/// [`binary_cross_entropy_with`] takes a weight and the reduction.
///
/// ```
/// use nabla::nn::loss::binary_cross_entropy;
/// use nabla::Tensor;
/// let p = Tensor::from_vec(vec![0.5f64, 0.5], &[2]);
/// let y = Tensor::from_vec(vec![1.0f64, 0.0], &[2]);
/// assert!((binary_cross_entropy(&p, &y).item() - 2f64.ln()).abs() < 1e-12);
/// ```
pub fn binary_cross_entropy<T: Float>(probabilities: &Tensor<T>, target: &Tensor<T>) -> Tensor<T> {
    binary_cross_entropy_with(probabilities, target, None, Reduction::Mean)
}

/// The binary cross-entropy (logistic loss) of probabilities `p` against
/// targets `y`, `-w (y log p + (1 - y) log(1 - p))` elementwise, then
/// reduced, as `torch.nn.functional.binary_cross_entropy`.
///
/// This is the **negative** log-likelihood of a Bernoulli model; the course
/// writes the log-likelihood `y log p + (1 - y) log(1 - p)` without the
/// minus sign (to be maximised), nabla returns the minimised form (see the
/// [module docs](super)).
///
/// Shapes: `probabilities` (values in [0, 1]) and `target` (values in
/// [0, 1], usually 0 or 1) of one shape; `weight`, a rescaling of each
/// element's loss, of any shape that broadcasts to it (`[C]` for per-column
/// weights of `[N, C]`). The output is zero-dimensional for `Mean` (the plain
/// mean over elements, whatever the weights) and `Sum`, of the input's shape
/// for `None`.
///
/// As in PyTorch, each log term is clamped at -100 (`max(log p, -100)`,
/// `max(log(1 - p), -100)`), so that `p = 0` or `p = 1` gives a finite loss
/// (at most 100 per element) rather than infinity. The gradient with respect
/// to `p` is PyTorch's: `w (p - y) / max(p (1 - p), 1e-12)`, finite even at
/// `p = 0` and `p = 1` (there it is 0 when the prediction is right and
/// about ±1e12 when it is wrong); the gradient with respect to `y` is
/// PyTorch's `-w logit(p)`, infinite at `p = 0` and `p = 1`. Both are
/// written with tensor ops, so they can be differentiated again. For
/// numerical stability prefer [`binary_cross_entropy_with_logits`], which
/// takes the logits instead of `sigmoid(logits)`.
///
/// ```
/// use nabla::nn::loss::{binary_cross_entropy_with, Reduction};
/// use nabla::Tensor;
/// let p = Tensor::from_vec(vec![0.9f64, 0.2, 0.0], &[3]).requires_grad();
/// let y = Tensor::from_vec(vec![1.0f64, 0.0, 1.0], &[3]);
/// let loss = binary_cross_entropy_with(&p, &y, None, Reduction::None);
/// let want = [-(0.9f64.ln()), -(0.8f64.ln()), 100.0]; // log(0) is clamped at -100
/// for (got, want) in loss.to_vec().iter().zip(want) {
///     assert!((got - want).abs() < 1e-12);
/// }
/// binary_cross_entropy_with(&p, &y, None, Reduction::Sum).backward();
/// let g = p.grad().unwrap().to_vec(); // (p - y) / max(p (1 - p), 1e-12)
/// assert!((g[0] - (-0.1 / 0.09)).abs() < 1e-12 && (g[1] - 0.2 / 0.16).abs() < 1e-12);
/// assert!(g[2] < -0.99e12); // finite, and pushing p up
/// ```
///
/// # Panics
/// If the shapes differ, if `weight` does not broadcast to them, or if a
/// probability or a target lies outside [0, 1] (or is NaN), as PyTorch
/// raises.
#[track_caller]
pub fn binary_cross_entropy_with<T: Float>(
    probabilities: &Tensor<T>,
    target: &Tensor<T>,
    weight: Option<&Tensor<T>>,
    reduction: Reduction,
) -> Tensor<T> {
    let (p, y) = (probabilities, target);
    let name = "binary_cross_entropy";
    check_same_shape(name, "probabilities", p.shape(), "target", y.shape());
    if let Some(w) = weight {
        check_broadcasts_to(name, "weight", w.shape(), p.shape());
    }
    // The kernel gives NaN where an input lies outside [0, 1], so one look
    // at the result (the reduced value, or the sum of the elements) says
    // whether to search the inputs for the element to name.
    let out = backend::binary(BinaryOp::BinaryCrossEntropy, p, y);
    let saved = (p.clone(), y.clone());
    let loss = record("BinaryCrossEntropy", out, &[p, y], move |ctx| {
        let (p, y) = &saved;
        let g = ctx.grad();
        let one_minus_p = || p.neg().add_scalar(T::one());
        vec![
            ctx.needs_input_grad(0).then(|| {
                // One fused pass, unless a second derivative needs the
                // formula recorded as ops.
                let local = if ctx.create_graph {
                    let floor = Tensor::scalar(T::from_f64(f64::from(BCE_EPSILON)));
                    p.sub(y).div(&one_minus_p().mul(p).maximum(&floor))
                } else {
                    backend::binary(BinaryOp::BinaryCrossEntropyGrad, p, y)
                };
                g.mul(&local)
            }),
            ctx.needs_input_grad(1)
                .then(|| g.mul(&p.div(&one_minus_p()).log()).neg()),
        ]
    });
    let reduced = reduce(weighted(loss.clone(), weight), reduction);
    let probe = match reduction {
        Reduction::None => reduce_all(ReduceOp::Sum, &loss.detach()),
        _ => reduced.detach(),
    };
    if probe.item().is_nan() {
        check_unit_interval("probabilities", p);
        check_unit_interval("target", y);
    }
    reduced
}

/// Binary cross-entropy of `sigmoid(logits)` against `target` (same shape),
/// computed stably from the logits and averaged: PyTorch's
/// `F.binary_cross_entropy_with_logits(x, y)`;
/// [`binary_cross_entropy_with_logits_with`] takes a weight, a positive-class
/// weight and the reduction.
///
/// ```
/// use nabla::nn::loss::binary_cross_entropy_with_logits;
/// use nabla::Tensor;
/// let x = Tensor::from_vec(vec![0.0f64, 0.0], &[2]);
/// let y = Tensor::from_vec(vec![1.0f64, 0.0], &[2]);
/// assert!((binary_cross_entropy_with_logits(&x, &y).item() - 2f64.ln()).abs() < 1e-12);
/// ```
pub fn binary_cross_entropy_with_logits<T: Float>(logits: &Tensor<T>, target: &Tensor<T>) -> Tensor<T> {
    binary_cross_entropy_with_logits_with(logits, target, None, None, Reduction::Mean)
}

/// The binary cross-entropy of `sigmoid(logits)` against `target`, computed
/// stably from the logits `z`, as
/// `torch.nn.functional.binary_cross_entropy_with_logits`:
///
/// `max(z, 0) - z y + log(1 + e^-|z|)`
///
/// elementwise (with `log1p` for the last term), which equals
/// `-(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z)))` but never overflows
/// and never takes the log of 0. With `pos_weight`
/// (PyTorch's definition) the positive term is weighted:
/// `-(pos_weight y log sigmoid(z) + (1 - y) log(1 - sigmoid(z)))`, computed as
/// `(1 - y) z + (1 + (pos_weight - 1) y) (max(-z, 0) + log(1 + e^-|z|))`,
/// as PyTorch does.
/// Then each element is multiplied by `weight` and the result reduced.
///
/// This is the negative log-likelihood (the minimised form); the course
/// writes the log-likelihood without the minus sign (see the
/// [module docs](super)).
///
/// Shapes: `logits` and `target` (values usually in [0, 1]) of one shape;
/// `weight` of any shape broadcasting to it; `pos_weight` likewise, usually
/// `[C]`, one weight per class (column) of a multi-label `[N, C]` problem. The
/// output is zero-dimensional for `Mean` (the plain mean) and `Sum`, of the
/// input's shape for `None`. Differentiable (twice) in the logits and in
/// the target.
///
/// ```
/// use nabla::nn::loss::{binary_cross_entropy_with_logits_with, Reduction};
/// use nabla::Tensor;
/// let z = Tensor::from_vec(vec![0.0f64, 1000.0, -1000.0], &[3]).requires_grad();
/// let y = Tensor::from_vec(vec![1.0f64, 1.0, 1.0], &[3]);
/// let loss = binary_cross_entropy_with_logits_with(&z, &y, None, None, Reduction::None);
/// let l = loss.to_vec(); // log 2, 0, and 1000 (no overflow)
/// assert!((l[0] - 2f64.ln()).abs() < 1e-15 && l[1] == 0.0 && l[2] == 1000.0);
/// loss.sum().backward(); // sigmoid(z) - y
/// assert_eq!(z.grad().unwrap().to_vec(), vec![-0.5, 0.0, -1.0]);
///
/// // pos_weight 3 triples the loss of a positive example.
/// let pw = Tensor::scalar(3.0f64);
/// let weighted = binary_cross_entropy_with_logits_with(&z, &y, None, Some(&pw), Reduction::None);
/// assert!((weighted.to_vec()[0] - 3.0 * 2f64.ln()).abs() < 1e-15);
/// ```
///
/// # Panics
/// If the shapes differ, or if `weight` or `pos_weight` does not broadcast
/// to them.
#[track_caller]
pub fn binary_cross_entropy_with_logits_with<T: Float>(
    logits: &Tensor<T>,
    target: &Tensor<T>,
    weight: Option<&Tensor<T>>,
    pos_weight: Option<&Tensor<T>>,
    reduction: Reduction,
) -> Tensor<T> {
    let name = "binary_cross_entropy_with_logits";
    check_same_shape(name, "logits", logits.shape(), "target", target.shape());
    if let Some(w) = weight {
        check_broadcasts_to(name, "weight", w.shape(), logits.shape());
    }
    if let Some(pw) = pos_weight {
        check_broadcasts_to(name, "pos_weight", pw.shape(), logits.shape());
    }
    let one = T::one();
    let neg_log_sig = neg_log_sigmoid(logits);
    let negative_part = target.neg().add_scalar(one).mul(logits);
    let loss = match pos_weight {
        None => negative_part.add(&neg_log_sig),
        Some(pw) => {
            let log_weight = pw.add_scalar(-one).mul(target).add_scalar(one);
            negative_part.add(&log_weight.mul(&neg_log_sig))
        }
    };
    reduce(weighted(loss, weight), reduction)
}

/// `-log sigmoid(z) = log(1 + e^-z)`, elementwise, computed stably as
/// `max(-z, 0) + log1p(e^-|z|)` (PyTorch's `log_sigmoid`, negated), which
/// neither overflows nor loses the small values of confident predictions to
/// rounding (`log(1 + u)` would, in `f32`). Its derivative `-sigmoid(-z)` is
/// written with tensor ops, so it can be differentiated again.
pub(crate) fn neg_log_sigmoid<T: Float>(z: &Tensor<T>) -> Tensor<T> {
    let out = backend::unary(UnaryOp::NegLogSigmoid, z);
    let saved = z.clone();
    record("NegLogSigmoid", out, &[z], move |ctx| {
        vec![Some(ctx.grad().mul(&saved.neg().sigmoid()).neg())]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() <= 1e-12 * (1.0 + w.abs()),
                "got {got:?}, want {want:?}"
            );
        }
    }

    #[test]
    fn bce_hand_computed_values() {
        let p = Tensor::from_vec(vec![0.5f64, 0.25, 0.75, 0.1], &[2, 2]).requires_grad();
        let y = Tensor::from_vec(vec![1.0f64, 0.0, 1.0, 0.5], &[2, 2]);
        let want = [
            -(0.5f64.ln()),
            -(0.75f64.ln()),
            -(0.75f64.ln()),
            -(0.5 * 0.1f64.ln() + 0.5 * 0.9f64.ln()),
        ];
        close(
            &binary_cross_entropy_with(&p, &y, None, Reduction::None).to_vec(),
            &want,
        );
        let sum: f64 = want.iter().sum();
        close(
            &[binary_cross_entropy_with(&p, &y, None, Reduction::Sum).item()],
            &[sum],
        );
        let mean = binary_cross_entropy_with(&p, &y, None, Reduction::Mean);
        close(&[mean.item()], &[sum / 4.0]);
        mean.backward();
        // (p - y) / (p (1 - p)) / 4
        let g: Vec<f64> = [(0.5, 1.0), (0.25, 0.0), (0.75, 1.0), (0.1, 0.5)]
            .iter()
            .map(|&(p, y)| (p - y) / (p * (1.0 - p)) / 4.0)
            .collect();
        close(&p.grad().unwrap().to_vec(), &g);
    }

    #[test]
    fn bce_weights_scale_each_element_and_mean_stays_plain() {
        let p = Tensor::from_vec(vec![0.5f64, 0.5, 0.5, 0.5], &[2, 2]);
        let y = Tensor::from_vec(vec![1.0f64, 1.0, 0.0, 0.0], &[2, 2]);
        let w = Tensor::from_vec(vec![1.0f64, 3.0], &[2]);
        let ln2 = 2f64.ln();
        let none = binary_cross_entropy_with(&p, &y, Some(&w), Reduction::None);
        close(&none.to_vec(), &[ln2, 3.0 * ln2, ln2, 3.0 * ln2]);
        // The mean divides by the number of elements, not the weights' sum.
        let mean = binary_cross_entropy_with(&p, &y, Some(&w), Reduction::Mean);
        close(&[mean.item()], &[8.0 * ln2 / 4.0]);
    }

    #[test]
    fn bce_clamps_the_logs_at_minus_100() {
        let p = Tensor::from_vec(vec![0.0f64, 1.0, 0.0, 1.0], &[4]).requires_grad();
        let y = Tensor::from_vec(vec![0.0f64, 1.0, 1.0, 0.0], &[4]);
        let loss = binary_cross_entropy_with(&p, &y, None, Reduction::None);
        assert_eq!(loss.to_vec(), vec![0.0, 0.0, 100.0, 100.0]);
        loss.sum().backward();
        let eps = f64::from(BCE_EPSILON);
        assert_eq!(p.grad().unwrap().to_vec(), vec![0.0, 0.0, -1.0 / eps, 1.0 / eps]);
    }

    #[test]
    #[should_panic(expected = "binary_cross_entropy: every element of the probabilities must lie in [0, 1]")]
    fn bce_rejects_probabilities_outside_the_unit_interval() {
        let p = Tensor::from_vec(vec![0.5f32, 1.5], &[2]);
        binary_cross_entropy_with(&p, &Tensor::zeros(&[2]), None, Reduction::Mean);
    }

    #[test]
    #[should_panic(expected = "binary_cross_entropy: every element of the target must lie in [0, 1]")]
    fn bce_rejects_targets_outside_the_unit_interval() {
        let y = Tensor::from_vec(vec![0.5f32, -1.0], &[2]);
        binary_cross_entropy_with(&Tensor::full(&[2], 0.5), &y, None, Reduction::Mean);
    }

    #[test]
    #[should_panic(
        expected = "binary_cross_entropy: weight of shape [3] does not broadcast to the input's shape [2, 2]"
    )]
    fn bce_weight_must_broadcast() {
        let p = Tensor::<f64>::full(&[2, 2], 0.5);
        binary_cross_entropy_with(&p, &p, Some(&Tensor::ones(&[3])), Reduction::Mean);
    }

    #[test]
    fn with_logits_hand_computed_values() {
        let z = Tensor::from_vec(vec![0.0f64, 2.0, -1.0, 40.0], &[4]).requires_grad();
        let y = Tensor::from_vec(vec![0.0f64, 1.0, 0.25, 0.0], &[4]);
        let sig = |z: f64| 1.0 / (1.0 + (-z).exp());
        let bce = |z: f64, y: f64| -(y * sig(z).ln() + (1.0 - y) * (1.0 - sig(z)).ln());
        let want: Vec<f64> = [(0.0, 0.0), (2.0, 1.0), (-1.0, 0.25)]
            .iter()
            .map(|&(z, y)| bce(z, y))
            .chain([40.0]) // max(z, 0) - z y + log(1 + e^-40) = 40 + 4e-18
            .collect();
        let loss = binary_cross_entropy_with_logits_with(&z, &y, None, None, Reduction::None);
        close(&loss.to_vec(), &want);
        binary_cross_entropy_with_logits_with(&z, &y, None, None, Reduction::Mean).backward();
        let g: Vec<f64> = [(0.0, 0.0), (2.0, 1.0), (-1.0, 0.25), (40.0, 0.0)]
            .iter()
            .map(|&(z, y)| (sig(z) - y) / 4.0)
            .collect();
        close(&z.grad().unwrap().to_vec(), &g);
    }

    #[test]
    fn with_logits_pos_weight_and_weight() {
        // One positive and one negative example per row, pos_weight per column.
        let z = Tensor::from_vec(vec![0.5f64, -0.5, 1.5, 0.0], &[2, 2]).requires_grad();
        let y = Tensor::from_vec(vec![1.0f64, 0.0, 0.0, 1.0], &[2, 2]);
        let pw = Tensor::from_vec(vec![2.0f64, 5.0], &[2]);
        let w = Tensor::from_vec(vec![1.0f64, 0.5], &[2, 1]);
        let sig = |z: f64| 1.0 / (1.0 + (-z).exp());
        let want = [
            -2.0 * sig(0.5).ln(),
            -(1.0 - sig(-0.5)).ln(),
            -0.5 * (1.0 - sig(1.5)).ln(),
            -0.5 * 5.0 * sig(0.0).ln(),
        ];
        let loss = binary_cross_entropy_with_logits_with(&z, &y, Some(&w), Some(&pw), Reduction::None);
        close(&loss.to_vec(), &want);
        loss.sum().backward();
        // w ((pos_weight y + 1 - y) sigmoid(z) - pos_weight y)
        let g = [
            2.0 * sig(0.5) - 2.0,
            sig(-0.5),
            0.5 * sig(1.5),
            0.5 * (5.0 * sig(0.0) - 5.0),
        ];
        close(&z.grad().unwrap().to_vec(), &g);
    }

    #[test]
    #[should_panic(
        expected = "binary_cross_entropy_with_logits: logits of shape [2] and target of shape [2, 1] differ"
    )]
    fn with_logits_shapes_must_match() {
        let z = Tensor::<f32>::zeros(&[2]);
        binary_cross_entropy_with_logits_with(&z, &Tensor::zeros(&[2, 1]), None, None, Reduction::Mean);
    }
}
