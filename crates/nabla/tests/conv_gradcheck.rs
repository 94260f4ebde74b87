//! Gradient checks (f64, central differences) of the convolutions, first
//! and second order, over strides, padding, dilation, groups and
//! rectangular kernels.

use nabla::autograd::{gradcheck, gradgradcheck, GradcheckOptions};
use nabla::nn::{Conv2d, Layer, Padding};
use nabla::{Conv2dOptions, Generator, Tensor};

fn randn(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::randn(shape, &mut Generator::new(seed))
}

fn check(f: impl Fn(&[Tensor<f64>]) -> Tensor<f64>, inputs: &[Tensor<f64>]) {
    if let Err(e) = gradcheck(f, inputs, &GradcheckOptions::default()) {
        panic!("{e}");
    }
}

fn configurations() -> Vec<(Vec<usize>, Vec<usize>, Conv2dOptions)> {
    vec![
        (vec![2, 3, 5, 5], vec![4, 3, 3, 3], Conv2dOptions::default()),
        (
            vec![1, 2, 6, 5],
            vec![3, 2, 3, 2],
            Conv2dOptions::default().padding((1, 0)).stride((2, 1)),
        ),
        (
            vec![2, 2, 7, 7],
            vec![2, 2, 3, 3],
            Conv2dOptions::default().dilation(2).padding(2),
        ),
        (
            vec![2, 4, 5, 4],
            vec![6, 2, 2, 3],
            Conv2dOptions::default().groups(2).stride(2).padding(1),
        ),
        (
            vec![1, 3, 4, 4],
            vec![3, 1, 3, 3],
            Conv2dOptions::default().groups(3).padding(1),
        ), // depthwise
        (vec![2, 3, 4, 3], vec![5, 3, 1, 1], Conv2dOptions::default()), // pointwise
        (
            vec![2, 4, 7, 6],
            vec![4, 1, 3, 3],
            Conv2dOptions::default().groups(4).stride(2).padding((1, 2)),
        ), // depthwise at stride 2 (the direct kernel's strided rows)
        (
            vec![1, 2, 7, 7],
            vec![2, 1, 5, 2],
            Conv2dOptions::default().groups(2).dilation((1, 2)).stride((1, 3)),
        ), // depthwise, dilated, no padding
    ]
}

#[test]
fn conv2d_gradients_match_finite_differences() {
    for (i, (xs, ws, options)) in configurations().into_iter().enumerate() {
        let x = randn(&xs, 10 + i as u64);
        let w = randn(&ws, 20 + i as u64);
        let b = randn(&[ws[0]], 30 + i as u64);
        check(|t| t[0].conv2d(&t[1], Some(&t[2]), options), &[x, w, b]);
    }
}

#[test]
fn conv2d_second_derivatives_match_finite_differences() {
    for (i, (xs, ws, options)) in configurations().into_iter().enumerate() {
        let x = randn(&xs, 40 + i as u64);
        let w = randn(&ws, 50 + i as u64);
        // tanh makes the second derivative in x nonzero.
        let result = gradgradcheck(
            |t| t[0].conv2d(&t[1], None, options).tanh(),
            &[x, w],
            &GradcheckOptions::default(),
        );
        if let Err(e) = result {
            panic!("configuration {i}: {e}");
        }
    }
}

#[test]
fn conv2d_on_non_contiguous_input() {
    let x = randn(&[2, 5, 5, 3], 60); // NHWC, permuted to NCHW: a strided view
    let w = randn(&[2, 3, 3, 3], 61);
    check(
        |t| {
            t[0].permute(&[0, 3, 1, 2])
                .conv2d(&t[1], None, Conv2dOptions::default().padding(1))
        },
        &[x, w],
    );
}

#[test]
fn conv_transpose2d_gradients_match_finite_differences() {
    let cases = [
        (vec![2, 3, 3, 3], vec![3, 2, 3, 3], Conv2dOptions::default()),
        (
            vec![1, 2, 3, 4],
            vec![2, 3, 2, 3],
            Conv2dOptions::default().stride(2).padding(1).output_padding(1),
        ),
        (
            vec![1, 4, 3, 3],
            vec![4, 1, 3, 3],
            Conv2dOptions::default().groups(2).dilation(2),
        ),
    ];
    for (i, (xs, ws, options)) in cases.into_iter().enumerate() {
        let x = randn(&xs, 70 + i as u64);
        let w = randn(&ws, 80 + i as u64);
        let b = randn(&[ws[1] * options.groups], 90 + i as u64);
        check(
            |t| t[0].conv_transpose2d(&t[1], Some(&t[2]), options),
            &[x.clone(), w.clone(), b],
        );
        let result = gradgradcheck(
            |t| t[0].conv_transpose2d(&t[1], None, options).sigmoid(),
            &[x, w],
            &GradcheckOptions::default(),
        );
        if let Err(e) = result {
            panic!("case {i}: {e}");
        }
    }
}

#[test]
fn conv_transpose2d_is_the_adjoint_of_conv2d() {
    // <conv(x, w), y> = <x, conv_transpose(y, w)> for every x, y.
    let options = Conv2dOptions::default().stride(2).padding(1);
    let x = randn(&[2, 3, 7, 7], 100);
    let w = randn(&[4, 3, 3, 3], 101);
    let y = randn(&[2, 4, 4, 4], 102);
    let left = (&x.conv2d(&w, None, options) * &y).sum().item();
    let right = (&x * &y.conv_transpose2d(&w, None, options)).sum().item();
    assert!((left - right).abs() < 1e-10, "{left} vs {right}");
}

#[test]
fn conv1d_gradients_match_finite_differences() {
    let x = randn(&[2, 3, 9], 110);
    let w = randn(&[4, 3, 3], 111);
    let b = randn(&[4], 112);
    check(
        |t| t[0].conv1d(&t[1], Some(&t[2]), Conv2dOptions::default().stride(2).padding(1)),
        &[x, w, b],
    );
}

#[test]
#[should_panic(
    expected = "conv2d: input [1, 1, 2, 2] with padding (0, 0) is smaller than kernel [1, 1, 3, 3]"
)]
fn an_input_smaller_than_the_kernel_is_named() {
    Tensor::<f32>::zeros(&[1, 1, 2, 2]).conv2d(&Tensor::zeros(&[1, 1, 3, 3]), None, Conv2dOptions::default());
}

#[test]
#[should_panic(expected = "conv2d: the kernel of weight [4, 3, 0, 3] has no taps")]
fn a_kernel_without_taps_is_named() {
    Tensor::<f32>::zeros(&[1, 3, 8, 8]).conv2d(&Tensor::zeros(&[4, 3, 0, 3]), None, Conv2dOptions::default());
}

#[test]
#[should_panic(expected = "conv2d: input [1, 3, 8, 8] does not fit weight [4, 2, 3, 3] with 1 groups")]
fn a_channel_mismatch_is_named() {
    Tensor::<f32>::zeros(&[1, 3, 8, 8]).conv2d(&Tensor::zeros(&[4, 2, 3, 3]), None, Conv2dOptions::default());
}

#[test]
fn pad_gradients_match_finite_differences() {
    let x = randn(&[2, 3, 4], 60);
    for (pads, value) in [
        (vec![1, 2], 0.0),
        (vec![0, 1, 2, 0], -0.5),
        (vec![1, 1, 0, 0, 1, 0], 3.0),
    ] {
        check(|t| t[0].pad(&pads, value).tanh(), std::slice::from_ref(&x));
        let result = gradgradcheck(
            |t| t[0].pad(&pads, value).tanh(),
            std::slice::from_ref(&x),
            &GradcheckOptions::default(),
        );
        if let Err(e) = result {
            panic!("pad {pads:?}: {e}");
        }
    }
}

#[test]
fn asymmetric_padding_before_a_stride_2_convolution() {
    // TensorFlow's "same" at stride 2: the extra row and column after.
    let x = randn(&[1, 2, 6, 6], 61);
    let w = randn(&[2, 1, 3, 3], 62);
    let options = Conv2dOptions::default().groups(2).stride(2);
    check(
        |t| t[0].pad(&[0, 1, 0, 1], 0.0).conv2d(&t[1], None, options),
        &[x, w],
    );
}

/// A depthwise `Conv2d` with `Padding::Sides`, whose weight (and bias) are
/// the given tensors: it convolves without a padded copy of the input.
fn depthwise_with_sides(
    t: &[Tensor<f64>],
    kernel: usize,
    stride: usize,
    sides: (usize, usize, usize, usize),
) -> Tensor<f64> {
    let channels = t[1].shape()[0];
    let options = Conv2dOptions::default().groups(channels).stride(stride);
    let (top, bottom, left, right) = sides;
    let mut conv =
        Conv2d::<f64>::with_options(channels, channels, kernel, options, true, &mut Generator::new(0))
            .padding(Padding::Sides {
                top,
                bottom,
                left,
                right,
            });
    conv.weight = t[1].clone();
    conv.bias = Some(t[2].clone());
    conv.forward(&t[0])
}

#[test]
fn depthwise_per_side_padding_matches_pad_then_convolve_and_finite_differences() {
    // TensorFlow's "same" at strides 2 (extra zeros after) and other
    // unequal sides, including more zeros than the kernel reaches.
    for (i, (kernel, stride, sides)) in [
        (3, 2, (0, 1, 0, 1)),
        (5, 2, (1, 2, 1, 2)),
        (3, 1, (2, 0, 0, 3)),
        (2, 3, (1, 2, 2, 0)),
    ]
    .into_iter()
    .enumerate()
    {
        let x = randn(&[2, 3, 7, 6], 70 + i as u64);
        let w = randn(&[3, 1, kernel, kernel], 80 + i as u64);
        let b = randn(&[3], 90 + i as u64);
        let inputs = [x, w, b];
        let (top, bottom, left, right) = sides;
        let options = Conv2dOptions::default().groups(3).stride(stride);
        let padded = |t: &[Tensor<f64>]| {
            t[0].pad(&[left, right, top, bottom], 0.0)
                .conv2d(&t[1], Some(&t[2]), options)
        };
        let direct = depthwise_with_sides(&inputs, kernel, stride, sides);
        let reference = padded(&inputs);
        assert_eq!(direct.shape(), reference.shape(), "sides {sides:?}");
        for (a, r) in direct.to_vec().iter().zip(reference.to_vec()) {
            assert!((a - r).abs() < 1e-12, "sides {sides:?}: {a} vs {r}");
        }
        check(|t| depthwise_with_sides(t, kernel, stride, sides), &inputs);
        let second = gradgradcheck(
            |t| depthwise_with_sides(t, kernel, stride, sides).tanh(),
            &inputs,
            &GradcheckOptions::default(),
        );
        if let Err(e) = second {
            panic!("sides {sides:?}: {e}");
        }
    }
}
