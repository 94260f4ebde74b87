//! Recurrent layers on the CPU: the loops of [`crate::kernels::lstm`].

use super::{contiguous_elements, Cpu};
use crate::backend::ops::LstmSchedule;
use crate::backend::recurrent::{LstmForward, LstmGrads, LstmSaved};
use crate::backend::RecurrentOps;
use crate::element::Float;
use crate::kernels::lstm;
use crate::tensor::Tensor;

impl RecurrentOps for Cpu {
    fn lstm_forward<T: Float>(
        projected: &Tensor<T>,
        weight_hh: &Tensor<T>,
        h0: &Tensor<T>,
        c0: &Tensor<T>,
        schedule: &LstmSchedule,
    ) -> LstmForward<T> {
        let (steps, batch, hidden) = schedule.dims();
        let buffers = contiguous_elements(projected, |xp| {
            contiguous_elements(weight_hh, |w| {
                contiguous_elements(h0, |h| {
                    contiguous_elements(c0, |c| lstm::lstm_forward(xp, w, h, c, schedule))
                })
            })
        });
        let state = [steps, batch, hidden];
        let saved = buffers.saved;
        LstmForward {
            outputs: Tensor::from_contiguous(buffers.outputs, &[steps + 2, batch, hidden]),
            saved: LstmSaved {
                gates: Tensor::from_contiguous(saved.gates, &[steps, batch, 4 * hidden]),
                h_prev: Tensor::from_contiguous(saved.h_prev, &state),
                c_prev: Tensor::from_contiguous(saved.c_prev, &state),
                tanh_c: Tensor::from_contiguous(saved.tanh_c, &state),
            },
        }
    }

    fn lstm_backward<T: Float>(
        saved: &LstmSaved<T>,
        weight_hh: &Tensor<T>,
        grad_outputs: &Tensor<T>,
        schedule: &LstmSchedule,
    ) -> LstmGrads<T> {
        let (steps, batch, hidden) = schedule.dims();
        let grads = contiguous_elements(&saved.gates, |gates| {
            contiguous_elements(&saved.h_prev, |h_prev| {
                contiguous_elements(&saved.c_prev, |c_prev| {
                    contiguous_elements(&saved.tanh_c, |tanh_c| {
                        contiguous_elements(weight_hh, |w| {
                            contiguous_elements(grad_outputs, |g| {
                                let saved = lstm::LstmSaved {
                                    gates,
                                    h_prev,
                                    c_prev,
                                    tanh_c,
                                };
                                lstm::lstm_backward(saved, w, g, schedule)
                            })
                        })
                    })
                })
            })
        });
        LstmGrads {
            projected: Tensor::from_contiguous(grads.projected, &[steps, batch, 4 * hidden]),
            weight_hh: Tensor::from_contiguous(grads.weight_hh, &[4 * hidden, hidden]),
            h0: Tensor::from_contiguous(grads.h0, &[batch, hidden]),
            c0: Tensor::from_contiguous(grads.c0, &[batch, hidden]),
        }
    }
}
