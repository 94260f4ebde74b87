//! Gradient checks (f64, central differences) of the normalization layers,
//! first and second order, with respect to the input and the affine
//! parameters, in training and in evaluation mode; BatchNorm's running
//! statistics against a hand computation; `state_dict` names; and the
//! panics on wrong shapes.
//!
//! A BatchNorm layer in training mode updates its running statistics on
//! every forward pass, and gradcheck evaluates its function many times. The
//! checks below build a fresh layer inside the checked function (which also
//! lets the weight and bias be the function's inputs); one check instead
//! shares a single tracking layer across all evaluations, which is sound
//! because the training-mode output does not read the running statistics.

use nabla::autograd::{grad_with, gradcheck, gradgradcheck, GradcheckOptions};
use nabla::nn::{
    BatchNorm1d, BatchNorm2d, BatchNormOptions, GroupNorm, GroupNormOptions, Layer, LayerNorm,
    LayerNormOptions, Linear, Module, Sequential,
};
use nabla::{no_grad, Generator, Tensor};

fn randn(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::randn(shape, &mut Generator::new(seed))
}

/// randn with a different offset per channel (dimension 1).
fn channel_input(shape: &[usize], seed: u64) -> Tensor<f64> {
    let mut offset_shape = vec![1; shape.len()];
    offset_shape[1] = shape[1];
    &(randn(shape, seed) * 1.5) + &(randn(&offset_shape, seed + 1000) * 2.0)
}

/// A weight away from zero, and a bias.
fn affine_params(c: usize, seed: u64) -> (Tensor<f64>, Tensor<f64>) {
    (&(randn(&[c], seed) * 0.5) + 1.0, randn(&[c], seed + 1))
}

/// First and second derivatives of `f` at `inputs`; prints the largest
/// errors (see them with `-- --nocapture`).
fn check(label: &str, f: impl Fn(&[Tensor<f64>]) -> Tensor<f64>, inputs: &[Tensor<f64>]) {
    let options = GradcheckOptions::default();
    let first = gradcheck(&f, inputs, &options).unwrap_or_else(|e| panic!("{label}: {e}"));
    let second = gradgradcheck(&f, inputs, &options).unwrap_or_else(|e| panic!("{label}: second order: {e}"));
    println!(
        "{label}: gradcheck max err {:.2e} ({} entries), gradgradcheck max err {:.2e} ({} entries)",
        first.max_abs_error, first.entries, second.max_abs_error, second.entries
    );
}

// ------------------------------------------------------------- BatchNorm

/// Which BatchNorm, on what input shape.
#[derive(Clone, Copy)]
enum Bn {
    OneD,
    TwoD,
}

fn batch_norm(kind: Bn, c: usize, options: BatchNormOptions) -> Box<dyn Layer<f64>> {
    match kind {
        Bn::OneD => Box::new(BatchNorm1d::<f64>::with_options(c, options)),
        Bn::TwoD => Box::new(BatchNorm2d::<f64>::with_options(c, options)),
    }
}

/// Sets a fresh layer's running statistics, if given.
fn set_running(layer: &dyn Module<f64>, running: Option<(&Tensor<f64>, &Tensor<f64>)>) {
    if let Some((mean, var)) = running {
        let buffers = layer.named_buffers();
        assert_eq!(buffers[0].0, "running_mean");
        assert_eq!(buffers[1].0, "running_var");
        buffers[0].1.copy_from(mean);
        buffers[1].1.copy_from(var);
    }
}

/// Applies a fresh BatchNorm layer (kind, options) with weight and bias
/// taken from `params` (if affine) and the given running statistics, in
/// training or evaluation mode.
fn apply_batch_norm(
    kind: Bn,
    options: &BatchNormOptions,
    x: &Tensor<f64>,
    params: &[Tensor<f64>],
    running: Option<(&Tensor<f64>, &Tensor<f64>)>,
    training: bool,
) -> Tensor<f64> {
    let c = x.shape()[1];
    let affine = options.affine;
    match kind {
        Bn::OneD => {
            let mut bn = BatchNorm1d::<f64>::with_options(c, options.clone());
            if affine {
                bn.weight = Some(params[0].clone());
                bn.bias = Some(params[1].clone());
            }
            set_running(&bn, running);
            bn.train(training);
            bn.forward(x)
        }
        Bn::TwoD => {
            let mut bn = BatchNorm2d::<f64>::with_options(c, options.clone());
            if affine {
                bn.weight = Some(params[0].clone());
                bn.bias = Some(params[1].clone());
            }
            set_running(&bn, running);
            bn.train(training);
            bn.forward(x)
        }
    }
}

fn batch_norm_configurations() -> Vec<(&'static str, Bn, Vec<usize>)> {
    vec![
        ("BatchNorm1d [5, 3]", Bn::OneD, vec![5, 3]),
        ("BatchNorm1d [3, 2, 4]", Bn::OneD, vec![3, 2, 4]),
        ("BatchNorm2d [2, 3, 3, 2]", Bn::TwoD, vec![2, 3, 3, 2]),
        ("BatchNorm1d [2, 3] two samples", Bn::OneD, vec![2, 3]),
    ]
}

fn option_variants() -> Vec<(&'static str, BatchNormOptions)> {
    let d = BatchNormOptions::default();
    vec![
        ("default", d.clone()),
        ("affine=false", d.clone().affine(false)),
        ("track_running_stats=false", d.clone().track_running_stats(false)),
        ("eps=0.1 momentum=None", d.eps(0.1).momentum(None)),
    ]
}

#[test]
fn batch_norm_train_mode_gradients() {
    for (i, (name, kind, shape)) in batch_norm_configurations().into_iter().enumerate() {
        for (variant, options) in option_variants() {
            let seed = 100 * i as u64;
            let x = channel_input(&shape, seed);
            let mut inputs = vec![x];
            if options.affine {
                let (w, b) = affine_params(shape[1], seed + 7);
                inputs.extend([w, b]);
            }
            check(
                &format!("{name} {variant} train"),
                |t| apply_batch_norm(kind, &options, &t[0], &t[1..], None, true),
                &inputs,
            );
        }
    }
}

#[test]
fn batch_norm_eval_mode_gradients() {
    for (i, (name, kind, shape)) in batch_norm_configurations().into_iter().enumerate() {
        for (variant, options) in option_variants() {
            let seed = 100 * i as u64 + 50;
            let c = shape[1];
            let x = channel_input(&shape, seed);
            let mean = randn(&[c], seed + 3);
            let var = &randn(&[c], seed + 4).square() + 0.5;
            let running = options.track_running_stats.then_some((&mean, &var));
            let mut inputs = vec![x];
            if options.affine {
                let (w, b) = affine_params(c, seed + 7);
                inputs.extend([w, b]);
            }
            let f = |t: &[Tensor<f64>]| apply_batch_norm(kind, &options, &t[0], &t[1..], running, false);
            check(&format!("{name} {variant} eval"), f, &inputs);
            // The eval-mode layer is affine in x: tanh after it makes the
            // second derivative in x nonzero.
            check(
                &format!("{name} {variant} eval, then tanh"),
                |t| f(t).tanh(),
                &inputs,
            );
        }
    }
}

/// One tracking layer shared by every evaluation of the checked function:
/// each evaluation updates the running statistics, which the training-mode
/// output does not read.
#[test]
fn batch_norm_train_mode_gradient_with_a_shared_tracking_layer() {
    let bn = BatchNorm2d::<f64>::new(3);
    bn.weight
        .as_ref()
        .unwrap()
        .copy_from(&Tensor::from_vec(vec![0.5, -1.5, 2.0], &[3]));
    let x = channel_input(&[2, 3, 2, 2], 7);
    check("BatchNorm2d shared layer train", |t| bn.forward(&t[0]), &[x]);
    let tracked = bn.num_batches_tracked.as_ref().unwrap().item();
    assert!(tracked > 100.0, "the checks ran {tracked} forward passes");
    assert!(bn
        .running_var
        .as_ref()
        .unwrap()
        .to_vec()
        .iter()
        .all(|v| v.is_finite()));
}

// -------------------------------------------------- LayerNorm, GroupNorm

#[test]
fn layer_norm_gradients_in_train_and_eval_mode() {
    let configurations = [
        (
            "[3, 4] over [4]",
            vec![3, 4],
            vec![4],
            LayerNormOptions::default(),
        ),
        (
            "[2, 3, 4] over [3, 4]",
            vec![2, 3, 4],
            vec![3, 4],
            LayerNormOptions::default(),
        ),
        (
            "[2, 3, 4] over [4] no affine",
            vec![2, 3, 4],
            vec![4],
            LayerNormOptions::default().elementwise_affine(false),
        ),
        (
            "[3, 5] over [5] no bias, eps=0.1",
            vec![3, 5],
            vec![5],
            LayerNormOptions::default().bias(false).eps(0.1),
        ),
        ("[4] unbatched", vec![4], vec![4], LayerNormOptions::default()),
    ];
    for (i, (name, shape, ns, options)) in configurations.into_iter().enumerate() {
        let seed = 300 + 10 * i as u64;
        let x = &(randn(&shape, seed) * 1.5) + 0.7;
        let mut inputs = vec![x];
        let n_params = usize::from(options.elementwise_affine) * (1 + usize::from(options.bias));
        if n_params > 0 {
            inputs.push(&(randn(&ns, seed + 1) * 0.5) + 1.0);
        }
        if n_params > 1 {
            inputs.push(randn(&ns, seed + 2));
        }
        for training in [true, false] {
            let f = |t: &[Tensor<f64>]| {
                let mut ln = LayerNorm::<f64>::with_options(&ns, options.clone());
                ln.weight = t.get(1).cloned();
                ln.bias = t.get(2).cloned();
                ln.train(training);
                ln.forward(&t[0])
            };
            let mode = if training { "train" } else { "eval" };
            check(&format!("LayerNorm {name} {mode}"), f, &inputs);
        }
    }
}

/// LayerNorm's backward pass is a fused kernel, and under `create_graph` a
/// formula of recorded ops (so that it can be differentiated again): the
/// two give the same first derivatives.
#[test]
fn layer_norm_recorded_and_fused_gradients_agree() {
    for (ns, affine, bias) in [
        (vec![4], true, true),
        (vec![3, 4], true, false),
        (vec![4], false, false),
    ] {
        let options = LayerNormOptions::default().elementwise_affine(affine).bias(bias);
        let ln = LayerNorm::<f64>::with_options(&ns, options);
        let x = (&(randn(&[2, 3, 4], 41) * 2.0) + 0.5).requires_grad();
        if let Some(w) = &ln.weight {
            w.copy_from(&(&randn(&ns, 42) + 1.0));
        }
        if let Some(b) = &ln.bias {
            b.copy_from(&randn(&ns, 43));
        }
        let dy = randn(&[2, 3, 4], 44);
        let mut inputs = vec![&x];
        inputs.extend(ln.weight.iter().chain(&ln.bias));
        let y = ln.forward(&x);
        let fused = grad_with(&[&y], &[&dy], &inputs, true, false);
        let recorded = grad_with(&[&y], &[&dy], &inputs, true, true);
        for (i, (f, r)) in fused.iter().zip(&recorded).enumerate() {
            let (f, r) = (f.as_ref().unwrap().to_vec(), r.as_ref().unwrap().to_vec());
            assert_close(&format!("LayerNorm over {ns:?}, input {i}"), &r, &f, 1e-12);
        }
    }
}

#[test]
fn group_norm_gradients_in_train_and_eval_mode() {
    let configurations = [
        ("G=2 C=4 [2, 4, 3]", 2, vec![2, 4, 3], GroupNormOptions::default()),
        (
            "G=1 C=3 [2, 3, 2, 2]",
            1,
            vec![2, 3, 2, 2],
            GroupNormOptions::default(),
        ),
        (
            "G=3 C=3 [2, 3, 4] (instance norm)",
            3,
            vec![2, 3, 4],
            GroupNormOptions::default(),
        ),
        ("G=2 C=4 [3, 4]", 2, vec![3, 4], GroupNormOptions::default()),
        (
            "G=2 C=6 [2, 6, 2] no affine, eps=0.1",
            2,
            vec![2, 6, 2],
            GroupNormOptions::default().affine(false).eps(0.1),
        ),
    ];
    for (i, (name, groups, shape, options)) in configurations.into_iter().enumerate() {
        let seed = 500 + 10 * i as u64;
        let c = shape[1];
        let mut inputs = vec![channel_input(&shape, seed)];
        if options.affine {
            let (w, b) = affine_params(c, seed + 7);
            inputs.extend([w, b]);
        }
        for training in [true, false] {
            let f = |t: &[Tensor<f64>]| {
                let mut gn = GroupNorm::<f64>::with_options(groups, c, options.clone());
                gn.weight = t.get(1).cloned();
                gn.bias = t.get(2).cloned();
                gn.train(training);
                gn.forward(&t[0])
            };
            let mode = if training { "train" } else { "eval" };
            check(&format!("GroupNorm {name} {mode}"), f, &inputs);
        }
    }
}

// ------------------------------------------------- running statistics

/// Per-channel mean and unbiased variance of `[N, C, ...]` data, by hand.
fn channel_stats(x: &Tensor<f64>) -> (Vec<f64>, Vec<f64>) {
    let shape = x.shape();
    let c = shape[1];
    let inner: usize = shape[2..].iter().product();
    let values = x.to_vec();
    let mut groups = vec![Vec::new(); c];
    for (i, v) in values.iter().enumerate() {
        groups[(i / inner) % c].push(*v);
    }
    let mean: Vec<f64> = groups
        .iter()
        .map(|g| g.iter().sum::<f64>() / g.len() as f64)
        .collect();
    let var = groups
        .iter()
        .zip(&mean)
        .map(|(g, m)| g.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (g.len() - 1) as f64)
        .collect();
    (mean, var)
}

fn assert_close(label: &str, got: &[f64], want: &[f64], tol: f64) -> f64 {
    assert_eq!(got.len(), want.len(), "{label}: lengths");
    let err = got
        .iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0, f64::max);
    assert!(
        err <= tol,
        "{label}: got {got:?}, want {want:?} (max err {err:e})"
    );
    err
}

#[test]
fn running_statistics_follow_pytorchs_update_rule() {
    for (kind, shapes) in [
        (Bn::TwoD, [vec![2, 3, 2, 2], vec![3, 3, 2, 2], vec![1, 3, 3, 2]]),
        (Bn::OneD, [vec![4, 3, 5], vec![2, 3, 5], vec![5, 3, 1]]),
        (Bn::OneD, [vec![4, 3], vec![2, 3], vec![6, 3]]),
    ] {
        for momentum in [Some(0.1), Some(0.7), None] {
            let options = BatchNormOptions::default().momentum(momentum);
            let bn = batch_norm(kind, 3, options);
            let (mut rm, mut rv) = (vec![0.0; 3], vec![1.0; 3]);
            for (k, shape) in shapes.iter().enumerate() {
                let x = channel_input(shape, 900 + k as u64);
                bn.forward(&x);
                let (mean, var) = channel_stats(&x);
                let f = momentum.unwrap_or(1.0 / (k + 1) as f64);
                for ch in 0..3 {
                    rm[ch] = (1.0 - f) * rm[ch] + f * mean[ch];
                    rv[ch] = (1.0 - f) * rv[ch] + f * var[ch];
                }
            }
            let label = format!("{shapes:?} momentum {momentum:?}");
            let buffers = bn.named_buffers();
            let names: Vec<&str> = buffers.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, ["running_mean", "running_var", "num_batches_tracked"]);
            let e1 = assert_close(
                &format!("{label} running_mean"),
                &buffers[0].1.to_vec(),
                &rm,
                1e-12,
            );
            let e2 = assert_close(
                &format!("{label} running_var"),
                &buffers[1].1.to_vec(),
                &rv,
                1e-12,
            );
            assert_eq!(buffers[2].1.shape(), &[] as &[usize]);
            assert_eq!(buffers[2].1.item(), 3.0, "{label}: num_batches_tracked");
            println!("{label}: running stats max err {:.1e}", e1.max(e2));
        }
    }
}

#[test]
fn eval_mode_uses_the_running_statistics() {
    let mut bn = BatchNorm2d::<f64>::new(2);
    for k in 0..3 {
        bn.forward(&channel_input(&[3, 2, 2, 2], 40 + k));
    }
    let (w, b) = (
        Tensor::from_vec(vec![1.5, -0.5], &[2]),
        Tensor::from_vec(vec![0.25, 2.0], &[2]),
    );
    bn.weight.as_ref().unwrap().copy_from(&w);
    bn.bias.as_ref().unwrap().copy_from(&b);
    bn.eval();
    let rm = bn.running_mean.as_ref().unwrap().to_vec();
    let rv = bn.running_var.as_ref().unwrap().to_vec();
    let x = channel_input(&[2, 2, 2, 2], 50);
    let y = bn.forward(&x);
    let want: Vec<f64> = x
        .to_vec()
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let c = (i / 4) % 2;
            (v - rm[c]) / (rv[c] + 1e-5).sqrt() * w.to_vec()[c] + b.to_vec()[c]
        })
        .collect();
    assert_close("eval output", &y.to_vec(), &want, 1e-12);
    // Evaluation leaves the statistics alone.
    assert_eq!(bn.running_mean.as_ref().unwrap().to_vec(), rm);
    assert_eq!(bn.num_batches_tracked.as_ref().unwrap().item(), 3.0);
    // Back in training mode: batch statistics, and the update resumes,
    // also under no_grad (as in PyTorch).
    bn.train(true);
    let y = no_grad(|| bn.forward(&x));
    let means = y.mean_dims(&[0, 2, 3], false).to_vec();
    assert_close("train-mode channel means = bias", &means, &b.to_vec(), 1e-12);
    assert_eq!(bn.num_batches_tracked.as_ref().unwrap().item(), 4.0);
    bn.reset_running_stats();
    assert_eq!(bn.running_mean.as_ref().unwrap().to_vec(), vec![0.0, 0.0]);
    assert_eq!(bn.running_var.as_ref().unwrap().to_vec(), vec![1.0, 1.0]);
    assert_eq!(bn.num_batches_tracked.as_ref().unwrap().item(), 0.0);
}

#[test]
fn without_running_statistics_eval_mode_uses_the_batch() {
    let options = BatchNormOptions::default().track_running_stats(false);
    let mut bn = BatchNorm1d::<f64>::with_options(3, options);
    assert!(bn.named_buffers().is_empty());
    let x = channel_input(&[4, 3, 2], 3);
    let train = bn.forward(&x).to_vec();
    bn.eval();
    assert_eq!(bn.forward(&x).to_vec(), train);
}

#[test]
fn momentum_none_is_the_cumulative_average() {
    let bn = BatchNorm1d::<f64>::with_options(1, BatchNormOptions::default().momentum(None));
    for batch in [[1.0, 3.0], [5.0, 7.0], [0.0, 0.0]] {
        bn.forward(&Tensor::from_vec(batch.to_vec(), &[2, 1]));
    }
    // Means 2, 6, 0 and unbiased variances 2, 2, 0, averaged.
    assert_close(
        "running_mean",
        &bn.running_mean.as_ref().unwrap().to_vec(),
        &[8.0 / 3.0],
        1e-12,
    );
    assert_close(
        "running_var",
        &bn.running_var.as_ref().unwrap().to_vec(),
        &[4.0 / 3.0],
        1e-12,
    );
}

#[test]
fn large_channel_means_in_f32() {
    // The mean is taken in two passes, so a large offset costs nothing.
    let x64 = &channel_input(&[8, 2, 16, 16], 77) + 1000.0;
    let x32: Tensor<f32> = x64.to_dtype();
    let exact = BatchNorm2d::<f64>::new(2).forward(&x32.to_dtype());
    let got = BatchNorm2d::<f32>::new(2).forward(&x32);
    let err = got
        .to_vec()
        .iter()
        .zip(exact.to_vec())
        .map(|(g, e)| (*g as f64 - e).abs())
        .fold(0.0, f64::max);
    println!("BatchNorm2d f32, channel means ~1000: max err {err:.2e}");
    assert!(err < 1e-5, "max err {err:e}");
}

// ------------------------------------------------------------ state_dict

fn names(m: &dyn Module<f32>) -> Vec<String> {
    m.state_dict().into_iter().map(|(n, _)| n).collect()
}

#[test]
fn state_dict_names_are_pytorchs() {
    let full = [
        "weight",
        "bias",
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ];
    assert_eq!(names(&BatchNorm1d::new(3)), full);
    assert_eq!(names(&BatchNorm2d::new(3)), full);
    let no_affine = BatchNormOptions::default().affine(false);
    assert_eq!(names(&BatchNorm2d::with_options(3, no_affine)), &full[2..]);
    let no_stats = BatchNormOptions::default().track_running_stats(false);
    assert_eq!(names(&BatchNorm2d::with_options(3, no_stats)), &full[..2]);
    assert_eq!(names(&LayerNorm::new(&[2, 3])), ["weight", "bias"]);
    assert_eq!(
        names(&LayerNorm::with_options(
            &[3],
            LayerNormOptions::default().bias(false)
        )),
        ["weight"]
    );
    assert_eq!(names(&GroupNorm::new(2, 4)), ["weight", "bias"]);
    assert!(names(&GroupNorm::with_options(
        2,
        4,
        GroupNormOptions::default().affine(false)
    ))
    .is_empty());

    // Initial values and shapes, as in PyTorch.
    let bn = BatchNorm2d::<f32>::new(3);
    let sd = bn.state_dict();
    let values: Vec<Vec<f32>> = sd.iter().map(|(_, t)| t.to_vec()).collect();
    assert_eq!(
        values,
        [vec![1.0; 3], vec![0.0; 3], vec![0.0; 3], vec![1.0; 3], vec![0.0]]
    );
    assert_eq!(sd[4].1.shape(), &[] as &[usize]);
    assert!(sd[0].1.is_requires_grad() && !sd[2].1.is_requires_grad());
    assert_eq!(bn.parameters().len(), 2);

    // In a model: hierarchical names, and eval() reaches the layer.
    let mut g = Generator::new(0);
    let mut model: Sequential = Sequential::new()
        .add(Linear::new(4, 3, true, &mut g))
        .add(BatchNorm1d::new(3));
    assert_eq!(
        names(&model),
        [
            "0.weight",
            "0.bias",
            "1.weight",
            "1.bias",
            "1.running_mean",
            "1.running_var",
            "1.num_batches_tracked"
        ]
    );
    model.eval();
    assert!(!model.children()[1].1.is_training());
    let before = model.named_buffers()[0].1.to_vec();
    model.forward(&Tensor::ones(&[5, 4]));
    assert_eq!(
        model.named_buffers()[0].1.to_vec(),
        before,
        "eval mode updated the running mean"
    );
}

// ---------------------------------------------------------------- panics

#[test]
#[should_panic(
    expected = "BatchNorm2d(3): input of shape [2, 4, 5, 5] has 4 channels (dimension 1), expected 3"
)]
fn batch_norm2d_wrong_channels() {
    BatchNorm2d::<f32>::new(3).forward(&Tensor::zeros(&[2, 4, 5, 5]));
}

#[test]
#[should_panic(
    expected = "BatchNorm1d(3): expected a 2-D [N, C] or 3-D [N, C, L] input, got shape [2, 3, 4, 4]"
)]
fn batch_norm1d_wrong_rank() {
    BatchNorm1d::<f32>::new(3).forward(&Tensor::zeros(&[2, 3, 4, 4]));
}

#[test]
#[should_panic(expected = "BatchNorm2d(2): expected a 4-D [N, C, H, W] input, got shape [2, 2, 3]")]
fn batch_norm2d_wrong_rank() {
    BatchNorm2d::<f32>::new(2).forward(&Tensor::zeros(&[2, 2, 3]));
}

#[test]
#[should_panic(expected = "BatchNorm1d(4): input of shape [8, 3] has 3 channels (dimension 1), expected 4")]
fn batch_norm1d_wrong_channels() {
    BatchNorm1d::<f32>::new(4).forward(&Tensor::zeros(&[8, 3]));
}

#[test]
#[should_panic(
    expected = "BatchNorm2d(3): expected more than 1 value per channel when training, got input of shape [1, 3, 1, 1]"
)]
fn batch_norm_one_value_per_channel_in_training() {
    BatchNorm2d::<f32>::new(3).forward(&Tensor::zeros(&[1, 3, 1, 1]));
}

#[test]
fn batch_norm_one_value_per_channel_is_fine_in_eval() {
    let mut bn = BatchNorm2d::<f32>::new(3);
    bn.eval();
    assert_eq!(bn.forward(&Tensor::ones(&[1, 3, 1, 1])).shape(), &[1, 3, 1, 1]);
}

#[test]
#[should_panic(expected = "BatchNorm1d(3): weight has shape [4], expected [3]")]
fn batch_norm_replaced_weight_of_the_wrong_shape() {
    let mut bn = BatchNorm1d::<f32>::new(3);
    bn.weight = Some(Tensor::ones(&[4]));
    bn.forward(&Tensor::zeros(&[2, 3]));
}

#[test]
#[should_panic(
    expected = "LayerNorm([3, 4]): input of shape [2, 4, 3] does not end in normalized_shape [3, 4]"
)]
fn layer_norm_wrong_trailing_shape() {
    LayerNorm::<f32>::new(&[3, 4]).forward(&Tensor::zeros(&[2, 4, 3]));
}

#[test]
#[should_panic(expected = "LayerNorm: normalized_shape must have at least one dimension")]
fn layer_norm_empty_shape() {
    LayerNorm::<f32>::new(&[]);
}

#[test]
#[should_panic(expected = "GroupNorm(4, 6): num_channels must be divisible by num_groups")]
fn group_norm_indivisible_channels() {
    GroupNorm::<f32>::new(4, 6);
}

#[test]
#[should_panic(expected = "GroupNorm(2, 4): expected an input [N, 4, *], got shape [2, 6, 3]")]
fn group_norm_wrong_channels() {
    GroupNorm::<f32>::new(2, 4).forward(&Tensor::zeros(&[2, 6, 3]));
}
