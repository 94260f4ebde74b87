//! [`KvCache`]: the keys and values of the positions an attention layer
//! has already seen, for generation one token at a time.

use crate::autograd::is_grad_enabled;
use crate::element::Float;
use crate::tensor::Tensor;

/// The projected keys and values of one self-attention layer for the
/// positions generated so far, so that each new token attends to them
/// without recomputing them: with the cache, generating `n` tokens costs
/// `n` single-position steps instead of `n` passes over the whole prefix,
/// and gives the same results (the query of each new position sees every
/// cached position and itself, as a causal mask would let it).
///
/// The cache stores the keys and values position-major (`[positions,
/// batch, heads, head_dim]`), so appending a step writes one contiguous
/// block; its storage grows by doubling. It is for inference: the values
/// are stored without their graph, so use it under
/// [`no_grad`](crate::no_grad) (a step that would record a gradient
/// through it panics).
///
/// ```
/// use nabla::nn::{AttentionArgs, KvCache, MultiheadAttention, MultiheadAttentionOptions};
/// use nabla::{no_grad, Generator, Tensor};
/// let mut g = Generator::new(0);
/// let mha: MultiheadAttention =
///     MultiheadAttention::with_options(8, 2, MultiheadAttentionOptions::default().batch_first(true), &mut g);
/// let x = Tensor::randn(&[1, 5, 8], &mut g);
/// no_grad(|| {
///     let args = AttentionArgs::default().is_causal(true).need_weights(false);
///     let (full, _) = mha.forward_with(&x, &x, &x, &args);
///     let mut cache = KvCache::new();
///     for t in 0..5 {
///         let step = mha.forward_cached(&x.narrow(1, t, 1), &mut cache);
///         let want = full.narrow(1, t, 1).to_vec();
///         assert!(step.to_vec().iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-5));
///     }
///     assert_eq!(cache.len(), 5);
/// });
/// ```
#[derive(Clone, Debug, Default)]
pub struct KvCache<T: Float = f32> {
    /// `[capacity, batch, heads, head_dim]` each; `None` until the first step.
    buffers: Option<(Tensor<T>, Tensor<T>)>,
    len: usize,
}

impl<T: Float> KvCache<T> {
    /// An empty cache.
    pub fn new() -> Self {
        KvCache {
            buffers: None,
            len: 0,
        }
    }

    /// The number of positions cached.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True before the first step.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets every position (keeping the storage for the next sequence).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends the keys and values `[batch, heads, L, head_dim]` of `L` new
    /// positions and returns all cached ones, `[batch, heads, len, head_dim]`
    /// (strided views of the cache).
    ///
    /// # Panics
    /// If the batch, heads or head size differ from the cached ones', or
    /// gradients are being recorded for `keys` or `values`.
    pub(crate) fn append(&mut self, keys: &Tensor<T>, values: &Tensor<T>) -> (Tensor<T>, Tensor<T>) {
        assert!(
            !(is_grad_enabled() && (keys.is_requires_grad() || values.is_requires_grad())),
            "KvCache: a cached step stores keys and values without their graph; run generation under no_grad"
        );
        let (k, v) = (keys.permute(&[2, 0, 1, 3]), values.permute(&[2, 0, 1, 3]));
        let (steps, rest) = (k.shape()[0], [k.shape()[1], k.shape()[2], k.shape()[3]]);
        let needed = self.len + steps;
        let buffers = match self.buffers.take() {
            Some((kb, vb)) => {
                assert!(
                    kb.shape()[1..] == rest && vb.shape()[1..] == v.shape()[1..],
                    "KvCache: keys [batch, heads, L, head_dim] = {:?} do not match the cached {:?}",
                    keys.shape(),
                    [kb.shape()[1], kb.shape()[2], self.len, kb.shape()[3]]
                );
                if needed > kb.shape()[0] {
                    let capacity = needed.max(2 * kb.shape()[0]);
                    (grow(&kb, self.len, capacity), grow(&vb, self.len, capacity))
                } else {
                    (kb, vb)
                }
            }
            None => {
                let capacity = needed.max(16);
                let with = |s: &[usize]| Tensor::zeros(&[capacity, s[1], s[2], s[3]]);
                (with(k.shape()), with(v.shape()))
            }
        };
        buffers.0.narrow(0, self.len, steps).copy_from(&k);
        buffers.1.narrow(0, self.len, steps).copy_from(&v);
        self.len = needed;
        let view = |b: &Tensor<T>| b.narrow(0, 0, needed).permute(&[1, 2, 0, 3]);
        let out = (view(&buffers.0), view(&buffers.1));
        self.buffers = Some(buffers);
        out
    }
}

/// A buffer of `capacity` positions holding the first `len` of `buffer`.
fn grow<T: Float>(buffer: &Tensor<T>, len: usize, capacity: usize) -> Tensor<T> {
    let mut shape = buffer.shape().to_vec();
    shape[0] = capacity;
    let grown = Tensor::zeros(&shape);
    grown.narrow(0, 0, len).copy_from(&buffer.narrow(0, 0, len));
    grown
}
