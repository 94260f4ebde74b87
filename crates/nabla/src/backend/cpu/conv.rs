//! Convolution on the CPU: the patch-matrix GEMMs of
//! [`crate::kernels::conv`].

use super::{contiguous_elements, elements_vec, Cpu};
use crate::backend::ops::ConvGeometry;
use crate::backend::ConvOps;
use crate::element::Float;
use crate::kernels::conv::{conv2d_forward, conv2d_input_grad, conv2d_weight_grad, ConvEpilogue};
use crate::tensor::Tensor;

impl ConvOps for Cpu {
    fn conv2d<T: Float>(
        x: &Tensor<T>,
        w: &Tensor<T>,
        bias: Option<&Tensor<T>>,
        g: &ConvGeometry,
    ) -> Tensor<T> {
        let out = contiguous_elements(x, |xs| {
            contiguous_elements(w, |ws| match bias {
                Some(b) => {
                    contiguous_elements(b, |bs| conv2d_forward(xs, ws, ConvEpilogue::bias(Some(bs)), g))
                }
                None => conv2d_forward(xs, ws, ConvEpilogue::bias(None), g),
            })
        });
        Tensor::from_contiguous(out, &g.output_shape())
    }

    fn conv2d_channel_affine<T: Float>(
        x: &Tensor<T>,
        w: &Tensor<T>,
        bias: Option<&Tensor<T>>,
        g: &ConvGeometry,
        per_channel: [&Tensor<T>; 3],
        clamp: Option<(f64, f64)>,
    ) -> Tensor<T> {
        let bias = bias.map(|b| elements_vec(b));
        let [m, a, b] = per_channel.map(|t| elements_vec(t));
        let epilogue = ConvEpilogue {
            bias: bias.as_deref(),
            normalize: Some((
                [&m, &a, &b],
                clamp.map(|(lo, hi)| (T::from_f64(lo), T::from_f64(hi))),
            )),
        };
        let out = contiguous_elements(x, |xs| {
            contiguous_elements(w, |ws| conv2d_forward(xs, ws, epilogue, g))
        });
        Tensor::from_contiguous(out, &g.output_shape())
    }

    fn conv2d_input_grad<T: Float>(dy: &Tensor<T>, w: &Tensor<T>, g: &ConvGeometry) -> Tensor<T> {
        let out = contiguous_elements(dy, |ds| contiguous_elements(w, |ws| conv2d_input_grad(ds, ws, g)));
        Tensor::from_contiguous(out, &g.input_shape())
    }

    fn conv2d_weight_grad<T: Float>(x: &Tensor<T>, dy: &Tensor<T>, g: &ConvGeometry) -> Tensor<T> {
        let out = contiguous_elements(x, |xs| {
            contiguous_elements(dy, |ds| conv2d_weight_grad(xs, ds, g))
        });
        Tensor::from_contiguous(out, &g.weight_shape())
    }
}
