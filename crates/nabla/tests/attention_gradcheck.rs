//! Gradient checks (f64, central differences) of attention and the
//! transformer layers: `scaled_dot_product_attention` against its query,
//! key, value and additive mask to second order (causal masks aligned both
//! ways, boolean masks with a query that sees no key, broadcast batch
//! dimensions, dropout with a fixed mask); `MultiheadAttention`, the
//! encoder and decoder layers and stacks and the positional embeddings
//! against their inputs (every Jacobian entry) and against every parameter
//! (the gradient of a random projection of the output, element by
//! element, perturbing the module's own parameters).

use nabla::autograd::{gradcheck, gradgradcheck, GradcheckOptions};
use nabla::nn::{
    scaled_dot_product_attention, AttentionArgs, AttentionMask, Layer, LayerNorm, LearnedPositionalEmbedding,
    Module, MultiheadAttention, MultiheadAttentionOptions, SinusoidalPositionalEncoding,
    TransformerActivation, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
    TransformerEncoderLayer, TransformerLayerOptions, TransformerMasks,
};
use nabla::{no_grad, Generator, Tensor};

fn randn(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::randn(shape, &mut Generator::new(seed))
}

/// Every Jacobian entry of `f` at `inputs`, and (with `second_order`) the
/// derivatives of its vector-Jacobian product.
#[track_caller]
fn check(f: impl Fn(&[Tensor<f64>]) -> Tensor<f64>, inputs: &[Tensor<f64>], second_order: bool) {
    let n_out = no_grad(|| f(inputs)).numel();
    let n_in: usize = inputs.iter().map(Tensor::numel).sum();
    match gradcheck(&f, inputs, &GradcheckOptions::default()) {
        Ok(report) => assert_eq!(report.entries, n_out * n_in, "gradcheck compared too few entries"),
        Err(e) => panic!("{e}"),
    }
    if second_order {
        if let Err(e) = gradgradcheck(&f, inputs, &GradcheckOptions::default()) {
            panic!("second order: {e}");
        }
    }
}

/// The gradient of `loss = Σ w ⊙ f(module)` (a fixed random `w`) with
/// respect to every element of every parameter, by backward, against
/// central differences that perturb the parameter in place; tolerances
/// as `gradcheck`'s.
#[track_caller]
fn check_parameters<M: Module<f64>>(module: &M, f: impl Fn(&M) -> Tensor<f64>) {
    let weights = randn(no_grad(|| f(module)).shape(), 1234);
    let loss = |m: &M| f(m).mul(&weights).sum();
    module.zero_grad();
    loss(module).backward();
    let options = GradcheckOptions::default();
    let params = module.named_parameters();
    assert!(!params.is_empty(), "no parameters to check");
    for (name, p) in params {
        let analytic = p.grad().unwrap_or_else(|| p.zeros_like()).to_vec();
        let base = p.to_vec();
        for (k, &a) in analytic.iter().enumerate() {
            let at = |v: f64| {
                p.update_data(|d| d[k] = v);
                no_grad(|| loss(module)).item()
            };
            let numerical = (at(base[k] + options.eps) - at(base[k] - options.eps)) / (2.0 * options.eps);
            p.update_data(|d| d[k] = base[k]);
            assert!(
                (a - numerical).abs() <= options.atol + options.rtol * numerical.abs(),
                "parameter {name} element {k}: backward {a}, finite differences {numerical}"
            );
        }
    }
}

/// Every output joined into one vector.
fn joined(parts: &[&Tensor<f64>]) -> Tensor<f64> {
    Tensor::cat(parts.iter().map(|t| t.reshape(&[t.numel()])), 0)
}

// ------------------------------------------------------------------ sdpa

#[test]
fn sdpa_against_query_key_and_value() {
    let (q, k, v) = (
        randn(&[2, 2, 3, 4], 1),
        randn(&[2, 2, 5, 4], 2),
        randn(&[2, 2, 5, 3], 3),
    );
    let inputs = [q, k, v];
    check(
        |t| scaled_dot_product_attention(&t[0], &t[1], &t[2], None, None, false, None),
        &inputs,
        true,
    );
    check(
        |t| scaled_dot_product_attention(&t[0], &t[1], &t[2], None, None, false, Some(0.7)),
        &inputs,
        false,
    );
}

#[test]
fn sdpa_causal_square_and_longer_keys() {
    let square = [randn(&[2, 4, 3], 4), randn(&[2, 4, 3], 5), randn(&[2, 4, 2], 6)];
    check(
        |t| scaled_dot_product_attention(&t[0], &t[1], &t[2], None, None, true, None),
        &square,
        true,
    );
    // Fewer queries than keys: the first query still sees key 0 only.
    let wide = [randn(&[1, 2, 3], 7), randn(&[1, 5, 3], 8), randn(&[1, 5, 2], 9)];
    check(
        |t| scaled_dot_product_attention(&t[0], &t[1], &t[2], None, None, true, None),
        &wide,
        true,
    );
}

#[test]
fn sdpa_boolean_mask_with_a_query_that_sees_no_key() {
    let allow = Tensor::from_vec(
        vec![1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0],
        &[3, 4],
    );
    let mask = AttentionMask::Allow(allow);
    let inputs = [
        randn(&[2, 3, 3], 10),
        randn(&[2, 4, 3], 11),
        randn(&[2, 4, 2], 12),
    ];
    check(
        |t| scaled_dot_product_attention(&t[0], &t[1], &t[2], Some(&mask), None, false, None),
        &inputs,
        true,
    );
}

#[test]
fn sdpa_against_an_additive_mask_too() {
    let inputs = [
        randn(&[2, 2, 3, 2], 13),
        randn(&[2, 2, 4, 2], 14),
        randn(&[2, 2, 4, 3], 15),
        randn(&[2, 1, 3, 4], 16), // broadcast over the heads
    ];
    check(
        |t| {
            let mask = AttentionMask::Additive(t[3].clone());
            scaled_dot_product_attention(&t[0], &t[1], &t[2], Some(&mask), None, false, None)
        },
        &inputs,
        true,
    );
}

#[test]
fn sdpa_with_keys_and_values_broadcast_over_the_batch() {
    // One set of keys and values shared by every batch element.
    let inputs = [
        randn(&[3, 2, 4, 3], 17),
        randn(&[1, 2, 5, 3], 18),
        randn(&[1, 2, 5, 2], 19),
    ];
    check(
        |t| scaled_dot_product_attention(&t[0], &t[1], &t[2], None, None, false, None),
        &inputs,
        true,
    );
}

#[test]
fn sdpa_dropout_with_a_fixed_mask() {
    // A fresh generator with the same seed draws the same mask every time.
    let inputs = [
        randn(&[2, 3, 3], 20),
        randn(&[2, 4, 3], 21),
        randn(&[2, 4, 2], 22),
    ];
    check(
        |t| {
            let mut g = Generator::new(5);
            scaled_dot_product_attention(&t[0], &t[1], &t[2], None, Some((0.3, &mut g)), false, None)
        },
        &inputs,
        false,
    );
}

// ------------------------------------------------------------------- mha

fn mha(
    options: MultiheadAttentionOptions,
    embed_dim: usize,
    heads: usize,
    seed: u64,
) -> MultiheadAttention<f64> {
    let mha = MultiheadAttention::with_options(embed_dim, heads, options, &mut Generator::new(seed));
    // Non-zero biases, so that their gradients are tested on general values.
    for (name, p) in mha.named_parameters() {
        if name.ends_with("bias") {
            p.copy_from(&randn(p.shape(), seed + 1).mul_scalar(0.5));
        }
    }
    mha
}

#[test]
fn multihead_self_attention_against_input_and_parameters() {
    let layer = mha(MultiheadAttentionOptions::default().batch_first(true), 4, 2, 30);
    let x = randn(&[2, 3, 4], 31);
    let args = AttentionArgs::default();
    let run = |m: &MultiheadAttention<f64>, x: &Tensor<f64>| {
        let (out, weights) = m.forward_with(x, x, x, &args);
        joined(&[&out, &weights.expect("weights")])
    };
    check(|t| run(&layer, &t[0]), std::slice::from_ref(&x), true);
    check_parameters(&layer, |m| run(m, &x));
}

#[test]
fn multihead_cross_attention_with_masks_against_inputs_and_parameters() {
    let layer = mha(MultiheadAttentionOptions::default(), 4, 2, 32);
    let (n, l, s) = (2, 3, 4);
    let padding = AttentionMask::Block(Tensor::from_vec(
        vec![0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0],
        &[n, s],
    ));
    let additive = AttentionMask::Additive(randn(&[n * 2, l, s], 33));
    let args = AttentionArgs::default()
        .key_padding_mask(&padding)
        .attn_mask(&additive)
        .average_attn_weights(false);
    let inputs = [
        randn(&[l, n, 4], 34),
        randn(&[s, n, 4], 35),
        randn(&[s, n, 4], 36),
    ];
    let run = |m: &MultiheadAttention<f64>, t: &[Tensor<f64>]| {
        let (out, weights) = m.forward_with(&t[0], &t[1], &t[2], &args);
        joined(&[&out, &weights.expect("weights")])
    };
    check(|t| run(&layer, t), &inputs, true);
    check_parameters(&layer, |m| run(m, &inputs));
}

#[test]
fn multihead_attention_with_kdim_and_vdim_against_inputs_and_parameters() {
    let options = MultiheadAttentionOptions::default()
        .kdim(3)
        .vdim(5)
        .batch_first(true);
    let layer = mha(options, 4, 2, 37);
    let inputs = [
        randn(&[2, 3, 4], 38),
        randn(&[2, 4, 3], 39),
        randn(&[2, 4, 5], 40),
    ];
    let causal_blocked = AttentionMask::Block(Tensor::<f64>::ones(&[3, 4]).triu(1));
    let args = AttentionArgs::default().attn_mask(&causal_blocked);
    let run = |m: &MultiheadAttention<f64>, t: &[Tensor<f64>]| m.forward_with(&t[0], &t[1], &t[2], &args).0;
    check(|t| run(&layer, t), &inputs, false);
    check_parameters(&layer, |m| run(m, &inputs));
}

#[test]
fn multihead_attention_without_bias_unbatched_and_causal() {
    let layer = mha(MultiheadAttentionOptions::default().bias(false), 6, 3, 41);
    let x = randn(&[4, 6], 42); // unbatched [L, E]
    let args = AttentionArgs::default().is_causal(true).need_weights(false);
    let run = |m: &MultiheadAttention<f64>, x: &Tensor<f64>| m.forward_with(x, x, x, &args).0;
    check(|t| run(&layer, &t[0]), std::slice::from_ref(&x), false);
    check_parameters(&layer, |m| run(m, &x));
}

// ---------------------------------------------------------- transformers

fn options(
    norm_first: bool,
    activation: TransformerActivation,
    batch_first: bool,
) -> TransformerLayerOptions {
    TransformerLayerOptions::default()
        .dim_feedforward(6)
        .dropout(0.0)
        .activation(activation)
        .norm_first(norm_first)
        .batch_first(batch_first)
}

/// LayerNorm weights and biases away from 1 and 0, and other biases away
/// from 0, so that every gradient is tested on general values.
fn perturb<M: Module<f64>>(module: &M, seed: u64) {
    for (i, (name, p)) in module.named_parameters().into_iter().enumerate() {
        if name.contains("norm") || name.ends_with("bias") {
            let shift = randn(p.shape(), seed + i as u64).mul_scalar(0.3);
            p.copy_from(&p.add(&shift));
        }
    }
}

#[test]
fn encoder_layers_post_and_pre_norm_against_input_and_parameters() {
    let padding = AttentionMask::Block(Tensor::from_vec(vec![0.0, 0.0, 0.0, 0.0, 0.0, 1.0], &[2, 3]));
    for (norm_first, activation, batch_first) in [
        (false, TransformerActivation::Relu, false),
        (true, TransformerActivation::Gelu, true),
    ] {
        let mut g = Generator::new(50);
        let layer =
            TransformerEncoderLayer::<f64>::new(4, 2, options(norm_first, activation, batch_first), &mut g);
        perturb(&layer, 51);
        let x = if batch_first {
            randn(&[2, 3, 4], 52)
        } else {
            randn(&[3, 2, 4], 52)
        };
        let masks = TransformerMasks::causal().key_padding_mask(&padding);
        check(
            |t| layer.forward_with(&t[0], &masks),
            std::slice::from_ref(&x),
            false,
        );
        check_parameters(&layer, |m| m.forward_with(&x, &masks));
    }
}

#[test]
fn decoder_layers_post_and_pre_norm_against_inputs_and_parameters() {
    let memory_padding = AttentionMask::Block(Tensor::from_vec(
        vec![0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        &[2, 4],
    ));
    for (norm_first, activation) in [
        (false, TransformerActivation::Gelu),
        (true, TransformerActivation::Relu),
    ] {
        let mut g = Generator::new(53);
        let layer = TransformerDecoderLayer::<f64>::new(4, 2, options(norm_first, activation, true), &mut g);
        perturb(&layer, 54);
        let inputs = [randn(&[2, 3, 4], 55), randn(&[2, 4, 4], 56)];
        let memory_masks = TransformerMasks::none().key_padding_mask(&memory_padding);
        let run = |m: &TransformerDecoderLayer<f64>, t: &[Tensor<f64>]| {
            m.forward_with(&t[0], &t[1], &TransformerMasks::causal(), &memory_masks)
        };
        check(|t| run(&layer, t), &inputs, false);
        check_parameters(&layer, |m| run(m, &inputs));
    }
}

#[test]
fn encoder_and_decoder_stacks_against_every_parameter() {
    let mut g = Generator::new(57);
    let layers = (0..2)
        .map(|_| TransformerEncoderLayer::new(4, 2, options(true, TransformerActivation::Gelu, true), &mut g))
        .collect();
    let encoder = TransformerEncoder::<f64>::new(layers, Some(LayerNorm::new(&[4])));
    perturb(&encoder, 58);
    let src = randn(&[2, 3, 4], 59);
    check_parameters(&encoder, |m| m.forward_with(&src, &TransformerMasks::causal()));

    let layers = (0..2)
        .map(|_| {
            TransformerDecoderLayer::new(4, 2, options(false, TransformerActivation::Relu, false), &mut g)
        })
        .collect();
    let decoder = TransformerDecoder::<f64>::new(layers, Some(LayerNorm::new(&[4])));
    perturb(&decoder, 60);
    let (tgt, memory) = (randn(&[3, 2, 4], 61), randn(&[4, 2, 4], 62));
    check(
        |t| decoder.forward(&t[0], &t[1]),
        &[tgt.clone(), memory.clone()],
        false,
    );
    check_parameters(&decoder, |m| m.forward(&tgt, &memory));
}

#[test]
fn positional_embeddings() {
    let learned = LearnedPositionalEmbedding::<f64>::new(6, 3, &mut Generator::new(63));
    let x = randn(&[2, 4, 3], 64);
    check(
        |t| learned.forward_at(&t[0], 2).tanh(),
        std::slice::from_ref(&x),
        true,
    );
    check_parameters(&learned, |m| m.forward_at(&x, 2).tanh());
    let sinusoidal = SinusoidalPositionalEncoding::<f64>::new(3, 10);
    check(|t| sinusoidal.forward(&t[0]).tanh(), &[x], true);
}
