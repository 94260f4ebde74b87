//! Certified robustness from a Lipschitz constant (Tsuzuku, Sato and
//! Sugiyama 2018, "Lipschitz-Margin Training").
//!
//! If the logits `f` are `L`-Lipschitz in the L2 norm, each difference of
//! two logits `f_y - f_j = (e_y - e_j)^T f` is `sqrt(2) L`-Lipschitz
//! (`||e_y - e_j|| = sqrt(2)`). So when the margin `f_y(x) - max_{j != y}
//! f_j(x)` exceeds `sqrt(2) L eps`, no perturbation of L2 norm at most
//! `eps` can make another class win: the prediction at `x` is certified
//! at radius `eps`.

use crate::element::Float;
use crate::error::{Error, Result};
use crate::nn::Layer;
use crate::tensor::{IndexTensor, Tensor};

/// The radius at which a margin is certified under constant `lipschitz`:
/// `margin / (sqrt(2) L)`.
///
/// ```
/// let r = nabla::lipschitz::certified_radius(2.0, 1.0);
/// assert!((r - 2f64.sqrt()).abs() < 1e-12);
/// ```
pub fn certified_radius(margin: f64, lipschitz: f64) -> f64 {
    margin / (std::f64::consts::SQRT_2 * lipschitz)
}

/// The predicted class and the margin (top logit minus runner-up) of each
/// row of `logits` `[B, K]` (`K >= 2`; ties go to the lower class, margin 0).
///
/// ```
/// use nabla::lipschitz::margins;
/// use nabla::Tensor;
/// let logits = Tensor::from_vec(vec![1.0f32, 4.0, 2.5, 3.0, 3.0, 0.0], &[2, 3]);
/// assert_eq!(margins(&logits), vec![(1, 1.5), (0, 0.0)]);
/// ```
///
/// # Panics
/// If `logits` is not `[B, K]` with at least two classes.
pub fn margins<T: Float>(logits: &Tensor<T>) -> Vec<(usize, f64)> {
    let [_, classes] = logits.shape() else {
        panic!("margins: logits must be [B, K], got {:?}", logits.shape());
    };
    assert!(
        *classes >= 2,
        "margins: a margin needs at least two classes, got {classes}"
    );
    let values: Vec<f64> = logits.to_vec().iter().map(|v| v.as_f64()).collect();
    values
        .chunks(*classes)
        .map(|row| {
            let (mut top, mut second) = (0, None::<usize>);
            for (k, v) in row.iter().enumerate().skip(1) {
                if *v > row[top] {
                    second = Some(top);
                    top = k;
                } else if second.is_none_or(|s| *v > row[s]) {
                    second = Some(k);
                }
            }
            let second = second.expect("at least two classes");
            (top, row[top] - row[second])
        })
        .collect()
}

/// Clean and certified accuracy over a data set, added batch by batch.
///
/// ```
/// use nabla::lipschitz::Certification;
/// use nabla::{IndexTensor, Tensor};
/// let mut c = Certification::new(2.0, &[0.0, 0.5, 1.0]).unwrap();
/// // Margins 3 (right), 1 (right), 2 (wrong): certified radii 3/(2 sqrt 2) = 1.06 and 0.35.
/// let logits = Tensor::from_vec(vec![3.0f32, 0.0, 0.0, 1.0, 2.0, 0.0], &[3, 2]);
/// c.add_batch(&logits, &IndexTensor::from_vec(vec![0, 1, 1], &[3]));
/// assert_eq!(c.correct, 2);
/// assert_eq!(c.certified, vec![2, 1, 1]);
/// assert!((c.accuracy() - 2.0 / 3.0).abs() < 1e-12);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Certification {
    /// The L2 Lipschitz constant of the logits, in the inputs' units.
    pub lipschitz: f64,
    /// The L2 radii, in the inputs' units.
    pub radii: Vec<f64>,
    /// Examples seen.
    pub examples: usize,
    /// Examples classified right.
    pub correct: usize,
    /// Per radius, the examples classified right with margin above `sqrt(2) L eps`.
    pub certified: Vec<usize>,
}

impl Certification {
    /// An empty tally for the constant `lipschitz` and these radii.
    ///
    /// # Errors
    /// If the constant is not positive and finite, or a radius is negative
    /// or not finite.
    pub fn new(lipschitz: f64, radii: &[f64]) -> Result<Self> {
        let invalid = |message: String| Error::InvalidSetting {
            context: "certified robustness".to_string(),
            message,
        };
        if !(lipschitz.is_finite() && lipschitz > 0.0) {
            return Err(invalid(format!(
                "the Lipschitz constant must be positive and finite, got {lipschitz}"
            )));
        }
        if let Some(r) = radii.iter().find(|r| !(r.is_finite() && **r >= 0.0)) {
            return Err(invalid(format!("a radius must be a finite number >= 0, got {r}")));
        }
        Ok(Certification {
            lipschitz,
            radii: radii.to_vec(),
            examples: 0,
            correct: 0,
            certified: vec![0; radii.len()],
        })
    }

    /// Adds a batch of logits `[B, K]` and their labels `[B]`.
    ///
    /// # Panics
    /// If the shapes do not fit.
    pub fn add_batch<T: Float>(&mut self, logits: &Tensor<T>, targets: &IndexTensor) {
        let labels = targets.to_vec();
        let found = margins(logits);
        assert!(
            labels.len() == found.len(),
            "Certification::add_batch: {} labels for {} rows of logits",
            labels.len(),
            found.len()
        );
        for ((predicted, margin), label) in found.into_iter().zip(labels) {
            self.examples += 1;
            if predicted != label {
                continue;
            }
            self.correct += 1;
            let radius = certified_radius(margin, self.lipschitz);
            for (count, eps) in self.certified.iter_mut().zip(&self.radii) {
                // Strictly: a margin of exactly sqrt(2) L eps could tie.
                if radius > *eps {
                    *count += 1;
                }
            }
        }
    }

    /// The clean accuracy (NaN before any example).
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.examples as f64
    }

    /// `(radius, certified accuracy)` per radius.
    pub fn certified_accuracy(&self) -> Vec<(f64, f64)> {
        self.radii
            .iter()
            .zip(&self.certified)
            .map(|(r, c)| (*r, *c as f64 / self.examples as f64))
            .collect()
    }
}

/// Certified accuracy of `model` over batches of `(inputs, labels)` at the
/// L2 `radii`, for its constant `lipschitz` (an upper bound, in the
/// inputs' units), in evaluation mode and without recording a graph (the
/// model's mode is restored).
///
/// ```
/// use nabla::lipschitz::certify;
/// use nabla::nn::Linear;
/// use nabla::{IndexTensor, Tensor};
/// // Logits (x0, -x0) for 1-D inputs: L = sqrt(2), margin 2|x0|, radius |x0|.
/// let mut model = Linear::from_parameters(Tensor::from_vec(vec![1.0f64, -1.0], &[2, 1]), None);
/// let x = Tensor::from_vec(vec![0.3, -0.8], &[2, 1]);
/// let y = IndexTensor::from_vec(vec![0, 1], &[2]);
/// let c = certify(&mut model, [(x, y)], 2f64.sqrt(), &[0.25, 0.5]).unwrap();
/// assert_eq!(c.certified, vec![2, 1]);
/// ```
///
/// # Errors
/// As [`Certification::new`].
pub fn certify<T: Float>(
    model: &mut dyn Layer<T>,
    batches: impl IntoIterator<Item = (Tensor<T>, IndexTensor)>,
    lipschitz: f64,
    radii: &[f64],
) -> Result<Certification> {
    let mut tally = Certification::new(lipschitz, radii)?;
    let was_training = model.is_training();
    model.eval();
    crate::no_grad(|| {
        for (inputs, targets) in batches {
            tally.add_batch(&model.forward(&inputs), &targets);
        }
    });
    model.train(was_training);
    Ok(tally)
}
