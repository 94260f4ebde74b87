//! retain_grad, the differentiable dtype cast, stack/cat over iterators,
//! and custom blocks with several outputs.

use nabla::autograd::{
    apply_multi_output, grad, gradcheck, gradgradcheck, GradcheckOptions, MultiOutputCtx, MultiOutputFunction,
};
use nabla::{Generator, Tensor};

#[test]
fn retain_grad_fills_a_non_leaf_grad_and_accumulates() {
    let x = Tensor::from_vec(vec![1.0f64, -2.0], &[2]).requires_grad();
    let h = x.exp();
    h.retain_grad();
    let y = (&h * &h).sum(); // dy/dh = 2h
    y.backward_with_options(None, true, false);
    let h2: Vec<f64> = h.to_vec().iter().map(|v| 2.0 * v).collect();
    assert_eq!(h.grad().unwrap().to_vec(), h2);
    y.backward();
    let h4: Vec<f64> = h2.iter().map(|v| 2.0 * v).collect();
    assert_eq!(h.grad().unwrap().to_vec(), h4);
    // x's gradient is unchanged by retaining h's: 2 h * h per pass, twice.
    let expected: Vec<f64> = h.to_vec().iter().map(|v| 4.0 * v * v).collect();
    assert_eq!(x.grad().unwrap().to_vec(), expected);
}

#[test]
fn grad_does_not_touch_a_retained_grad() {
    let x = Tensor::from_vec(vec![3.0f64], &[1]).requires_grad();
    let h = &x * 2.0;
    h.retain_grad();
    let dx = grad(&[&h.sum()], &[&x], false)[0].clone().unwrap();
    assert_eq!(dx.to_vec(), vec![2.0]);
    assert!(h.grad().is_none());
}

#[test]
fn gradients_cross_a_cast_in_both_directions() {
    let x = Tensor::from_vec(vec![0.5f32, -1.5, 2.0], &[3]).requires_grad();
    let w = Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3]).requires_grad();
    let y = (&x.to_f64() * &w).to_f32().square().sum(); // sum (x w)^2
    y.backward();
    // dy/dx = 2 x w^2, dy/dw = 2 x^2 w
    assert_eq!(x.grad().unwrap().to_vec(), vec![1.0f32, -12.0, 36.0]);
    assert_eq!(w.grad().unwrap().to_vec(), vec![0.5f64, 9.0, 24.0]);
    assert_eq!(x.grad().unwrap().dtype(), "float32");
}

#[test]
fn double_backward_crosses_a_cast() {
    let x = Tensor::from_vec(vec![1.0f64, 2.0], &[2]).requires_grad();
    let y = x.to_f32().pow_scalar(3.0).to_f64().sum();
    y.backward_with_options(None, false, true);
    let gx = x.grad().unwrap(); // 3 x^2, recorded
    assert_eq!(gx.to_vec(), vec![3.0, 12.0]);
    gx.sum().backward(); // adds d/dx sum(3 x^2) = 6 x
    assert_eq!(x.grad().unwrap().to_vec(), vec![9.0, 24.0]);
}

#[test]
fn a_cast_to_the_same_type_is_a_recorded_copy() {
    let x = Tensor::from_vec(vec![1.0f64, 2.0], &[2]).requires_grad();
    let same = x.to_dtype::<f64>();
    assert!(!same.shares_storage_with(&x));
    assert_eq!(same.grad_fn_name(), Some("ToDtype"));
    let dx = grad(&[&(&same * &same).sum()], &[&x], false)[0].clone().unwrap();
    assert_eq!(dx.to_vec(), vec![2.0, 4.0]);
}

#[test]
fn no_cast_is_recorded_without_grad() {
    let x = Tensor::<f32>::ones(&[2]);
    assert!(x.to_f64().grad_fn_name().is_none());
    let p = Tensor::<f32>::ones(&[2]).requires_grad();
    assert_eq!(p.to_f64().grad_fn_name(), Some("ToDtype"));
    assert!(nabla::no_grad(|| p.to_f64()).grad_fn_name().is_none());
}

#[test]
fn stack_and_cat_take_slices_and_iterators() {
    let steps: Vec<Tensor<f32>> = (0..3).map(|t| Tensor::full(&[2], t as f32)).collect();
    let by_slice = Tensor::stack(&steps, 0);
    let by_refs = Tensor::stack(steps.iter(), 0);
    let by_values = Tensor::stack(steps.clone(), 0);
    assert_eq!(by_slice.to_vec(), vec![0.0, 0.0, 1.0, 1.0, 2.0, 2.0]);
    assert_eq!(by_refs.to_vec(), by_slice.to_vec());
    assert_eq!(by_values.to_vec(), by_slice.to_vec());
    let joined = Tensor::cat(steps.iter().map(|s| s.unsqueeze(1)), 1);
    assert_eq!(joined.shape(), &[2, 3]);
    assert_eq!(joined.to_vec(), vec![0.0, 1.0, 2.0, 0.0, 1.0, 2.0]);
}

/// `(x * y, x + y)`, saving both inputs.
struct ProductAndSum;

impl MultiOutputFunction<f64> for ProductAndSum {
    fn name(&self) -> &'static str {
        "ProductAndSum"
    }
    fn forward(&self, inputs: &[Tensor<f64>], saved: &mut Vec<Tensor<f64>>) -> Vec<Tensor<f64>> {
        saved.extend(inputs.iter().cloned());
        vec![&inputs[0] * &inputs[1], &inputs[0] + &inputs[1]]
    }
    fn backward(&self, ctx: &MultiOutputCtx<'_, f64>) -> Vec<Option<Tensor<f64>>> {
        let (x, y) = (&ctx.saved()[0], &ctx.saved()[1]);
        let (g_prod, g_sum) = (&ctx.grads()[0], &ctx.grads()[1]);
        vec![Some(&(g_prod * y) + g_sum), Some(&(g_prod * x) + g_sum)]
    }
}

#[test]
fn a_multi_output_function_passes_gradcheck_and_gradgradcheck() {
    let mut rng = Generator::new(7);
    let inputs = [
        Tensor::<f64>::randn(&[2, 3], &mut rng),
        Tensor::<f64>::randn(&[2, 3], &mut rng),
    ];
    let f = |xs: &[Tensor<f64>]| {
        let outs = apply_multi_output(ProductAndSum, &[&xs[0], &xs[1]]);
        (&outs[0] * &outs[1]).tanh()
    };
    gradcheck(f, &inputs, &GradcheckOptions::default()).unwrap();
    gradgradcheck(f, &inputs, &GradcheckOptions::default()).unwrap();
    // Only one output used: the other's gradient is zero.
    let g = |xs: &[Tensor<f64>]| apply_multi_output(ProductAndSum, &[&xs[0], &xs[1]])[1].square();
    gradcheck(g, &inputs, &GradcheckOptions::default()).unwrap();
}

/// The ready hook of the backward pass sees every parameter of a network
/// once, at the moment its gradient is final: what it holds then is what
/// it holds at the end; the last layer's parameters come first.
#[test]
fn ready_hook_sees_each_parameter_once_with_its_final_gradient() {
    use nabla::nn::{Layer, Linear, Module, Sequential, Tanh};
    let mut g = Generator::new(3);
    let model: Sequential = Sequential::new()
        .add(Linear::new(3, 5, true, &mut g))
        .add(Tanh)
        .add(Linear::new(5, 2, true, &mut g));
    let x = Tensor::<f32>::randn(&[4, 3], &mut g);
    // The input enters twice, so a parameter of the first layer has two uses.
    let loss = (&model.forward(&x) + &model.forward(&(&x * 2.0)))
        .pow_scalar(2.0)
        .sum();
    let params = model.parameters();
    let mut seen: Vec<(usize, Vec<f32>)> = Vec::new();
    loss.backward_with_ready_hook(&mut |leaf| {
        let i = params
            .iter()
            .position(|p| p.shares_storage_with(leaf))
            .expect("a parameter");
        seen.push((i, leaf.grad().expect("a gradient").to_vec()));
    });
    let mut order: Vec<usize> = seen.iter().map(|(i, _)| *i).collect();
    let mut first_two = order[..2].to_vec();
    first_two.sort_unstable();
    assert_eq!(first_two, vec![2, 3], "the last layer's weight and bias first");
    order.sort_unstable();
    assert_eq!(order, vec![0, 1, 2, 3]);
    for (i, at_ready) in &seen {
        assert_eq!(at_ready, &params[*i].grad().unwrap().to_vec(), "parameter {i}");
    }
}
