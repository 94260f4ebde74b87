//! Gradient checks (f64) of the layers as modules: the parameters a module
//! owns get the same gradients as finite differences give.

use nabla::autograd::{gradcheck, gradgradcheck, GradcheckOptions};
use nabla::nn::{Dropout, Flatten, Identity, Layer, Linear, Relu, Sequential, Tanh};
use nabla::{Generator, Tensor};

fn check(f: impl Fn(&[Tensor<f64>]) -> Tensor<f64>, inputs: &[Tensor<f64>]) {
    if let Err(e) = gradcheck(&f, inputs, &GradcheckOptions::default()) {
        panic!("{e}");
    }
    if let Err(e) = gradgradcheck(&f, inputs, &GradcheckOptions::default()) {
        panic!("second order: {e}");
    }
}

fn randn(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::randn(shape, &mut Generator::new(seed))
}

#[test]
fn linear_with_and_without_bias() {
    for bias in [true, false] {
        let layer = Linear::<f64>::new(4, 3, bias, &mut Generator::new(1));
        let x = randn(&[5, 4], 2);
        // As a function of the input...
        check(|t| layer.forward(&t[0]).tanh(), std::slice::from_ref(&x));
        // ...and of the parameters, through a layer built from them.
        let mut params = vec![layer.weight.detach()];
        params.extend(layer.bias.as_ref().map(Tensor::detach));
        check(
            |t| {
                let l = Linear::from_parameters(t[0].clone(), t.get(1).cloned());
                l.forward(&x).tanh()
            },
            &params,
        );
    }
}

#[test]
fn linear_on_batched_inputs() {
    let layer = Linear::<f64>::new(3, 2, true, &mut Generator::new(3));
    check(|t| layer.forward(&t[0]), &[randn(&[2, 4, 3], 4)]);
}

#[test]
fn dropout_with_a_fixed_mask_is_linear_in_its_input() {
    // A fresh layer with the same seed draws the same mask every evaluation.
    check(
        |t| {
            let dropout = Dropout::<f64>::new(0.3, 9);
            dropout.forward(&t[0]).sigmoid()
        },
        &[randn(&[4, 6], 5)],
    );
}

#[test]
fn a_sequential_mlp_end_to_end() {
    let mut g = Generator::new(6);
    let model: Sequential<f64> = Sequential::new()
        .add(Flatten::default())
        .add(Linear::new(6, 5, true, &mut g))
        .add(Tanh)
        .add(Linear::new(5, 4, true, &mut g))
        .add(Relu)
        .add(Identity)
        .add(Linear::new(4, 2, false, &mut g));
    check(|t| model.forward(&t[0]).log_softmax(1), &[randn(&[3, 2, 3], 7)]);
}

#[test]
fn parameter_gradients_from_backward_match_the_functional_check() {
    // The same gradients through the module's own parameters and backward.
    let layer = Linear::<f64>::new(3, 2, true, &mut Generator::new(8));
    let x = randn(&[4, 3], 9);
    layer.forward(&x).tanh().sum().backward();
    let from_backward = layer.weight.grad().unwrap().to_vec();
    let h = 1e-6;
    let w0 = layer.weight.to_vec();
    for i in 0..w0.len() {
        let loss_at = |delta: f64| {
            let mut w = w0.clone();
            w[i] += delta;
            let l = Linear::from_parameters(
                Tensor::from_vec(w, &[2, 3]),
                layer.bias.as_ref().map(Tensor::detach),
            );
            l.forward(&x).tanh().sum().item()
        };
        let numeric = (loss_at(h) - loss_at(-h)) / (2.0 * h);
        assert!(
            (numeric - from_backward[i]).abs() < 1e-8,
            "weight {i}: {numeric} vs {}",
            from_backward[i]
        );
    }
}
