//! The attacks: FGSM, FGSM with a random start, and projected gradient
//! descent, as one configuration ([`Attack`]) run by one loop.

use std::fmt;

use super::input_gradient::{check_logits, invalid, loss_and_input_gradient};
use super::loss::AttackLoss;
use super::threat::{ascent_direction, Ball, Norm};
use crate::autograd::no_grad;
use crate::element::Float;
use crate::error::Result;
use crate::tensor::{Generator, IndexTensor, Tensor};

/// Which attack an [`Attack`] is (for its name in reports; the loop is the
/// same).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// The fast gradient sign method (Goodfellow et al. 2015): one step of
    /// size eps along the gradient's sign (its direction under L2).
    Fgsm,
    /// FGSM from a random point of the ball with a step of 1.25 eps (Wong
    /// et al. 2020, "Fast is better than free").
    FgsmRs,
    /// Projected gradient descent (Madry et al. 2018).
    Pgd,
}

/// Whether the attack pushes an example away from its label or towards a
/// target class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Goal {
    /// Away from the true label: the loss is maximised, and the attack
    /// succeeds when the prediction is any other class.
    #[default]
    Untargeted,
    /// Towards the labels given as targets: the loss is minimised, and the
    /// attack succeeds when the prediction is the target.
    Targeted,
}

/// An attack's settings; [`perturb`](Attack::perturb) runs it on a batch.
///
/// Each of `restarts` runs starts at the input (or a random point of the
/// ball), takes `steps` steps of `step_size` along the steepest-ascent
/// direction of the loss under the norm (the gradient's sign for L∞, the
/// gradient over its length for L2), and projects back onto the ball of
/// radius `eps` around the input and into `range`. With `keep_best`, each
/// example keeps the best iterate seen: one that fools the model if any
/// does, else the one of highest loss; with several restarts the worst
/// case for the model counts in any case.
///
/// ```
/// use nabla::adversarial::{Attack, Norm};
/// let pgd = Attack::pgd(Norm::Linf, 0.3, 40, 0.01).unwrap().restarts(5);
/// assert_eq!(pgd.to_string(), "PGD-40 linf eps 0.3, step 0.01, random start, 5 restarts, untargeted, cross-entropy, range [0, 1]");
/// assert!(Attack::fgsm(Norm::Linf, -0.1).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Attack {
    /// Which attack this is.
    pub method: Method,
    /// The norm of the perturbation.
    pub norm: Norm,
    /// The radius of the ball the perturbation stays in.
    pub eps: f64,
    /// The length of each step (under the norm).
    pub step_size: f64,
    /// The number of gradient steps of each run.
    pub steps: usize,
    /// Whether each run starts at a random point of the ball.
    pub random_start: bool,
    /// The number of runs; each example keeps the worst case for the model.
    pub restarts: usize,
    /// Untargeted or targeted.
    pub goal: Goal,
    /// The loss ascended.
    pub loss: AttackLoss,
    /// The valid input range, `None` for unbounded inputs.
    pub range: Option<(f64, f64)>,
    /// Whether each example keeps its best iterate rather than the last.
    pub keep_best: bool,
}

impl Attack {
    /// FGSM: one step of size `eps` from the input.
    ///
    /// # Errors
    /// If `eps` is negative or not finite.
    pub fn fgsm(norm: Norm, eps: f64) -> Result<Self> {
        Attack {
            method: Method::Fgsm,
            norm,
            eps,
            step_size: eps,
            steps: 1,
            random_start: false,
            restarts: 1,
            goal: Goal::Untargeted,
            loss: AttackLoss::CrossEntropy,
            range: Some((0.0, 1.0)),
            keep_best: false,
        }
        .validated()
    }

    /// FGSM with a random start and a step of 1.25 `eps`, projected back
    /// onto the ball: the attack of fast adversarial training.
    ///
    /// # Errors
    /// If `eps` is negative or not finite.
    pub fn fgsm_rs(norm: Norm, eps: f64) -> Result<Self> {
        Attack {
            method: Method::FgsmRs,
            random_start: true,
            step_size: 1.25 * eps,
            ..Attack::fgsm(norm, eps)?
        }
        .validated()
    }

    /// PGD: `steps` steps of `step_size` from a random start, one run,
    /// keeping each example's best iterate.
    ///
    /// # Errors
    /// If `eps` or `step_size` is negative or not finite, or `steps` is 0.
    pub fn pgd(norm: Norm, eps: f64, steps: usize, step_size: f64) -> Result<Self> {
        Attack {
            method: Method::Pgd,
            norm,
            eps,
            step_size,
            steps,
            random_start: true,
            restarts: 1,
            goal: Goal::Untargeted,
            loss: AttackLoss::CrossEntropy,
            range: Some((0.0, 1.0)),
            keep_best: true,
        }
        .validated()
    }

    /// The attack with `restarts` runs (at least 1).
    pub fn restarts(self, restarts: usize) -> Self {
        Attack { restarts, ..self }
    }

    /// The attack towards target labels: [`perturb`](Self::perturb)'s
    /// labels are then the targets.
    pub fn targeted(self) -> Self {
        Attack {
            goal: Goal::Targeted,
            ..self
        }
    }

    /// The attack ascending `loss`.
    pub fn with_loss(self, loss: AttackLoss) -> Self {
        Attack { loss, ..self }
    }

    /// The attack with inputs kept in `[lo, hi]`, or unbounded for `None`.
    pub fn range(self, range: Option<(f64, f64)>) -> Self {
        Attack { range, ..self }
    }

    /// The attack with a random start or without.
    pub fn random_start(self, random_start: bool) -> Self {
        Attack { random_start, ..self }
    }

    /// The attack keeping each example's best iterate (`true`) or its last.
    pub fn keep_best(self, keep_best: bool) -> Self {
        Attack { keep_best, ..self }
    }

    /// The attack with another radius, and its step scaled with it for the
    /// FGSM methods, whose step is tied to eps.
    ///
    /// # Errors
    /// If `eps` is negative or not finite.
    pub fn with_eps(&self, eps: f64) -> Result<Self> {
        let step_size = match self.method {
            Method::Fgsm => eps,
            Method::FgsmRs => 1.25 * eps,
            Method::Pgd => self.step_size,
        };
        Attack {
            eps,
            step_size,
            ..self.clone()
        }
        .validated()
    }

    /// The settings checked: eps and the step non-negative and finite, at
    /// least one step and one run, a range with `lo <= hi`.
    ///
    /// # Errors
    /// The first setting that is not, named.
    pub fn validated(self) -> Result<Self> {
        let finite_non_negative = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(invalid(format!("{name} must be a finite number >= 0, not {v}")))
            }
        };
        finite_non_negative("eps", self.eps)?;
        finite_non_negative("the step size", self.step_size)?;
        if self.steps == 0 || self.restarts == 0 {
            return Err(invalid(format!(
                "an attack needs at least one step and one run, not {} steps and {} restarts",
                self.steps, self.restarts
            )));
        }
        if let Some((lo, hi)) = self.range {
            if lo.is_nan() || hi.is_nan() || lo > hi {
                return Err(invalid(format!("the input range [{lo}, {hi}] is empty")));
            }
        }
        Ok(self)
    }

    /// The adversarial examples `[B, ...]` of `inputs [B, ...]` against
    /// `model` (inputs to logits `[B, C]`), with this attack's loss;
    /// `labels [B]` are the true labels, or the targets of a targeted
    /// attack. Put a [`Layer`](crate::nn::Layer) in
    /// [`AttackMode`](super::AttackMode) first.
    ///
    /// # Errors
    /// Invalid settings, an input outside the range, or a model whose
    /// output is not logits over the labels' classes.
    pub fn perturb<T: Float>(
        &self,
        model: &dyn Fn(&Tensor<T>) -> Tensor<T>,
        inputs: &Tensor<T>,
        labels: &IndexTensor,
        generator: &mut Generator,
    ) -> Result<Tensor<T>> {
        let loss = self.loss;
        self.perturb_with(model, &|z, y| loss.per_example(z, y), inputs, labels, generator)
    }

    /// [`perturb`](Self::perturb) with any differentiable per-example loss
    /// (logits `[B, C]` and labels `[B]` to losses `[B]`).
    ///
    /// # Errors
    /// As [`perturb`](Self::perturb).
    pub fn perturb_with<T: Float>(
        &self,
        model: &dyn Fn(&Tensor<T>) -> Tensor<T>,
        loss: &dyn Fn(&Tensor<T>, &IndexTensor) -> Tensor<T>,
        inputs: &Tensor<T>,
        labels: &IndexTensor,
        generator: &mut Generator,
    ) -> Result<Tensor<T>> {
        let attack = self.clone().validated()?;
        if inputs.ndim() == 0 || inputs.shape()[0] != labels.numel() {
            return Err(invalid(format!(
                "inputs of shape {:?} for {} labels: the first dimension must be the batch",
                inputs.shape(),
                labels.numel()
            )));
        }
        if let Some((lo, hi)) = attack.range {
            let (min, max) = (inputs.min().item().as_f64(), inputs.max().item().as_f64());
            if min < lo || max > hi {
                return Err(invalid(format!(
                    "inputs span [{min}, {max}], outside the valid range [{lo}, {hi}] (attacks take pixels; \
                     normalise inside the model, see Pixels)"
                )));
            }
        }
        let ball = Ball {
            center: inputs,
            norm: attack.norm,
            eps: attack.eps,
            range: attack.range,
        };
        let ascent = match attack.goal {
            Goal::Untargeted => 1.0,
            Goal::Targeted => -1.0,
        };
        let step = T::from_f64(ascent * attack.step_size);
        let judge_every_iterate = attack.keep_best;
        let mut best: Option<Best<T>> = None;
        for _ in 0..attack.restarts {
            let mut x = if attack.random_start {
                ball.random_point(generator)
            } else {
                inputs.clone()
            };
            for _ in 0..attack.steps {
                let (losses, logits, gradient) = loss_and_input_gradient(model, loss, &x, labels)?;
                if judge_every_iterate {
                    Best::offer(&mut best, &x, &losses, &logits, labels, attack.goal);
                }
                x = ball.project(&(&x + &(ascent_direction(&gradient, attack.norm) * step)));
            }
            if attack.restarts == 1 && !judge_every_iterate {
                return Ok(x);
            }
            let (losses, logits) = no_grad(|| {
                let logits = model(&x);
                check_logits(&logits, labels).map(|()| (loss(&logits, labels), logits))
            })?;
            Best::offer(&mut best, &x, &losses, &logits, labels, attack.goal);
        }
        Ok(best.map(|b| b.inputs).unwrap_or_else(|| inputs.clone()))
    }
}

/// Each example's worst case for the model so far: its input, whether it
/// fools the model, and its loss (negated for a targeted attack, so higher
/// is always better for the attack).
struct Best<T: Float> {
    inputs: Tensor<T>,
    fooled: Vec<bool>,
    score: Vec<f64>,
}

impl<T: Float> Best<T> {
    fn offer(
        best: &mut Option<Best<T>>,
        inputs: &Tensor<T>,
        losses: &Tensor<T>,
        logits: &Tensor<T>,
        labels: &IndexTensor,
        goal: Goal,
    ) {
        let predicted = logits.argmax(1, false);
        let fooled: Vec<bool> = predicted
            .as_slice()
            .iter()
            .zip(labels.as_slice())
            .map(|(p, y)| (p == y) == (goal == Goal::Targeted))
            .collect();
        let sign = if goal == Goal::Targeted { -1.0 } else { 1.0 };
        let score: Vec<f64> = losses.to_vec().iter().map(|l| sign * l.as_f64()).collect();
        let Some(current) = best else {
            *best = Some(Best {
                inputs: inputs.detach(),
                fooled,
                score,
            });
            return;
        };
        let better: Vec<bool> = (0..score.len())
            .map(|i| {
                (fooled[i] && !current.fooled[i])
                    || (fooled[i] == current.fooled[i] && score[i] > current.score[i])
            })
            .collect();
        if !better.iter().any(|&b| b) {
            return;
        }
        let mut mask_shape = vec![1; inputs.ndim()];
        mask_shape[0] = better.len();
        let mask = Tensor::from_vec(
            better
                .iter()
                .map(|&b| T::from_f64(f64::from(u8::from(b))))
                .collect(),
            &mask_shape,
        );
        current.inputs = Tensor::where_(&mask, &inputs.detach(), &current.inputs);
        for (i, b) in better.iter().enumerate() {
            if *b {
                current.fooled[i] = fooled[i];
                current.score[i] = score[i];
            }
        }
    }
}

impl fmt::Display for Attack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.method {
            Method::Fgsm => write!(f, "FGSM {} eps {}", self.norm, self.eps)?,
            Method::FgsmRs => write!(
                f,
                "FGSM-RS {} eps {}, step {}",
                self.norm, self.eps, self.step_size
            )?,
            Method::Pgd => write!(
                f,
                "PGD-{} {} eps {}, step {}{}",
                self.steps,
                self.norm,
                self.eps,
                self.step_size,
                if self.random_start { ", random start" } else { "" }
            )?,
        }
        if self.restarts > 1 {
            write!(f, ", {} restarts", self.restarts)?;
        }
        let goal = match self.goal {
            Goal::Untargeted => "untargeted",
            Goal::Targeted => "targeted",
        };
        write!(f, ", {goal}, {}", self.loss)?;
        match self.range {
            Some((lo, hi)) => write!(f, ", range [{lo}, {hi}]"),
            None => write!(f, ", unbounded"),
        }
    }
}
