//! The GAN objectives: the non-saturating loss of DCGAN (binary
//! cross-entropy on the discriminator's logits) and WGAN-GP's critic loss
//! with its gradient penalty, which differentiates through a gradient.

use crate::autograd::grad;
use crate::element::Float;
use crate::nn::loss::binary_cross_entropy_with_logits;
use crate::tensor::{Generator, Tensor};

/// The discriminator's loss: binary cross-entropy of its logits on real
/// images against 1 plus that on generated images against 0 (each a mean
/// over the batch), as PyTorch's `examples/dcgan` sums `errD_real` and
/// `errD_fake`. Zero-dimensional.
///
/// ```
/// use nabla::generative::discriminator_loss;
/// use nabla::Tensor;
/// let undecided = Tensor::<f64>::zeros(&[4, 1]);
/// let loss = discriminator_loss(&undecided, &undecided).item();
/// assert!((loss - 2.0 * 2f64.ln()).abs() < 1e-12);
/// ```
pub fn discriminator_loss<T: Float>(real_logits: &Tensor<T>, fake_logits: &Tensor<T>) -> Tensor<T> {
    let real = binary_cross_entropy_with_logits(real_logits, &Tensor::ones(real_logits.shape()));
    let fake = binary_cross_entropy_with_logits(fake_logits, &Tensor::zeros(fake_logits.shape()));
    real.add(&fake)
}

/// The generator's non-saturating loss (Goodfellow et al., 2014, section 3):
/// `-log D(G(z))`, the binary cross-entropy of the discriminator's logits on
/// generated images against 1, instead of minimising `log(1 - D(G(z)))`,
/// whose gradient vanishes while the discriminator wins. Zero-dimensional.
///
/// ```
/// use nabla::generative::generator_loss;
/// use nabla::Tensor;
/// let confident_fake = Tensor::<f64>::full(&[2, 1], -10.0);
/// assert!((generator_loss(&confident_fake).item() - 10.0).abs() < 1e-4);
/// ```
pub fn generator_loss<T: Float>(fake_logits: &Tensor<T>) -> Tensor<T> {
    binary_cross_entropy_with_logits(fake_logits, &Tensor::ones(fake_logits.shape()))
}

/// The WGAN critic's loss, `E[C(fake)] - E[C(real)]` (the negative of its
/// estimate of the Wasserstein distance), without the penalty.
///
/// ```
/// use nabla::generative::critic_loss;
/// use nabla::Tensor;
/// let real = Tensor::from_vec(vec![2.0f64, 4.0], &[2, 1]);
/// let fake = Tensor::from_vec(vec![-1.0f64, 1.0], &[2, 1]);
/// assert_eq!(critic_loss(&real, &fake).item(), -3.0);
/// ```
pub fn critic_loss<T: Float>(real_values: &Tensor<T>, fake_values: &Tensor<T>) -> Tensor<T> {
    fake_values.mean().sub(&real_values.mean())
}

/// WGAN-GP's gradient penalty (Gulrajani et al., 2017, algorithm 1):
/// `E[(||∇x̂ C(x̂)||₂ - 1)²]` at points `x̂ = ε x + (1 - ε) x̃` on straight
/// lines between real images `x` and generated ones `x̃`, one `ε ~ U[0, 1]`
/// per example drawn from `generator`. Zero-dimensional, and recorded
/// through the gradient (`create_graph`), so its backward reaches the
/// critic's parameters; multiply it by λ (10) and add it to
/// [`critic_loss`]. `critic` maps `[N, ...]` to `[N, 1]`; `fake` is used
/// detached.
///
/// ```
/// use nabla::generative::gradient_penalty;
/// use nabla::{Generator, Tensor};
/// // A linear critic C(x) = 2 (x0 + x1) has gradient norm 2 sqrt(2) everywhere.
/// let w = Tensor::from_vec(vec![2.0f64, 2.0], &[2, 1]).requires_grad();
/// let critic = |x: &Tensor<f64>| x.matmul(&w);
/// let (real, fake) = (Tensor::ones(&[3, 2]), Tensor::zeros(&[3, 2]));
/// let penalty = gradient_penalty(critic, &real, &fake, &mut Generator::new(0));
/// assert!((penalty.item() - (8f64.sqrt() - 1.0).powi(2)).abs() < 1e-12);
/// penalty.backward(); // through the gradient: 2 (|w| - 1) w / |w|
/// let expected = 2.0 * (8f64.sqrt() - 1.0) * 2.0 / 8f64.sqrt();
/// assert!(w.grad().unwrap().to_vec().iter().all(|g| (g - expected).abs() < 1e-12));
/// ```
///
/// # Panics
/// If `real` and `fake` differ in shape, or the critic's output is not `[N, 1]`.
pub fn gradient_penalty<T: Float>(
    critic: impl Fn(&Tensor<T>) -> Tensor<T>,
    real: &Tensor<T>,
    fake: &Tensor<T>,
    generator: &mut Generator,
) -> Tensor<T> {
    assert!(
        real.shape() == fake.shape() && real.ndim() >= 1 && real.shape()[0] > 0,
        "gradient_penalty: real images {:?} and generated ones {:?} differ in shape",
        real.shape(),
        fake.shape()
    );
    let mut eps_shape = vec![1; real.ndim()];
    eps_shape[0] = real.shape()[0];
    let epsilon = Tensor::rand(&eps_shape, generator);
    gradient_penalty_at(critic, real, fake, &epsilon)
}

/// [`gradient_penalty`] at the given mixing weights `epsilon` `[N, 1, ...]`
/// (one per example, broadcast over its other dimensions):
/// `x̂ = ε x + (1 - ε) x̃`.
///
/// # Panics
/// If `real` and `fake` differ in shape, `epsilon` is not `[N, 1, ...]`,
/// or the critic's output is not `[N, 1]`.
pub fn gradient_penalty_at<T: Float>(
    critic: impl Fn(&Tensor<T>) -> Tensor<T>,
    real: &Tensor<T>,
    fake: &Tensor<T>,
    epsilon: &Tensor<T>,
) -> Tensor<T> {
    let n = real.shape().first().copied().unwrap_or(0);
    assert!(
        n > 0
            && real.shape() == fake.shape()
            && epsilon.ndim() == real.ndim()
            && epsilon.numel() == n
            && epsilon.shape()[0] == n,
        "gradient_penalty_at: real images {:?}, generated ones {:?} and weights {:?} (expected [N, 1, ...])",
        real.shape(),
        fake.shape(),
        epsilon.shape()
    );
    let fake = fake.detach();
    let between = fake.add(&epsilon.mul(&real.detach().sub(&fake))).requires_grad();
    let values = critic(&between);
    assert!(
        values.shape() == [n, 1],
        "gradient_penalty: the critic gave {:?} for {n} examples, expected [{n}, 1]",
        values.shape()
    );
    let gradients = grad(&[&values.sum()], &[&between], true)[0]
        .clone()
        .expect("the critic's output depends on its input");
    let norms = gradients
        .reshape(&[n, gradients.numel() / n])
        .square()
        .sum_dim(1, false)
        .sqrt();
    norms.add_scalar(T::from_f64(-1.0)).square().mean()
}
