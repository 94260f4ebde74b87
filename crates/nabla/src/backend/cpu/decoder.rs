//! The fused decoder pass on the CPU: the loops of [`crate::kernels::decoder`].

use super::{contiguous_elements, contiguous_elements_mut, elements_vec, Cpu};
use crate::backend::ops::{DecoderSpec, DecoderStep};
use crate::backend::DecoderOps;
use crate::element::Float;
use crate::kernels::decoder;
use crate::tensor::Tensor;

impl DecoderOps for Cpu {
    fn decoder_forward<T: Float>(
        x: &Tensor<T>,
        weights: &Tensor<T>,
        cache: &Tensor<T>,
        spec: &DecoderSpec,
        step: DecoderStep,
    ) -> Tensor<T> {
        let stream = elements_vec(x);
        let out = contiguous_elements(weights, |w| {
            contiguous_elements_mut(cache, |kv| decoder::decoder_forward(stream, w, kv, spec, step))
        });
        Tensor::from_contiguous(out, &[step.batch, spec.n_embd])
    }
}
