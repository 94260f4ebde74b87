//! Elementwise operations on the CPU: each named operation becomes one
//! monomorphised closure handed to the loops of `kernels::elementwise`
//! (the match runs once per call, never per element).

use super::{contiguous_elements, elements_vec, Cpu};
use crate::backend::ops::{BinaryOp, Comparison, Triangle, UnaryOp, BCE_EPSILON, GELU_BETA, GELU_KAPPA};
use crate::backend::{ElementwiseOps, MemoryOps};
use crate::element::Float;
use crate::kernels::accumulate::update_strided;
use crate::kernels::elementwise::{
    gelu, keep_triangle, map, map_wide, sigmoid, strided_zip_map, zip_map, zip_map_wide, BinaryFunction,
    UnaryFunction,
};
use crate::layout::{broadcast_strides, Layout};
use crate::tensor::Tensor;

/// PyTorch's floor under the log terms of the binary cross-entropy.
const LOG_FLOOR: f64 = -100.0;

fn mask<T: Float>(condition: bool) -> T {
    if condition {
        T::one()
    } else {
        T::zero()
    }
}

/// `f` applied to every element of `x`.
fn map_tensor<T: Float>(x: &Tensor<T>, f: impl Fn(T) -> T + Sync) -> Tensor<T> {
    let out = contiguous_elements(x, |s| map(s, f));
    Tensor::from_contiguous(out, x.shape())
}

/// `f` applied pairwise over `a` and `b` broadcast to `shape`.
fn zip_tensors<T: Float>(
    a: &Tensor<T>,
    b: &Tensor<T>,
    shape: &[usize],
    f: impl Fn(T, T) -> T + Sync,
) -> Tensor<T> {
    let (la, lb) = (a.layout(), b.layout());
    let (da, db) = (a.inner.storage.read(), b.inner.storage.read());
    let out = if la.shape == lb.shape && la.is_contiguous() && lb.is_contiguous() {
        let n = la.numel();
        zip_map(&da[la.offset..la.offset + n], &db[lb.offset..lb.offset + n], f)
    } else {
        let (sa, sb) = (broadcast_strides(la, shape), broadcast_strides(lb, shape));
        strided_zip_map(shape, &da, &sa, la.offset, &db, &sb, lb.offset, f)
    };
    Tensor::from_contiguous(out, shape)
}

/// `F` applied to every element of `x`, in [`map_wide`]'s loops.
fn map_tensor_wide<T: Float, F: UnaryFunction<T>>(x: &Tensor<T>) -> Tensor<T> {
    let out = contiguous_elements(x, map_wide::<T, F>);
    Tensor::from_contiguous(out, x.shape())
}

/// `F` applied pairwise over `a` and `b` broadcast to `shape`, in
/// [`zip_map_wide`]'s loops when both are contiguous and of that shape.
fn zip_tensors_wide<T: Float, F: BinaryFunction<T>>(
    a: &Tensor<T>,
    b: &Tensor<T>,
    shape: &[usize],
) -> Tensor<T> {
    let (la, lb) = (a.layout(), b.layout());
    if la.shape == lb.shape && la.is_contiguous() && lb.is_contiguous() {
        let (da, db) = (a.inner.storage.read(), b.inner.storage.read());
        let n = la.numel();
        let out = zip_map_wide::<T, F>(&da[la.offset..la.offset + n], &db[lb.offset..lb.offset + n]);
        return Tensor::from_contiguous(out, shape);
    }
    zip_tensors(a, b, shape, F::apply)
}

/// `e^x`.
struct Exp;

impl<T: Float> UnaryFunction<T> for Exp {
    #[inline(always)]
    fn apply(x: T) -> T {
        x.exp_kernel()
    }
}

/// The natural logarithm.
struct Log;

impl<T: Float> UnaryFunction<T> for Log {
    #[inline(always)]
    fn apply(x: T) -> T {
        x.ln_kernel()
    }
}

/// The hyperbolic tangent.
struct Tanh;

impl<T: Float> UnaryFunction<T> for Tanh {
    #[inline(always)]
    fn apply(x: T) -> T {
        x.tanh_kernel()
    }
}

/// The logistic sigmoid ([`sigmoid`]).
struct Sigmoid;

impl<T: Float> UnaryFunction<T> for Sigmoid {
    #[inline(always)]
    fn apply(x: T) -> T {
        sigmoid(x)
    }
}

/// [`BinaryOp::GeluDerivativeFromValue`] at `x` from `y = x Φ(x)`; both
/// sides of the select are computed, so the loop vectorises.
struct GeluDerivativeFromValue;

impl<T: Float> BinaryFunction<T> for GeluDerivativeFromValue {
    #[inline(always)]
    fn apply(x: T, y: T) -> T {
        let half = T::from_f64(0.5);
        let cdf = if x == T::zero() { half } else { y / x };
        let pdf = (x * x * -half).exp_kernel() * T::from_f64(1.0 / (2.0 * std::f64::consts::PI).sqrt());
        cdf + x * pdf
    }
}

/// [`BinaryOp::BinaryCrossEntropy`] of a probability and a target.
struct BinaryCrossEntropy;

impl<T: Float> BinaryFunction<T> for BinaryCrossEntropy {
    #[inline(always)]
    fn apply(p: T, y: T) -> T {
        let floor = T::from_f64(LOG_FLOOR);
        let unit = |v: T| v >= T::zero() && v <= T::one();
        let loss = (y - T::one()) * (-p).ln_1p_kernel().max(floor) - y * p.ln_kernel().max(floor);
        if unit(p) && unit(y) {
            loss
        } else {
            T::nan()
        }
    }
}

/// `target ← f(target, source)` with `source` broadcast to `target`'s shape.
fn update<T: Float>(target: &Tensor<T>, source: &Tensor<T>, f: impl Fn(T, T) -> T) {
    // Read the right side first when it shares the target's storage, which
    // is locked for writing below.
    let copied;
    let source = if target.shares_storage_with(source) {
        copied = Cpu::copy(source);
        &copied
    } else {
        source
    };
    let source_strides = broadcast_strides(source.layout(), target.shape());
    let src = source.inner.storage.read();
    let mut dst = target.inner.storage.write();
    update_strided(
        &mut dst,
        target.layout(),
        &src,
        &source_strides,
        source.layout().offset,
        f,
    );
}

/// The elements of `x` broadcast to `shape`, in row-major order.
fn broadcast_elements<T: Float>(x: &Tensor<T>, shape: &[usize]) -> Vec<T> {
    let layout = x.layout();
    let view = x.with_layout(Layout {
        shape: shape.into(),
        strides: broadcast_strides(layout, shape),
        offset: layout.offset,
    });
    elements_vec(&view)
}

impl ElementwiseOps for Cpu {
    fn unary<T: Float>(op: UnaryOp, x: &Tensor<T>) -> Tensor<T> {
        let t = T::from_f64;
        match op {
            UnaryOp::Neg => map_tensor(x, move |v| -v),
            UnaryOp::Exp => map_tensor_wide::<T, Exp>(x),
            UnaryOp::Log => map_tensor_wide::<T, Log>(x),
            UnaryOp::Sqrt => map_tensor(x, T::sqrt),
            UnaryOp::Recip => map_tensor(x, T::recip),
            UnaryOp::Abs => map_tensor(x, T::abs),
            UnaryOp::Sign => map_tensor(x, move |v| {
                if v > T::zero() {
                    T::one()
                } else if v < T::zero() {
                    -T::one()
                } else {
                    v
                }
            }),
            UnaryOp::Pow(2.0) => map_tensor(x, move |v| v * v),
            UnaryOp::Pow(e) => {
                let e = t(e);
                map_tensor(x, move |v| v.powf(e))
            }
            UnaryOp::AddScalar(s) => {
                let s = t(s);
                map_tensor(x, move |v| v + s)
            }
            UnaryOp::MulScalar(s) => {
                let s = t(s);
                map_tensor(x, move |v| v * s)
            }
            UnaryOp::DivScalar(s) => {
                let s = t(s);
                map_tensor(x, move |v| v / s)
            }
            UnaryOp::RDivScalar(s) => {
                let s = t(s);
                map_tensor(x, move |v| s / v)
            }
            UnaryOp::Clamp { min, max } => {
                let (lo, hi) = (t(min), t(max));
                map_tensor(x, move |v| {
                    if v < lo {
                        lo
                    } else if v > hi {
                        hi
                    } else {
                        v
                    }
                })
            }
            UnaryOp::ClampDerivative { min, max } => {
                let (lo, hi) = (t(min), t(max));
                map_tensor(x, move |v| mask(v > lo && v < hi))
            }
            UnaryOp::Erf => map_tensor(x, Float::erf),
            UnaryOp::Relu => map_tensor(x, move |v| if v > T::zero() { v } else { T::zero() }),
            UnaryOp::LeakyRelu(slope) => {
                let slope = t(slope);
                map_tensor(x, move |v| if v > T::zero() { v } else { v * slope })
            }
            UnaryOp::LeakyReluDerivative(slope) => {
                let slope = t(slope);
                map_tensor(x, move |v| if v > T::zero() { T::one() } else { slope })
            }
            UnaryOp::Sigmoid => map_tensor_wide::<T, Sigmoid>(x),
            UnaryOp::Tanh => map_tensor_wide::<T, Tanh>(x),
            UnaryOp::Sin => map_tensor(x, T::sin),
            UnaryOp::Cos => map_tensor(x, T::cos),
            UnaryOp::Gelu => Tensor::from_contiguous(contiguous_elements(x, gelu), x.shape()),
            UnaryOp::GeluTanh => {
                let (half, beta, kappa) = (t(0.5), t(GELU_BETA), t(GELU_KAPPA));
                map_tensor(x, move |v| {
                    half * v * (T::one() + (beta * (v + kappa * v * v * v)).tanh())
                })
            }
            UnaryOp::GeluTanhDerivative => {
                let (half, beta, kappa) = (t(0.5), t(GELU_BETA), t(GELU_KAPPA));
                let three_kappa = t(3.0 * GELU_KAPPA);
                map_tensor(x, move |v| {
                    // PyTorch's formula, term by term.
                    let v2 = v * v;
                    let tanh = (beta * (v + kappa * v2 * v)).tanh();
                    let left = half * v;
                    let right = T::one() + tanh;
                    half * right + left * (T::one() - tanh * tanh) * beta * (T::one() + three_kappa * v2)
                })
            }
            UnaryOp::NegLogSigmoid => map_tensor(x, move |v| {
                (-v).max(T::zero()) + (-v.abs()).exp_kernel().ln_1p_kernel()
            }),
            UnaryOp::Compare(c, s) => {
                let s = t(s);
                match c {
                    Comparison::Eq => map_tensor(x, move |v| mask(v == s)),
                    Comparison::Ne => map_tensor(x, move |v| mask(v != s)),
                    Comparison::Lt => map_tensor(x, move |v| mask(v < s)),
                    Comparison::Le => map_tensor(x, move |v| mask(v <= s)),
                    Comparison::Gt => map_tensor(x, move |v| mask(v > s)),
                    Comparison::Ge => map_tensor(x, move |v| mask(v >= s)),
                }
            }
        }
    }

    fn binary<T: Float>(op: BinaryOp, a: &Tensor<T>, b: &Tensor<T>, shape: &[usize]) -> Tensor<T> {
        match op {
            BinaryOp::Add => zip_tensors(a, b, shape, move |x, y| x + y),
            BinaryOp::Sub => zip_tensors(a, b, shape, move |x, y| x - y),
            BinaryOp::Mul => zip_tensors(a, b, shape, move |x, y| x * y),
            BinaryOp::Div => zip_tensors(a, b, shape, move |x, y| x / y),
            BinaryOp::Pow => zip_tensors(a, b, shape, T::powf),
            BinaryOp::Maximum => zip_tensors(a, b, shape, move |x, y| {
                if x.is_nan() || y.is_nan() {
                    T::nan()
                } else {
                    x.max(y)
                }
            }),
            BinaryOp::Minimum => zip_tensors(a, b, shape, move |x, y| {
                if x.is_nan() || y.is_nan() {
                    T::nan()
                } else {
                    x.min(y)
                }
            }),
            BinaryOp::Compare(c) => match c {
                Comparison::Eq => zip_tensors(a, b, shape, move |x, y| mask(x == y)),
                Comparison::Ne => zip_tensors(a, b, shape, move |x, y| mask(x != y)),
                Comparison::Lt => zip_tensors(a, b, shape, move |x, y| mask(x < y)),
                Comparison::Le => zip_tensors(a, b, shape, move |x, y| mask(x <= y)),
                Comparison::Gt => zip_tensors(a, b, shape, move |x, y| mask(x > y)),
                Comparison::Ge => zip_tensors(a, b, shape, move |x, y| mask(x >= y)),
            },
            BinaryOp::BinaryCrossEntropy => zip_tensors_wide::<T, BinaryCrossEntropy>(a, b, shape),
            BinaryOp::BinaryCrossEntropyGrad => {
                let epsilon = T::from_f64(f64::from(BCE_EPSILON));
                zip_tensors(a, b, shape, move |p, y| {
                    (p - y) / ((T::one() - p) * p).max(epsilon)
                })
            }
            BinaryOp::GeluDerivativeFromValue => zip_tensors_wide::<T, GeluDerivativeFromValue>(a, b, shape),
            BinaryOp::RunningAverage { weight, scale } => zip_tensors(a, b, shape, move |r, x| {
                T::from_f64(weight * x.as_f64() * scale + (1.0 - weight) * r.as_f64())
            }),
        }
    }

    fn binary_assign<T: Float>(op: BinaryOp, target: &Tensor<T>, source: &Tensor<T>) {
        match op {
            BinaryOp::Add => update(target, source, move |x, y| x + y),
            BinaryOp::Sub => update(target, source, move |x, y| x - y),
            BinaryOp::Mul => update(target, source, move |x, y| x * y),
            BinaryOp::RunningAverage { weight, scale } => update(target, source, move |r, x| {
                T::from_f64(weight * x.as_f64() * scale + (1.0 - weight) * r.as_f64())
            }),
            // The rest have no fused in-place loop: compute, then copy back.
            other => {
                let out = Self::binary(other, target, source, target.shape());
                update(target, &out, |_, y| y);
            }
        }
    }

    fn where_<T: Float>(
        condition: &Tensor<T>,
        on_true: &Tensor<T>,
        on_false: &Tensor<T>,
        shape: &[usize],
    ) -> Tensor<T> {
        let c = broadcast_elements(condition, shape);
        let (t, f) = (
            broadcast_elements(on_true, shape),
            broadcast_elements(on_false, shape),
        );
        let out = c
            .iter()
            .zip(t.iter().zip(&f))
            .map(|(&c, (&t, &f))| if c != T::zero() { t } else { f })
            .collect();
        Tensor::from_contiguous(out, shape)
    }

    fn triangle<T: Float>(x: &Tensor<T>, triangle: Triangle) -> Tensor<T> {
        let shape = x.shape();
        let (rows, cols) = (shape[shape.len() - 2], shape[shape.len() - 1]);
        let out = contiguous_elements(x, |s| match triangle {
            Triangle::Lower { diagonal } => keep_triangle(s, rows, cols, |i, j| j - i <= diagonal),
            Triangle::Upper { diagonal } => keep_triangle(s, rows, cols, |i, j| j - i >= diagonal),
        });
        Tensor::from_contiguous(out, shape)
    }

    fn cast<T: Float, U: Float>(x: &Tensor<T>) -> Tensor<U> {
        let out = contiguous_elements(x, |s| s.iter().map(|&v| U::from_f64(v.as_f64())).collect());
        Tensor::from_contiguous(out, x.shape())
    }

    fn map_host<T: Float>(x: &Tensor<T>, f: impl Fn(T) -> T + Sync) -> Tensor<T> {
        map_tensor(x, f)
    }
}
