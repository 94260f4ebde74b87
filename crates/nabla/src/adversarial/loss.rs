//! The losses an attack ascends, one per example.

use std::fmt;

use crate::element::Float;
use crate::nn::loss::{cross_entropy_with, Reduction};
use crate::tensor::{IndexTensor, Tensor};

/// The per-example loss an attack maximises for the true label (or
/// minimises for a target label).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttackLoss {
    /// The cross-entropy of the logits with the label (Madry et al.'s
    /// `xent`).
    #[default]
    CrossEntropy,
    /// Carlini and Wagner's margin: the largest other logit minus the
    /// label's logit (positive once the example is misclassified).
    Margin,
}

impl AttackLoss {
    /// The loss of each row of `logits [B, C]` for `labels [B]`, as `[B]`.
    ///
    /// ```
    /// use nabla::adversarial::AttackLoss;
    /// use nabla::{IndexTensor, Tensor};
    /// let logits = Tensor::from_vec(vec![3.0f32, 1.0, 0.0, 0.0, 2.0, 5.0], &[2, 3]);
    /// let labels = IndexTensor::from_vec(vec![0, 1], &[2]);
    /// assert_eq!(AttackLoss::Margin.per_example(&logits, &labels).to_vec(), vec![-2.0, 3.0]);
    /// ```
    pub fn per_example<T: Float>(self, logits: &Tensor<T>, labels: &IndexTensor) -> Tensor<T> {
        match self {
            AttackLoss::CrossEntropy => cross_entropy_with(logits, labels, None, None, Reduction::None),
            AttackLoss::Margin => {
                let index = labels.reshape(&[labels.numel(), 1]);
                let own = logits.gather(1, &index);
                // The label's own logit pushed below every other, so the max is over the rest.
                let others = logits.scatter_add(1, &index, &Tensor::full(own.shape(), T::from_f64(-1e9)));
                (others.max_dim(1, true).0 - own).reshape(&[labels.numel()])
            }
        }
    }
}

impl fmt::Display for AttackLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AttackLoss::CrossEntropy => "cross-entropy",
            AttackLoss::Margin => "margin",
        })
    }
}
