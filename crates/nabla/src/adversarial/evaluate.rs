//! Clean and robust accuracy over a data set, batch by batch.

use std::fmt;

use super::attack::{Attack, Goal};
use super::input_gradient::AttackMode;
use super::pixels::Pixels;
use crate::autograd::no_grad;
use crate::data::DataLoader;
use crate::element::Float;
use crate::error::Result;
use crate::nn::Layer;
use crate::tensor::{Generator, IndexTensor, Tensor};

/// The examples of a batch that `model` classifies right, on the clean
/// inputs and on both the clean and the adversarial ones (an example
/// misclassified before the attack counts as a failure of the model, as
/// in PyTorch's FGSM tutorial and RobustBench).
pub fn robust_accuracy_of_batch<T: Float>(
    model: &dyn Fn(&Tensor<T>) -> Tensor<T>,
    clean: &Tensor<T>,
    adversarial: &Tensor<T>,
    labels: &IndexTensor,
) -> (usize, usize) {
    let (clean_right, adversarial_right) =
        no_grad(|| (right(model, clean, labels), right(model, adversarial, labels)));
    let robust = clean_right
        .iter()
        .zip(&adversarial_right)
        .filter(|(c, a)| **c && **a)
        .count();
    (clean_right.iter().filter(|c| **c).count(), robust)
}

fn right<T: Float>(
    model: &dyn Fn(&Tensor<T>) -> Tensor<T>,
    x: &Tensor<T>,
    labels: &IndexTensor,
) -> Vec<bool> {
    let predicted = model(x).argmax(1, false);
    predicted
        .as_slice()
        .iter()
        .zip(labels.as_slice())
        .map(|(p, y)| p == y)
        .collect()
}

/// One attack's figure: the examples classified right both before and
/// after it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RobustAccuracy {
    /// The attack, with every setting.
    pub attack: Attack,
    /// The examples still classified right under the attack.
    pub correct: u64,
}

/// The clean accuracy and the robust accuracy under each attack, over the
/// same examples.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RobustnessReport {
    /// The examples evaluated.
    pub examples: u64,
    /// The examples classified right without an attack.
    pub clean_correct: u64,
    /// One row per attack, in the order given.
    pub attacks: Vec<RobustAccuracy>,
}

impl RobustnessReport {
    /// The fraction classified right without an attack.
    pub fn clean_accuracy(&self) -> f64 {
        self.clean_correct as f64 / self.examples.max(1) as f64
    }

    /// The fraction classified right under attack `i`.
    pub fn accuracy(&self, i: usize) -> f64 {
        self.attacks[i].correct as f64 / self.examples.max(1) as f64
    }
}

impl fmt::Display for RobustnessReport {
    /// A table: the clean row, then one row per attack with its eps, its
    /// accuracy, the examples kept, and the attack's settings.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:>8}  {:>9}  {:>13}  attack", "eps", "accuracy", "correct")?;
        let row = |f: &mut fmt::Formatter<'_>, eps: f64, correct: u64, what: &str| {
            writeln!(
                f,
                "{eps:>8}  {:>8.2}%  {:>13}  {what}",
                100.0 * correct as f64 / self.examples.max(1) as f64,
                format!("{correct}/{}", self.examples)
            )
        };
        row(f, 0.0, self.clean_correct, "none (clean)")?;
        for a in &self.attacks {
            row(f, a.attack.eps, a.correct, &a.attack.to_string())?;
        }
        Ok(())
    }
}

/// Attacks every batch of `loader` (its epoch 0, pixel inputs `[B, ...]`
/// in the attacks' range) with each of `attacks`, feeding `model` the
/// pixels through `pixels`, in eval mode with its parameters frozen
/// ([`AttackMode`]; the model is restored afterwards). `seed` seeds the
/// random starts. `after_batch` sees the running report after each batch
/// (for a progress line).
///
/// # Errors
/// An attack's error (invalid settings, inputs outside the range, a model
/// without logits over the labels), or a targeted attack (which needs
/// targets a data set does not give).
///
/// ```
/// use nabla::adversarial::{robust_accuracy, Attack, Norm, Pixels};
/// use nabla::data::{DataLoader, LoaderConfig, TensorDataset};
/// use nabla::nn::{zoo, Module};
/// use nabla::{Generator, IndexTensor, Tensor};
/// use std::sync::Arc;
/// let mut g = Generator::new(0);
/// let mut model = zoo::lenet5(&mut g);
/// let images = Tensor::rand(&[8, 1, 28, 28], &mut g);
/// let labels = IndexTensor::from_vec((0..8).map(|i| i % 10).collect(), &[8]);
/// let loader = DataLoader::new(Arc::new(TensorDataset::new(images, labels, 10)), LoaderConfig { batch_size: 4, ..LoaderConfig::default() });
/// let attacks = [Attack::fgsm(Norm::Linf, 0.1).unwrap(), Attack::pgd(Norm::Linf, 0.1, 3, 0.05).unwrap()];
/// let report = robust_accuracy(&mut model, &Pixels::raw(), &loader, &attacks, 0, &mut |_| ()).unwrap();
/// assert_eq!(report.examples, 8);
/// assert!(report.attacks.iter().all(|a| a.correct <= report.clean_correct));
/// assert!(model.is_training()); // restored
/// ```
pub fn robust_accuracy<M: Layer + ?Sized>(
    model: &mut M,
    pixels: &Pixels,
    loader: &DataLoader,
    attacks: &[Attack],
    seed: u64,
    after_batch: &mut dyn FnMut(&RobustnessReport),
) -> Result<RobustnessReport> {
    if let Some(targeted) = attacks.iter().find(|a| a.goal == Goal::Targeted) {
        return Err(super::input_gradient::invalid(format!(
            "robust accuracy takes untargeted attacks; {targeted} needs target labels"
        )));
    }
    let attacked = AttackMode::enter(model);
    let classify = |x: &Tensor| attacked.forward(&pixels.to_input(x));
    let mut generator = Generator::new(seed);
    let mut report = RobustnessReport {
        examples: 0,
        clean_correct: 0,
        attacks: attacks
            .iter()
            .map(|a| RobustAccuracy {
                attack: a.clone(),
                correct: 0,
            })
            .collect(),
    };
    for batch in loader.epoch(0) {
        let (x, y) = (&batch.inputs, &batch.targets);
        let clean_right = no_grad(|| right(&classify, x, y));
        for row in &mut report.attacks {
            let adversarial = row.attack.perturb(&classify, x, y, &mut generator)?;
            let adversarial_right = no_grad(|| right(&classify, &adversarial, y));
            row.correct += clean_right
                .iter()
                .zip(&adversarial_right)
                .filter(|(c, a)| **c && **a)
                .count() as u64;
        }
        report.clean_correct += clean_right.iter().filter(|c| **c).count() as u64;
        report.examples += y.numel() as u64;
        after_batch(&report);
    }
    Ok(report)
}
