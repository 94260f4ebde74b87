//! Adversarial examples (chapter 8 of the course): attacks that search the
//! neighbourhood of an input for the perturbation that fools a classifier,
//! the robust accuracy they leave, and training that resists them.
//!
//! - [`Attack`]: FGSM (one signed-gradient step), FGSM with a random start
//!   (Wong et al. 2020), and projected gradient descent (Madry et al. 2018)
//!   under the L∞ or L2 norm, with a random start, a step size, a number of
//!   steps and random restarts (the worst case over restarts counts);
//!   untargeted or targeted; inputs kept in their valid range.
//! - [`robust_accuracy`]: clean and adversarial accuracy over a data set,
//!   batch by batch, with the attacks' settings beside the figures.
//! - [`AdversarialClassification`]: the training [`Step`](crate::train::Step)
//!   whose batches are replaced by their adversarial examples (Madry's
//!   adversarial training), for [`fit`](crate::train::fit) with any model.
//!
//! An attack sees the model as a function from inputs to logits `[B, C]`
//! (any closure: a [`Layer`](crate::nn::Layer), or a layer behind an input
//! normalisation as [`Pixels`] writes it), differentiates a per-example loss
//! ([`AttackLoss`]) with respect to the input, and never touches the model's
//! parameters' gradients.
//!
//! ```
//! use nabla::adversarial::{robust_accuracy_of_batch, Attack, Norm};
//! use nabla::nn::{Layer, Linear};
//! use nabla::{Generator, IndexTensor, Tensor};
//! let mut g = Generator::new(0);
//! let model = Linear::new(4, 3, true, &mut g);
//! let x = Tensor::rand(&[8, 4], &mut g);
//! let y = IndexTensor::from_vec(vec![0, 1, 2, 0, 1, 2, 0, 1], &[8]);
//! let pgd = Attack::pgd(Norm::Linf, 0.1, 10, 0.025).unwrap();
//! let x_adv = pgd.perturb(&|x: &Tensor| model.forward(x), &x, &y, &mut g).unwrap();
//! // Never farther than eps from the input, never outside [0, 1].
//! assert!((&x_adv - &x).abs().max().item() <= 0.1 + 1e-6);
//! assert!(x_adv.min().item() >= 0.0 && x_adv.max().item() <= 1.0);
//! let (clean, robust) = robust_accuracy_of_batch(&|x: &Tensor| model.forward(x), &x, &x_adv, &y);
//! assert!(robust <= clean);
//! ```

mod attack;
mod evaluate;
mod input_gradient;
mod loss;
mod pixels;
mod threat;
mod training;

pub use attack::{Attack, Goal, Method};
pub use evaluate::{robust_accuracy, robust_accuracy_of_batch, RobustAccuracy, RobustnessReport};
pub use input_gradient::{loss_and_input_gradient, AttackMode};
pub use loss::AttackLoss;
pub use pixels::Pixels;
pub use threat::Norm;
pub use training::AdversarialClassification;
