//! [`ToDtype`]: a module converted to another element type, as PyTorch's
//! `model.double()` / `model.float()`.

use crate::element::Float;
use crate::tensor::Tensor;

/// A copy of a module in element type `U`: the same architecture and
/// values, with new parameters (leaves that require a gradient as the
/// originals do) and buffers. Run an `f32` model's architecture in `f64`
/// for a gradient check, or go back.
///
/// `#[derive(Module)]` implements it for structs generic over their element
/// type; [`Sequential`](super::Sequential) converts layer by layer.
///
/// ```
/// use nabla::autograd::{gradcheck, GradcheckOptions};
/// use nabla::nn::{Layer, Linear, Module, Relu, Sequential, ToDtype};
/// use nabla::{Generator, Tensor};
///
/// let mut g = Generator::new(0);
/// let model: Sequential = Sequential::new()
///     .add(Linear::new(3, 4, true, &mut g))
///     .add(Relu)
///     .add(Linear::new(4, 2, true, &mut g));
/// let double = model.to_f64();
/// assert_eq!(double.state_dict()[0].1.to_vec()[0], model.state_dict()[0].1.to_vec()[0] as f64);
/// let x = Tensor::<f64>::randn(&[5, 3], &mut g).requires_grad();
/// assert!(gradcheck(|inputs| double.forward(&inputs[0]), &[x], &GradcheckOptions::default()).is_ok());
/// ```
pub trait ToDtype {
    /// The module's type over element type `U`.
    type Output<U: Float>;

    /// The module in element type `U`.
    fn to_dtype<U: Float>(&self) -> Self::Output<U>;

    /// The module in `f64`, as PyTorch's `model.double()`.
    fn to_f64(&self) -> Self::Output<f64> {
        self.to_dtype::<f64>()
    }

    /// The module in `f32`, as PyTorch's `model.float()`.
    fn to_f32(&self) -> Self::Output<f32> {
        self.to_dtype::<f32>()
    }
}

/// A parameter or buffer converted to element type `U`: a new leaf with the
/// same values (rounded to `U`), requiring a gradient when `t` does. What
/// [`ToDtype`] does to each tensor of a module.
///
/// ```
/// use nabla::nn::cast_parameter;
/// use nabla::Tensor;
/// let w = Tensor::from_vec(vec![0.5f32, 1.5], &[2]).requires_grad();
/// let w64: Tensor<f64> = cast_parameter(&w);
/// assert_eq!(w64.to_vec(), vec![0.5, 1.5]);
/// assert!(w64.is_requires_grad() && w64.is_leaf());
/// ```
pub fn cast_parameter<T: Float, U: Float>(t: &Tensor<T>) -> Tensor<U> {
    let cast = t.detach().to_dtype::<U>();
    if t.is_requires_grad() {
        cast.requires_grad()
    } else {
        cast
    }
}
