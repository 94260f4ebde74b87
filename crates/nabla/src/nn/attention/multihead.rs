//! [`MultiheadAttention`], as `torch.nn.MultiheadAttention`.

use std::sync::Arc;

use super::{AttentionArgs, KvCache, MultiheadAttentionOptions};
use crate::element::Float;
use crate::nn::init::{constant_, xavier_uniform_};
use crate::nn::{Dropout, Layer, Linear, Module, Summarize};
use crate::tensor::{Generator, Tensor};

/// Multi-head attention, as `torch.nn.MultiheadAttention`: the queries,
/// keys and values are projected, split into `num_heads` heads of
/// `embed_dim / num_heads` features, attend head by head (all heads in
/// one batched product, see
/// [`scaled_dot_product_attention`](super::scaled_dot_product_attention)),
/// and the heads' outputs are concatenated and projected by `out_proj`.
///
/// Shapes (`N` batch, `L` target and `S` source positions, `E` =
/// `embed_dim`): query `[L, N, E]`, key `[S, N, kdim]`, value `[S, N,
/// vdim]` (`[N, L, E]`, ... with `batch_first`; `[L, E]`, ... unbatched);
/// output of the query's shape; attention weights `[N, L, S]` averaged
/// over the heads, or `[N, num_heads, L, S]` (without `N` unbatched).
///
/// Parameters, PyTorch's state-dict names: `in_proj_weight` `[3E, E]`
/// (the query, key and value projections stacked) when `kdim` and `vdim`
/// are `E`, else `q_proj_weight` `[E, E]`, `k_proj_weight` `[E, kdim]`
/// and `v_proj_weight` `[E, vdim]`; `in_proj_bias` `[3E]`;
/// `out_proj.weight` `[E, E]` and `out_proj.bias` `[E]`. Initialised as
/// PyTorch: Xavier-uniform projections, zero biases, `out_proj.weight` as
/// a [`Linear`]'s.
///
/// ```
/// use nabla::nn::{AttentionArgs, AttentionMask, Module, MultiheadAttention, MultiheadAttentionOptions};
/// use nabla::{Generator, Tensor};
/// let mut g = Generator::new(0);
/// let options = MultiheadAttentionOptions::default().batch_first(true);
/// let mha: MultiheadAttention = MultiheadAttention::with_options(16, 4, options, &mut g);
/// let x = Tensor::randn(&[2, 5, 16], &mut g); // [batch, positions, embed_dim]
/// let (out, weights) = mha.forward(&x, &x, &x); // self-attention
/// assert_eq!(out.shape(), &[2, 5, 16]);
/// assert_eq!(weights.unwrap().shape(), &[2, 5, 5]);
///
/// // The second sequence's last two positions are padding.
/// let padding = Tensor::from_vec(vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0], &[2, 5]);
/// let padding = AttentionMask::Block(padding);
/// let args = AttentionArgs::default().key_padding_mask(&padding);
/// let (_, weights) = mha.forward_with(&x, &x, &x, &args);
/// assert_eq!(weights.unwrap().select(0, 1).narrow(1, 3, 2).to_vec(), vec![0.0; 10]);
///
/// let names: Vec<String> = mha.state_dict().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]);
/// ```
#[derive(Module)]
#[module(custom_summary)]
pub struct MultiheadAttention<T: Float = f32> {
    /// `[3E, E]`: the query, key and value projections, when `kdim` and
    /// `vdim` are `E`.
    pub in_proj_weight: Option<Tensor<T>>,
    /// `[E, E]`, when `kdim` or `vdim` is not `E`.
    pub q_proj_weight: Option<Tensor<T>>,
    /// `[E, kdim]`, when `kdim` or `vdim` is not `E`.
    pub k_proj_weight: Option<Tensor<T>>,
    /// `[E, vdim]`, when `kdim` or `vdim` is not `E`.
    pub v_proj_weight: Option<Tensor<T>>,
    /// `[3E]`, with `bias`.
    pub in_proj_bias: Option<Tensor<T>>,
    /// The output projection, `E` to `E`.
    pub out_proj: Linear<T>,
    /// Dropout on the attention weights (no parameters; not in PyTorch's
    /// state dict, where `dropout` is a number).
    attn_dropout: Dropout<T>,
    embed_dim: usize,
    num_heads: usize,
    kdim: usize,
    vdim: usize,
    batch_first: bool,
}

impl<T: Float> MultiheadAttention<T> {
    /// Attention over `embed_dim` features in `num_heads` heads with
    /// PyTorch's defaults (no dropout, biases, sequence-first).
    ///
    /// # Panics
    /// If `num_heads` is 0 or does not divide `embed_dim`.
    pub fn new(embed_dim: usize, num_heads: usize, generator: &mut Generator) -> Self {
        Self::with_options(
            embed_dim,
            num_heads,
            MultiheadAttentionOptions::default(),
            generator,
        )
    }

    /// Attention with the given dropout, biases, key and value sizes and
    /// layout, initialised from `generator`.
    ///
    /// # Panics
    /// If `num_heads` is 0 or does not divide `embed_dim`, or the dropout
    /// is outside `[0, 1)`.
    pub fn with_options(
        embed_dim: usize,
        num_heads: usize,
        options: MultiheadAttentionOptions,
        generator: &mut Generator,
    ) -> Self {
        assert!(
            num_heads > 0 && embed_dim % num_heads == 0,
            "MultiheadAttention: embed_dim = {embed_dim} must be divisible by num_heads = {num_heads}"
        );
        assert!(
            (0.0..1.0).contains(&options.dropout),
            "MultiheadAttention: dropout = {} is not in [0, 1)",
            options.dropout
        );
        let (kdim, vdim) = (
            options.kdim.unwrap_or(embed_dim),
            options.vdim.unwrap_or(embed_dim),
        );
        let out_proj = Linear::new(embed_dim, embed_dim, options.bias, generator);
        let mut xavier = |rows: usize, cols: usize| {
            let w = Tensor::zeros(&[rows, cols]);
            xavier_uniform_(&w, 1.0, generator);
            w.requires_grad()
        };
        let packed = kdim == embed_dim && vdim == embed_dim;
        let in_proj_weight = packed.then(|| xavier(3 * embed_dim, embed_dim));
        let separate = (!packed).then(|| {
            (
                xavier(embed_dim, embed_dim),
                xavier(embed_dim, kdim),
                xavier(embed_dim, vdim),
            )
        });
        let in_proj_bias = options
            .bias
            .then(|| Tensor::zeros(&[3 * embed_dim]).requires_grad());
        if let Some(b) = &out_proj.bias {
            constant_(b, 0.0);
        }
        let seed = if options.dropout > 0.0 {
            generator.below(usize::MAX) as u64
        } else {
            0
        };
        let (q_proj_weight, k_proj_weight, v_proj_weight) = match separate {
            Some((q, k, v)) => (Some(q), Some(k), Some(v)),
            None => (None, None, None),
        };
        MultiheadAttention {
            in_proj_weight,
            q_proj_weight,
            k_proj_weight,
            v_proj_weight,
            in_proj_bias,
            out_proj,
            attn_dropout: Dropout::new(options.dropout, seed),
            embed_dim,
            num_heads,
            kdim,
            vdim,
            batch_first: options.batch_first,
        }
    }

    /// `E`, the features of the queries and of the output.
    pub fn embed_dim(&self) -> usize {
        self.embed_dim
    }

    /// The number of heads.
    pub fn num_heads(&self) -> usize {
        self.num_heads
    }

    /// The features of the keys and of the values.
    pub fn kdim_vdim(&self) -> (usize, usize) {
        (self.kdim, self.vdim)
    }

    /// Whether inputs and output are `[batch, sequence, features]`.
    pub fn batch_first(&self) -> bool {
        self.batch_first
    }

    /// Attention of `query` over `key` and `value` with PyTorch's defaults
    /// (no masks; the weights returned, averaged over the heads):
    /// `(output, Some(weights))`. Shapes in the type's documentation.
    ///
    /// # Panics
    /// As [`forward_with`](Self::forward_with).
    pub fn forward(
        &self,
        query: &Tensor<T>,
        key: &Tensor<T>,
        value: &Tensor<T>,
    ) -> (Tensor<T>, Option<Tensor<T>>) {
        self.forward_with(query, key, value, &AttentionArgs::default())
    }

    /// Attention of `query` over `key` and `value` with masks and options,
    /// as PyTorch's `forward(query, key, value, key_padding_mask,
    /// need_weights, attn_mask, average_attn_weights, is_causal)`: the
    /// output, and the weights if `args.need_weights` (after dropout, as
    /// PyTorch returns them).
    ///
    /// # Panics
    /// If the inputs are not all 3-D (or all 2-D), their sizes do not fit
    /// `embed_dim`, `kdim` and `vdim`, the key and value lengths differ,
    /// or a mask's shape does not fit.
    pub fn forward_with(
        &self,
        query: &Tensor<T>,
        key: &Tensor<T>,
        value: &Tensor<T>,
        args: &AttentionArgs<'_, T>,
    ) -> (Tensor<T>, Option<Tensor<T>>) {
        let batched = self.check_inputs(query, key, value);
        let batch_dim = if self.batch_first { 0 } else { 1 };
        let (query, key, value) = if batched {
            (query.clone(), key.clone(), value.clone())
        } else {
            (
                query.unsqueeze(batch_dim),
                key.unsqueeze(batch_dim),
                value.unsqueeze(batch_dim),
            )
        };
        let same = |a: &Tensor<T>, b: &Tensor<T>| Arc::ptr_eq(&a.inner, &b.inner);
        let self_attention = same(&query, &key) && same(&key, &value);
        let (q, k, v) = self.project(&query, &key, &value, self_attention);
        let (n, l, s) = (q.shape()[0], q.shape()[2], k.shape()[2]);
        let mask = self.mask(args, batched, [n, l, s]);
        let causal = args.is_causal.then_some(0);
        let (out, weights) = self.attend(&q, &k, &v, mask.as_ref(), causal);
        let out = self.merge_heads(&out);
        let out = if batched { out } else { out.squeeze(batch_dim) };
        let weights = args.need_weights.then(|| {
            let w = if args.average_attn_weights {
                weights.mean_dim(1, false)
            } else {
                weights
            };
            if batched {
                w
            } else {
                w.squeeze(0)
            }
        });
        (out, weights)
    }

    /// Causal self-attention of `L` new positions `x` (`[N, L, E]` with
    /// `batch_first`, else `[L, N, E]`) over the positions in `cache` and
    /// themselves, appending their keys and values to `cache`: the output
    /// for the new positions, equal to that of
    /// [`forward_with`](Self::forward_with) on the whole sequence with
    /// `is_causal` (without dropout). For generation, under
    /// [`no_grad`](crate::no_grad); see [`KvCache`].
    ///
    /// # Panics
    /// If `x` is not 3-D with `E` features, or does not fit the cached
    /// batch and heads.
    pub fn forward_cached(&self, x: &Tensor<T>, cache: &mut KvCache<T>) -> Tensor<T> {
        assert!(
            x.ndim() == 3,
            "MultiheadAttention::forward_cached: the input must be 3-D ({}), got shape {:?}",
            if self.batch_first {
                "[N, L, E]"
            } else {
                "[L, N, E]"
            },
            x.shape()
        );
        self.check_inputs(x, x, x);
        let (q, k, v) = self.project(x, x, x, true);
        let (k, v) = cache.append(&k, &v);
        let (l, s) = (q.shape()[2], k.shape()[2]);
        let (out, _) = self.attend(&q, &k, &v, None, Some(s as isize - l as isize));
        self.merge_heads(&out)
    }

    /// Checks the inputs' ranks and features; true when they are batched.
    fn check_inputs(&self, query: &Tensor<T>, key: &Tensor<T>, value: &Tensor<T>) -> bool {
        let (q, k, v) = (query.shape(), key.shape(), value.shape());
        let rank = q.len();
        assert!(
            (rank == 2 || rank == 3) && k.len() == rank && v.len() == rank,
            "MultiheadAttention: query {q:?}, key {k:?} and value {v:?} must all be 3-D (batched) or all 2-D"
        );
        let features = |s: &[usize]| s[s.len() - 1];
        assert!(
            features(q) == self.embed_dim && features(k) == self.kdim && features(v) == self.vdim,
            "MultiheadAttention: query {q:?}, key {k:?} and value {v:?} must end in embed_dim = {}, kdim = {} and vdim = {} features",
            self.embed_dim,
            self.kdim,
            self.vdim
        );
        assert!(
            k[..rank - 1] == v[..rank - 1],
            "MultiheadAttention: key {k:?} and value {v:?} must have the same positions and batch"
        );
        let batch = |s: &[usize]| if self.batch_first { s[0] } else { s[1] };
        assert!(
            rank == 2 || batch(q) == batch(k),
            "MultiheadAttention: query {q:?} and key {k:?} have different batch sizes"
        );
        rank == 3
    }

    /// The projected queries, keys and values, each `[N, H, positions,
    /// head_dim]` (strided views of the projections, not copies).
    fn project(
        &self,
        query: &Tensor<T>,
        key: &Tensor<T>,
        value: &Tensor<T>,
        self_attention: bool,
    ) -> (Tensor<T>, Tensor<T>, Tensor<T>) {
        let e = self.embed_dim;
        let bias = |i: usize| self.in_proj_bias.as_ref().map(|b| b.narrow(0, i * e, e));
        match &self.in_proj_weight {
            Some(w) if self_attention => {
                // One product for all three, split as a view.
                let qkv = linear(query, w, self.in_proj_bias.as_ref());
                let s = qkv.shape();
                let heads = qkv.reshape(&[s[0], s[1], 3, self.num_heads, e / self.num_heads]);
                let part = |i: usize| self.heads_first(&heads.select(2, i));
                (part(0), part(1), part(2))
            }
            Some(w) => {
                let weight = |i: usize| w.narrow(0, i * e, e);
                (
                    self.split_heads(&linear(query, &weight(0), bias(0).as_ref())),
                    self.split_heads(&linear(key, &weight(1), bias(1).as_ref())),
                    self.split_heads(&linear(value, &weight(2), bias(2).as_ref())),
                )
            }
            None => {
                let weight = |w: &Option<Tensor<T>>| w.clone().expect("separate projection weights");
                (
                    self.split_heads(&linear(query, &weight(&self.q_proj_weight), bias(0).as_ref())),
                    self.split_heads(&linear(key, &weight(&self.k_proj_weight), bias(1).as_ref())),
                    self.split_heads(&linear(value, &weight(&self.v_proj_weight), bias(2).as_ref())),
                )
            }
        }
    }

    /// `[a, b, E]` in the module's layout to `[N, H, positions, head_dim]`.
    fn split_heads(&self, x: &Tensor<T>) -> Tensor<T> {
        let s = x.shape();
        self.heads_first(&x.reshape(&[s[0], s[1], self.num_heads, self.embed_dim / self.num_heads]))
    }

    /// `[a, b, H, head_dim]` in the module's layout to `[N, H, positions, head_dim]`.
    fn heads_first(&self, x: &Tensor<T>) -> Tensor<T> {
        if self.batch_first {
            x.permute(&[0, 2, 1, 3])
        } else {
            x.permute(&[1, 2, 0, 3])
        }
    }

    /// `[N, H, L, head_dim]` to `[a, b, E]` in the module's layout, through
    /// `out_proj`.
    fn merge_heads(&self, out: &Tensor<T>) -> Tensor<T> {
        let s = out.shape();
        let (n, l) = (s[0], s[2]);
        let merged = if self.batch_first {
            out.permute(&[0, 2, 1, 3]).reshape(&[n, l, self.embed_dim])
        } else {
            out.permute(&[2, 0, 1, 3]).reshape(&[l, n, self.embed_dim])
        };
        self.out_proj.forward(&merged)
    }

    /// The heads' outputs `[N, H, L, head_dim]` and attention weights
    /// `[N, H, L, S]` (after dropout).
    fn attend(
        &self,
        q: &Tensor<T>,
        k: &Tensor<T>,
        v: &Tensor<T>,
        mask: Option<&Tensor<T>>,
        causal: Option<isize>,
    ) -> (Tensor<T>, Tensor<T>) {
        let scale = 1.0 / ((self.embed_dim / self.num_heads) as f64).sqrt();
        let weights = q.attention_weights(k, mask, causal, scale);
        let weights = self.attn_dropout.forward(&weights);
        (weights.matmul(v), weights)
    }

    /// The key-padding and attention masks as one additive mask that
    /// broadcasts to the scores `[N, H, L, S]`.
    fn mask(&self, args: &AttentionArgs<'_, T>, batched: bool, [n, l, s]: [usize; 3]) -> Option<Tensor<T>> {
        let padding = args.key_padding_mask.map(|m| {
            let want: &[usize] = if batched { &[n, s] } else { &[s] };
            assert!(
                m.tensor().shape() == want,
                "MultiheadAttention: key_padding_mask of shape {:?} must be [N, S] = {want:?}",
                m.tensor().shape()
            );
            m.reshape(&[n, 1, 1, s]).to_additive()
        });
        let attn = args.attn_mask.map(|m| {
            let shape = m.tensor().shape();
            let per_head = [n * self.num_heads, l, s];
            assert!(
                shape == [l, s] || shape == per_head,
                "MultiheadAttention: attn_mask of shape {shape:?} must be [L, S] = {:?} or [N * num_heads, L, S] = {per_head:?}",
                [l, s]
            );
            let m = if shape.len() == 3 {
                m.reshape(&[n, self.num_heads, l, s])
            } else {
                m.clone()
            };
            m.to_additive()
        });
        match (padding, attn) {
            (Some(p), Some(a)) => Some(&p + &a),
            (p, a) => p.or(a),
        }
    }
}

/// `x Wᵀ + b`.
fn linear<T: Float>(x: &Tensor<T>, weight: &Tensor<T>, bias: Option<&Tensor<T>>) -> Tensor<T> {
    let y = x.matmul(&weight.t());
    match bias {
        Some(b) => &y + b,
        None => y,
    }
}

impl<T: Float> Summarize<T> for MultiheadAttention<T> {
    fn describe(&self) -> String {
        format!(
            "MultiheadAttention(embed_dim={}, num_heads={}, kdim={}, vdim={}, batch_first={})",
            self.embed_dim, self.num_heads, self.kdim, self.vdim, self.batch_first
        )
    }
}
