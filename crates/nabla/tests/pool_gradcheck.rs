//! Gradient checks (f64, central differences) of the poolings, first and
//! second order, over a grid of kernels, strides, paddings, rounding modes
//! and `count_include_pad`; plus the checks that go with them: 3-D and
//! non-contiguous inputs, the parallel path against the sequential one,
//! indices, NaN, and the panics on bad configurations.

use nabla::autograd::{gradcheck, gradgradcheck, GradcheckOptions};
use nabla::nn::{AdaptiveAvgPool2d, AvgPool2d, Layer, MaxPool2d, Summarize};
use nabla::{Generator, Pool2dOptions, Tensor};

fn randn(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::randn(shape, &mut Generator::new(seed))
}

/// Values without ties, at least 0.1 apart (far beyond the
/// finite-difference step), in a scrambled order: a permutation of
/// `0..n` scaled, shifted and jittered.
fn distinct(shape: &[usize], seed: u64) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    // 7919 is prime and larger than every n here, so i -> i * 7919 + seed
    // (mod n) is a permutation.
    assert!(n < 7919);
    let jitter = Tensor::<f64>::rand(shape, &mut Generator::new(seed)).to_vec();
    let values = (0..n)
        .map(|i| ((i * 7919 + seed as usize) % n) as f64 * 0.25 - n as f64 / 8.0 + 0.1 * jitter[i])
        .collect();
    Tensor::from_vec(values, shape)
}

fn check(what: &str, f: impl Fn(&[Tensor<f64>]) -> Tensor<f64>, inputs: &[Tensor<f64>]) {
    if let Err(e) = gradcheck(&f, inputs, &GradcheckOptions::default()) {
        panic!("{what}: {e}");
    }
}

fn check2(what: &str, f: impl Fn(&[Tensor<f64>]) -> Tensor<f64>, inputs: &[Tensor<f64>]) {
    if let Err(e) = gradgradcheck(&f, inputs, &GradcheckOptions::default()) {
        panic!("{what} (second order): {e}");
    }
}

/// Kernel 2/3, stride 1/2/3, padding 0/1, with a shape that gives each a
/// few outputs; then rectangular, ceil-mode and dilated windows.
fn window_grid(dilation: bool) -> Vec<(Vec<usize>, Pool2dOptions)> {
    let mut grid = Vec::new();
    for kernel in [2, 3] {
        for stride in [1, 2, 3] {
            for padding in [0, 1] {
                grid.push((
                    vec![2, 2, 6, 5],
                    Pool2dOptions::new(kernel).stride(stride).padding(padding),
                ));
            }
        }
    }
    grid.push((
        vec![1, 2, 5, 7],
        Pool2dOptions::new((2, 3)).stride((1, 2)).padding((1, 0)),
    ));
    grid.push((
        vec![1, 2, 7, 6],
        Pool2dOptions::new((3, 2)).stride((2, 3)).padding((1, 1)),
    ));
    grid.push((vec![1, 2, 5, 5], Pool2dOptions::new(2).ceil_mode(true)));
    grid.push((
        vec![1, 2, 6, 6],
        Pool2dOptions::new(3).stride(2).padding(1).ceil_mode(true),
    ));
    grid.push((
        vec![1, 2, 8, 6],
        Pool2dOptions::new((3, 2))
            .stride((2, 3))
            .padding((1, 0))
            .ceil_mode(true),
    ));
    if dilation {
        grid.push((
            vec![1, 2, 7, 7],
            Pool2dOptions::new(3).stride(1).padding(1).dilation(2),
        ));
        grid.push((
            vec![2, 1, 8, 7],
            Pool2dOptions::new((2, 3))
                .stride((2, 1))
                .padding(1)
                .dilation((3, 2)),
        ));
    }
    grid
}

// ------------------------------------------------------------ max pooling

#[test]
fn max_pool2d_gradients_match_finite_differences() {
    for (i, (shape, o)) in window_grid(true).into_iter().enumerate() {
        let x = distinct(&shape, i as u64);
        check(
            &format!("max_pool2d {shape:?} {o:?}"),
            |t| t[0].max_pool2d(o),
            &[x],
        );
    }
}

#[test]
fn max_pool2d_second_derivatives_match_finite_differences() {
    for (i, (shape, o)) in window_grid(true).into_iter().enumerate() {
        let x = distinct(&shape, 100 + i as u64);
        // tanh after the pooling makes the second derivative in x nonzero;
        // the pooling's own is the gather in the upstream gradient.
        check2(
            &format!("max_pool2d {shape:?} {o:?}"),
            |t| t[0].max_pool2d(o).tanh(),
            std::slice::from_ref(&x),
        );
        check2(
            &format!("max_pool2d {shape:?} {o:?}"),
            |t| t[0].max_pool2d(o),
            &[x],
        );
    }
}

#[test]
fn max_pool2d_routes_the_gradient_to_the_first_of_tied_maxima() {
    // Windows of stride 1 over [[1, 3, 3], [3, 2, 3]]: every window holds
    // several 3s; the first in row-major order takes each gradient.
    let x = Tensor::from_vec(vec![1.0f64, 3.0, 3.0, 3.0, 2.0, 3.0], &[1, 1, 2, 3]).requires_grad();
    let (y, idx) = x.max_pool2d_with_indices(Pool2dOptions::new(2).stride(1));
    assert_eq!(idx.to_vec(), vec![1, 1]);
    y.sum().backward();
    assert_eq!(x.grad().unwrap().to_vec(), vec![0.0, 2.0, 0.0, 0.0, 0.0, 0.0]);
}

#[test]
fn max_pool2d_indices_select_the_output() {
    let x = distinct(&[2, 3, 7, 6], 7);
    let (y, idx) = x.max_pool2d_with_indices(Pool2dOptions::new(3).stride(2).padding(1));
    assert_eq!(idx.shape(), y.shape());
    let xs = x.to_vec();
    let plane = 7 * 6;
    let per_plane = y.shape()[2] * y.shape()[3];
    for (k, (&v, &i)) in y.to_vec().iter().zip(idx.as_slice()).enumerate() {
        assert!(i < plane, "index {i} outside the plane");
        assert_eq!(v, xs[(k / per_plane) * plane + i]);
    }
}

#[test]
fn max_pool2d_propagates_nan() {
    let x = Tensor::from_vec(vec![1.0f32, f32::NAN, 5.0, 2.0], &[1, 1, 2, 2]);
    let (y, idx) = x.max_pool2d_with_indices(2);
    assert!(y.to_vec()[0].is_nan());
    assert_eq!(idx.to_vec(), vec![1]);
}

#[test]
fn max_pool2d_takes_the_last_nan_and_the_first_of_equal_infinities() {
    // Two 2x2 windows side by side: NaN at (0, 0) and (1, 0); all -inf.
    let (nan, inf) = (f64::NAN, f64::NEG_INFINITY);
    let x = Tensor::from_vec(vec![nan, 3.0, inf, inf, nan, 1.0, inf, inf], &[1, 1, 2, 4]);
    let (y, idx) = x.max_pool2d_with_indices(2);
    let y = y.to_vec();
    assert!(y[0].is_nan());
    assert_eq!(y[1], inf);
    assert_eq!(idx.to_vec(), vec![4, 2]);
}

#[test]
fn max_pool2d_window_entirely_in_the_padding_gives_minus_infinity_and_no_gradient() {
    // Kernel 2 with dilation 5 and padding 1 on 4 columns: taps at -1 and 4.
    let x = Tensor::from_vec((0..24).map(f64::from).collect(), &[1, 1, 6, 4]).requires_grad();
    let o = Pool2dOptions::new((1, 2))
        .stride(1)
        .padding((0, 1))
        .dilation((1, 5));
    let (y, idx) = x.max_pool2d_with_indices(o);
    assert_eq!(y.shape(), &[1, 1, 6, 1]);
    assert!(y.to_vec().iter().all(|v| *v == f64::NEG_INFINITY));
    // PyTorch's index for such a window: first row tap * W + first column tap.
    assert_eq!(idx.to_vec(), vec![4, 8, 12, 16, 20, 24]);
    y.backward_with(&Tensor::ones(&[1, 1, 6, 1]));
    assert!(x.grad().unwrap().to_vec().iter().all(|v| *v == 0.0));
}

// -------------------------------------------------------- average pooling

#[test]
fn avg_pool2d_gradients_match_finite_differences() {
    for (i, (shape, o)) in window_grid(false).into_iter().enumerate() {
        for include in [true, false] {
            let o = o.count_include_pad(include);
            let x = randn(&shape, 200 + i as u64);
            check(
                &format!("avg_pool2d {shape:?} {o:?}"),
                |t| t[0].avg_pool2d(o),
                &[x],
            );
        }
    }
}

#[test]
fn avg_pool2d_second_derivatives_match_finite_differences() {
    for (i, (shape, o)) in window_grid(false).into_iter().enumerate() {
        for include in [true, false] {
            let o = o.count_include_pad(include);
            let x = randn(&shape, 300 + i as u64);
            check2(
                &format!("avg_pool2d {shape:?} {o:?}"),
                |t| t[0].avg_pool2d(o).tanh(),
                &[x],
            );
        }
    }
}

#[test]
fn avg_pool2d_divisors_follow_pytorch() {
    let x = Tensor::<f64>::ones(&[1, 1, 5, 5]);
    // ceil_mode: the last window [4, 6) overhangs the input; it is never
    // counted, padding or not.
    let y = x.avg_pool2d(Pool2dOptions::new(2).ceil_mode(true));
    assert_eq!(y.shape(), &[1, 1, 3, 3]);
    assert!(y.to_vec().iter().all(|v| *v == 1.0));
    // Padding 1, kernel 3, stride 2 over ones: a corner window covers 4
    // ones out of 9 places.
    let o = Pool2dOptions::new(3).stride(2).padding(1);
    assert_eq!(x.avg_pool2d(o).at(&[0, 0, 0, 0]), 4.0 / 9.0);
    assert_eq!(x.avg_pool2d(o.count_include_pad(false)).at(&[0, 0, 0, 0]), 1.0);
}

#[test]
fn adaptive_avg_pool2d_gradients_match_finite_differences() {
    let cases: [(&[usize], (usize, usize)); 6] = [
        (&[2, 3, 5, 7], (1, 1)),
        (&[2, 2, 6, 9], (2, 3)),
        (&[1, 2, 5, 7], (3, 3)),
        (&[1, 2, 7, 5], (2, 3)),
        (&[1, 2, 3, 4], (5, 6)),
        (&[2, 4, 5], (2, 2)),
    ];
    for (i, (shape, out)) in cases.into_iter().enumerate() {
        let x = randn(shape, 400 + i as u64);
        let what = format!("adaptive_avg_pool2d {shape:?} to {out:?}");
        check(&what, |t| t[0].adaptive_avg_pool2d(out), std::slice::from_ref(&x));
        check2(&what, |t| t[0].adaptive_avg_pool2d(out).tanh(), &[x]);
    }
}

#[test]
fn adaptive_avg_pool2d_at_one_is_the_spatial_mean() {
    let x = randn(&[3, 4, 5, 6], 500);
    let y = x.adaptive_avg_pool2d(1);
    let mean = x.mean_dims(&[2, 3], true);
    for (a, b) in y.to_vec().iter().zip(mean.to_vec()) {
        assert!((a - b).abs() < 1e-14);
    }
}

// ------------------------------------------------------ layouts and sizes

#[test]
fn three_dimensional_and_non_contiguous_inputs() {
    // [C, H, W]
    let x = distinct(&[2, 5, 6], 600);
    let o = Pool2dOptions::new(2).stride(1).padding(1);
    check("max_pool2d 3-D", |t| t[0].max_pool2d(o), std::slice::from_ref(&x));
    let (y, idx) = x.max_pool2d_with_indices(o);
    assert_eq!((y.shape(), idx.shape()), (&[2, 6, 7][..], &[2, 6, 7][..]));
    check("avg_pool2d 3-D", |t| t[0].avg_pool2d(o), std::slice::from_ref(&x));
    check("adaptive 3-D", |t| t[0].adaptive_avg_pool2d((2, 4)), &[x]);

    // NHWC permuted to NCHW: a strided view.
    let x = distinct(&[2, 5, 4, 3], 601);
    let o = Pool2dOptions::new(3).stride(2).padding(1);
    check(
        "max_pool2d strided",
        |t| t[0].permute(&[0, 3, 1, 2]).max_pool2d(o),
        std::slice::from_ref(&x),
    );
    check(
        "avg_pool2d strided",
        |t| t[0].permute(&[0, 3, 1, 2]).avg_pool2d(o),
        std::slice::from_ref(&x),
    );
    check(
        "adaptive strided",
        |t| t[0].permute(&[0, 3, 1, 2]).adaptive_avg_pool2d(2),
        &[x],
    );
}

/// A batch large enough for the kernels to go parallel gives, plane by
/// plane, what each plane gives alone (below the threshold, sequential).
#[test]
fn parallel_path_matches_plane_by_plane() {
    let (n, c, h, w) = (4, 8, 40, 36);
    let x = randn(&[n, c, h, w], 700).requires_grad();
    let o = Pool2dOptions::new(3).stride(2).padding(1);
    type Op = fn(&Tensor<f64>, Pool2dOptions) -> Tensor<f64>;
    let ops: [(&str, Op); 3] = [
        ("max", |t, o| t.max_pool2d(o)),
        ("avg", |t, o| t.avg_pool2d(o.count_include_pad(false))),
        ("adaptive", |t, _| t.adaptive_avg_pool2d((7, 5))),
    ];
    for (name, op) in ops {
        let y = op(&x, o);
        let g = randn(y.shape(), 701);
        x.zero_grad();
        y.backward_with(&g);
        let dx = x.grad().unwrap();
        for b in 0..n {
            for ch in 0..c {
                let plane = x.detach().narrow(0, b, 1).narrow(1, ch, 1).requires_grad();
                let yp = op(&plane, o);
                yp.backward_with(&g.narrow(0, b, 1).narrow(1, ch, 1));
                let want_y = y.narrow(0, b, 1).narrow(1, ch, 1).to_vec();
                let want_dx = dx.narrow(0, b, 1).narrow(1, ch, 1).to_vec();
                assert_eq!(yp.to_vec(), want_y, "{name}: output of plane ({b}, {ch})");
                assert_eq!(
                    plane.grad().unwrap().to_vec(),
                    want_dx,
                    "{name}: gradient of plane ({b}, {ch})"
                );
            }
        }
    }
}

#[test]
fn an_empty_batch_gives_an_empty_output() {
    let x = Tensor::<f32>::zeros(&[0, 3, 6, 6]);
    assert_eq!(x.max_pool2d(2).shape(), &[0, 3, 3, 3]);
    assert_eq!(x.avg_pool2d(2).shape(), &[0, 3, 3, 3]);
    assert_eq!(x.adaptive_avg_pool2d(1).shape(), &[0, 3, 1, 1]);
}

#[test]
fn modules_apply_their_options() {
    let x = distinct(&[2, 3, 9, 8], 800);
    let o = Pool2dOptions::new(3).stride(2).padding(1);
    assert_eq!(MaxPool2d::new(o).forward(&x).to_vec(), x.max_pool2d(o).to_vec());
    assert_eq!(AvgPool2d::new(o).forward(&x).to_vec(), x.avg_pool2d(o).to_vec());
    assert_eq!(
        AdaptiveAvgPool2d::new((2, 3)).forward(&x).to_vec(),
        x.adaptive_avg_pool2d((2, 3)).to_vec()
    );
    assert_eq!(
        Summarize::<f64>::describe(&MaxPool2d::new(2)),
        "MaxPool2d(kernel=(2, 2), stride=(2, 2), padding=(0, 0))"
    );
    assert_eq!(
        Summarize::<f64>::describe(&AvgPool2d::new(Pool2dOptions::new(3).count_include_pad(false))),
        "AvgPool2d(kernel=(3, 3), stride=(3, 3), padding=(0, 0), count_include_pad=false)"
    );
    assert_eq!(MaxPool2d::new(2).options, Pool2dOptions::new(2));
}

// ----------------------------------------------------------------- panics

#[test]
#[should_panic(expected = "max_pool2d: padding (2, 2) must be at most half of kernel (3, 3)")]
fn padding_beyond_half_the_kernel_panics() {
    Tensor::<f32>::zeros(&[1, 1, 8, 8]).max_pool2d(Pool2dOptions::new(3).padding(2));
}

#[test]
#[should_panic(expected = "avg_pool2d: input [1, 1, 2, 2] with padding (0, 0) is smaller than kernel (3, 3)")]
fn a_kernel_larger_than_the_input_panics() {
    Tensor::<f32>::zeros(&[1, 1, 2, 2]).avg_pool2d(3);
}

#[test]
#[should_panic(expected = "max_pool2d_with_indices: expects input [N, C, H, W] or [C, H, W], got [5, 5]")]
fn a_matrix_input_panics() {
    let _ = Tensor::<f32>::zeros(&[5, 5]).max_pool2d_with_indices(2);
}

#[test]
#[should_panic(expected = "max_pool2d: stride must be positive, got (0, 1)")]
fn a_zero_stride_panics() {
    Tensor::<f32>::zeros(&[1, 1, 4, 4]).max_pool2d(Pool2dOptions::new(2).stride((0, 1)));
}

#[test]
#[should_panic(expected = "avg_pool2d: dilation is not supported, got (2, 2)")]
fn a_dilated_average_pooling_panics() {
    Tensor::<f32>::zeros(&[1, 1, 8, 8]).avg_pool2d(Pool2dOptions::new(2).dilation(2));
}

#[test]
#[should_panic(
    expected = "adaptive_avg_pool2d: expects input [N, C, H, W] or [C, H, W] with H, W > 0, got [1, 1, 0, 3]"
)]
fn adaptive_pooling_of_an_empty_image_panics() {
    Tensor::<f32>::zeros(&[1, 1, 0, 3]).adaptive_avg_pool2d(2);
}
