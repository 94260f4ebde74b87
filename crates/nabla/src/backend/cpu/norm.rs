//! Batch and layer normalisation on the CPU: the loops of
//! [`crate::kernels::batch_norm`] and [`crate::kernels::layer_norm`].

use super::{contiguous_elements, elements_vec, Cpu};
use crate::backend::{NormClamp, NormOps};
use crate::element::Float;
use crate::kernels;
use crate::kernels::batch_norm::{self, ChannelLayout, ClampGate};
use crate::tensor::Tensor;

fn channel_layout<T: Float>(x: &Tensor<T>) -> ChannelLayout {
    let shape = x.shape();
    ChannelLayout {
        n: shape[0],
        c: shape[1],
        s: shape[2..].iter().product(),
    }
}

/// `[C]` tensors from per-channel pairs.
fn pair_tensors<T: Float>(pairs: Vec<(f64, f64)>) -> (Tensor<T>, Tensor<T>) {
    let c = pairs.len();
    let (first, second): (Vec<T>, Vec<T>) = pairs
        .into_iter()
        .map(|(a, b)| (T::from_f64(a), T::from_f64(b)))
        .unzip();
    (
        Tensor::from_contiguous(first, &[c]),
        Tensor::from_contiguous(second, &[c]),
    )
}

/// Each channel's gate of a clamp after BatchNorm.
fn clamp_gates<T: Float>(clamp: &NormClamp<'_, T>) -> Vec<ClampGate<T>> {
    let [center, scale, shift] = clamp.affine.map(|t| elements_vec(t));
    let (min, max) = (T::from_f64(clamp.bounds.0), T::from_f64(clamp.bounds.1));
    (0..center.len())
        .map(|c| ClampGate {
            center: center[c],
            scale: scale[c],
            shift: shift[c],
            min,
            max,
        })
        .collect()
}

impl NormOps for Cpu {
    fn channel_moments<T: Float>(x: &Tensor<T>) -> [Tensor<T>; 3] {
        let layout = channel_layout(x);
        let moments = contiguous_elements(x, |xs| batch_norm::channel_moments(xs, layout));
        let nearest: Vec<T> = moments.iter().map(|&(mean, _)| T::from_f64(mean)).collect();
        let remainder = moments
            .iter()
            .zip(&nearest)
            .map(|(&(mean, _), m)| T::from_f64(mean - m.as_f64()))
            .collect();
        let var = moments.iter().map(|&(_, var)| T::from_f64(var)).collect();
        let c = [layout.c];
        [
            Tensor::from_contiguous(nearest, &c),
            Tensor::from_contiguous(remainder, &c),
            Tensor::from_contiguous(var, &c),
        ]
    }

    fn channel_affine<T: Float>(
        x: &Tensor<T>,
        per_channel: [&Tensor<T>; 3],
        clamp: Option<(f64, f64)>,
    ) -> Tensor<T> {
        let layout = channel_layout(x);
        let [m, a, b] = per_channel.map(|t| elements_vec(t));
        let clamp = clamp.map(|(lo, hi)| (T::from_f64(lo), T::from_f64(hi)));
        let out = contiguous_elements(x, |xs| {
            batch_norm::channel_affine(xs, layout, [&m, &a, &b], clamp)
        });
        Tensor::from_contiguous(out, x.shape())
    }

    fn channel_grad_sums<T: Float>(
        x: &Tensor<T>,
        g: &Tensor<T>,
        mean: &Tensor<T>,
        clamp: Option<&NormClamp<'_, T>>,
    ) -> (Tensor<T>, Tensor<T>) {
        let layout = channel_layout(x);
        let gates = clamp.map(clamp_gates);
        let sums = contiguous_elements(x, |xs| {
            contiguous_elements(g, |gs| {
                contiguous_elements(mean, |m| {
                    batch_norm::channel_grad_sums(xs, gs, layout, m, gates.as_deref())
                })
            })
        });
        pair_tensors(sums)
    }

    fn channel_input_grad<T: Float>(
        x: &Tensor<T>,
        g: &Tensor<T>,
        coefficients: [&Tensor<T>; 4],
        clamp: Option<&NormClamp<'_, T>>,
    ) -> Tensor<T> {
        let layout = channel_layout(x);
        let [a, b, c, m] = coefficients.map(|t| elements_vec(t));
        let per_channel: Vec<[T; 4]> = (0..layout.c).map(|ch| [a[ch], b[ch], c[ch], m[ch]]).collect();
        let gates = clamp.map(clamp_gates);
        let out = contiguous_elements(x, |xs| {
            contiguous_elements(g, |gs| {
                batch_norm::channel_input_grad(xs, gs, layout, &per_channel, gates.as_deref())
            })
        });
        Tensor::from_contiguous(out, x.shape())
    }

    fn layer_norm<T: Float>(
        x: &Tensor<T>,
        n: usize,
        weight: Option<&Tensor<T>>,
        bias: Option<&Tensor<T>>,
        eps: f64,
    ) -> Tensor<T> {
        let (w, b) = (weight.map(elements_vec), bias.map(elements_vec));
        let out = contiguous_elements(x, |xs| {
            kernels::layer_norm::layer_norm_forward(xs, n, w.as_deref(), b.as_deref(), eps)
        });
        Tensor::from_contiguous(out, x.shape())
    }

    fn layer_norm_backward<T: Float>(
        x: &Tensor<T>,
        dy: &Tensor<T>,
        n: usize,
        weight: Option<&Tensor<T>>,
        eps: f64,
    ) -> [Tensor<T>; 3] {
        let w = weight.map(elements_vec);
        let (dx, dw, db) = contiguous_elements(x, |xs| {
            contiguous_elements(dy, |dys| {
                kernels::layer_norm::layer_norm_backward(xs, dys, n, w.as_deref(), eps)
            })
        });
        [
            Tensor::from_contiguous(dx, x.shape()),
            Tensor::from_contiguous(dw, &[n]),
            Tensor::from_contiguous(db, &[n]),
        ]
    }
}
