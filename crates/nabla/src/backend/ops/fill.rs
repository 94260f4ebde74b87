//! Random fills as named operations.

/// A random fill: what each element becomes, from one draw `u` from
/// U(0, 1) (or `n` from N(0, 1) for `Normal`) of the generator, taken in
/// row-major order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum RandomFill {
    /// `low + (high - low) u`, computed in f64 (PyTorch's `uniform_`).
    Uniform { low: f64, high: f64 },
    /// `mean + std n`, computed in f64 (`normal_`).
    Normal { mean: f64, std: f64 },
    /// `u` rounded down to the element type's precision, so that it never
    /// rounds up to 1 (`rand`).
    UnitUniform,
    /// `low + (high - low) u`, computed in the element type (`Tensor::uniform`).
    UniformInElementType { low: f64, high: f64 },
    /// 0 with probability `p`, else `scale` (a dropout mask).
    Bernoulli { p: f64, scale: f64 },
}

impl RandomFill {
    /// True when the fill draws from N(0, 1) rather than U(0, 1).
    pub(crate) fn draws_normal(&self) -> bool {
        matches!(self, RandomFill::Normal { .. })
    }
}
