//! Parameter initialisation, in place and seeded, with PyTorch's formulas
//! (`torch.nn.init`).

use crate::backend::{self, ops::RandomFill};
use crate::element::Float;
use crate::tensor::{Generator, Tensor};

/// Fan-in and fan-out of a weight of `shape`: `[out, in, k...]` has
/// fan-in `in * k...` and fan-out `out * k...`, as PyTorch computes them.
///
/// # Panics
/// For shapes of fewer than two dimensions.
pub fn fan_in_and_fan_out(shape: &[usize]) -> (usize, usize) {
    assert!(
        shape.len() >= 2,
        "init: fan in and fan out need at least 2 dimensions, got shape {shape:?}"
    );
    let receptive: usize = shape[2..].iter().product();
    (shape[1] * receptive, shape[0] * receptive)
}

/// The gain PyTorch recommends for a nonlinearity (`torch.nn.init.calculate_gain`):
/// 1 for linear/sigmoid, 5/3 for tanh, sqrt(2) for relu, and
/// sqrt(2 / (1 + slope^2)) for leaky_relu with `negative_slope`.
///
/// # Panics
/// For an unknown nonlinearity name.
pub fn calculate_gain(nonlinearity: &str, negative_slope: f64) -> f64 {
    match nonlinearity {
        "linear" | "identity" | "sigmoid" | "conv1d" | "conv2d" | "conv3d" => 1.0,
        "tanh" => 5.0 / 3.0,
        "relu" => 2f64.sqrt(),
        "leaky_relu" => (2.0 / (1.0 + negative_slope * negative_slope)).sqrt(),
        "selu" => 0.75,
        other => panic!("calculate_gain: unknown nonlinearity {other:?}"),
    }
}

/// Fills with draws from U(low, high).
pub fn uniform_<T: Float>(tensor: &Tensor<T>, low: f64, high: f64, generator: &mut Generator) {
    backend::random_fill(tensor, RandomFill::Uniform { low, high }, generator);
}

/// Fills with draws from N(mean, std^2).
pub fn normal_<T: Float>(tensor: &Tensor<T>, mean: f64, std: f64, generator: &mut Generator) {
    backend::random_fill(tensor, RandomFill::Normal { mean, std }, generator);
}

/// Fills with a constant.
pub fn constant_<T: Float>(tensor: &Tensor<T>, value: f64) {
    backend::fill(tensor, T::from_f64(value));
}

/// Xavier/Glorot uniform: U(-a, a) with a = gain sqrt(6 / (fan_in + fan_out)).
pub fn xavier_uniform_<T: Float>(tensor: &Tensor<T>, gain: f64, generator: &mut Generator) {
    let (fan_in, fan_out) = fan_in_and_fan_out(tensor.shape());
    let a = gain * (6.0 / (fan_in + fan_out) as f64).sqrt();
    uniform_(tensor, -a, a, generator);
}

/// Xavier/Glorot normal: N(0, std^2) with std = gain sqrt(2 / (fan_in + fan_out)).
pub fn xavier_normal_<T: Float>(tensor: &Tensor<T>, gain: f64, generator: &mut Generator) {
    let (fan_in, fan_out) = fan_in_and_fan_out(tensor.shape());
    normal_(
        tensor,
        0.0,
        gain * (2.0 / (fan_in + fan_out) as f64).sqrt(),
        generator,
    );
}

/// Which fan Kaiming initialisation preserves the variance of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanMode {
    /// The forward pass (PyTorch's default).
    FanIn,
    /// The backward pass.
    FanOut,
}

fn kaiming_std(shape: &[usize], negative_slope: f64, mode: FanMode, nonlinearity: &str) -> f64 {
    let (fan_in, fan_out) = fan_in_and_fan_out(shape);
    let fan = if mode == FanMode::FanIn { fan_in } else { fan_out };
    calculate_gain(nonlinearity, negative_slope) / (fan as f64).sqrt()
}

/// Kaiming/He uniform: U(-b, b) with b = gain sqrt(3 / fan).
///
/// `Linear` and `Conv2d` use it with `negative_slope = sqrt(5)`,
/// `leaky_relu`, fan-in, which gives b = 1 / sqrt(fan_in).
pub fn kaiming_uniform_<T: Float>(
    tensor: &Tensor<T>,
    negative_slope: f64,
    mode: FanMode,
    nonlinearity: &str,
    generator: &mut Generator,
) {
    let bound = 3f64.sqrt() * kaiming_std(tensor.shape(), negative_slope, mode, nonlinearity);
    uniform_(tensor, -bound, bound, generator);
}

/// Kaiming/He normal: N(0, std^2) with std = gain / sqrt(fan).
pub fn kaiming_normal_<T: Float>(
    tensor: &Tensor<T>,
    negative_slope: f64,
    mode: FanMode,
    nonlinearity: &str,
    generator: &mut Generator,
) {
    normal_(
        tensor,
        0.0,
        kaiming_std(tensor.shape(), negative_slope, mode, nonlinearity),
        generator,
    );
}

/// Fills a matrix (or a tensor flattened to `[shape[0], rest]`) with a
/// (semi-)orthogonal matrix times `gain`, as `torch.nn.init.orthogonal_`
/// (Saxe et al., 2013): the Q of the QR decomposition of a standard normal
/// matrix, with Q's columns signed so that R's diagonal is positive. Rows
/// are orthonormal when there are fewer rows than columns, columns
/// otherwise. Reinforcement-learning code (CleanRL, Stable-Baselines3)
/// initialises its policies this way.
///
/// ```
/// use nabla::{Generator, Tensor};
/// let w = Tensor::<f64>::zeros(&[3, 5]);
/// nabla::nn::init::orthogonal_(&w, 2.0, &mut Generator::new(0));
/// let gram = w.matmul(&w.t()); // 4 I: orthogonal rows of norm 2
/// for (i, v) in gram.to_vec().iter().enumerate() {
///     let expected = if i % 4 == 0 { 4.0 } else { 0.0 };
///     assert!((v - expected).abs() < 1e-12);
/// }
/// ```
///
/// # Panics
/// If the tensor has fewer than two dimensions.
pub fn orthogonal_<T: Float>(tensor: &Tensor<T>, gain: f64, generator: &mut Generator) {
    let shape = tensor.shape();
    assert!(
        shape.len() >= 2,
        "orthogonal_: needs at least 2 dimensions, got shape {shape:?}"
    );
    let rows = shape[0];
    let cols = tensor.numel() / rows.max(1);
    if rows == 0 || cols == 0 {
        return;
    }
    // QR of the tall orientation; transpose back when the matrix is wide.
    let (tall_rows, tall_cols) = (rows.max(cols), rows.min(cols));
    let draws = nalgebra::DMatrix::<f64>::from_fn(tall_rows, tall_cols, |_, _| generator.normal());
    let qr = draws.qr();
    let (mut q, r) = (qr.q(), qr.r());
    for (j, mut column) in q.column_iter_mut().enumerate() {
        if r[(j, j)] < 0.0 {
            column.neg_mut();
        }
    }
    let values: Vec<T> = (0..rows)
        .flat_map(|i| (0..cols).map(move |j| (i, j)))
        .map(|(i, j)| {
            let v = if rows >= cols { q[(i, j)] } else { q[(j, i)] };
            T::from_f64(gain * v)
        })
        .collect();
    tensor.copy_from(&Tensor::from_vec(values, shape));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gains_and_fans_match_pytorch() {
        assert_eq!(fan_in_and_fan_out(&[6, 1, 5, 5]), (25, 150));
        assert_eq!(calculate_gain("tanh", 0.0), 5.0 / 3.0);
        // Linear's default: kaiming_uniform(a = sqrt(5)) gives bound 1 / sqrt(fan_in).
        let gain = calculate_gain("leaky_relu", 5f64.sqrt());
        assert!((gain * 3f64.sqrt() - 1.0).abs() < 1e-15);
    }

    #[test]
    fn draws_stay_in_bounds_and_are_seeded() {
        let w = Tensor::<f64>::zeros(&[64, 100]);
        kaiming_uniform_(
            &w,
            5f64.sqrt(),
            FanMode::FanIn,
            "leaky_relu",
            &mut Generator::new(1),
        );
        let bound = 0.1;
        assert!(w.to_vec().iter().all(|v| v.abs() <= bound));
        assert!(w.max().item() > 0.09 && w.min().item() < -0.09);
        let again = Tensor::<f64>::zeros(&[64, 100]);
        kaiming_uniform_(
            &again,
            5f64.sqrt(),
            FanMode::FanIn,
            "leaky_relu",
            &mut Generator::new(1),
        );
        assert_eq!(w.to_vec(), again.to_vec());
        let n = Tensor::<f64>::zeros(&[200, 300]);
        xavier_normal_(&n, 1.0, &mut Generator::new(2));
        let expected_std = (2.0f64 / 500.0).sqrt();
        assert!((n.std().item() - expected_std).abs() < 0.02 * expected_std);
    }
}
