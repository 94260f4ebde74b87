//! The worked examples of chapter 2 of the course, with its numbers.

use nabla::autograd::{grad, jacobian};
use nabla::Tensor;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn backprop_through_x_plus_y_times_z() {
    // Section 2.4.2-2.4.3: f(x, y, z) = (x + y) z at x = -2, y = 5, z = -4.
    let x = Tensor::from_vec(vec![-2.0f64], &[]).requires_grad();
    let y = Tensor::from_vec(vec![5.0f64], &[]).requires_grad();
    let z = Tensor::from_vec(vec![-4.0f64], &[]).requires_grad();
    let q = &x + &y;
    assert_eq!(q.item(), 3.0);
    let f = &q * &z;
    assert_eq!(f.item(), -12.0);
    f.backward();
    assert_eq!(x.grad().unwrap().item(), -4.0);
    assert_eq!(y.grad().unwrap().item(), -4.0);
    assert_eq!(z.grad().unwrap().item(), 3.0);
}

#[test]
fn sigmoid_neuron_of_figure_2_6() {
    // f(w, x) = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2))) at w = (2, -3, -3), x = (-1, -2).
    let w = Tensor::from_vec(vec![2.0f64, -3.0, -3.0], &[3]).requires_grad();
    let x = Tensor::from_vec(vec![-1.0f64, -2.0], &[2]).requires_grad();
    let w01 = w.slice(0, 0..2);
    let w2 = w.select(0, 2);
    let z = &(&w01 * &x).sum() + &w2;
    let f = 1.0 / &(1.0 + &(-&z).exp());
    assert!(close(f.item(), 0.73, 0.005), "f = {}", f.item());
    f.backward();
    let gw = w.grad().unwrap().to_vec();
    let gx = x.grad().unwrap().to_vec();
    for (got, want) in gw.iter().zip([-0.20, -0.39, 0.20]) {
        assert!(close(*got, want, 0.005), "dw = {gw:?}");
    }
    for (got, want) in gx.iter().zip([0.39, -0.59]) {
        assert!(close(*got, want, 0.005), "dx = {gx:?}");
    }
    // The same through the sigmoid block gives the same gradients.
    let w_block = Tensor::from_vec(vec![2.0f64, -3.0, -3.0], &[3]).requires_grad();
    let z_block = &(&w_block.slice(0, 0..2) * &x.detach()).sum() + &w_block.select(0, 2);
    z_block.sigmoid().backward();
    let gb = w_block.grad().unwrap().to_vec();
    for (a, b) in gb.iter().zip(&gw) {
        assert!(close(*a, *b, 1e-12));
    }
}

#[test]
fn jacobian_of_linear_map_is_w() {
    // Section 2.5.2: J(x -> Wx) = W.
    let w = Tensor::from_vec(vec![1.0f64, -2.0, 0.5, 3.0, 4.0, -1.0], &[2, 3]);
    let x = Tensor::from_vec(vec![0.3f64, -0.7, 1.1], &[3]);
    let j = jacobian(|xs| w.matmul(&xs[0]), &[x]);
    assert_eq!(j[0].shape(), &[2, 3]);
    assert_eq!(j[0].to_vec(), w.to_vec());
}

#[test]
fn chain_rule_jacobians_multiply() {
    // Section 2.5.3: J(f o g)(a) = J_f(g(a)) J_g(a), with g(x) = tanh(Ax)
    // and f(u) = (u0 u1, exp(u2), u0 + u1 + u2).
    let a_mat = Tensor::from_vec(vec![0.5f64, -1.0, 0.2, 0.3, 0.8, -0.4], &[3, 2]);
    let g = |x: &Tensor<f64>| a_mat.matmul(x).tanh();
    let f = |u: &Tensor<f64>| {
        let (u0, u1, u2) = (u.select(0, 0), u.select(0, 1), u.select(0, 2));
        Tensor::stack(&[&(&u0 * &u1), &u2.exp(), &(&(&u0 + &u1) + &u2)], 0)
    };
    let a = Tensor::from_vec(vec![0.4f64, -0.9], &[2]);
    let j_fg = jacobian(|xs| f(&g(&xs[0])), std::slice::from_ref(&a)).remove(0);
    let j_g = jacobian(|xs| g(&xs[0]), std::slice::from_ref(&a)).remove(0);
    let j_f = jacobian(|us| f(&us[0]), &[g(&a)]).remove(0);
    let product = j_f.matmul(&j_g);
    assert_eq!(j_fg.shape(), &[3, 2]);
    for (p, q) in j_fg.to_vec().iter().zip(product.to_vec()) {
        assert!(close(*p, q, 1e-12), "{j_fg} vs {product}");
    }
}

#[test]
fn the_downstream_snippet_compiles_and_runs() {
    let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    assert_eq!(x.shape(), &[2, 3]);
    let w = Tensor::from_vec(vec![0.5f32; 6], &[3, 2]).requires_grad();
    let y = x.matmul(&w).relu().sum();
    y.backward();
    let gw: Vec<f32> = w.grad().expect("w has a gradient").to_vec();
    // d sum(relu(xw)) / dw = x^T 1 where xw > 0 (everywhere here).
    assert_eq!(gw, vec![5.0, 5.0, 7.0, 7.0, 9.0, 9.0]);
    let d = Tensor::from_vec(vec![1.0f64, 2.0], &[2]); // f64: the same API
    assert_eq!(d.sum().item(), 3.0);
}

#[test]
fn newton_needs_second_derivatives() {
    // f(x) = x0^2 x1 + x1^3: Hessian [[2 x1, 2 x0], [2 x0, 6 x1]].
    let x = Tensor::from_vec(vec![1.5f64, -0.5], &[2]).requires_grad();
    let f = |x: &Tensor<f64>| {
        let (x0, x1) = (x.select(0, 0), x.select(0, 1));
        &(&x0.square() * &x1) + &x1.pow_scalar(3.0)
    };
    let y = f(&x);
    let g = grad(&[&y], &[&x], true)[0].clone().unwrap();
    let rows: Vec<Vec<f64>> = (0..2)
        .map(|i| grad(&[&g.select(0, i)], &[&x], true)[0].clone().unwrap().to_vec())
        .collect();
    assert_eq!(rows, vec![vec![-1.0, 3.0], vec![3.0, -3.0]]);
}

#[test]
fn a_very_long_graph_is_freed_without_overflowing_the_stack() {
    // 200,000 recorded ops, dropped without a backward pass, then again
    // after one: both must free iteratively.
    let w = Tensor::from_vec(vec![1.0f64], &[1]).requires_grad();
    let mut x = Tensor::from_vec(vec![1.0f64], &[1]);
    for _ in 0..200_000 {
        x = &x * &w;
    }
    drop(x);
    let mut y = Tensor::from_vec(vec![1.0f64], &[1]);
    for _ in 0..200_000 {
        y = y.add_scalar(1.0) * &w;
    }
    y.sum().backward();
    // y_k = 1 + k and dy_(k+1)/dw = (k + 2) + dy_k/dw, so the total is N (N + 3) / 2.
    assert_eq!(w.grad().unwrap().item(), 200_000.0 * 200_003.0 / 2.0);
}
