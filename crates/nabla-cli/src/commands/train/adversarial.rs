//! `nabla train --adversarial pgd|fgsm-rs`: a classifier trained on the
//! adversarial examples of its batches (Madry et al.; Wong et al.'s fast
//! variant), the attack recorded with the run's settings.

use nabla::adversarial::{AdversarialClassification, Attack, Norm};
use serde::{Deserialize, Serialize};

use crate::data::Normalization;
use crate::options;

/// The attacks a run can train against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdversarialMethod {
    /// Projected gradient descent from a random start (Madry et al. 2018).
    Pgd,
    /// One FGSM step of 1.25 eps from a random start (Wong et al. 2020).
    FgsmRs,
}

/// The options of adversarial training.
#[derive(clap::Args, Clone, Debug, Default)]
#[command(next_help_heading = "Adversarial training (classifiers)")]
pub struct AdversarialArgs {
    /// Train on each batch's adversarial examples under the L∞ norm, found
    /// by pgd or fgsm-rs, with the model in eval mode; the test figures
    /// add the accuracy under the same attack (val_adv_accuracy).
    #[arg(long, value_enum)]
    pub adversarial: Option<AdversarialMethod>,
    /// The attack's radius in pixels (the range is [0, 1]) [default: 0.3].
    #[arg(long, allow_negative_numbers = true, value_parser = options::non_negative)]
    pub eps: Option<f64>,
    /// PGD's steps per batch, at least 1 [default: 7].
    #[arg(long, value_parser = options::count)]
    pub attack_steps: Option<usize>,
    /// PGD's step size in pixels [default: 2.5 eps / steps, Madry et al.'s rule].
    #[arg(long, allow_negative_numbers = true, value_parser = options::positive)]
    pub attack_step_size: Option<f64>,
}

impl AdversarialArgs {
    /// The adversarial-training options given (to refuse them without
    /// --adversarial, or for a model that is not a classifier).
    pub fn given(&self) -> Vec<&'static str> {
        [
            ("--adversarial", self.adversarial.is_some()),
            ("--eps", self.eps.is_some()),
            ("--attack-steps", self.attack_steps.is_some()),
            ("--attack-step-size", self.attack_step_size.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }

    /// The attack of the run, or `None` without `--adversarial`.
    ///
    /// # Errors
    /// Attack options without `--adversarial`, or PGD's options for fgsm-rs.
    pub fn attack(&self) -> Result<Option<Attack>, String> {
        let Some(method) = self.adversarial else {
            return match self.given().first() {
                Some(option) => Err(format!(
                    "{option} sets the attack of --adversarial pgd|fgsm-rs, which was not given"
                )),
                None => Ok(None),
            };
        };
        let eps = self.eps.unwrap_or(0.3);
        let attack = match method {
            AdversarialMethod::Pgd => {
                let steps = self.attack_steps.unwrap_or(7);
                let step_size = self.attack_step_size.unwrap_or(2.5 * eps / steps as f64);
                Attack::pgd(Norm::Linf, eps, steps, step_size).map(|a| a.keep_best(false))
            }
            AdversarialMethod::FgsmRs => {
                if let Some(option) = [
                    ("--attack-steps", self.attack_steps.is_some()),
                    ("--attack-step-size", self.attack_step_size.is_some()),
                ]
                .iter()
                .find_map(|(o, given)| given.then_some(o))
                {
                    return Err(format!(
                        "{option} is an option of --adversarial pgd; fgsm-rs takes one step of 1.25 eps"
                    ));
                }
                Attack::fgsm_rs(Norm::Linf, eps)
            }
        };
        attack.map(Some).map_err(|e| e.to_string())
    }
}

/// The training step against `attack`, the model seeing pixels through
/// `normalization` (the loader then gives pixels in [0, 1]).
pub fn step(
    attack: &Attack,
    normalization: &Normalization,
    seed: u64,
) -> Result<AdversarialClassification, String> {
    AdversarialClassification::new(attack.clone(), normalization.pixels(), seed).map_err(|e| e.to_string())
}
