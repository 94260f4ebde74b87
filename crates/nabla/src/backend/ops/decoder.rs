//! The sizes of a stack of pre-norm transformer decoder blocks (nanoGPT's
//! `Block`) and the order its weights are packed in, for the fused
//! inference pass.

/// One of a block's weights, in the order [`DecoderSpec::parts`] packs
/// them. The linear weights are packed transposed, `[in, out]`, so that a
/// row of activations multiplies them without repacking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DecoderPart {
    /// `ln_1.weight`, `[C]`.
    Norm1Weight,
    /// `ln_1.bias`, `[C]`.
    Norm1Bias,
    /// `attn.c_attn.weight` transposed, `[C, 3C]`.
    AttentionInWeight,
    /// `attn.c_attn.bias`, `[3C]`.
    AttentionInBias,
    /// `attn.c_proj.weight` transposed, `[C, C]`.
    AttentionOutWeight,
    /// `attn.c_proj.bias`, `[C]`.
    AttentionOutBias,
    /// `ln_2.weight`, `[C]`.
    Norm2Weight,
    /// `ln_2.bias`, `[C]`.
    Norm2Bias,
    /// `mlp.c_fc.weight` transposed, `[C, 4C]`.
    HiddenWeight,
    /// `mlp.c_fc.bias`, `[4C]`.
    HiddenBias,
    /// `mlp.c_proj.weight` transposed, `[4C, C]`.
    OutputWeight,
    /// `mlp.c_proj.bias`, `[C]`.
    OutputBias,
}

impl DecoderPart {
    /// The number of parts.
    pub const COUNT: usize = 12;

    /// Whether this part is a bias, present only in a model with biases.
    pub fn is_bias(self) -> bool {
        matches!(
            self,
            Self::Norm1Bias
                | Self::AttentionInBias
                | Self::AttentionOutBias
                | Self::Norm2Bias
                | Self::HiddenBias
                | Self::OutputBias
        )
    }
}

/// `layers` blocks of width `n_embd` with `n_head` heads: each
/// `x + attn(ln_1(x))`, then `x + mlp(ln_2(x))`, with causal attention over
/// a key/value cache of `capacity` positions, LayerNorm's `eps` and the
/// exact GELU; biases on the linear layers and the LayerNorms if `bias`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DecoderSpec {
    pub layers: usize,
    pub n_embd: usize,
    pub n_head: usize,
    pub capacity: usize,
    pub bias: bool,
    pub eps: f64,
}

impl DecoderSpec {
    /// Every part of one block with its number of elements, in packing
    /// order; the biases only with `bias`.
    pub fn parts(&self) -> Vec<(DecoderPart, usize)> {
        use DecoderPart::*;
        let c = self.n_embd;
        [
            (Norm1Weight, c),
            (Norm1Bias, c),
            (AttentionInWeight, c * 3 * c),
            (AttentionInBias, 3 * c),
            (AttentionOutWeight, c * c),
            (AttentionOutBias, c),
            (Norm2Weight, c),
            (Norm2Bias, c),
            (HiddenWeight, c * 4 * c),
            (HiddenBias, 4 * c),
            (OutputWeight, 4 * c * c),
            (OutputBias, c),
        ]
        .into_iter()
        .filter(|(part, _)| self.bias || !part.is_bias())
        .collect()
    }

    /// The elements of one block's packed weights.
    pub fn block_len(&self) -> usize {
        self.parts().iter().map(|&(_, n)| n).sum()
    }

    /// The elements of a cache of `batch` sequences: keys then values of
    /// every layer, `[layers, 2, batch, capacity, n_embd]`.
    pub fn cache_len(&self, batch: usize) -> usize {
        self.layers * 2 * batch * self.capacity * self.n_embd
    }

    /// Each head's width.
    pub fn head_dim(&self) -> usize {
        self.n_embd / self.n_head
    }
}

/// Where a call's new positions sit: `batch` sequences of `time` new
/// positions after `start` cached ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DecoderStep {
    pub batch: usize,
    pub start: usize,
    pub time: usize,
}

impl DecoderStep {
    /// The sequence and the new position (from 0) of row `row` of the
    /// call's `batch * time`.
    pub fn locate(&self, row: usize) -> (usize, usize) {
        (row / self.time, row % self.time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_without_biases_packs_its_four_products_and_two_norm_weights() {
        let spec = DecoderSpec {
            layers: 2,
            n_embd: 8,
            n_head: 2,
            capacity: 4,
            bias: false,
            eps: 1e-5,
        };
        assert_eq!(spec.block_len(), 12 * 64 + 2 * 8);
        let with_bias = DecoderSpec { bias: true, ..spec };
        assert_eq!(
            with_bias.block_len(),
            12 * 64 + 2 * 8 + 2 * 8 + 3 * 8 + 8 + 4 * 8 + 8
        );
        assert_eq!(with_bias.cache_len(3), 2 * 2 * 3 * 4 * 8);
    }
}
