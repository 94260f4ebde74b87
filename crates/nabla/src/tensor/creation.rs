//! Ways to make a tensor: from data, constants, ranges, the identity, and
//! random draws from a seeded [`Generator`].

use super::{Generator, Tensor};
use crate::backend::{self, ops::RandomFill};
use crate::element::Float;

impl<T: Float> Tensor<T> {
    /// A tensor of `shape` holding `data` in row-major order.
    ///
    /// # Panics
    /// If `data.len()` is not the product of `shape`.
    ///
    /// ```
    /// let x = nabla::Tensor::from_vec(vec![1.0f64, 2.0], &[2]);
    /// assert_eq!(x.dtype(), "float64");
    /// ```
    pub fn from_vec(data: Vec<T>, shape: &[usize]) -> Self {
        assert!(
            data.len() == shape.iter().product::<usize>(),
            "from_vec: {} elements cannot have shape {shape:?}",
            data.len()
        );
        Self::from_contiguous(data, shape)
    }

    /// A tensor of `shape` copied from `data`.
    pub fn from_slice(data: &[T], shape: &[usize]) -> Self {
        Self::from_vec(data.to_vec(), shape)
    }

    /// A zero-dimensional tensor holding one value.
    pub fn scalar(value: T) -> Self {
        Self::from_contiguous(vec![value], &[])
    }

    /// A tensor of `shape` filled with `value`.
    pub fn full(shape: &[usize], value: T) -> Self {
        backend::full(shape, value)
    }

    /// A tensor of `shape` filled with zeros.
    ///
    /// Nothing in `Tensor::zeros(&[2, 3])` names the element type, and Rust
    /// does not fall back to the struct's default (`f32`) when inferring
    /// it, so say it where the context does not: `Tensor::<f32>::zeros`, or
    /// a typed binding (`let x: Tensor = Tensor::zeros(..)`, where `Tensor`
    /// alone means `Tensor<f32>`). The same holds for `ones`, `full`, `eye`,
    /// `arange`, `randn` and the other constructors.
    ///
    /// ```
    /// use nabla::Tensor;
    /// let a = Tensor::<f32>::zeros(&[2, 3]);
    /// let b: Tensor = Tensor::zeros(&[2, 3]);
    /// assert_eq!((a.dtype(), b.dtype()), ("float32", "float32"));
    /// ```
    pub fn zeros(shape: &[usize]) -> Self {
        Self::full(shape, T::zero())
    }

    /// A tensor of `shape` filled with ones.
    pub fn ones(shape: &[usize]) -> Self {
        Self::full(shape, T::one())
    }

    /// Zeros with the shape of `self`.
    pub fn zeros_like(&self) -> Self {
        Self::zeros(self.shape())
    }

    /// Ones with the shape of `self`.
    pub fn ones_like(&self) -> Self {
        Self::ones(self.shape())
    }

    /// `[start, start + step, ...]` up to but excluding `end`, as `torch.arange`.
    ///
    /// ```
    /// let x = nabla::Tensor::<f32>::arange(0.0, 1.0, 0.25);
    /// assert_eq!(x.to_vec(), vec![0.0, 0.25, 0.5, 0.75]);
    /// ```
    ///
    /// # Panics
    /// If `step` is zero or has the wrong sign for the range.
    pub fn arange(start: T, end: T, step: T) -> Self {
        assert!(
            step != T::zero() && (end - start) * step >= T::zero(),
            "arange: step {step} cannot go from {start} to {end}"
        );
        let n = ((end - start) / step).ceil().to_usize().unwrap_or(0);
        let data: Vec<T> = (0..n).map(|i| start + T::from_usize(i) * step).collect();
        Self::from_contiguous(data, &[n])
    }

    /// `steps` evenly spaced values from `start` to `end` inclusive, as
    /// `torch.linspace`.
    ///
    /// ```
    /// let x = nabla::Tensor::<f64>::linspace(0.0, 1.0, 5);
    /// assert_eq!(x.to_vec(), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    /// ```
    pub fn linspace(start: T, end: T, steps: usize) -> Self {
        let data = match steps {
            0 => vec![],
            1 => vec![start],
            _ => {
                let step = (end - start) / T::from_usize(steps - 1);
                let half = steps / 2;
                // Like PyTorch, fill the second half backwards from `end` so
                // that both ends are exact.
                (0..steps)
                    .map(|i| {
                        if i < half {
                            start + step * T::from_usize(i)
                        } else {
                            end - step * T::from_usize(steps - 1 - i)
                        }
                    })
                    .collect()
            }
        };
        Self::from_contiguous(data, &[steps])
    }

    /// The `n x n` identity matrix.
    pub fn eye(n: usize) -> Self {
        let mut data = vec![T::zero(); n * n];
        for i in 0..n {
            data[i * n + i] = T::one();
        }
        Self::from_contiguous(data, &[n, n])
    }

    /// Uniform draws from `[0, 1)`.
    ///
    /// ```
    /// use nabla::{Generator, Tensor};
    /// let a = Tensor::<f32>::rand(&[3], &mut Generator::new(7));
    /// let b = Tensor::<f32>::rand(&[3], &mut Generator::new(7));
    /// assert_eq!(a.to_vec(), b.to_vec()); // same seed, same numbers
    /// ```
    pub fn rand(shape: &[usize], generator: &mut Generator) -> Self {
        backend::random(shape, RandomFill::UnitUniform, generator)
    }

    /// Standard normal draws.
    pub fn randn(shape: &[usize], generator: &mut Generator) -> Self {
        backend::random(shape, RandomFill::Normal { mean: 0.0, std: 1.0 }, generator)
    }

    /// Uniform draws from `[low, high)`.
    pub fn uniform(shape: &[usize], low: T, high: T, generator: &mut Generator) -> Self {
        let fill = RandomFill::UniformInElementType {
            low: low.as_f64(),
            high: high.as_f64(),
        };
        backend::random(shape, fill, generator)
    }
}
