//! The gradient of a per-example loss with respect to the input, and the
//! mode a model is attacked in.

use crate::autograd::{grad, mode::with_grad_mode};
use crate::element::Float;
use crate::error::{Error, Result};
use crate::nn::Module;
use crate::tensor::{IndexTensor, Tensor};

/// The per-example losses `[B]`, the logits `[B, C]` (both without a
/// graph) and the gradient of the summed loss with respect to `inputs`
/// (`[B, ...]`, so each example's gradient is its own loss's).
///
/// Recording is switched on for the call even inside
/// [`no_grad`](crate::no_grad) (as `torch.enable_grad()` would), so an
/// evaluation loop can attack. The model's parameters receive no gradient
/// (only the input's is asked for); freeze them ([`AttackMode`]) to spare
/// the backward pass their computation too.
///
/// # Errors
/// When the model's output is not logits `[B, C]` over at least two classes
/// for the `B` labels, a label is not a class, or the loss is not `[B]`.
///
/// ```
/// use nabla::adversarial::{loss_and_input_gradient, AttackLoss};
/// use nabla::{IndexTensor, Tensor};
/// // Logits (x0, x1): the cross-entropy of class 0 falls as x0 grows.
/// let x = Tensor::from_vec(vec![0.0f64, 0.0], &[1, 2]);
/// let y = IndexTensor::from_vec(vec![0], &[1]);
/// let model = |x: &Tensor<f64>| x.clone();
/// let (loss, _, g) = loss_and_input_gradient(&model, &|z, y| AttackLoss::CrossEntropy.per_example(z, y), &x, &y).unwrap();
/// assert!((loss.item() - 2f64.ln()).abs() < 1e-12);
/// assert_eq!(g.to_vec(), vec![-0.5, 0.5]);
/// ```
#[allow(clippy::type_complexity)]
pub fn loss_and_input_gradient<T: Float>(
    model: &dyn Fn(&Tensor<T>) -> Tensor<T>,
    loss: &dyn Fn(&Tensor<T>, &IndexTensor) -> Tensor<T>,
    inputs: &Tensor<T>,
    labels: &IndexTensor,
) -> Result<(Tensor<T>, Tensor<T>, Tensor<T>)> {
    with_grad_mode(true, || {
        let x = inputs.detach().requires_grad();
        let logits = model(&x);
        check_logits(&logits, labels)?;
        let losses = loss(&logits, labels);
        if losses.shape() != [labels.numel()] {
            return Err(invalid(format!(
                "the attack's loss gives shape {:?} for {} examples; it must give one loss per example",
                losses.shape(),
                labels.numel()
            )));
        }
        let gradient = grad(&[&losses.sum()], &[&x], false)[0]
            .clone()
            .unwrap_or_else(|| Tensor::zeros(inputs.shape()));
        Ok((losses.detach(), logits.detach(), gradient))
    })
}

/// Checks that `logits` are `[B, C]` over `C >= 2` classes for `B` labels,
/// each below `C`.
pub(crate) fn check_logits<T: Float>(logits: &Tensor<T>, labels: &IndexTensor) -> Result<()> {
    let shape = logits.shape();
    if shape.len() != 2 || shape[0] != labels.numel() || shape[1] < 2 {
        return Err(invalid(format!(
            "the model gives an output of shape {shape:?} for {} examples; an attack needs logits [B, C] \
             over at least two classes",
            labels.numel()
        )));
    }
    if let Some(&label) = labels.as_slice().iter().find(|&&l| l >= shape[1]) {
        return Err(invalid(format!(
            "label {label} is not one of the model's {} classes",
            shape[1]
        )));
    }
    Ok(())
}

pub(crate) fn invalid(message: String) -> Error {
    Error::InvalidSetting {
        context: "attack".into(),
        message,
    }
}

/// A model switched to how it is attacked, until the guard drops: eval
/// mode (batch norm uses its running statistics, dropout is off) and every
/// parameter frozen, so the backward pass computes the input's gradient
/// alone. Dropping the guard restores the mode and each parameter's
/// `requires_grad`.
///
/// ```
/// use nabla::adversarial::AttackMode;
/// use nabla::nn::{BatchNorm1d, Module};
/// let mut model = BatchNorm1d::<f32>::new(3);
/// {
///     let attacked = AttackMode::enter(&mut model);
///     assert!(!attacked.is_training() && attacked.num_trainable_parameters() == 0);
/// }
/// assert!(model.is_training() && model.num_trainable_parameters() == 6);
/// ```
pub struct AttackMode<'m, M: Module<T> + ?Sized, T: Float = f32> {
    model: &'m mut M,
    was_training: bool,
    required_grad: Vec<bool>,
    _element: std::marker::PhantomData<T>,
}

impl<'m, M: Module<T> + ?Sized, T: Float> AttackMode<'m, M, T> {
    /// Puts `model` in eval mode with its parameters frozen.
    pub fn enter(model: &'m mut M) -> Self {
        let was_training = model.is_training();
        let required_grad = model.parameters().iter().map(Tensor::is_requires_grad).collect();
        model.eval();
        model.freeze(true);
        AttackMode {
            model,
            was_training,
            required_grad,
            _element: std::marker::PhantomData,
        }
    }
}

impl<M: Module<T> + ?Sized, T: Float> std::ops::Deref for AttackMode<'_, M, T> {
    type Target = M;
    fn deref(&self) -> &M {
        self.model
    }
}

impl<M: Module<T> + ?Sized, T: Float> Drop for AttackMode<'_, M, T> {
    fn drop(&mut self) {
        for (p, required) in self.model.parameters().iter().zip(&self.required_grad) {
            p.set_requires_grad(*required);
        }
        self.model.train(self.was_training);
    }
}
