//! The optimizers' fused parameter updates: one pass over a parameter, its
//! gradient and its state buffers, with PyTorch's exact formulas.

use rayon::prelude::*;

use crate::backend::ops::OptimizerUpdate;
use crate::element::Float;

/// Applies `update` to `data` (a parameter) with gradient `grad` and the
/// update's state buffers `state`, all of the same length.
pub(crate) fn optimizer_update<T: Float>(
    update: &OptimizerUpdate,
    data: &mut [T],
    grad: &[T],
    state: &mut [&mut [T]],
) {
    debug_assert_eq!(state.len(), update.buffer_count());
    match *update {
        OptimizerUpdate::Sgd {
            lr,
            weight_decay,
            maximize,
        } => {
            let neg_lr = T::from_f64(-lr);
            let effective = effective_grad(maximize, weight_decay);
            for (x, &g) in data.iter_mut().zip(grad) {
                *x = *x + neg_lr * effective(g, *x);
            }
        }
        OptimizerUpdate::SgdMomentum {
            lr,
            weight_decay,
            maximize,
            momentum,
            dampening,
            nesterov,
            first_step,
        } => {
            let neg_lr = T::from_f64(-lr);
            let effective = effective_grad(maximize, weight_decay);
            let momentum = T::from_f64(momentum);
            let keep = T::from_f64(1.0 - dampening);
            for_each_chunk(data, grad, state, |data, grad, state| {
                let elements = data.iter_mut().zip(grad).zip(state[0].iter_mut());
                if first_step {
                    // The buffer starts as the gradient itself (no dampening).
                    for ((x, &g), b) in elements {
                        let g = effective(g, *x);
                        *b = g;
                        let d = if nesterov { g + momentum * g } else { g };
                        *x = *x + neg_lr * d;
                    }
                } else {
                    for ((x, &g), b) in elements {
                        let g = effective(g, *x);
                        *b = *b * momentum + keep * g;
                        let d = if nesterov { g + momentum * *b } else { *b };
                        *x = *x + neg_lr * d;
                    }
                }
            });
        }
        OptimizerUpdate::Adam {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
            decoupled,
            // The third buffer, present with AMSGrad, says it.
            amsgrad: _,
            maximize,
            step,
        } => {
            let coupled = weight_decay != 0.0 && !decoupled;
            let decoupled = weight_decay != 0.0 && decoupled;
            let shrink = T::from_f64(1.0 - lr * weight_decay);
            let weight_decay = T::from_f64(weight_decay);
            let one_minus_beta1 = T::from_f64(1.0 - beta1);
            let beta2_t = T::from_f64(beta2);
            let one_minus_beta2 = T::from_f64(1.0 - beta2);
            let eps = T::from_f64(eps);
            // Scalars in f64, as PyTorch computes them in Python.
            let bias_correction1 = 1.0 - beta1.powf(step);
            let bias_correction2 = 1.0 - beta2.powf(step);
            let neg_step_size = T::from_f64(-(lr / bias_correction1));
            let bias_correction2_sqrt = T::from_f64(bias_correction2.powf(0.5));
            let update = move |x: &mut T, g: T, m: &mut T, v: &mut T, max: Option<&mut T>| {
                let mut g = if maximize { -g } else { g };
                if decoupled {
                    *x = *x * shrink;
                } else if coupled {
                    g = g + weight_decay * *x;
                }
                *m = lerp(*m, g, one_minus_beta1);
                *v = *v * beta2_t + one_minus_beta2 * g * g;
                let second = match max {
                    Some(max) => {
                        *max = maximum(*max, *v);
                        *max
                    }
                    None => *v,
                };
                let denom = second.sqrt() / bias_correction2_sqrt + eps;
                *x = *x + neg_step_size * *m / denom;
            };
            for_each_chunk(data, grad, state, |data, grad, state| {
                let [ms, vs, rest @ ..] = state else {
                    unreachable!("Adam has two or three buffers")
                };
                let elements = data.iter_mut().zip(grad).zip(ms.iter_mut().zip(vs.iter_mut()));
                match rest {
                    [maxes] => {
                        for (((x, &g), (m, v)), max) in elements.zip(maxes.iter_mut()) {
                            update(x, g, m, v, Some(max));
                        }
                    }
                    _ => adam_chunk(elements, &update),
                }
            });
        }
        OptimizerUpdate::RmsProp {
            lr,
            alpha,
            eps,
            weight_decay,
            momentum,
            centered,
            maximize,
        } => {
            let with_momentum = momentum > 0.0;
            let decay = weight_decay != 0.0;
            let weight_decay = T::from_f64(weight_decay);
            let one_minus_alpha = T::from_f64(1.0 - alpha);
            let alpha = T::from_f64(alpha);
            let eps = T::from_f64(eps);
            let momentum = T::from_f64(momentum);
            let neg_lr = T::from_f64(-lr);
            for_each_chunk(data, grad, state, |data, grad, state| {
                let (square_avg, rest) = state.split_first_mut().expect("RMSprop keeps square_avg");
                let (momentum_buffer, rest) = match rest {
                    [b, rest @ ..] if with_momentum => (&mut **b, rest),
                    rest => (&mut [][..], rest),
                };
                let grad_avg: &mut [T] = match rest {
                    [a] => a,
                    _ => &mut [],
                };
                for (i, ((x, &g), sq)) in data.iter_mut().zip(grad).zip(square_avg.iter_mut()).enumerate() {
                    let mut g = if maximize { -g } else { g };
                    if decay {
                        g = g + weight_decay * *x;
                    }
                    *sq = *sq * alpha + one_minus_alpha * g * g;
                    let root = if centered {
                        let a = &mut grad_avg[i];
                        *a = lerp(*a, g, one_minus_alpha);
                        (*sq - *a * *a).sqrt()
                    } else {
                        sq.sqrt()
                    };
                    let denom = root + eps;
                    if with_momentum {
                        let b = &mut momentum_buffer[i];
                        *b = *b * momentum + g / denom;
                        *x = *x + neg_lr * *b;
                    } else {
                        *x = *x + neg_lr * g / denom;
                    }
                }
            });
        }
        OptimizerUpdate::Adagrad {
            clr,
            weight_decay,
            eps,
            maximize,
        } => {
            let neg_clr = T::from_f64(-clr);
            let decay = weight_decay != 0.0;
            let weight_decay = T::from_f64(weight_decay);
            let eps = T::from_f64(eps);
            for_each_chunk(data, grad, state, |data, grad, state| {
                for ((x, &g), s) in data.iter_mut().zip(grad).zip(state[0].iter_mut()) {
                    let mut g = if maximize { -g } else { g };
                    if decay {
                        g = g + weight_decay * *x;
                    }
                    *s = *s + g * g;
                    let std = s.sqrt() + eps;
                    *x = *x + neg_clr * g / std;
                }
            });
        }
    }
}

/// The gradient after maximize and a coupled weight decay, as PyTorch
/// forms it.
fn effective_grad<T: Float>(maximize: bool, weight_decay: f64) -> impl Fn(T, T) -> T + Copy + Sync {
    let decay = weight_decay != 0.0;
    let weight_decay = T::from_f64(weight_decay);
    move |g: T, x: T| {
        let g = if maximize { -g } else { g };
        if decay {
            g + weight_decay * x
        } else {
            g
        }
    }
}

/// One chunk of a parameter, of its gradient and of each state buffer.
type Chunk<'a, T> = (&'a mut [T], &'a [T], Vec<&'a mut [T]>);

/// Runs `f` on matching chunks of a parameter's data, its gradient and its
/// state buffers, in parallel for a large parameter. The updates are
/// elementwise, so chunks are independent; a big layer's weights (an MLP's
/// 784 x 256) are worth spreading over threads.
fn for_each_chunk<T: Float>(
    data: &mut [T],
    grad: &[T],
    state: &mut [&mut [T]],
    f: impl Fn(&mut [T], &[T], &mut [&mut [T]]) + Sync + Send,
) {
    const CHUNK: usize = 1 << 14;
    if data.len() < 2 * CHUNK || rayon::current_num_threads() == 1 {
        return f(data, grad, state);
    }
    let mut buffers: Vec<std::slice::ChunksMut<'_, T>> =
        state.iter_mut().map(|b| b.chunks_mut(CHUNK)).collect();
    let chunks: Vec<Chunk<'_, T>> = data
        .chunks_mut(CHUNK)
        .zip(grad.chunks(CHUNK))
        .map(|(x, g)| {
            let state = buffers
                .iter_mut()
                .map(|b| b.next().expect("state buffers as long as the data"))
                .collect();
            (x, g, state)
        })
        .collect();
    chunks
        .into_par_iter()
        .for_each(|(x, g, mut state)| f(x, g, &mut state));
}

/// Adam's update over a chunk without AMSGrad (the usual case), compiled
/// twice: for AVX2 when the CPU has it (checked at run time), and for the
/// baseline. Built for the baseline alone, Adam was a fifth of a VAE
/// training step, and with AVX2 it is under a tenth (`perf` of `nabla
/// bench --only vae`); the results are the same bits either way (AVX2
/// alone forms no fused multiply-adds).
fn adam_chunk<'a, T: Float>(
    elements: impl Iterator<Item = ((&'a mut T, &'a T), (&'a mut T, &'a mut T))>,
    update: &(impl Fn(&mut T, T, &mut T, &mut T, Option<&mut T>) + Sync),
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { adam_chunk_avx2(elements, update) };
    }
    adam_chunk_body(elements, update)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn adam_chunk_avx2<'a, T: Float>(
    elements: impl Iterator<Item = ((&'a mut T, &'a T), (&'a mut T, &'a mut T))>,
    update: &(impl Fn(&mut T, T, &mut T, &mut T, Option<&mut T>) + Sync),
) {
    adam_chunk_body(elements, update)
}

#[inline(always)]
fn adam_chunk_body<'a, T: Float>(
    elements: impl Iterator<Item = ((&'a mut T, &'a T), (&'a mut T, &'a mut T))>,
    update: &(impl Fn(&mut T, T, &mut T, &mut T, Option<&mut T>) + Sync),
) {
    for ((x, &g), (m, v)) in elements {
        update(x, g, m, v, None);
    }
}

/// PyTorch's `lerp(start, end, weight)`, with its two formulas for small
/// and large weights.
#[inline]
fn lerp<T: Float>(start: T, end: T, weight: T) -> T {
    if weight.abs() < T::from_f64(0.5) {
        start + weight * (end - start)
    } else {
        end - (end - start) * (T::one() - weight)
    }
}

/// The larger of two values, NaN if either is (as `torch.maximum`).
#[inline]
fn maximum<T: Float>(a: T, b: T) -> T {
    if a.is_nan() || a > b {
        a
    } else {
        b
    }
}
