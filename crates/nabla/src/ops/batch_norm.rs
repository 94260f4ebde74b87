//! Batch normalisation as one recorded op, with batch statistics:
//! `y = (x - mean) / sqrt(var + eps) * weight + bias` per channel of
//! `[N, C, ...]`, the statistics over every dimension but the channels.
//!
//! The forward pass is two loops (the moments, then one scale and shift per
//! channel), the backward pass two more (two sums per channel, then the
//! input's gradient), where the composition of elementwise ops and
//! reductions took a dozen passes each way. Under `create_graph` the
//! backward formula is written with recorded ops on the statistics
//! recomputed from the input, so second derivatives stay exact. With
//! running statistics (evaluation mode) it is one scale and shift per
//! channel each way.

use crate::autograd::{is_grad_enabled, record, BackwardCtx};
use crate::backend;
use crate::backend::ops::UnaryOp;
use crate::backend::NormClamp;
use crate::element::Float;
use crate::tensor::Tensor;

/// A batch's per-channel statistics, `[C]` each, without history.
pub(crate) struct BatchStatistics<T: Float> {
    /// The mean of every channel.
    pub mean: Tensor<T>,
    /// The biased variance of every channel.
    pub var: Tensor<T>,
}

impl<T: Float> Tensor<T> {
    /// Batch normalisation of `self` (`[N, C, ...]`) with its own
    /// per-channel statistics and the optional affine parameters `weight`
    /// and `bias` (`[C]`), then `clamp = (min, max)` if given (ReLU6 is
    /// `(0, 6)`), recorded as one op; also the statistics, for the running
    /// estimates. The values and gradients of the normalisation then
    /// [`Tensor::clamp`] (the gradient passes strictly inside the bounds),
    /// with the clamp applied in the normalisation's pass and its mask
    /// recomputed inside the backward pass's two loops.
    pub(crate) fn batch_norm_with_batch_statistics(
        &self,
        weight: Option<&Tensor<T>>,
        bias: Option<&Tensor<T>>,
        eps: f64,
        clamp: Option<(T, T)>,
    ) -> (Tensor<T>, BatchStatistics<T>) {
        let [center, remainder, var] = backend::channel_moments(self);
        let invstd = var.add_scalar(T::from_f64(eps)).sqrt().recip();
        let scale = match weight {
            Some(w) => invstd.mul(&w.detach()),
            None => invstd.clone(),
        };
        // (x - mean) a + b = (x - center) a + (b - remainder a).
        let shift = match bias {
            Some(b) => b.detach().sub(&remainder.mul(&scale)),
            None => remainder.mul(&scale).neg(),
        };
        let bounds = clamp.map(|(min, max)| (min.as_f64(), max.as_f64()));
        let out = backend::channel_affine(self, [&center, &scale, &shift], bounds);
        let inputs: Vec<&Tensor<T>> = [Some(self), weight, bias].into_iter().flatten().collect();
        let (x, w, has_bias) = (self.clone(), weight.cloned(), bias.is_some());
        let mean = center.add(&remainder);
        let saved = [center, remainder, invstd];
        let out = record("BatchNorm", out, &inputs, move |ctx| {
            let [center, _, _] = &saved;
            let clamp = bounds.map(|bounds| NormClamp {
                affine: [center, &scale, &shift],
                bounds,
            });
            let (dx, dw, db) = if ctx.create_graph {
                let g = match &clamp {
                    Some(clamp) => ctx.grad().mul(&clamp_mask(&x, clamp)),
                    None => ctx.grad().clone(),
                };
                batch_norm_backward_recorded(&x, w.as_ref(), &g, eps)
            } else {
                batch_norm_backward_fused(&x, w.as_ref(), ctx.grad(), &saved, clamp.as_ref())
            };
            affine_norm_grads(ctx, dx, w.is_some().then_some(dw), has_bias.then_some(db))
        });
        (out, BatchStatistics { mean, var })
    }
}

/// The gradients of a normalisation's inputs, in their order `x`,
/// `weight` (if the op had one), `bias` (if it had one), each where
/// needed.
pub(super) fn affine_norm_grads<T: Float>(
    ctx: &BackwardCtx<'_, T>,
    dx: Tensor<T>,
    dw: Option<Tensor<T>>,
    db: Option<Tensor<T>>,
) -> Vec<Option<Tensor<T>>> {
    let mut grads = vec![ctx.needs_input_grad(0).then_some(dx)];
    for g in [dw, db].into_iter().flatten() {
        grads.push(ctx.needs_input_grad(grads.len()).then_some(g));
    }
    grads
}

impl<T: Float> Tensor<T> {
    /// Batch normalisation of `self` (`[N, C, ...]`) with given running
    /// statistics `mean` and `var` (`[C]`, constants), as in evaluation
    /// mode, recorded as one op: one pass of `x a + b` per channel where
    /// the composition of a subtraction, a division, a product and a sum
    /// made four.
    pub(crate) fn batch_norm_with_running_statistics(
        &self,
        mean: &Tensor<T>,
        var: &Tensor<T>,
        weight: Option<&Tensor<T>>,
        bias: Option<&Tensor<T>>,
        eps: f64,
    ) -> Tensor<T> {
        let (invstd, scale, shift) = running_scale_and_shift(var, weight, bias, eps, mean.shape());
        let mean = mean.detach();
        let out = backend::channel_affine(self, [&mean, &scale, &shift], None);
        let inputs: Vec<&Tensor<T>> = [Some(self), weight, bias].into_iter().flatten().collect();
        let (x, w, has_bias) = (self.clone(), weight.cloned(), bias.is_some());
        record("BatchNormEval", out, &inputs, move |ctx| {
            let g = ctx.grad();
            let ndim = g.ndim();
            let dims = statistic_dims(ndim);
            let invstd_view = per_channel_view(&invstd, ndim);
            let dx = match &w {
                Some(w) => g.mul(&per_channel_view(&invstd.mul(w), ndim)),
                None => g.mul(&invstd_view),
            };
            let mut grads = vec![ctx.needs_input_grad(0).then_some(dx)];
            if w.is_some() {
                let normalized = x.sub(&per_channel_view(&mean, ndim)).mul(&invstd_view);
                let dw = g.mul(&normalized).sum_dims(&dims, false);
                grads.push(ctx.needs_input_grad(1).then_some(dw));
            }
            if has_bias {
                let db = g.sum_dims(&dims, false);
                grads.push(ctx.needs_input_grad(grads.len()).then_some(db));
            }
            grads
        })
    }
}

impl<T: Float> Tensor<T> {
    /// [`batch_norm_with_running_statistics`](Tensor::batch_norm_with_running_statistics)
    /// then `clamp(min, max)` (evaluation-mode BatchNorm and the ReLU6
    /// after it): one pass over memory and one buffer when nothing is
    /// recorded (under `no_grad`, or when neither the input nor the affine
    /// parameters require gradients), the two recorded ops otherwise. The
    /// same values either way.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn batch_norm_with_running_statistics_clamped(
        &self,
        mean: &Tensor<T>,
        var: &Tensor<T>,
        weight: Option<&Tensor<T>>,
        bias: Option<&Tensor<T>>,
        eps: f64,
        (min, max): (T, T),
    ) -> Tensor<T> {
        let recorded = is_grad_enabled()
            && [Some(self), weight, bias]
                .into_iter()
                .flatten()
                .any(Tensor::is_requires_grad);
        if recorded {
            return self
                .batch_norm_with_running_statistics(mean, var, weight, bias, eps)
                .clamp(Some(min), Some(max));
        }
        let [center, scale, shift] = running_affine(mean, var, weight, bias, eps);
        backend::channel_affine(
            self,
            [&center, &scale, &shift],
            Some((min.as_f64(), max.as_f64())),
        )
    }
}

/// `[center, scale, shift]` of evaluation-mode BatchNorm with running
/// statistics, `y = (x - center) scale + shift` (constants, `[C]` each).
pub(crate) fn running_affine<T: Float>(
    mean: &Tensor<T>,
    var: &Tensor<T>,
    weight: Option<&Tensor<T>>,
    bias: Option<&Tensor<T>>,
    eps: f64,
) -> [Tensor<T>; 3] {
    let (_, scale, shift) = running_scale_and_shift(var, weight, bias, eps, mean.shape());
    [mean.detach(), scale, shift]
}

/// `invstd = 1 / sqrt(var + eps)`, `scale = invstd * weight` and
/// `shift = bias` of evaluation-mode BatchNorm (`[C]`, constants):
/// `y = (x - mean) scale + shift`.
fn running_scale_and_shift<T: Float>(
    var: &Tensor<T>,
    weight: Option<&Tensor<T>>,
    bias: Option<&Tensor<T>>,
    eps: f64,
    channels: &[usize],
) -> (Tensor<T>, Tensor<T>, Tensor<T>) {
    let invstd = var.detach().add_scalar(T::from_f64(eps)).sqrt().recip();
    let scale = match weight {
        Some(w) => invstd.mul(&w.detach()),
        None => invstd.clone(),
    };
    let shift = match bias {
        Some(b) => b.detach(),
        None => Tensor::zeros(channels),
    };
    (invstd, scale, shift)
}

/// The dimensions the statistics are taken over: all but the channels.
fn statistic_dims(ndim: usize) -> Vec<isize> {
    (0..ndim as isize).filter(|&d| d != 1).collect()
}

/// `[1, C, 1, ...]` of rank `ndim`.
fn per_channel_view<T: Float>(t: &Tensor<T>, ndim: usize) -> Tensor<T> {
    let mut shape = vec![1; ndim];
    shape[1] = t.numel();
    t.reshape(&shape)
}

/// The gradients of the input, weight and bias in the fused loops:
/// `Σ g` and `Σ g x̂` per channel, then `dx = w r (g - Σ g / M - x̂ Σ g x̂ / M)`
/// with `r = 1 / sqrt(var + eps)` and `M` values per channel, evaluated as
/// `a g + b (x - mean) + c` with per-channel `a = w r`,
/// `b = -a r² Σ g (x - mean) / M` and `c = -a Σ g / M`. The mean is
/// `center + remainder` (see [`backend::channel_moments`]): the loops
/// centre on `center` and the remainder's share is added per channel.
fn batch_norm_backward_fused<T: Float>(
    x: &Tensor<T>,
    weight: Option<&Tensor<T>>,
    g: &Tensor<T>,
    [center, remainder, invstd]: &[Tensor<T>; 3],
    clamp: Option<&NormClamp<'_, T>>,
) -> (Tensor<T>, Tensor<T>, Tensor<T>) {
    let count = T::from_f64((x.numel() / x.shape()[1]) as f64);
    let (sum_g, sum_g_off_center) = backend::channel_grad_sums(x, g, center, clamp);
    let sum_g_centered = sum_g_off_center.sub(&remainder.mul(&sum_g));
    let a = match weight {
        Some(w) => invstd.mul(&w.detach()),
        None => invstd.clone(),
    };
    let b = a
        .mul(invstd)
        .mul(invstd)
        .mul(&sum_g_centered)
        .div_scalar(count)
        .neg();
    // b (x - mean) + c = b (x - center) + (c - b remainder).
    let c = a.mul(&sum_g).div_scalar(count).add(&b.mul(remainder)).neg();
    let dx = backend::channel_input_grad(x, g, [&a, &b, &c, center], clamp);
    (dx, invstd.mul(&sum_g_centered), sum_g)
}

/// Where the clamp after the normalisation lets the gradient through: 1
/// where `min < (x - center) scale + shift < max`, else 0 (a constant, as
/// the clamp's own mask is).
fn clamp_mask<T: Float>(x: &Tensor<T>, clamp: &NormClamp<'_, T>) -> Tensor<T> {
    let (min, max) = clamp.bounds;
    let normalized = backend::channel_affine(&x.detach(), clamp.affine, None);
    backend::unary(UnaryOp::ClampDerivative { min, max }, &normalized)
}

/// The same gradients as recorded ops of the input (its statistics
/// recomputed), so that they can be differentiated again.
fn batch_norm_backward_recorded<T: Float>(
    x: &Tensor<T>,
    weight: Option<&Tensor<T>>,
    g: &Tensor<T>,
    eps: f64,
) -> (Tensor<T>, Tensor<T>, Tensor<T>) {
    let ndim = x.ndim();
    let dims = statistic_dims(ndim);
    let centered = x.sub(&x.mean_dims(&dims, true));
    let invstd = centered
        .square()
        .mean_dims(&dims, true)
        .add_scalar(T::from_f64(eps))
        .sqrt()
        .recip();
    let normalized = centered.mul(&invstd);
    let scaled_g = match weight {
        Some(w) => g.mul(&per_channel_view(w, ndim)),
        None => g.clone(),
    };
    let dx = invstd.mul(
        &scaled_g
            .sub(&scaled_g.mean_dims(&dims, true))
            .sub(&normalized.mul(&scaled_g.mul(&normalized).mean_dims(&dims, true))),
    );
    let dw = g.mul(&normalized).sum_dims(&dims, false);
    let db = g.sum_dims(&dims, false);
    (dx, dw, db)
}

#[cfg(test)]
mod tests {
    use crate::autograd::{grad_with, gradcheck, gradgradcheck, no_grad, GradcheckOptions};
    use crate::backend::counting::calls;
    use crate::tensor::{Generator, Tensor};

    /// Evaluation BatchNorm then ReLU6 in one pass (unrecorded) gives the
    /// values of the two recorded ops, NaN included, and is one
    /// `channel_affine` with no separate clamp.
    #[test]
    fn clamped_running_statistics_match_normalise_then_clamp() {
        let mut g = Generator::new(5);
        let mut x = Tensor::<f64>::randn(&[2, 3, 4, 5], &mut g)
            .mul_scalar(4.0)
            .to_vec();
        x[7] = f64::NAN;
        let x = Tensor::from_vec(x, &[2, 3, 4, 5]);
        let mean = Tensor::<f64>::randn(&[3], &mut g);
        let var = Tensor::<f64>::randn(&[3], &mut g).abs();
        let w = Tensor::<f64>::randn(&[3], &mut g).requires_grad();
        let b = Tensor::<f64>::randn(&[3], &mut g).requires_grad();
        let (composed, composed_calls) = calls(|| {
            x.batch_norm_with_running_statistics(&mean, &var, Some(&w), Some(&b), 1e-3)
                .clamp(Some(0.0), Some(6.0))
        });
        let (fused, fused_calls) = calls(|| {
            no_grad(|| {
                x.batch_norm_with_running_statistics_clamped(
                    &mean,
                    &var,
                    Some(&w),
                    Some(&b),
                    1e-3,
                    (0.0, 6.0),
                )
            })
        });
        // The same per-channel scale and shift ([C] ops), the clamp folded
        // into the one pass over the input.
        assert_eq!(fused_calls.get("channel_affine"), Some(&1), "{fused_calls:?}");
        assert_eq!(
            fused_calls["unary"] + 1,
            composed_calls["unary"],
            "{fused_calls:?} vs {composed_calls:?}"
        );
        let recorded =
            x.batch_norm_with_running_statistics_clamped(&mean, &var, Some(&w), Some(&b), 1e-3, (0.0, 6.0));
        assert!(recorded.is_requires_grad());
        for out in [fused, recorded] {
            for (a, c) in out.to_vec().iter().zip(composed.to_vec()) {
                assert!(a == &c || (a.is_nan() && c.is_nan()), "{a} vs {c}");
            }
        }
        let values = composed.to_vec();
        assert!(
            values.contains(&6.0) && values.contains(&0.0),
            "the clamp is exercised at both ends"
        );
    }

    /// The fused backward and the recorded one (taken under
    /// `create_graph`) are the same formula: they agree to rounding, with
    /// and without the affine parameters, on 2-D and 4-D inputs.
    #[test]
    fn fused_and_recorded_backward_agree() {
        let mut g = Generator::new(3);
        for shape in [vec![5, 3], vec![4, 3, 2, 5]] {
            for affine in [true, false] {
                let x = Tensor::<f64>::randn(&shape, &mut g)
                    .add_scalar(7.0)
                    .requires_grad();
                let w = Tensor::<f64>::randn(&[3], &mut g).requires_grad();
                let b = Tensor::<f64>::randn(&[3], &mut g).requires_grad();
                let upstream = Tensor::<f64>::randn(&shape, &mut g);
                let (w_opt, b_opt) = if affine {
                    (Some(&w), Some(&b))
                } else {
                    (None, None)
                };
                let mut inputs = vec![&x];
                if affine {
                    inputs.extend([&w, &b]);
                }
                let gradients = |create_graph| {
                    let (y, _) = x.batch_norm_with_batch_statistics(w_opt, b_opt, 1e-5, None);
                    grad_with(&[&y], &[&upstream], &inputs, false, create_graph)
                };
                let (fused, recorded) = (gradients(false), gradients(true));
                for (f, r) in fused.iter().zip(&recorded) {
                    let (f, r) = (f.as_ref().unwrap().to_vec(), r.as_ref().unwrap().to_vec());
                    for (a, b) in f.iter().zip(&r) {
                        assert!(
                            (a - b).abs() < 1e-12 * (1.0 + b.abs()),
                            "{shape:?} affine {affine}: {a} vs {b}"
                        );
                    }
                }
            }
        }
    }

    /// Training BatchNorm with the clamp folded in gives the values of the
    /// normalisation then `clamp`, and their gradients, through the fused
    /// loops and through the `create_graph` path, without the clamp's own
    /// forward pass and mask.
    #[test]
    fn clamped_batch_statistics_match_normalise_then_clamp() {
        let mut g = Generator::new(11);
        let shape = [4, 3, 5, 5];
        let x = Tensor::<f64>::randn(&shape, &mut g)
            .mul_scalar(3.0)
            .requires_grad();
        let w = Tensor::<f64>::randn(&[3], &mut g).requires_grad();
        let b = Tensor::<f64>::randn(&[3], &mut g).requires_grad();
        let upstream = Tensor::<f64>::randn(&shape, &mut g);
        let inputs = [&x, &w, &b];
        let run = |fused: bool, create_graph: bool| {
            let y = if fused {
                x.batch_norm_with_batch_statistics(Some(&w), Some(&b), 1e-5, Some((-0.5, 0.8)))
                    .0
            } else {
                x.batch_norm_with_batch_statistics(Some(&w), Some(&b), 1e-5, None)
                    .0
                    .clamp(Some(-0.5), Some(0.8))
            };
            let grads = grad_with(&[&y], &[&upstream], &inputs, false, create_graph);
            let grads: Vec<Vec<f64>> = grads.into_iter().map(|t| t.unwrap().to_vec()).collect();
            (y.to_vec(), grads)
        };
        let ((values, expected), composed_calls) = calls(|| run(false, false));
        assert!(
            values.contains(&-0.5) && values.contains(&0.8),
            "the clamp is exercised at both ends"
        );
        for create_graph in [false, true] {
            let ((fused_values, grads), fused_calls) = calls(|| run(true, create_graph));
            assert_eq!(fused_values, values);
            for (f, e) in grads.iter().zip(&expected) {
                for (a, b) in f.iter().zip(e) {
                    assert!(
                        (a - b).abs() < 1e-12 * (1.0 + b.abs()),
                        "create_graph {create_graph}: {a} vs {b}"
                    );
                }
            }
            if !create_graph {
                // Neither the clamp nor its mask: two elementwise passes fewer.
                assert_eq!(
                    fused_calls["unary"] + 2,
                    composed_calls["unary"],
                    "{fused_calls:?} vs {composed_calls:?}"
                );
            }
        }
    }

    /// Finite differences agree with the clamped op's first and second
    /// derivatives (in f64; no value lands within the differences' step of
    /// a bound).
    #[test]
    fn clamped_batch_statistics_pass_gradcheck() {
        let mut g = Generator::new(12);
        let inputs = vec![
            Tensor::<f64>::randn(&[3, 2, 3, 3], &mut g).mul_scalar(2.0),
            Tensor::<f64>::randn(&[2], &mut g),
            Tensor::<f64>::randn(&[2], &mut g),
        ];
        let f = |t: &[Tensor<f64>]| {
            t[0].batch_norm_with_batch_statistics(Some(&t[1]), Some(&t[2]), 1e-5, Some((-0.5, 0.8)))
                .0
        };
        let options = GradcheckOptions::default();
        gradcheck(f, &inputs, &options).unwrap();
        gradgradcheck(f, &inputs, &options).unwrap();
    }

    /// A training step through BatchNorm runs the fused loops: one moments
    /// and one affine pass forward, two passes backward.
    #[test]
    fn the_step_runs_the_fused_loops() {
        let mut g = Generator::new(0);
        let x = Tensor::<f32>::randn(&[8, 4, 6, 6], &mut g).requires_grad();
        let w = Tensor::<f32>::ones(&[4]).requires_grad();
        let (_, counted) = calls(|| {
            let (y, _) = x.batch_norm_with_batch_statistics(Some(&w), None, 1e-5, None);
            y.sum().backward();
        });
        for name in [
            "channel_moments",
            "channel_affine",
            "channel_grad_sums",
            "channel_input_grad",
        ] {
            assert_eq!(counted.get(name), Some(&1), "{name} in {counted:?}");
        }
        assert!(!counted.contains_key("sum_dims"), "{counted:?}");
    }
}
