//! The inference pass of a stack of pre-norm transformer decoder blocks
//! (nanoGPT's `Block`) over new positions, with a key/value cache, fused.
//!
//! Every step but attention works on rows alone, and a row's attention
//! needs the keys and values of its own and earlier positions only. So the
//! rows are split over the threads once per block rather than once per
//! operation: each thread takes its share through attention, the output
//! projection, the MLP and the next block's LayerNorm and query/key/value
//! product, and the threads meet only to store the new keys and values.
//! Run op by op (a dozen operations per block, each split over the threads
//! and each allocating its output) the same pass spent about half its time
//! between operations; see `docs/PERFORMANCE.md`.

use gemm::Parallelism;
use rayon::prelude::*;

use super::attention::attention_softmax;
use super::elementwise::gelu_serial;
use super::layer_norm::normalize_row;
use super::matmul::{gemm_into, Mat, MatMut};
use crate::backend::ops::{DecoderPart, DecoderSpec, DecoderStep};
use crate::element::Float;

/// The fewest rows a thread's share may hold: a row costs about
/// `12 n_embd^2` multiply-adds per block (200k for nanoGPT's 128-wide
/// model, a few microseconds), a handful of rows the time it takes to wake
/// another thread.
const MIN_ROWS_PER_TASK: usize = 8;

/// A linear layer's `[inputs, outputs]` weight and its bias.
struct Linear<'a, T> {
    weight: &'a [T],
    bias: Option<&'a [T]>,
    inputs: usize,
    outputs: usize,
}

impl<T: Float> Linear<'_, T> {
    /// `dst = x W + b` for `x` of `rows` rows, or `dst += x W + b` with
    /// `accumulate`.
    fn apply(&self, x: &[T], rows: usize, dst: &mut [T], accumulate: bool) {
        gemm_into(
            MatMut {
                data: &mut *dst,
                row: self.outputs,
                col: 1,
            },
            Mat::rows(x, self.inputs),
            Mat::rows(self.weight, self.outputs),
            (rows, self.outputs, self.inputs),
            accumulate,
            Parallelism::None,
        );
        if let Some(bias) = self.bias {
            for row in dst[..rows * self.outputs].chunks_exact_mut(self.outputs) {
                for (out, &b) in row.iter_mut().zip(bias) {
                    *out = *out + b;
                }
            }
        }
    }
}

/// A LayerNorm's weight and bias.
struct Norm<'a, T> {
    weight: &'a [T],
    bias: Option<&'a [T]>,
    eps: f64,
}

impl<T: Float> Norm<'_, T> {
    /// Every row of `x` normalised into the same row of `y`.
    fn apply(&self, x: &[T], y: &mut [T]) {
        let n = self.weight.len();
        for (x, y) in x.chunks_exact(n).zip(y.chunks_exact_mut(n)) {
            normalize_row(x, y, Some(self.weight), self.bias, self.eps);
        }
    }
}

/// One block's weights, views into the packed weights.
struct Block<'a, T> {
    ln_1: Norm<'a, T>,
    attn_in: Linear<'a, T>,
    attn_out: Linear<'a, T>,
    ln_2: Norm<'a, T>,
    hidden: Linear<'a, T>,
    output: Linear<'a, T>,
}

impl<'a, T: Float> Block<'a, T> {
    /// The block packed in `weights` (one block's worth) in the order of
    /// [`DecoderSpec::parts`].
    fn unpack(weights: &'a [T], spec: &DecoderSpec) -> Self {
        let mut parts: [Option<&'a [T]>; DecoderPart::COUNT] = [None; DecoderPart::COUNT];
        let mut rest = weights;
        for (part, len) in spec.parts() {
            let (this, tail) = rest.split_at(len);
            parts[part as usize] = Some(this);
            rest = tail;
        }
        let get = |part: DecoderPart| parts[part as usize];
        let c = spec.n_embd;
        let norm = |weight, bias| Norm {
            weight: get(weight).expect("every block has its LayerNorms' weights"),
            bias: get(bias),
            eps: spec.eps,
        };
        let linear = |weight, bias, inputs, outputs| Linear {
            weight: get(weight).expect("every block has its linear weights"),
            bias: get(bias),
            inputs,
            outputs,
        };
        use DecoderPart::*;
        Block {
            ln_1: norm(Norm1Weight, Norm1Bias),
            attn_in: linear(AttentionInWeight, AttentionInBias, c, 3 * c),
            attn_out: linear(AttentionOutWeight, AttentionOutBias, c, c),
            ln_2: norm(Norm2Weight, Norm2Bias),
            hidden: linear(HiddenWeight, HiddenBias, c, 4 * c),
            output: linear(OutputWeight, OutputBias, 4 * c, c),
        }
    }

    /// `qkv = ln_1(x) W_attn + b` for the rows of `x`: each row's queries,
    /// keys and values, `[rows, 3C]`.
    fn queries_keys_values(&self, x: &[T], qkv: &mut [T]) {
        let c = self.attn_in.inputs;
        let mut normed = vec![T::zero(); x.len()];
        self.ln_1.apply(x, &mut normed);
        self.attn_in.apply(&normed, x.len() / c, qkv, false);
    }

    /// The rest of the block for the rows of `x` (residual stream, updated
    /// in place), the first of which is row `first_row` of the call:
    /// attention of their queries (in `qkv`) over the cached keys and
    /// values, the output projection, then the MLP, each added to `x`.
    fn attend_and_transform(&self, x: &mut [T], qkv: &[T], first_row: usize, cache: &LayerCache<'_, T>) {
        let c = self.attn_in.inputs;
        let rows = x.len() / c;
        let mut attended = vec![T::zero(); x.len()];
        let mut r = 0;
        while r < rows {
            let (sequence, position) = cache.step.locate(first_row + r);
            let run = (cache.step.time - position).min(rows - r);
            cache.attend(
                &qkv[r * 3 * c..],
                &mut attended[r * c..],
                run,
                sequence,
                cache.step.start + position,
            );
            r += run;
        }
        self.attn_out.apply(&attended, rows, x, true);
        let mut normed = attended;
        self.ln_2.apply(x, &mut normed);
        let mut hidden = vec![T::zero(); rows * self.hidden.outputs];
        self.hidden.apply(&normed, rows, &mut hidden, false);
        self.output.apply(&gelu_serial(&hidden), rows, x, true);
    }
}

/// One layer's cached keys and values, `[batch, capacity, C]` each.
struct LayerCache<'a, T> {
    keys: &'a [T],
    values: &'a [T],
    spec: &'a DecoderSpec,
    step: DecoderStep,
}

impl<'a, T: Float> LayerCache<'a, T> {
    /// Copies each row's keys and values (the second and third `C` values
    /// of its `3C` in `qkv`) into one layer's cache, `[2, batch, capacity,
    /// C]`, at its sequence and position; then views that cache.
    fn store(layer: &'a mut [T], qkv: &[T], spec: &'a DecoderSpec, step: DecoderStep) -> Self {
        let c = spec.n_embd;
        let (keys, values) = layer.split_at_mut(layer.len() / 2);
        for (row, qkv) in qkv.chunks_exact(3 * c).enumerate() {
            let (sequence, position) = step.locate(row);
            let at = (sequence * spec.capacity + step.start + position) * c;
            keys[at..at + c].copy_from_slice(&qkv[c..2 * c]);
            values[at..at + c].copy_from_slice(&qkv[2 * c..]);
        }
        LayerCache {
            keys,
            values,
            spec,
            step,
        }
    }

    /// `softmax(q k^T / sqrt(d)) v` for every head of `run` consecutive
    /// rows of one sequence at positions `first_position..`, whose
    /// queries are the first `C` of every `3C` values of `qkv`; each row
    /// sees the keys up to its own position. Writes `run` rows of `C`
    /// values of `out`.
    fn attend(&self, qkv: &[T], out: &mut [T], run: usize, sequence: usize, first_position: usize) {
        let (c, d) = (self.spec.n_embd, self.spec.head_dim());
        let keys = first_position + run;
        let base = sequence * self.spec.capacity * c;
        let scale = T::from_f64(1.0 / (d as f64).sqrt());
        let mut scores = vec![T::zero(); run * keys];
        for head in 0..self.spec.n_head {
            let column = head * d;
            gemm_into(
                MatMut {
                    data: &mut scores,
                    row: keys,
                    col: 1,
                },
                Mat::rows(&qkv[column..], 3 * c),
                Mat::transposed(&self.keys[base + column..], c),
                (run, keys, d),
                false,
                Parallelism::None,
            );
            attention_softmax(&mut scores, keys, run, scale, Some(first_position as isize), None);
            gemm_into(
                MatMut {
                    data: &mut out[column..],
                    row: c,
                    col: 1,
                },
                Mat::rows(&scores, keys),
                Mat::rows(&self.values[base + column..], c),
                (run, d, keys),
                false,
                Parallelism::None,
            );
        }
    }
}

/// The cost of one row of a block of `c` features and `heads` heads that
/// attends to `keys` keys, in multiply-adds: `12 c^2` for the products,
/// `4c` GELUs at about 250 multiply-adds each (the `erfc` kernel's cost;
/// the polynomial near zero costs about half, a difference the shares'
/// balance hardly feels next to `12 c^2`), and per key `2c` for the
/// scores and the weighted sum, and `heads` softmax entries at about 400.
/// (Measured on nanoGPT's 128-wide model: the shares split by this cost
/// ran a 64-position pass in 730 µs on two threads where equal shares of
/// rows took 850.)
fn row_cost(c: usize, heads: usize, keys: usize) -> usize {
    12 * c * c + 1000 * c + keys * (2 * c + 400 * heads)
}

/// Runs `f(first_row, x_rows, qkv_rows)` on shares of the rows of `x`
/// (`C` values each) and of `qkv` (`3C`), one share per thread when there
/// are enough rows. The shares are of equal cost, not of equal rows: a
/// later position attends to more keys.
fn for_each_share<T: Float>(
    x: &mut [T],
    qkv: &mut [T],
    (c, heads): (usize, usize),
    step: DecoderStep,
    f: impl Fn(usize, &mut [T], &mut [T]) + Sync,
) {
    let rows = x.len() / c;
    let threads = rayon::current_num_threads().min(rows / MIN_ROWS_PER_TASK).max(1);
    if threads == 1 {
        f(0, x, qkv);
        return;
    }
    let cost = |row: usize| row_cost(c, heads, step.start + step.locate(row).1 + 1);
    let total: usize = (0..rows).map(cost).sum();
    let mut shares = Vec::with_capacity(threads);
    let (mut x, mut qkv, mut first, mut spent) = (x, qkv, 0, 0);
    for share in 1..threads {
        let goal = total * share / threads;
        let mut end = first;
        while end < rows && spent + cost(end) <= goal {
            spent += cost(end);
            end += 1;
        }
        let (x_head, x_tail) = x.split_at_mut((end - first) * c);
        let (qkv_head, qkv_tail) = qkv.split_at_mut((end - first) * 3 * c);
        shares.push((first, x_head, qkv_head));
        (x, qkv, first) = (x_tail, qkv_tail, end);
    }
    shares.push((first, x, qkv));
    shares
        .into_par_iter()
        .for_each(|(first, x, qkv)| f(first, x, qkv));
}

/// The blocks of `spec` (their weights packed in `weights`, one block after
/// another in the order of [`DecoderSpec::parts`]) on the residual stream
/// `x`, `[batch * time, C]` for `step`'s new positions. Their keys and
/// values are stored in `cache` (`[layers, 2, batch, capacity, C]`) at
/// positions `start..start + time`, and they attend to every cached
/// position before them. Returns each sequence's last row after the last
/// block, `[batch, C]`: the last block takes only those rows past its keys
/// and values.
pub(crate) fn decoder_forward<T: Float>(
    mut x: Vec<T>,
    weights: &[T],
    cache: &mut [T],
    spec: &DecoderSpec,
    step: DecoderStep,
) -> Vec<T> {
    let c = spec.n_embd;
    let rows = step.batch * step.time;
    debug_assert_eq!(x.len(), rows * c);
    let blocks: Vec<Block<'_, T>> = weights
        .chunks_exact(spec.block_len())
        .map(|w| Block::unpack(w, spec))
        .collect();
    let layer_len = spec.cache_len(step.batch) / spec.layers;
    let mut layers = cache.chunks_exact_mut(layer_len);
    let mut qkv = vec![T::zero(); rows * 3 * c];
    let shape = (c, spec.n_head);
    for_each_share(&mut x, &mut qkv, shape, step, |_, x, qkv| {
        blocks[0].queries_keys_values(x, qkv)
    });
    for (block, next) in blocks.iter().zip(&blocks[1..]) {
        let layer = layers.next().expect("a cache layer per block");
        let cache = LayerCache::store(layer, &qkv, spec, step);
        for_each_share(&mut x, &mut qkv, shape, step, |first_row, x, qkv| {
            block.attend_and_transform(x, qkv, first_row, &cache);
            next.queries_keys_values(x, qkv);
        });
    }
    let last_block = blocks.last().expect("at least one block");
    let cache = LayerCache::store(layers.next().expect("a cache layer per block"), &qkv, spec, step);
    let mut last = Vec::with_capacity(step.batch * c);
    for sequence in 0..step.batch {
        let row = sequence * step.time + step.time - 1;
        let mut x_row = x[row * c..(row + 1) * c].to_vec();
        last_block.attend_and_transform(&mut x_row, &qkv[row * 3 * c..(row + 1) * 3 * c], row, &cache);
        last.extend_from_slice(&x_row);
    }
    last
}
