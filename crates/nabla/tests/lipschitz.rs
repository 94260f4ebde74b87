//! Lipschitz constants: power iteration against the singular value
//! decomposition of each layer's explicit matrix (built by applying the
//! layer to basis vectors), the network bound's layers and refusals, the
//! Jacobian lower bound against a finite-difference Jacobian, and
//! certificates that an L2 attack within the certified radius cannot break.

use nabla::adversarial::{Attack, AttackLoss, Norm};
use nabla::autograd::numerical_jacobian;
use nabla::lipschitz::{
    certify, conv2d_norm, jacobian_norms, linear_layer_norm, linear_norm, lipschitz_lower_bound,
    lipschitz_upper_bound, margins, PowerIteration,
};
use nabla::nn::{
    spectral_norm, AsAny, AvgPool2d, BatchNorm1d, Conv2d, Flatten, Layer, Linear, MaxPool2d, Module, Relu,
    Sequential, Softmax, Summarize, Tanh,
};
use nabla::{no_grad, Conv2dOptions, Generator, IndexTensor, Pool2dOptions, Tensor};
use nalgebra::DMatrix;

fn precise() -> PowerIteration {
    PowerIteration::default().tolerance(1e-15).max_iterations(20_000)
}

/// The explicit matrix of a linear map from tensors of `input_shape`:
/// column `j` is the map applied to the `j`-th basis tensor, flattened.
fn explicit_matrix(input_shape: &[usize], map: impl Fn(&Tensor<f64>) -> Tensor<f64>) -> DMatrix<f64> {
    let n: usize = input_shape.iter().product();
    let columns: Vec<Vec<f64>> = (0..n)
        .map(|j| {
            let mut e = vec![0.0; n];
            e[j] = 1.0;
            no_grad(|| map(&Tensor::from_vec(e, input_shape))).to_vec()
        })
        .collect();
    DMatrix::from_fn(columns[0].len(), n, |i, j| columns[j][i])
}

fn largest_singular_value(m: DMatrix<f64>) -> f64 {
    m.singular_values().iter().copied().fold(0.0, f64::max)
}

fn assert_relative(got: f64, want: f64, tolerance: f64, what: &str) {
    assert!(
        (got - want).abs() <= tolerance * want,
        "{what}: power iteration {got}, SVD {want} (relative error {:e})",
        (got - want).abs() / want
    );
}

#[test]
fn a_linear_layers_norm_is_its_weights_largest_singular_value() {
    for (i, (n_in, n_out)) in [(7, 5), (3, 12), (40, 40)].into_iter().enumerate() {
        let layer = Linear::<f64>::new(n_in, n_out, true, &mut Generator::new(i as u64));
        let norm = linear_norm(&layer, &precise());
        let svd = largest_singular_value(explicit_matrix(&[1, n_in], |x| x.matmul(&layer.weight.t())));
        assert!(norm.converged, "Linear({n_in}, {n_out}) did not converge");
        assert_relative(norm.sigma, svd, 1e-6, &format!("Linear({n_in}, {n_out})"));
    }
}

#[test]
fn a_convolutions_norm_on_its_input_size_matches_the_svd_of_its_matrix() {
    // (what, in channels, out channels, options, input size)
    type Case = (&'static str, usize, usize, Conv2dOptions, (usize, usize));
    let cases: Vec<Case> = vec![
        ("3x3, no padding", 2, 3, Conv2dOptions::default(), (5, 5)),
        (
            "3x3, padding 1",
            2,
            3,
            Conv2dOptions::default().padding(1),
            (5, 6),
        ),
        (
            "3x3, stride 2, padding 1",
            2,
            4,
            Conv2dOptions::default().stride(2).padding(1),
            (6, 6),
        ),
        // 7 rows at stride 2 leave the last row outside every window but one.
        (
            "3x3, stride 2, odd size",
            3,
            2,
            Conv2dOptions::default().stride(2).padding(1),
            (7, 5),
        ),
        (
            "dilation 2, padding 2",
            2,
            2,
            Conv2dOptions::default().dilation(2).padding(2),
            (6, 6),
        ),
        (
            "groups 2",
            4,
            6,
            Conv2dOptions::default().groups(2).padding(1),
            (4, 4),
        ),
    ];
    for (i, (what, c_in, c_out, options, size)) in cases.into_iter().enumerate() {
        let conv =
            Conv2d::<f64>::with_options(c_in, c_out, 3, options, true, &mut Generator::new(10 + i as u64));
        let norm = conv2d_norm(&conv, size, &precise());
        let svd = largest_singular_value(explicit_matrix(&[1, c_in, size.0, size.1], |x| {
            x.conv2d(&conv.weight, None, options)
        }));
        assert_relative(norm.sigma, svd, 1e-6, what);
    }
}

#[test]
fn padding_and_stride_change_a_convolutions_norm() {
    let conv = Conv2d::<f64>::new(1, 1, 3, &mut Generator::new(0));
    let plain = conv2d_norm(&conv, (8, 8), &precise()).sigma;
    let strided = conv2d_norm(&conv.stride(2), (8, 8), &precise()).sigma;
    assert!(
        strided < plain,
        "stride 2 keeps fewer outputs: {strided} < {plain}"
    );
}

#[test]
fn average_pooling_norms_match_their_matrices() {
    for (what, options, size) in [
        ("2x2", Pool2dOptions::new(2), (4, 4)),
        (
            "3x3 stride 2 padding 1",
            Pool2dOptions::new(3).stride(2).padding(1),
            (7, 7),
        ),
        (
            "3x3 stride 1 without the padding in the divisor",
            Pool2dOptions::new(3)
                .stride(1)
                .padding(1)
                .count_include_pad(false),
            (5, 5),
        ),
    ] {
        let pool = AvgPool2d::new(options);
        let norm = linear_layer_norm::<f64>(&pool, &[2, size.0, size.1], &precise());
        let svd = largest_singular_value(explicit_matrix(&[1, 2, size.0, size.1], |x| pool.forward(x)));
        assert_relative(norm.sigma, svd, 1e-6, what);
    }
}

#[test]
fn the_network_bound_lists_each_layer_with_its_input_shape_and_multiplies_them() {
    let mut model = nabla::nn::zoo::lenet5::<f64>(&mut Generator::new(0));
    model.eval();
    let bound = lipschitz_upper_bound(&model, &[1, 28, 28], &PowerIteration::default()).unwrap();
    let names: Vec<&str> = bound.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1", "relu3", "fc2", "relu4",
            "fc3"
        ]
    );
    let shapes: Vec<Vec<usize>> = bound.layers.iter().map(|l| l.input_shape.clone()).collect();
    assert_eq!(shapes[3], [6, 14, 14]);
    assert_eq!(shapes[6], [16, 5, 5]);
    assert_eq!(shapes[11], [84]);
    let layers = model.sequential_layers().unwrap();
    let fc1 = AsAny::as_any(layers[7].1).downcast_ref::<Linear<f64>>().unwrap();
    let fc1_svd = largest_singular_value(explicit_matrix(&[1, 400], |x| x.matmul(&fc1.weight.t())));
    assert_relative(bound.layers[7].constant, fc1_svd, 1e-4, "fc1 in the walk");
    let product: f64 = bound.layers.iter().map(|l| l.constant).product();
    assert_relative(bound.upper_bound, product, 1e-12, "the product");
}

#[test]
fn batch_norm_counts_its_largest_scale_and_overlapping_max_pooling_its_overlap() {
    let bn = BatchNorm1d::<f64>::new(3);
    bn.weight
        .as_ref()
        .unwrap()
        .copy_from(&Tensor::from_vec(vec![0.5, -3.0, 1.0], &[3]));
    bn.running_var
        .as_ref()
        .unwrap()
        .copy_from(&Tensor::from_vec(vec![1.0, 4.0, 0.01], &[3]));
    let model: Sequential<f64> = Sequential::new().add(bn).add(Tanh).add(nabla::nn::Sigmoid);
    let bound = lipschitz_upper_bound(&model, &[3], &PowerIteration::default()).unwrap();
    // max(0.5 / 1, 3 / 2, 1 / 0.1) with eps 1e-5 under the roots.
    assert_relative(
        bound.layers[0].constant,
        1.0 / (0.01f64 + 1e-5).sqrt(),
        1e-12,
        "BatchNorm",
    );
    assert_eq!(bound.layers[2].constant, 0.25);

    let pooled: Sequential<f64> = Sequential::new().add(MaxPool2d::new(Pool2dOptions::new(3).stride(2)));
    let bound = lipschitz_upper_bound(&pooled, &[1, 9, 9], &PowerIteration::default()).unwrap();
    assert_eq!(bound.layers[0].constant, 2.0);
}

#[test]
fn a_layer_without_a_bound_or_a_wrong_shape_is_refused_by_name() {
    let mut g = Generator::new(0);
    let model: Sequential<f64> = Sequential::new()
        .add(Linear::new(4, 3, true, &mut g))
        .add_named("probabilities", Softmax { dim: 1 });
    let error = lipschitz_upper_bound(&model, &[4], &PowerIteration::default())
        .unwrap_err()
        .to_string();
    assert!(error.contains("layer probabilities (Softmax"), "{error}");
    assert!(error.contains("no Lipschitz bound"), "{error}");
    let error = lipschitz_upper_bound(&model, &[5], &PowerIteration::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("layer 0 (Linear(4, 3") && error.contains("[5]"),
        "{error}"
    );
    let no_stats: Sequential<f64> = Sequential::new().add(BatchNorm1d::with_options(
        4,
        nabla::nn::BatchNormOptions::default().track_running_stats(false),
    ));
    let error = lipschitz_upper_bound(&no_stats, &[4], &PowerIteration::default())
        .unwrap_err()
        .to_string();
    assert!(error.contains("running statistics"), "{error}");
}

#[test]
fn a_spectrally_normalised_network_is_bounded_through_its_normalised_weights() {
    let mut g = Generator::new(4);
    let mut model: Sequential<f64> = Sequential::new()
        .add(spectral_norm(Linear::new(6, 8, true, &mut g), &mut g))
        .add(Relu)
        .add(spectral_norm(Linear::new(8, 3, true, &mut g), &mut g));
    let x = Tensor::randn(&[2, 6], &mut g);
    for _ in 0..100 {
        model.forward(&x);
    }
    model.eval();
    let bound = lipschitz_upper_bound(&model, &[6], &precise()).unwrap();
    assert_eq!(bound.layers[0].kind, "SpectralNorm(Linear(6, 8, bias=true))");
    assert_relative(bound.upper_bound, 1.0, 1e-6, "two normalised layers");
}

#[test]
fn the_jacobian_norm_matches_a_finite_difference_jacobian_and_stays_below_the_upper_bound() {
    let mut g = Generator::new(5);
    let mut model: Sequential<f64> = Sequential::new()
        .add(Conv2d::new(1, 3, 3, &mut g).padding(1))
        .add(Relu)
        .add(MaxPool2d::new(2))
        .add(Flatten::default())
        .add(Linear::new(3 * 3 * 3, 4, true, &mut g));
    model.eval();
    let inputs = Tensor::<f64>::randn(&[3, 1, 6, 6], &mut g);
    let norms = jacobian_norms(&model, &inputs).unwrap();
    for (b, norm) in norms.iter().enumerate() {
        let x = inputs.narrow(0, b, 1).contiguous();
        let jacobian = numerical_jacobian(|xs: &[Tensor<f64>]| model.forward(&xs[0]), &[x], 1e-6).remove(0);
        // Rows: the 4 logits; columns: the 36 pixels.
        let m = DMatrix::from_row_slice(4, jacobian.numel() / 4, &jacobian.to_vec());
        assert_relative(*norm, largest_singular_value(m), 1e-6, &format!("example {b}"));
    }
    let lower = lipschitz_lower_bound(&mut model, [inputs.clone()]).unwrap();
    let upper = lipschitz_upper_bound(&model, &[1, 6, 6], &PowerIteration::default()).unwrap();
    assert!(
        lower.value <= upper.upper_bound,
        "{} <= {}",
        lower.value,
        upper.upper_bound
    );
    assert_eq!(lower.value, norms.iter().copied().fold(0.0, f64::max));
    let error = jacobian_norms(&Flatten::default(), &Tensor::<f64>::zeros(&[2, 1, 2, 2])).map(|_| ());
    assert!(error.is_ok(), "a [B, K] output is accepted whatever it means");
    let error = jacobian_norms(&Relu, &Tensor::<f64>::zeros(&[2, 1, 2, 2]))
        .unwrap_err()
        .to_string();
    assert!(error.contains("not to [2, classes] logits"), "{error}");
}

/// nabla's L2 PGD on Carlini and Wagner's margin within `radius` of `x`
/// (unbounded inputs), from the point itself and from three random starts.
fn attack_l2(
    model: &dyn Layer<f64>,
    x: &Tensor<f64>,
    label: usize,
    radius: f64,
    steps: usize,
) -> Tensor<f64> {
    let label = IndexTensor::from_vec(vec![label], &[1]);
    let f = |x: &Tensor<f64>| model.forward(x);
    let mut g = Generator::new(label.as_slice()[0] as u64);
    let pgd = Attack::pgd(Norm::L2, radius, steps, radius / 4.0)
        .unwrap()
        .with_loss(AttackLoss::Margin)
        .range(None);
    let from_x = pgd
        .clone()
        .random_start(false)
        .perturb(&f, x, &label, &mut g)
        .unwrap();
    if f(&from_x).argmax(1, false).as_slice()[0] != label.as_slice()[0] {
        return from_x;
    }
    pgd.restarts(3).perturb(&f, x, &label, &mut g).unwrap()
}

#[test]
fn certified_examples_resist_an_l2_attack_at_their_certified_radius() {
    let mut g = Generator::new(6);
    let mut model: Sequential<f64> = Sequential::new()
        .add(Linear::new(5, 12, true, &mut g))
        .add(Relu)
        .add(Linear::new(12, 3, true, &mut g));
    model.eval();
    let inputs = Tensor::<f64>::randn(&[40, 5], &mut g).mul_scalar(2.0);
    let predicted: Vec<usize> = margins(&no_grad(|| model.forward(&inputs)))
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    let labels = IndexTensor::from_vec(predicted.clone(), &[40]);
    let upper = lipschitz_upper_bound(&model, &[5], &PowerIteration::default())
        .unwrap()
        .upper_bound;
    let radius = 0.05;
    let c = certify(&mut model, [(inputs.clone(), labels)], upper, &[radius]).unwrap();
    assert_eq!(c.correct, 40);
    assert!(
        c.certified[0] > 5 && c.certified[0] < 40,
        "some but not all certified: {:?}",
        c.certified
    );
    let found = margins(&no_grad(|| model.forward(&inputs)));
    let (mut certified, mut broken_far_away) = (0, 0);
    for (b, (label, margin)) in found.into_iter().enumerate() {
        let x = inputs.narrow(0, b, 1).contiguous();
        let certified_radius = margin / (2f64.sqrt() * upper);
        if certified_radius > radius {
            certified += 1;
            let adversarial = attack_l2(&model, &x, label, certified_radius, 30);
            let (after, _) = margins(&no_grad(|| model.forward(&adversarial)))[0];
            assert_eq!(
                after, label,
                "example {b}, certified at {certified_radius}, was broken"
            );
        }
        // Far outside the certificate the same attack does break examples,
        // so its failure above means something.
        let adversarial = attack_l2(&model, &x, label, 20.0 * certified_radius.max(0.01), 30);
        if margins(&no_grad(|| model.forward(&adversarial)))[0].0 != label {
            broken_far_away += 1;
        }
    }
    assert_eq!(certified, c.certified[0]);
    assert!(
        broken_far_away > 20,
        "the attack broke only {broken_far_away} of 40 examples far away"
    );
    let error = certify(&mut model, [], upper, &[-0.1]).unwrap_err().to_string();
    assert!(
        error.contains("radius must be a finite number >= 0, got -0.1"),
        "{error}"
    );
    assert!(!model.is_training());
}
