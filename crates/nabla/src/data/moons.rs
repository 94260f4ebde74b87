//! Two interleaving half circles ("two moons"), generated as scikit-learn's
//! `make_moons` generates them, and the standardised 80/20 split the Keras
//! RealNVP example trains a flow on ([`TwoMoons`]).

use crate::tensor::{Generator, IndexTensor, Tensor};

/// `n_samples` points `[n_samples, 2]` of two interleaving half circles and
/// their labels `[n_samples]` (0 upper moon, 1 lower moon), by the algorithm
/// of scikit-learn's `make_moons(n_samples, shuffle=True, noise=noise)`:
/// `n_samples / 2` (rounded down) points evenly spaced in angle on the upper
/// half of the unit circle, the rest on the lower half of the unit circle
/// centred at (1, 0.5), the points shuffled, then Gaussian noise of
/// standard deviation `noise` added to each coordinate.
///
/// The draws come from `generator` (ChaCha8), not NumPy's Mersenne Twister,
/// so a seed gives other points than `random_state` does in scikit-learn;
/// the distribution is the same.
///
/// ```
/// use nabla::data::make_moons;
/// use nabla::Generator;
/// let (points, labels) = make_moons(5, 0.0, &mut Generator::new(0));
/// assert_eq!((points.shape(), labels.shape()), (&[5, 2][..], &[5][..]));
/// // Without noise, the upper moon lies on the unit circle.
/// let xy = points.to_vec();
/// for (i, &label) in labels.as_slice().iter().enumerate() {
///     let (x, y) = (xy[2 * i], xy[2 * i + 1]);
///     let (cx, cy) = if label == 0 { (0.0, 0.0) } else { (1.0, 0.5) };
///     assert!(((x - cx).hypot(y - cy) - 1.0).abs() < 1e-6);
/// }
/// assert_eq!(labels.as_slice().iter().filter(|&&l| l == 0).count(), 2);
/// ```
pub fn make_moons(n_samples: usize, noise: f64, generator: &mut Generator) -> (Tensor, IndexTensor) {
    let n_out = n_samples / 2;
    let n_in = n_samples - n_out;
    // np.linspace(0, pi, n): n evenly spaced angles, both ends included.
    let angle = |i: usize, n: usize| match n {
        1 => 0.0,
        _ => std::f64::consts::PI * i as f64 / (n - 1) as f64,
    };
    let mut points: Vec<[f64; 2]> = Vec::with_capacity(n_samples);
    let mut labels = Vec::with_capacity(n_samples);
    for i in 0..n_out {
        let a = angle(i, n_out);
        points.push([a.cos(), a.sin()]);
        labels.push(0);
    }
    for i in 0..n_in {
        let a = angle(i, n_in);
        points.push([1.0 - a.cos(), 1.0 - a.sin() - 0.5]);
        labels.push(1);
    }
    // Fisher-Yates, as sklearn.utils.shuffle permutes both arrays alike.
    for i in (1..n_samples).rev() {
        let j = generator.below(i + 1);
        points.swap(i, j);
        labels.swap(i, j);
    }
    let values = points
        .iter()
        .flat_map(|p| p.map(|v| (v + noise * generator.normal()) as f32))
        .collect();
    (
        Tensor::from_vec(values, &[n_samples, 2]),
        IndexTensor::from_vec(labels, &[n_samples]),
    )
}

/// The two-moons data of the Keras RealNVP example: `make_moons(n_samples,
/// noise)` standardised per coordinate with the mean and population
/// standard deviation of all the points (as Keras' `Normalization.adapt`),
/// its last `validation_fraction` held out (as Keras' `validation_split`).
///
/// ```
/// use nabla::data::TwoMoons;
/// use nabla::Generator;
/// let moons = TwoMoons::new(3000, 0.05, 0.2, &mut Generator::new(0));
/// assert_eq!((moons.train.shape(), moons.validation.shape()), (&[2400, 2][..], &[600, 2][..]));
/// let all = nabla::Tensor::cat(&[&moons.train, &moons.validation], 0);
/// assert!(all.mean_dim(0, false).to_vec().iter().all(|m| m.abs() < 1e-5));
/// assert!(all.var_dims(&[0], 0, false).to_vec().iter().all(|v| (v - 1.0).abs() < 1e-4));
/// ```
#[derive(Clone, Debug)]
pub struct TwoMoons {
    /// The training points, standardised, `[n_train, 2]`.
    pub train: Tensor,
    /// The held-out points, standardised, `[n_validation, 2]`.
    pub validation: Tensor,
    /// The mean of each coordinate before standardising.
    pub mean: [f64; 2],
    /// The population standard deviation of each coordinate before standardising.
    pub std: [f64; 2],
}

impl TwoMoons {
    /// `n_samples` points with noise `noise`, the last
    /// `round(validation_fraction * n_samples)` of them for validation.
    ///
    /// # Panics
    /// If `validation_fraction` is not in [0, 1].
    pub fn new(n_samples: usize, noise: f64, validation_fraction: f64, generator: &mut Generator) -> Self {
        assert!(
            (0.0..=1.0).contains(&validation_fraction),
            "TwoMoons: validation_fraction must be in [0, 1], got {validation_fraction}"
        );
        let (points, _) = make_moons(n_samples, noise, generator);
        let values: Vec<f64> = points.to_vec().into_iter().map(f64::from).collect();
        let n = n_samples.max(1) as f64;
        let mut mean = [0.0; 2];
        let mut std = [0.0; 2];
        for d in 0..2 {
            mean[d] = values.iter().skip(d).step_by(2).sum::<f64>() / n;
            let var = values
                .iter()
                .skip(d)
                .step_by(2)
                .map(|v| (v - mean[d]).powi(2))
                .sum::<f64>()
                / n;
            std[d] = var.sqrt().max(f64::MIN_POSITIVE);
        }
        let standardised: Vec<f32> = values
            .iter()
            .enumerate()
            .map(|(i, v)| ((v - mean[i % 2]) / std[i % 2]) as f32)
            .collect();
        let all = Tensor::from_vec(standardised, &[n_samples, 2]);
        let n_validation = (validation_fraction * n_samples as f64).round() as usize;
        let n_train = n_samples - n_validation;
        TwoMoons {
            train: all.narrow(0, 0, n_train).contiguous(),
            validation: all.narrow(0, n_train, n_validation).contiguous(),
            mean,
            std,
        }
    }
}
