//! [`AttentionMask`]: which keys a query may attend to, in the three forms
//! PyTorch's masks take.

use crate::element::Float;
use crate::tensor::Tensor;

/// A mask on attention scores `[..., L, S]` (queries by keys), broadcast
/// to their shape.
///
/// PyTorch uses boolean masks with opposite meanings in two places:
/// `F.scaled_dot_product_attention` takes `True` where a query *may*
/// attend, `nn.MultiheadAttention` (its `attn_mask` and
/// `key_padding_mask`) takes `True` where it *may not*. nabla has no bool
/// tensors (a mask is a float tensor of 1.0 / 0.0), so the variant says
/// which meaning the nonzero entries have; either is accepted by both
/// [`scaled_dot_product_attention`](super::scaled_dot_product_attention)
/// and [`MultiheadAttention`](super::MultiheadAttention). A query that may
/// attend to no key gets attention weights 0 (PyTorch's
/// `scaled_dot_product_attention` gives the same; its `MultiheadAttention`
/// with `need_weights` gives NaN).
///
/// ```
/// use nabla::nn::AttentionMask;
/// use nabla::Tensor;
/// // Three queries, three keys: the last key is padding.
/// let padding = Tensor::from_vec(vec![0.0f32, 0.0, 1.0], &[3]);
/// let additive = AttentionMask::Block(padding).to_additive();
/// assert_eq!(additive.to_vec(), vec![0.0, 0.0, f32::NEG_INFINITY]);
/// ```
#[derive(Clone, Debug)]
pub enum AttentionMask<T: Float = f32> {
    /// Nonzero where the query may attend to the key: the boolean
    /// `attn_mask` of `F.scaled_dot_product_attention` (`True` = attend).
    Allow(Tensor<T>),
    /// Nonzero where the query may not attend to the key: the boolean
    /// `attn_mask` and `key_padding_mask` of `nn.MultiheadAttention` and
    /// the transformer layers (`True` = masked out).
    Block(Tensor<T>),
    /// Added to the scaled scores before the softmax (a float mask:
    /// `-inf` removes a key, 0 leaves it); differentiable.
    Additive(Tensor<T>),
}

impl<T: Float> AttentionMask<T> {
    /// The mask as a tensor added to the scores: 0 where attention is
    /// allowed and `-inf` where it is not (the additive mask itself for
    /// [`Additive`](AttentionMask::Additive)).
    pub fn to_additive(&self) -> Tensor<T> {
        let (zero, blocked) = (Tensor::scalar(T::zero()), Tensor::scalar(T::neg_infinity()));
        match self {
            AttentionMask::Allow(m) => Tensor::where_(m, &zero, &blocked),
            AttentionMask::Block(m) => Tensor::where_(m, &blocked, &zero),
            AttentionMask::Additive(m) => m.clone(),
        }
    }

    /// The mask's tensor, whatever its meaning.
    pub fn tensor(&self) -> &Tensor<T> {
        match self {
            AttentionMask::Allow(m) | AttentionMask::Block(m) | AttentionMask::Additive(m) => m,
        }
    }

    /// The same mask on a tensor of another shape of as many elements.
    pub(crate) fn reshape(&self, shape: &[usize]) -> AttentionMask<T> {
        match self {
            AttentionMask::Allow(m) => AttentionMask::Allow(m.reshape(shape)),
            AttentionMask::Block(m) => AttentionMask::Block(m.reshape(shape)),
            AttentionMask::Additive(m) => AttentionMask::Additive(m.reshape(shape)),
        }
    }
}

/// A causal mask for `size` positions as PyTorch's
/// `nn.Transformer.generate_square_subsequent_mask(size)`: an additive
/// `[size, size]` mask, `-inf` above the diagonal (a position may not
/// attend to later ones) and 0 on and below it.
///
/// ```
/// use nabla::nn::generate_square_subsequent_mask;
/// let mask = generate_square_subsequent_mask::<f32>(3);
/// let inf = f32::NEG_INFINITY;
/// assert_eq!(mask.to_vec(), vec![0.0, inf, inf, 0.0, 0.0, inf, 0.0, 0.0, 0.0]);
/// ```
pub fn generate_square_subsequent_mask<T: Float>(size: usize) -> Tensor<T> {
    let future = Tensor::<T>::ones(&[size, size]).triu(1);
    Tensor::zeros(&[size, size]).masked_fill(&future, T::neg_infinity())
}
