//! Adversarial training (Madry et al. 2018): each training batch replaced
//! by its adversarial examples.

use super::attack::{Attack, Goal};
use super::input_gradient::{invalid, AttackMode};
use super::pixels::Pixels;
use crate::data::Batch;
use crate::error::Result;
use crate::nn::loss::{cross_entropy_with, Reduction};
use crate::nn::Layer;
use crate::tensor::{Generator, IndexTensor, Tensor};
use crate::train::metrics::correct_predictions;
use crate::train::{Metric, Step, StepOutput};

/// The [`Step`] of adversarial training for a classifier of pixel batches:
/// the attack runs on the batch with the model in [`AttackMode`], and the
/// loss is the cross-entropy of the model on the adversarial examples
/// (metric `adv_accuracy`). Its evaluation reports the clean `accuracy`
/// and the `adv_accuracy` under the same attack, so a run's log shows both.
///
/// With [`Attack::pgd`] this is Madry et al.'s training; with
/// [`Attack::fgsm_rs`] it is Wong et al.'s fast adversarial training.
///
/// ```
/// use nabla::adversarial::{AdversarialClassification, Attack, Norm, Pixels};
/// use nabla::data::Batch;
/// use nabla::nn::{zoo, Module};
/// use nabla::train::Step;
/// use nabla::{Generator, IndexTensor, Tensor};
/// let mut g = Generator::new(0);
/// let mut model = zoo::lenet5(&mut g);
/// let attack = Attack::pgd(Norm::Linf, 0.3, 2, 0.1).unwrap();
/// let mut step = AdversarialClassification::new(attack, Pixels::raw(), 0).unwrap();
/// let batch = Batch {
///     inputs: Tensor::rand(&[4, 1, 28, 28], &mut g),
///     targets: IndexTensor::from_vec(vec![0, 1, 2, 3], &[4]),
///     indices: vec![0, 1, 2, 3],
/// };
/// let out = step.train_step(&mut model, &batch);
/// assert_eq!((out.examples, out.metrics[0].name.as_str()), (4, "adv_accuracy"));
/// assert!(model.is_training() && out.loss.is_requires_grad());
/// ```
///
/// # Panics
/// In a step, if the model's output is not logits `[B, C]` for the
/// batch's labels, or the inputs leave the attack's range (feed pixels and
/// put the normalisation in `pixels`).
#[derive(Clone, Debug)]
pub struct AdversarialClassification {
    attack: Attack,
    pixels: Pixels,
    generator: Generator,
}

impl AdversarialClassification {
    /// The step attacking with `attack` (untargeted), feeding the model
    /// through `pixels`, its random starts seeded by `seed`.
    ///
    /// # Errors
    /// If the attack's settings are invalid or it is targeted.
    pub fn new(attack: Attack, pixels: Pixels, seed: u64) -> Result<Self> {
        let attack = attack.validated()?;
        if attack.goal == Goal::Targeted {
            return Err(invalid(format!(
                "adversarial training takes an untargeted attack, not {attack}"
            )));
        }
        Ok(AdversarialClassification {
            attack,
            pixels,
            generator: Generator::new(seed),
        })
    }

    /// The attack the batches are replaced by.
    pub fn attack(&self) -> &Attack {
        &self.attack
    }

    fn adversarial<M: Layer + ?Sized>(
        &mut self,
        model: &mut M,
        inputs: &Tensor,
        labels: &IndexTensor,
    ) -> Tensor {
        let attacked = AttackMode::enter(model);
        let pixels = &self.pixels;
        self.attack
            .perturb(
                &|x: &Tensor| attacked.forward(&pixels.to_input(x)),
                inputs,
                labels,
                &mut self.generator,
            )
            .unwrap_or_else(|e| panic!("adversarial training: {e}"))
    }
}

fn accuracy_metric(name: &str, logits: &Tensor, labels: &IndexTensor) -> Metric {
    Metric::sum(name, correct_predictions(logits, labels) as f64, labels.numel())
}

impl<M: Layer + ?Sized> Step<M, Batch> for AdversarialClassification {
    fn train_step(&mut self, model: &mut M, batch: &Batch) -> StepOutput {
        let adversarial = self.adversarial(model, &batch.inputs, &batch.targets);
        let logits = model.forward(&self.pixels.to_input(&adversarial));
        let loss = cross_entropy_with(&logits, &batch.targets, None, None, Reduction::Mean);
        let n = batch.targets.numel();
        StepOutput::new(loss, n).with(accuracy_metric("adv_accuracy", &logits, &batch.targets))
    }

    fn eval_step(&mut self, model: &mut M, batch: &Batch) -> StepOutput {
        let logits = model.forward(&self.pixels.to_input(&batch.inputs));
        let loss = cross_entropy_with(&logits, &batch.targets, None, None, Reduction::Mean);
        let adversarial = self.adversarial(model, &batch.inputs, &batch.targets);
        let adversarial_logits = crate::no_grad(|| model.forward(&self.pixels.to_input(&adversarial)));
        let n = batch.targets.numel();
        StepOutput::new(loss, n)
            .with(accuracy_metric("accuracy", &logits, &batch.targets))
            .with(accuracy_metric(
                "adv_accuracy",
                &adversarial_logits,
                &batch.targets,
            ))
    }
}
