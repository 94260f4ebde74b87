//! The losses as structs that hold their options, PyTorch's `nn.MSELoss`,
//! `nn.BCELoss`, `nn.BCEWithLogitsLoss`, `nn.NLLLoss` and
//! `nn.CrossEntropyLoss`.
//!
//! They are not [`Module`](crate::nn::Module)s: a module maps one tensor to
//! one tensor, a loss takes two (prediction and target), so each has its own
//! `forward(&self, input, target)`. They hold no parameters.

use super::{
    binary_cross_entropy_with, binary_cross_entropy_with_logits_with, cross_entropy_with_label_smoothing,
    mse_loss_with, nll_loss_with, Reduction,
};
use crate::element::Float;
use crate::tensor::{IndexTensor, Tensor};

/// The squared error as a struct: [`mse_loss`] with a stored
/// [`Reduction`]. Not a [`Module`](crate::nn::Module): it takes two inputs.
///
/// Shapes: `input` and `target` of one shape; output 0-d (`Mean`, `Sum`) or
/// the input's shape (`None`).
///
/// ```
/// use nabla::nn::loss::Reduction;
/// use nabla::nn::MseLoss;
/// use nabla::Tensor;
/// let x = Tensor::from_vec(vec![1.0f32, 3.0], &[2]);
/// let y = Tensor::from_vec(vec![0.0f32, 0.0], &[2]);
/// assert_eq!(MseLoss::new().forward(&x, &y).item(), 5.0);
/// assert_eq!(MseLoss::new().with_reduction(Reduction::Sum).forward(&x, &y).item(), 10.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[doc(alias = "MSELoss")]
pub struct MseLoss {
    /// How the squared errors are combined (default: the mean).
    pub reduction: Reduction,
}

impl MseLoss {
    /// The mean squared error.
    pub fn new() -> Self {
        Self::default()
    }

    /// With another reduction.
    pub fn with_reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// [`mse_loss`]`(input, target, reduction)`.
    pub fn forward<T: Float>(&self, input: &Tensor<T>, target: &Tensor<T>) -> Tensor<T> {
        mse_loss_with(input, target, self.reduction)
    }
}

/// The binary cross-entropy of probabilities as a struct:
/// [`binary_cross_entropy`] with stored options. The negative
/// log-likelihood, which nabla minimises; the course writes the
/// log-likelihood without the minus sign. Not a
/// [`Module`](crate::nn::Module): it takes two inputs.
///
/// Shapes: probabilities and target of one shape, values in [0, 1];
/// `weight` broadcasting to it; output 0-d or the input's shape. The logs
/// are clamped at -100 as in PyTorch.
///
/// ```
/// use nabla::nn::BceLoss;
/// use nabla::Tensor;
/// let p = Tensor::from_vec(vec![0.5f64, 0.5], &[2]);
/// let y = Tensor::from_vec(vec![1.0f64, 0.0], &[2]);
/// let loss = BceLoss::new().forward(&p, &y);
/// assert!((loss.item() - 2f64.ln()).abs() < 1e-15);
/// let weighted = BceLoss::new().with_weight(Tensor::from_vec(vec![2.0, 0.0], &[2])).forward(&p, &y);
/// assert!((weighted.item() - 2f64.ln()).abs() < 1e-15); // (2 log 2 + 0) / 2
/// ```
#[derive(Clone, Debug)]
#[doc(alias = "BCELoss")]
pub struct BceLoss<T: Float = f32> {
    /// A rescaling of each element's loss, broadcast to the input.
    pub weight: Option<Tensor<T>>,
    /// How the losses are combined (default: the mean over elements).
    pub reduction: Reduction,
}

impl<T: Float> Default for BceLoss<T> {
    fn default() -> Self {
        BceLoss {
            weight: None,
            reduction: Reduction::Mean,
        }
    }
}

impl<T: Float> BceLoss<T> {
    /// Unweighted, with the mean.
    pub fn new() -> Self {
        Self::default()
    }

    /// With an elementwise weight (broadcast to the input).
    pub fn with_weight(mut self, weight: Tensor<T>) -> Self {
        self.weight = Some(weight);
        self
    }

    /// With another reduction.
    pub fn with_reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// [`binary_cross_entropy`]`(probabilities, target, weight, reduction)`.
    pub fn forward(&self, probabilities: &Tensor<T>, target: &Tensor<T>) -> Tensor<T> {
        binary_cross_entropy_with(probabilities, target, self.weight.as_ref(), self.reduction)
    }
}

/// The binary cross-entropy from logits as a struct:
/// [`binary_cross_entropy_with_logits`] (the stable form
/// `max(z, 0) - z y + log(1 + e^-|z|)`) with stored options. The negative
/// log-likelihood, which nabla minimises; the course writes the
/// log-likelihood without the minus sign. Not a
/// [`Module`](crate::nn::Module): it takes two inputs.
///
/// Shapes: logits and target of one shape; `weight` and `pos_weight`
/// (usually `[C]` for `[N, C]` logits) broadcasting to it; output 0-d or the
/// input's shape.
///
/// ```
/// use nabla::nn::BceWithLogitsLoss;
/// use nabla::Tensor;
/// let z = Tensor::from_vec(vec![0.0f64, 0.0], &[1, 2]);
/// let y = Tensor::from_vec(vec![1.0f64, 0.0], &[1, 2]);
/// let loss = BceWithLogitsLoss::new()
///     .with_pos_weight(Tensor::from_vec(vec![3.0, 3.0], &[2]))
///     .forward(&z, &y);
/// assert!((loss.item() - 2.0 * 2f64.ln()).abs() < 1e-15); // (3 log 2 + log 2) / 2
/// ```
#[derive(Clone, Debug)]
#[doc(alias = "BCEWithLogitsLoss")]
pub struct BceWithLogitsLoss<T: Float = f32> {
    /// A rescaling of each element's loss, broadcast to the input.
    pub weight: Option<Tensor<T>>,
    /// The weight of the positive term, broadcast to the input (usually one
    /// per class).
    pub pos_weight: Option<Tensor<T>>,
    /// How the losses are combined (default: the mean over elements).
    pub reduction: Reduction,
}

impl<T: Float> Default for BceWithLogitsLoss<T> {
    fn default() -> Self {
        BceWithLogitsLoss {
            weight: None,
            pos_weight: None,
            reduction: Reduction::Mean,
        }
    }
}

impl<T: Float> BceWithLogitsLoss<T> {
    /// Unweighted, with the mean.
    pub fn new() -> Self {
        Self::default()
    }

    /// With an elementwise weight (broadcast to the input).
    pub fn with_weight(mut self, weight: Tensor<T>) -> Self {
        self.weight = Some(weight);
        self
    }

    /// With a weight for the positive term (broadcast to the input).
    pub fn with_pos_weight(mut self, pos_weight: Tensor<T>) -> Self {
        self.pos_weight = Some(pos_weight);
        self
    }

    /// With another reduction.
    pub fn with_reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// [`binary_cross_entropy_with_logits`]`(logits, target, weight, pos_weight, reduction)`.
    pub fn forward(&self, logits: &Tensor<T>, target: &Tensor<T>) -> Tensor<T> {
        binary_cross_entropy_with_logits_with(
            logits,
            target,
            self.weight.as_ref(),
            self.pos_weight.as_ref(),
            self.reduction,
        )
    }
}

/// The negative log-likelihood of class targets as a struct: [`nll_loss`]
/// with stored options. nabla minimises `-log p_y`; the course writes the
/// log-likelihood `log p_y` without the minus sign. Not a
/// [`Module`](crate::nn::Module): it takes two inputs, the second an
/// [`IndexTensor`].
///
/// Shapes: log-probabilities `[N, C]`, `[N, C, d1, ...]` or `[C]`; target
/// `[N]`, `[N, d1, ...]` or `[]`; `weight` `[C]`; output 0-d or the
/// target's shape. The mean is weighted by `w[y_i]`; targets equal to
/// `ignore_index` count for nothing.
///
/// ```
/// use nabla::nn::NllLoss;
/// use nabla::{IndexTensor, Tensor};
/// let log_probs = Tensor::from_vec(vec![-0.1f64, -2.3, -1.2, -0.4], &[2, 2]);
/// let target = IndexTensor::from_vec(vec![0, 1], &[2]);
/// assert!((NllLoss::new().forward(&log_probs, &target).item() - 0.25).abs() < 1e-15);
/// let only_first = NllLoss::new().with_ignore_index(1).forward(&log_probs, &target);
/// assert!((only_first.item() - 0.1).abs() < 1e-15);
/// ```
#[derive(Clone, Debug)]
#[doc(alias = "NLLLoss")]
pub struct NllLoss<T: Float = f32> {
    /// A weight per class, `[C]`.
    pub weight: Option<Tensor<T>>,
    /// A target value that is skipped (PyTorch's default, -100, is never a
    /// class, so the default here is none).
    pub ignore_index: Option<usize>,
    /// How the losses are combined (default: the weighted mean).
    pub reduction: Reduction,
}

impl<T: Float> Default for NllLoss<T> {
    fn default() -> Self {
        NllLoss {
            weight: None,
            ignore_index: None,
            reduction: Reduction::Mean,
        }
    }
}

impl<T: Float> NllLoss<T> {
    /// Unweighted, nothing ignored, with the mean.
    pub fn new() -> Self {
        Self::default()
    }

    /// With a weight per class, `[C]`.
    pub fn with_weight(mut self, weight: Tensor<T>) -> Self {
        self.weight = Some(weight);
        self
    }

    /// Skipping targets equal to `ignore_index`.
    pub fn with_ignore_index(mut self, ignore_index: usize) -> Self {
        self.ignore_index = Some(ignore_index);
        self
    }

    /// With another reduction.
    pub fn with_reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// [`nll_loss`]`(log_probs, target, weight, ignore_index, reduction)`.
    pub fn forward(&self, log_probs: &Tensor<T>, target: &IndexTensor) -> Tensor<T> {
        nll_loss_with(
            log_probs,
            target,
            self.weight.as_ref(),
            self.ignore_index,
            self.reduction,
        )
    }
}

/// The cross-entropy of class targets from logits as a struct:
/// [`cross_entropy`](super::cross_entropy) (with PyTorch's
/// `label_smoothing`) with stored options. nabla minimises `-log p_y`; the
/// course writes the log-likelihood `log p_y` without the minus sign. Not a
/// [`Module`](crate::nn::Module): it takes two inputs, the second an
/// [`IndexTensor`].
///
/// Shapes: logits `[N, C]`, `[N, C, d1, ...]` or `[C]`; target `[N]`,
/// `[N, d1, ...]` or `[]`; `weight` `[C]`; output 0-d or the target's shape.
///
/// ```
/// use nabla::nn::loss::Reduction;
/// use nabla::nn::CrossEntropyLoss;
/// use nabla::{IndexTensor, Tensor};
/// let logits = Tensor::<f64>::zeros(&[3, 4]).requires_grad();
/// let target = IndexTensor::from_vec(vec![0, 3, 1], &[3]);
/// let criterion = CrossEntropyLoss::new().with_label_smoothing(0.1);
/// let loss = criterion.forward(&logits, &target);
/// assert!((loss.item() - 4f64.ln()).abs() < 1e-15); // uniform predictions
/// loss.backward();
/// let per_example = CrossEntropyLoss::new().with_reduction(Reduction::None).forward(&logits, &target);
/// assert_eq!(per_example.shape(), &[3]);
/// ```
#[derive(Clone, Debug)]
pub struct CrossEntropyLoss<T: Float = f32> {
    /// A weight per class, `[C]`.
    pub weight: Option<Tensor<T>>,
    /// A target value that is skipped (none by default).
    pub ignore_index: Option<usize>,
    /// How the losses are combined (default: the weighted mean).
    pub reduction: Reduction,
    /// PyTorch's label smoothing, in [0, 1] (default 0).
    pub label_smoothing: f64,
}

impl<T: Float> Default for CrossEntropyLoss<T> {
    fn default() -> Self {
        CrossEntropyLoss {
            weight: None,
            ignore_index: None,
            reduction: Reduction::Mean,
            label_smoothing: 0.0,
        }
    }
}

impl<T: Float> CrossEntropyLoss<T> {
    /// Unweighted, nothing ignored, no smoothing, with the mean.
    pub fn new() -> Self {
        Self::default()
    }

    /// With a weight per class, `[C]`.
    pub fn with_weight(mut self, weight: Tensor<T>) -> Self {
        self.weight = Some(weight);
        self
    }

    /// Skipping targets equal to `ignore_index`.
    pub fn with_ignore_index(mut self, ignore_index: usize) -> Self {
        self.ignore_index = Some(ignore_index);
        self
    }

    /// With another reduction.
    pub fn with_reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// With label smoothing `eps` in [0, 1].
    pub fn with_label_smoothing(mut self, label_smoothing: f64) -> Self {
        self.label_smoothing = label_smoothing;
        self
    }

    /// [`cross_entropy_with_label_smoothing`]`(logits, target, weight,
    /// ignore_index, reduction, label_smoothing)`.
    pub fn forward(&self, logits: &Tensor<T>, target: &IndexTensor) -> Tensor<T> {
        cross_entropy_with_label_smoothing(
            logits,
            target,
            self.weight.as_ref(),
            self.ignore_index,
            self.reduction,
            self.label_smoothing,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structs_forward_to_the_functions() {
        let x = Tensor::from_vec(vec![0.2f64, 0.7, 0.9, 0.4], &[2, 2]);
        let y = Tensor::from_vec(vec![0.0f64, 1.0, 1.0, 0.0], &[2, 2]);
        let w = Tensor::from_vec(vec![1.0f64, 2.0], &[2]);
        let classes = IndexTensor::from_vec(vec![1, 0], &[2]);
        for r in [Reduction::Mean, Reduction::Sum, Reduction::None] {
            let same = |a: Tensor<f64>, b: Tensor<f64>| assert_eq!(a.to_vec(), b.to_vec());
            same(
                MseLoss::new().with_reduction(r).forward(&x, &y),
                mse_loss_with(&x, &y, r),
            );
            same(
                BceLoss::new()
                    .with_weight(w.clone())
                    .with_reduction(r)
                    .forward(&x, &y),
                binary_cross_entropy_with(&x, &y, Some(&w), r),
            );
            same(
                BceWithLogitsLoss::new()
                    .with_weight(w.clone())
                    .with_pos_weight(w.clone())
                    .with_reduction(r)
                    .forward(&x, &y),
                binary_cross_entropy_with_logits_with(&x, &y, Some(&w), Some(&w), r),
            );
            same(
                NllLoss::new()
                    .with_weight(w.clone())
                    .with_ignore_index(0)
                    .with_reduction(r)
                    .forward(&x, &classes),
                nll_loss_with(&x, &classes, Some(&w), Some(0), r),
            );
            same(
                CrossEntropyLoss::new()
                    .with_weight(w.clone())
                    .with_ignore_index(0)
                    .with_label_smoothing(0.2)
                    .with_reduction(r)
                    .forward(&x, &classes),
                cross_entropy_with_label_smoothing(&x, &classes, Some(&w), Some(0), r, 0.2),
            );
        }
        assert_eq!(Reduction::default(), Reduction::Mean);
        assert_eq!(Reduction::None.as_str(), "none");
    }
}
