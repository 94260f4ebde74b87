//! The Fréchet distance between two Gaussians fitted to feature vectors:
//! the formula of the Fréchet Inception Distance (Heusel et al., 2017),
//! here on LeNet-5's features of MNIST digits.

use nalgebra::{DMatrix, DVector, SymmetricEigen};

use crate::tensor::Tensor;

/// The mean and covariance of a set of feature vectors, in f64.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureStats {
    /// The mean feature vector, `[d]`.
    pub mean: Vec<f64>,
    /// The covariance with the unbiased (N - 1) divisor, as `numpy.cov(x,
    /// rowvar=False)`: `[d, d]`, row-major.
    pub covariance: Vec<f64>,
    /// How many vectors they were computed from.
    pub count: usize,
}

impl FeatureStats {
    /// The statistics of `features [N, d]` (N at least 2).
    ///
    /// ```
    /// use nabla::generative::FeatureStats;
    /// use nabla::Tensor;
    /// let x = Tensor::from_vec(vec![0.0f32, 0.0, 2.0, 4.0], &[2, 2]);
    /// let stats = FeatureStats::of(&x);
    /// assert_eq!(stats.mean, vec![1.0, 2.0]);
    /// assert_eq!(stats.covariance, vec![2.0, 4.0, 4.0, 8.0]);
    /// ```
    ///
    /// # Panics
    /// If `features` is not two-dimensional with at least two rows.
    pub fn of(features: &Tensor) -> Self {
        assert!(
            features.ndim() == 2 && features.shape()[0] >= 2,
            "FeatureStats::of: features of shape {:?}, expected [N, d] with N >= 2",
            features.shape()
        );
        let (n, d) = (features.shape()[0], features.shape()[1]);
        let values: Vec<f64> = features.to_vec().into_iter().map(f64::from).collect();
        let x = DMatrix::from_row_slice(n, d, &values);
        let mean = x.row_mean();
        let centred = DMatrix::from_fn(n, d, |i, j| x[(i, j)] - mean[j]);
        let covariance = centred.transpose() * &centred / (n as f64 - 1.0);
        FeatureStats {
            mean: mean.iter().copied().collect(),
            // Symmetric, so column-major is row-major.
            covariance: covariance.as_slice().to_vec(),
            count: n,
        }
    }

    /// The feature dimension d.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }
}

/// The Fréchet (2-Wasserstein) distance between the Gaussians N(μ₁, Σ₁)
/// and N(μ₂, Σ₂):
///
/// `||μ₁ - μ₂||² + tr(Σ₁ + Σ₂ - 2 (Σ₁ Σ₂)^½)`.
///
/// The trace of the square root is the sum of the singular values of
/// `Σ₁^½ Σ₂^½` (its square, `Σ₁^½ Σ₂ Σ₁^½`, has the eigenvalues of `Σ₁ Σ₂`),
/// with the symmetric square roots from nalgebra's `SymmetricEigen`
/// (eigenvalues that rounding makes slightly negative count as 0) and its
/// SVD. The result agrees with `scipy.linalg.sqrtm` as the FID reference
/// code uses it.
///
/// ```
/// use nabla::generative::{frechet_distance, FeatureStats};
/// use nabla::Tensor;
/// let a = FeatureStats::of(&Tensor::from_vec(vec![0.0f32, 1.0, 2.0, 3.0], &[4, 1]));
/// let b = FeatureStats::of(&Tensor::from_vec(vec![10.0f32, 12.0, 14.0, 16.0], &[4, 1]));
/// // 1-D: (μ₁ - μ₂)² + (σ₁ - σ₂)² = 11.5² + (sqrt(5/3) - sqrt(20/3))²
/// let expected = 11.5f64.powi(2) + ((5.0f64 / 3.0).sqrt() - (20.0f64 / 3.0).sqrt()).powi(2);
/// assert!((frechet_distance(&a, &b) - expected).abs() < 1e-9);
/// assert!(frechet_distance(&a, &a).abs() < 1e-9);
/// ```
///
/// # Panics
/// If the two have different dimensions.
pub fn frechet_distance(a: &FeatureStats, b: &FeatureStats) -> f64 {
    assert!(
        a.dim() == b.dim(),
        "frechet_distance: features of dimension {} and {}",
        a.dim(),
        b.dim()
    );
    let d = a.dim();
    let mean_gap = DVector::from_column_slice(&a.mean) - DVector::from_column_slice(&b.mean);
    let sigma_a = DMatrix::from_row_slice(d, d, &a.covariance);
    let sigma_b = DMatrix::from_row_slice(d, d, &b.covariance);
    // tr (Σ₁ Σ₂)^½ = tr (Σ₁^½ Σ₂ Σ₁^½)^½ = the sum of the singular values
    // of Σ₁^½ Σ₂^½ (whose square is that product): no product of the two
    // covariances is formed, so small eigenvalues keep their precision.
    let trace_root: f64 = (symmetric_sqrt(&sigma_a) * symmetric_sqrt(&sigma_b))
        .singular_values()
        .iter()
        .sum();
    mean_gap.norm_squared() + sigma_a.trace() + sigma_b.trace() - 2.0 * trace_root
}

/// The symmetric positive semi-definite square root `V diag(√λ) Vᵀ` of a
/// symmetric matrix, with negative eigenvalues (rounding) taken as 0.
fn symmetric_sqrt(matrix: &DMatrix<f64>) -> DMatrix<f64> {
    let eigen = SymmetricEigen::new(matrix.clone());
    let roots = eigen.eigenvalues.map(|l| l.max(0.0).sqrt());
    &eigen.eigenvectors * DMatrix::from_diagonal(&roots) * eigen.eigenvectors.transpose()
}
