//! Losses over class indices: the negative log-likelihood and the
//! cross-entropy from logits.

use super::Reduction;
use crate::element::Float;
use crate::tensor::{IndexTensor, Tensor};

/// The input seen as `[N, C, d1, ...]` and what the targets pick from it.
struct ClassTargets<T: Float> {
    /// The input, with a batch dimension of 1 added to an unbatched `[C]`.
    input: Tensor<T>,
    /// The target's own shape: the shape of the unreduced loss.
    target_shape: Vec<usize>,
    /// `[N, 1, d1, ...]`: the target classes, 0 where ignored.
    index: IndexTensor,
    /// `[N, d1, ...]`: `w[y_i]` (1 without class weights), 0 where ignored.
    weights: Tensor<T>,
    /// `[N, d1, ...]`: 1 where the target counts, 0 where ignored.
    mask: Tensor<T>,
}

/// Checks shapes and classes and gathers what the losses need.
#[track_caller]
fn class_targets<T: Float>(
    loss: &str,
    input: &Tensor<T>,
    target: &IndexTensor,
    weight: Option<&Tensor<T>>,
    ignore_index: Option<usize>,
) -> ClassTargets<T> {
    let shape = input.shape();
    assert!(
        !shape.is_empty(),
        "{loss}: the input must be [C], [N, C] or [N, C, d1, ...], got a zero-dimensional tensor"
    );
    let (input, expected) = if shape.len() == 1 {
        (input.unsqueeze(0), vec![])
    } else {
        let mut expected = vec![shape[0]];
        expected.extend_from_slice(&shape[2..]);
        (input.clone(), expected)
    };
    assert!(
        target.shape() == expected.as_slice(),
        "{loss}: target of shape {:?} does not fit input of shape {shape:?}: expected target shape {expected:?} (the input's shape without the class dimension {})",
        target.shape(),
        if shape.len() == 1 { 0 } else { 1 }
    );
    let classes = input.shape()[1];
    if let Some(w) = weight {
        assert!(
            w.shape() == [classes],
            "{loss}: weight of shape {:?} must have one entry per class, shape [{classes}] for input of shape {shape:?}",
            w.shape()
        );
    }
    let mut batched = input.shape().to_vec();
    batched.remove(1); // [N, d1, ...]
    let mut safe = Vec::with_capacity(target.as_slice().len());
    let mut mask = Vec::with_capacity(safe.capacity());
    for (i, &t) in target.as_slice().iter().enumerate() {
        if Some(t) == ignore_index {
            safe.push(0);
            mask.push(T::zero());
        } else {
            assert!(
                t < classes,
                "{loss}: target class {t} (element {i}, flat, of the target of shape {:?}) is out of range for {classes} classes (input of shape {shape:?}){}",
                target.shape(),
                match ignore_index {
                    Some(k) => format!("; ignore_index is {k}"),
                    None => String::new(),
                }
            );
            safe.push(t);
            mask.push(T::one());
        }
    }
    let mask = Tensor::from_vec(mask, &batched);
    let mut index_shape = batched.clone();
    index_shape.insert(1, 1);
    let index = IndexTensor::from_vec(safe, &index_shape);
    let weights = match weight {
        Some(w) => w
            .index_select(0, &index.reshape(&[index.numel()]))
            .reshape(&batched)
            .mul(&mask),
        None => mask.clone(),
    };
    ClassTargets {
        input,
        target_shape: target.shape().to_vec(),
        index,
        weights,
        mask,
    }
}

/// Reduces per-target losses `[N, d1, ...]`: the mean is weighted by the
/// targets' class weights.
fn reduce_weighted<T: Float>(loss: Tensor<T>, t: &ClassTargets<T>, reduction: Reduction) -> Tensor<T> {
    match reduction {
        Reduction::Mean => loss.sum().div(&t.weights.sum()),
        Reduction::Sum => loss.sum(),
        Reduction::None => loss.reshape(&t.target_shape),
    }
}

/// `-w[y_i] log_probs[i, y_i]`, per target.
fn picked_loss<T: Float>(t: &ClassTargets<T>) -> Tensor<T> {
    t.input.gather(1, &t.index).squeeze(1).mul(&t.weights).neg()
}

/// Negative log-likelihood of `log_probs` `[N, C]` (or `[N, C, d...]`) at the
/// class indices `target`, averaged: PyTorch's `F.nll_loss(log_probs,
/// target)` with its defaults; [`nll_loss_with`] takes every option.
///
/// ```
/// use nabla::nn::loss::nll_loss;
/// use nabla::{IndexTensor, Tensor};
/// let log_probs = Tensor::from_vec(vec![-0.5f64, -1.5, -2.0, -0.25], &[2, 2]);
/// let loss = nll_loss(&log_probs, &IndexTensor::from_vec(vec![0, 1], &[2]));
/// assert_eq!(loss.item(), 0.375);
/// ```
pub fn nll_loss<T: Float>(log_probs: &Tensor<T>, target: &IndexTensor) -> Tensor<T> {
    nll_loss_with(log_probs, target, None, None, Reduction::Mean)
}

/// The negative log-likelihood of class targets, given log-probabilities:
/// `loss_i = -w[y_i] log_probs[i, y_i]`, as `torch.nn.functional.nll_loss`.
///
/// This is the minimised form: the course writes the log-likelihood
/// `log p_y` without the minus sign (see the [module docs](super)). Apply it
/// to the output of [`log_softmax`](Tensor::log_softmax) along the class
/// dimension, or use [`cross_entropy`], which does both.
///
/// Shapes:
/// - `log_probs`: `[N, C]`, or `[N, C, d1, d2, ...]` for a class per position
///   (per pixel, per token), or `[C]` for a single example;
/// - `target`: `[N]`, `[N, d1, d2, ...]`, or `[]` (zero-dimensional)
///   respectively, with classes in `0..C` (or equal to `ignore_index`);
/// - `weight`: `[C]`, a weight per class (default 1);
/// - output: zero-dimensional for `Mean` and `Sum`, the target's shape for
///   `None` (ignored targets give 0).
///
/// Targets equal to `ignore_index` contribute nothing, neither to the loss
/// nor to the count. [`Reduction::Mean`] is PyTorch's weighted mean: the sum
/// of `w[y_i] loss_i` divided by the sum of `w[y_i]` over the targets that
/// are not ignored (the plain mean without weights). If every target is
/// ignored the mean is 0 / 0 = NaN, as in PyTorch.
///
/// ```
/// use nabla::nn::loss::{nll_loss_with, Reduction};
/// use nabla::{IndexTensor, Tensor};
/// let log_probs = Tensor::from_vec(vec![-0.5f64, -1.0, -2.0, -3.0, -0.25, -4.0], &[2, 3]);
/// let target = IndexTensor::from_vec(vec![1, 2], &[2]);
/// let weight = Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3]);
/// let none = nll_loss_with(&log_probs, &target, Some(&weight), None, Reduction::None);
/// assert_eq!(none.to_vec(), vec![2.0, 12.0]); // 2 * 1.0, 3 * 4.0
/// let mean = nll_loss_with(&log_probs, &target, Some(&weight), None, Reduction::Mean);
/// assert_eq!(mean.item(), 14.0 / 5.0); // divided by w[1] + w[2]
/// // Ignoring class 2 leaves the first target only.
/// let ignored = nll_loss_with(&log_probs, &target, Some(&weight), Some(2), Reduction::Mean);
/// assert_eq!(ignored.item(), 1.0);
/// ```
///
/// # Panics
/// If the shapes do not fit together (`nll_loss: target of shape [3] does
/// not fit input of shape [2, 5]: ...`), if `weight` is not `[C]`, or if a
/// target that is not ignored is `>= C`.
#[track_caller]
pub fn nll_loss_with<T: Float>(
    log_probs: &Tensor<T>,
    target: &IndexTensor,
    weight: Option<&Tensor<T>>,
    ignore_index: Option<usize>,
    reduction: Reduction,
) -> Tensor<T> {
    let t = class_targets("nll_loss", log_probs, target, weight, ignore_index);
    reduce_weighted(picked_loss(&t), &t, reduction)
}

/// Cross-entropy of `logits` `[N, C]` (or `[N, C, d...]`) against class
/// indices `target` `[N]` (or `[N, d...]`), averaged over the examples:
/// PyTorch's `F.cross_entropy(logits, target)` with its defaults. For class
/// weights, an ignored index or another reduction, use [`cross_entropy_with`].
///
/// ```
/// use nabla::nn::loss::cross_entropy;
/// use nabla::{IndexTensor, Tensor};
/// let logits = Tensor::from_vec(vec![2.0f64, 0.0, 0.0, 2.0], &[2, 2]);
/// let loss = cross_entropy(&logits, &IndexTensor::from_vec(vec![0, 1], &[2]));
/// assert!((loss.item() - (1.0 + (-2.0f64).exp()).ln()).abs() < 1e-12);
/// ```
pub fn cross_entropy<T: Float>(logits: &Tensor<T>, target: &IndexTensor) -> Tensor<T> {
    cross_entropy_with(logits, target, None, None, Reduction::Mean)
}

/// The cross-entropy of class targets, from logits: `nll_loss` of
/// `log_softmax(logits)` along the class dimension,
/// `loss_i = -w[y_i] log softmax(logits_i)[y_i]`, as
/// `torch.nn.functional.cross_entropy` with class indices.
///
/// This is the minimised form; the course writes the log-likelihood
/// `log p_y` without its minus sign (see the [module docs](super)). The
/// log-softmax is the stable one, so large logits do not overflow.
///
/// Shapes, weights, `ignore_index` and the weighted mean are those of
/// [`nll_loss`], with logits in place of log-probabilities: `logits` `[N, C]`,
/// `[N, C, d1, ...]` or `[C]`; `target` `[N]`, `[N, d1, ...]` or `[]`;
/// `weight` `[C]`. See [`cross_entropy_with_label_smoothing`] for PyTorch's
/// `label_smoothing`.
///
/// ```
/// use nabla::nn::loss::{cross_entropy_with, Reduction};
/// use nabla::{IndexTensor, Tensor};
/// let logits = Tensor::from_vec(vec![0.0f64, 0.0, 1000.0, 0.0], &[2, 2]).requires_grad();
/// let target = IndexTensor::from_vec(vec![0, 0], &[2]);
/// let loss = cross_entropy_with(&logits, &target, None, None, Reduction::None);
/// assert_eq!(loss.to_vec(), vec![2f64.ln(), 0.0]); // log 2, and a certain hit
/// loss.sum().backward(); // softmax - one_hot
/// assert_eq!(logits.grad().unwrap().to_vec(), vec![-0.5, 0.5, 0.0, 0.0]);
/// ```
///
/// # Panics
/// As [`nll_loss`], with `cross_entropy` in the messages.
#[track_caller]
pub fn cross_entropy_with<T: Float>(
    logits: &Tensor<T>,
    target: &IndexTensor,
    weight: Option<&Tensor<T>>,
    ignore_index: Option<usize>,
    reduction: Reduction,
) -> Tensor<T> {
    cross_entropy_with_label_smoothing(logits, target, weight, ignore_index, reduction, 0.0)
}

/// [`cross_entropy`] against targets smoothed towards the uniform
/// distribution, as PyTorch's `label_smoothing = eps`: the target is
/// `(1 - eps) one_hot(y) + eps / C`, so
///
/// `loss_i = (1 - eps) nll_i + (eps / C) sum_c (-w_c log p_ic)`,
///
/// where `nll_i` is [`cross_entropy`]'s loss. With class weights the
/// smoothing term carries each class's own weight `w_c`; ignored targets
/// contribute to neither term; with [`Reduction::Mean`] both terms are
/// divided by the sum of `w[y_i]` over the targets that are not ignored (as
/// PyTorch does). `eps = 0` is [`cross_entropy`].
///
/// ```
/// use nabla::nn::loss::{cross_entropy_with_label_smoothing, Reduction};
/// use nabla::{IndexTensor, Tensor};
/// let logits = Tensor::<f64>::zeros(&[1, 4]); // uniform: log p = -log 4 for every class
/// let target = IndexTensor::from_vec(vec![2], &[1]);
/// let loss = cross_entropy_with_label_smoothing(&logits, &target, None, None, Reduction::Mean, 0.1);
/// // 0.9 log 4 + (0.1 / 4) * 4 log 4
/// assert!((loss.item() - 4f64.ln()).abs() < 1e-15);
/// ```
///
/// # Panics
/// As [`nll_loss`], and if `label_smoothing` is not in [0, 1].
#[track_caller]
pub fn cross_entropy_with_label_smoothing<T: Float>(
    logits: &Tensor<T>,
    target: &IndexTensor,
    weight: Option<&Tensor<T>>,
    ignore_index: Option<usize>,
    reduction: Reduction,
    label_smoothing: f64,
) -> Tensor<T> {
    assert!(
        (0.0..=1.0).contains(&label_smoothing),
        "cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}"
    );
    assert!(
        logits.ndim() > 0,
        "cross_entropy: the logits must be [C], [N, C] or [N, C, d1, ...], got a zero-dimensional tensor"
    );
    let class_dim = if logits.ndim() == 1 { 0 } else { 1 };
    let log_probs = logits.log_softmax(class_dim);
    let t = class_targets("cross_entropy", &log_probs, target, weight, ignore_index);
    let nll = reduce_weighted(picked_loss(&t), &t, reduction);
    if label_smoothing == 0.0 {
        return nll;
    }
    let classes = t.input.shape()[1];
    let per_class = match weight {
        Some(w) => {
            let mut shape = vec![1; t.input.ndim()];
            shape[1] = classes;
            t.input.mul(&w.reshape(&shape))
        }
        None => t.input.clone(),
    };
    let smooth = per_class.sum_dim(1, false).neg().mul(&t.mask);
    let smooth = reduce_weighted(smooth, &t, reduction);
    nll.mul_scalar(T::from_f64(1.0 - label_smoothing))
        .add(&smooth.mul_scalar(T::from_f64(label_smoothing / classes as f64)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "got {got:?}, want {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() <= 1e-12 * (1.0 + w.abs()),
                "got {got:?}, want {want:?}"
            );
        }
    }

    fn log_probs() -> Tensor<f64> {
        // Rows are log-probabilities of 3 classes (any values do for nll).
        Tensor::from_vec(
            vec![-1.0f64, -2.0, -3.0, -4.0, -5.0, -6.0, -0.5, -1.5, -2.5],
            &[3, 3],
        )
    }

    #[test]
    fn nll_reductions_weights_and_ignore_index() {
        let target = IndexTensor::from_vec(vec![2, 0, 1], &[3]);
        let x = log_probs().requires_grad();
        close(
            &nll_loss_with(&x, &target, None, None, Reduction::None).to_vec(),
            &[3.0, 4.0, 1.5],
        );
        close(
            &[nll_loss_with(&x, &target, None, None, Reduction::Sum).item()],
            &[8.5],
        );
        close(
            &[nll_loss_with(&x, &target, None, None, Reduction::Mean).item()],
            &[8.5 / 3.0],
        );
        let w = Tensor::from_vec(vec![2.0f64, 0.5, 1.0], &[3]);
        // w[y] = 1, 2, 0.5
        let none = nll_loss_with(&x, &target, Some(&w), None, Reduction::None);
        close(&none.to_vec(), &[3.0, 8.0, 0.75]);
        let mean = nll_loss_with(&x, &target, Some(&w), None, Reduction::Mean);
        close(&[mean.item()], &[11.75 / 3.5]);
        // Ignore class 0: the second target drops out of sum and weights.
        let ign = nll_loss_with(&x, &target, Some(&w), Some(0), Reduction::Mean);
        close(&[ign.item()], &[3.75 / 1.5]);
        ign.backward();
        let g = x.grad().unwrap().to_vec();
        close(&g, &[0.0, 0.0, -1.0 / 1.5, 0.0, 0.0, 0.0, 0.0, -0.5 / 1.5, 0.0]);
        close(
            &nll_loss_with(&x, &target, None, Some(0), Reduction::None).to_vec(),
            &[3.0, 0.0, 1.5],
        );
    }

    #[test]
    fn ignored_targets_may_be_out_of_range_and_all_ignored_mean_is_nan() {
        let target = IndexTensor::from_vec(vec![255, 1, 255], &[3]);
        let x = log_probs();
        close(
            &[nll_loss_with(&x, &target, None, Some(255), Reduction::Mean).item()],
            &[5.0],
        );
        let all = IndexTensor::from_vec(vec![255, 255, 255], &[3]);
        assert!(nll_loss_with(&x, &all, None, Some(255), Reduction::Mean)
            .item()
            .is_nan());
        assert_eq!(
            nll_loss_with(&x, &all, None, Some(255), Reduction::Sum).item(),
            0.0
        );
    }

    #[test]
    fn nll_spatial_and_unbatched() {
        // [N=1, C=2, d=3]: classes along dimension 1.
        let x = Tensor::from_vec(vec![-1.0f64, -2.0, -3.0, -4.0, -5.0, -6.0], &[1, 2, 3]);
        let target = IndexTensor::from_vec(vec![1, 0, 1], &[1, 3]);
        let none = nll_loss_with(&x, &target, None, None, Reduction::None);
        assert_eq!(none.shape(), &[1, 3]);
        close(&none.to_vec(), &[4.0, 2.0, 6.0]);
        let single = Tensor::from_vec(vec![-1.0f64, -2.0], &[2]);
        let t = IndexTensor::from_vec(vec![1], &[]);
        let none = nll_loss_with(&single, &t, None, None, Reduction::None);
        assert_eq!(none.shape(), &[] as &[usize]);
        close(&none.to_vec(), &[2.0]);
        close(
            &[nll_loss_with(&single, &t, None, None, Reduction::Mean).item()],
            &[2.0],
        );
    }

    #[test]
    fn cross_entropy_is_nll_of_log_softmax() {
        let logits = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 0.5, 0.5, 0.5], &[2, 3]).requires_grad();
        let target = IndexTensor::from_vec(vec![2, 1], &[2]);
        let lse = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln();
        let want = [lse - 3.0, 3f64.ln()];
        let loss = cross_entropy_with(&logits, &target, None, None, Reduction::None);
        close(&loss.to_vec(), &want);
        cross_entropy_with(&logits, &target, None, None, Reduction::Sum).backward();
        let e: Vec<f64> = [1.0f64, 2.0, 3.0].iter().map(|v| (v - lse).exp()).collect();
        let third = 1.0 / 3.0;
        close(
            &logits.grad().unwrap().to_vec(),
            &[e[0], e[1], e[2] - 1.0, third, third - 1.0, third],
        );
    }

    #[test]
    fn label_smoothing_by_hand() {
        let logits = Tensor::from_vec(vec![1.0f64, 2.0, 0.0, 0.0, 0.0, 0.0], &[2, 3]);
        let target = IndexTensor::from_vec(vec![0, 2], &[2]);
        let w = Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3]);
        let eps = 0.3;
        let lp = logits.log_softmax(1).to_vec();
        let smooth = |r: usize| -(0..3).map(|c| w.to_vec()[c] * lp[3 * r + c]).sum::<f64>();
        let nll = [-lp[0], -3.0 * lp[5]];
        let per = |r: usize| (1.0 - eps) * nll[r] + eps / 3.0 * smooth(r);
        let none = cross_entropy_with_label_smoothing(&logits, &target, Some(&w), None, Reduction::None, eps);
        close(&none.to_vec(), &[per(0), per(1)]);
        let mean = cross_entropy_with_label_smoothing(&logits, &target, Some(&w), None, Reduction::Mean, eps);
        close(&[mean.item()], &[(per(0) + per(1)) / 4.0]);
        // Ignoring the second target removes it from both terms and the weights.
        let ign =
            cross_entropy_with_label_smoothing(&logits, &target, Some(&w), Some(2), Reduction::Mean, eps);
        close(&[ign.item()], &[per(0) / 1.0]);
    }

    #[test]
    #[should_panic(
        expected = "nll_loss: target class 3 (element 1, flat, of the target of shape [3]) is out of range for 3 classes"
    )]
    fn out_of_range_class_panics() {
        let target = IndexTensor::from_vec(vec![0, 3, 1], &[3]);
        nll_loss_with(&log_probs(), &target, None, None, Reduction::Mean);
    }

    #[test]
    #[should_panic(expected = "cross_entropy: target of shape [2] does not fit input of shape [3, 3]")]
    fn target_shape_must_fit() {
        let target = IndexTensor::from_vec(vec![0, 1], &[2]);
        cross_entropy_with(&log_probs(), &target, None, None, Reduction::Mean);
    }

    #[test]
    #[should_panic(expected = "nll_loss: weight of shape [2] must have one entry per class, shape [3]")]
    fn weight_must_have_one_entry_per_class() {
        let target = IndexTensor::from_vec(vec![0, 1, 2], &[3]);
        let w = Tensor::<f64>::ones(&[2]);
        nll_loss_with(&log_probs(), &target, Some(&w), None, Reduction::Mean);
    }
}
