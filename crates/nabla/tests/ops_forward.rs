//! Forward values with hand-computed expectations (creation, views,
//! broadcasting, reductions, indexing, matmul against a naive loop,
//! activations, printing), and the semantics of the autograd engine.

use std::panic::{catch_unwind, AssertUnwindSafe};

use nabla::autograd::{grad, grad_with};
use nabla::{is_grad_enabled, no_grad, Float, Generator, IndexTensor, NoGradGuard, Tensor};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

#[track_caller]
fn assert_close<T: Float>(got: &[T], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "length: got {got:?}, want {want:?}");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let g = g.as_f64();
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "element {i}: got {g}, want {w} (tolerance {tol}); got {got:?}"
        );
    }
}

fn t64(data: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_slice(data, shape)
}

fn t32(data: &[f32], shape: &[usize]) -> Tensor<f32> {
    Tensor::from_slice(data, shape)
}

fn arange64(n: usize) -> Tensor<f64> {
    Tensor::<f64>::arange(0.0, n as f64, 1.0)
}

fn randn64(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::<f64>::randn(shape, &mut Generator::new(seed))
}

fn randn32(shape: &[usize], seed: u64) -> Tensor<f32> {
    Tensor::<f32>::randn(shape, &mut Generator::new(seed))
}

// ---------------------------------------------------------------------------
// Creation
// ---------------------------------------------------------------------------

#[test]
fn zeros_ones_full() {
    let z = Tensor::<f32>::zeros(&[2, 3]);
    assert_eq!(z.shape(), &[2, 3]);
    assert_eq!(z.to_vec(), vec![0.0; 6]);
    let o = Tensor::<f64>::ones(&[4]);
    assert_eq!(o.to_vec(), vec![1.0; 4]);
    assert_eq!(o.dtype(), "float64");
    let f = Tensor::<f32>::full(&[3, 1, 2], -2.5);
    assert_eq!(f.shape(), &[3, 1, 2]);
    assert_eq!(f.numel(), 6);
    assert_eq!(f.to_vec(), vec![-2.5; 6]);
    assert_eq!(f.dtype(), "float32");
    let x = t64(&[1.0, 2.0, 3.0], &[3]);
    assert_eq!(x.zeros_like().to_vec(), vec![0.0; 3]);
    assert_eq!(x.ones_like().shape(), &[3]);
    let s = Tensor::scalar(7.5f64);
    assert_eq!(s.ndim(), 0);
    assert_eq!(s.shape(), &[] as &[usize]);
    assert_eq!(s.numel(), 1);
    assert_eq!(s.item(), 7.5);
    let e = Tensor::<f32>::zeros(&[2, 0]);
    assert_eq!(e.numel(), 0);
    assert_eq!(e.to_vec(), Vec::<f32>::new());
}

#[test]
fn arange_values() {
    assert_eq!(
        Tensor::<f64>::arange(0.0, 5.0, 1.0).to_vec(),
        vec![0.0, 1.0, 2.0, 3.0, 4.0]
    );
    assert_eq!(
        Tensor::<f32>::arange(1.0, 2.0, 0.25).to_vec(),
        vec![1.0, 1.25, 1.5, 1.75]
    );
    // Negative step counts down, excluding the end.
    assert_eq!(
        Tensor::<f64>::arange(5.0, 0.0, -2.0).to_vec(),
        vec![5.0, 3.0, 1.0]
    );
    // A step that does not divide the range: ceil((1 - 0) / 0.3) = 4 elements.
    let x = Tensor::<f64>::arange(0.0, 1.0, 0.3);
    assert_eq!(x.shape(), &[4]);
    assert_close(&x.to_vec(), &[0.0, 0.3, 0.6, 0.9], 1e-12);
    assert_eq!(Tensor::<f64>::arange(2.0, 2.0, 1.0).numel(), 0);
}

#[test]
fn linspace_values() {
    assert_eq!(
        Tensor::<f64>::linspace(0.0, 1.0, 5).to_vec(),
        vec![0.0, 0.25, 0.5, 0.75, 1.0]
    );
    assert_eq!(
        Tensor::<f32>::linspace(-1.0, 1.0, 3).to_vec(),
        vec![-1.0, 0.0, 1.0]
    );
    assert_eq!(Tensor::<f64>::linspace(3.0, 9.0, 1).to_vec(), vec![3.0]);
    assert_eq!(Tensor::<f64>::linspace(3.0, 9.0, 0).numel(), 0);
    // Both ends are exact even when the step is not representable.
    let x = Tensor::<f64>::linspace(0.1, 0.7, 7).to_vec();
    assert_eq!(x[0], 0.1);
    assert_eq!(x[6], 0.7);
    assert_close(&x, &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], 1e-15);
    // Decreasing.
    assert_eq!(
        Tensor::<f64>::linspace(2.0, -2.0, 5).to_vec(),
        vec![2.0, 1.0, 0.0, -1.0, -2.0]
    );
}

#[test]
fn eye_values() {
    let i = Tensor::<f64>::eye(3);
    assert_eq!(i.shape(), &[3, 3]);
    assert_eq!(i.to_vec(), vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    let x = randn64(&[3, 4], 1);
    assert_eq!(i.matmul(&x).to_vec(), x.to_vec());
}

#[test]
fn random_draws_are_reproducible() {
    let a = Tensor::<f32>::randn(&[4, 5], &mut Generator::new(7));
    let b = Tensor::<f32>::randn(&[4, 5], &mut Generator::new(7));
    let c = Tensor::<f32>::randn(&[4, 5], &mut Generator::new(8));
    assert_eq!(a.to_vec(), b.to_vec());
    assert_ne!(a.to_vec(), c.to_vec());
    let u1 = Tensor::<f64>::rand(&[10], &mut Generator::new(3));
    let u2 = Tensor::<f64>::rand(&[10], &mut Generator::new(3));
    let u3 = Tensor::<f64>::rand(&[10], &mut Generator::new(4));
    assert_eq!(u1.to_vec(), u2.to_vec());
    assert_ne!(u1.to_vec(), u3.to_vec());
    // One generator continues its stream: two draws differ, and equal one
    // draw of twice the size.
    let mut g = Generator::new(11);
    let first = Tensor::<f64>::randn(&[3], &mut g).to_vec();
    let second = Tensor::<f64>::randn(&[3], &mut g).to_vec();
    assert_ne!(first, second);
    let both = Tensor::<f64>::randn(&[6], &mut Generator::new(11)).to_vec();
    assert_eq!([first, second].concat(), both);
    // f32 draws are the f64 draws rounded.
    let d64 = Tensor::<f64>::randn(&[8], &mut Generator::new(5)).to_vec();
    let d32 = Tensor::<f32>::randn(&[8], &mut Generator::new(5)).to_vec();
    for (a, b) in d64.iter().zip(&d32) {
        assert_eq!(*a as f32, *b);
    }
}

#[test]
fn rand_is_in_unit_interval_with_the_right_moments() {
    let x = Tensor::<f64>::rand(&[20_000], &mut Generator::new(12)).to_vec();
    assert!(x.iter().all(|&v| (0.0..1.0).contains(&v)));
    let mean = x.iter().sum::<f64>() / x.len() as f64;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / x.len() as f64;
    assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
    assert!((var - 1.0 / 12.0).abs() < 0.005, "var {var}");
    let y = Tensor::<f32>::rand(&[20_000], &mut Generator::new(13)).to_vec();
    assert!(y.iter().all(|&v| (0.0..1.0).contains(&v)));
    let n = Tensor::<f64>::randn(&[20_000], &mut Generator::new(14)).to_vec();
    let mean = n.iter().sum::<f64>() / n.len() as f64;
    let var = n.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n.len() as f64;
    assert!(mean.abs() < 0.03, "mean {mean}");
    assert!((var - 1.0).abs() < 0.05, "var {var}");
    let u = Tensor::<f64>::uniform(&[5000], -3.0, -1.0, &mut Generator::new(15)).to_vec();
    assert!(u.iter().all(|&v| (-3.0..-1.0).contains(&v)));
    let mean = u.iter().sum::<f64>() / u.len() as f64;
    assert!((mean + 2.0).abs() < 0.05, "mean {mean}");
}

#[test]
fn rand_f32_never_returns_one() {
    // Seed 20682 draws, at index 172, an f64 in [1 - 2^-25, 1): the nearest
    // f32 to it is 1.0. Check that premise first, so that the test stays
    // meaningful if the generator changes.
    let mut g = Generator::new(20682);
    let draws: Vec<f64> = (0..173).map(|_| g.uniform()).collect();
    assert!(
        draws[172] < 1.0 && draws[172] as f32 == 1.0,
        "premise: {}",
        draws[172]
    );
    let x = Tensor::<f32>::rand(&[173], &mut Generator::new(20682)).to_vec();
    assert!(x.iter().all(|&v| (0.0..1.0).contains(&v)), "rand gave {}", x[172]);
}

#[test]
fn from_vec_and_at() {
    let x = t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    assert_eq!(x.at(&[0, 0]), 1.0);
    assert_eq!(x.at(&[1, 2]), 6.0);
    assert_eq!(x.at(&[1, 0]), 4.0);
    assert_eq!(x.size(0), 2);
    assert_eq!(x.size(-1), 3);
    assert_eq!(x.strides(), &[3, 1]);
    assert_eq!(
        x.to_dtype::<f32>().to_vec(),
        vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]
    );
    assert_eq!(x.to_dtype::<f32>().dtype(), "float32");
}

// ---------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------

#[test]
fn transpose_is_a_non_contiguous_view() {
    let x = arange64(6).reshape(&[2, 3]);
    assert!(x.is_contiguous());
    let t = x.transpose(0, 1);
    assert_eq!(t.shape(), &[3, 2]);
    assert_eq!(t.strides(), &[1, 3]);
    assert!(t.shares_storage_with(&x));
    assert!(!t.is_contiguous());
    assert_eq!(t.to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    assert_eq!(t.at(&[2, 1]), 5.0);
    assert_eq!(x.t().to_vec(), t.to_vec());
    let c = t.contiguous();
    assert!(c.is_contiguous());
    assert!(!c.shares_storage_with(&x));
    assert_eq!(c.to_vec(), t.to_vec());
    // contiguous() of a contiguous tensor is the same storage.
    assert!(x.contiguous().shares_storage_with(&x));
    // Transposing twice is contiguous again.
    assert!(t.t().is_contiguous());
}

#[test]
fn reshape_views_contiguous_and_copies_strided() {
    let x = arange64(12).reshape(&[3, 4]);
    let r = x.reshape(&[2, 6]);
    assert!(r.shares_storage_with(&x));
    assert_eq!(r.to_vec(), x.to_vec());
    assert_eq!(r.at(&[1, 0]), 6.0);
    let t = x.t();
    let rt = t.reshape(&[12]);
    assert!(!rt.shares_storage_with(&x));
    assert_eq!(
        rt.to_vec(),
        vec![0.0, 4.0, 8.0, 1.0, 5.0, 9.0, 2.0, 6.0, 10.0, 3.0, 7.0, 11.0]
    );
    assert_eq!(x.flatten(0, -1).shape(), &[12]);
    let y = Tensor::<f64>::zeros(&[2, 3, 4, 5]);
    assert_eq!(y.flatten(1, 2).shape(), &[2, 12, 5]);
    assert_eq!(y.flatten(-2, -1).shape(), &[2, 3, 20]);
    assert_eq!(Tensor::scalar(1.0f64).flatten(0, 0).shape(), &[1]);
}

#[test]
fn narrow_slice_select_values() {
    let x = arange64(12).reshape(&[3, 4]);
    let rows = x.narrow(0, 1, 2);
    assert!(rows.shares_storage_with(&x));
    assert!(rows.is_contiguous(), "a row range is contiguous");
    assert_eq!(rows.to_vec(), vec![4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0]);
    assert_eq!(rows.item_at_start(), 4.0);
    let cols = x.narrow(1, 1, 2);
    assert!(cols.shares_storage_with(&x));
    assert!(!cols.is_contiguous());
    assert_eq!(cols.to_vec(), vec![1.0, 2.0, 5.0, 6.0, 9.0, 10.0]);
    assert_eq!(x.slice(1, 2..4).to_vec(), vec![2.0, 3.0, 6.0, 7.0, 10.0, 11.0]);
    assert_eq!(x.slice(0, 1..1).shape(), &[0, 4]);
    assert_eq!(x.select(0, 2).to_vec(), vec![8.0, 9.0, 10.0, 11.0]);
    assert_eq!(x.select(1, 3).to_vec(), vec![3.0, 7.0, 11.0]);
    assert_eq!(x.select(-1, 0).shape(), &[3]);
    // Views of views keep the offset.
    assert_eq!(cols.narrow(0, 2, 1).to_vec(), vec![9.0, 10.0]);
    assert_eq!(cols.select(1, 1).to_vec(), vec![2.0, 6.0, 10.0]);
    assert_eq!(x.t().narrow(0, 3, 1).to_vec(), vec![3.0, 7.0, 11.0]);
}

/// The first element of a view, through `at`.
trait ItemAtStart {
    fn item_at_start(&self) -> f64;
}

impl ItemAtStart for Tensor<f64> {
    fn item_at_start(&self) -> f64 {
        self.at(&vec![0; self.ndim()])
    }
}

#[test]
fn permute_squeeze_unsqueeze() {
    let x = arange64(24).reshape(&[2, 3, 4]);
    let p = x.permute(&[2, 0, 1]);
    assert_eq!(p.shape(), &[4, 2, 3]);
    assert!(p.shares_storage_with(&x));
    assert!(!p.is_contiguous());
    // p[i][j][k] = x[j][k][i] = 12 j + 4 k + i
    assert_eq!(p.at(&[3, 1, 2]), 12.0 + 8.0 + 3.0);
    assert_eq!(p.at(&[1, 0, 2]), 9.0);
    assert_eq!(p.to_vec()[..6], [0.0, 4.0, 8.0, 12.0, 16.0, 20.0]);
    let u = x.unsqueeze(1);
    assert_eq!(u.shape(), &[2, 1, 3, 4]);
    assert!(u.shares_storage_with(&x));
    assert_eq!(u.to_vec(), x.to_vec());
    assert_eq!(x.unsqueeze(-1).shape(), &[2, 3, 4, 1]);
    assert_eq!(x.unsqueeze(3).shape(), &[2, 3, 4, 1]);
    assert_eq!(u.squeeze(1).shape(), &[2, 3, 4]);
    assert_eq!(t64(&[1.0, 2.0], &[1, 2, 1]).squeeze_all().shape(), &[2]);
    // squeeze/unsqueeze of a strided view stay views with the right values.
    let tu = x.select(0, 1).t().unsqueeze(0);
    assert_eq!(tu.shape(), &[1, 4, 3]);
    assert!(tu.shares_storage_with(&x));
    assert_eq!(tu.to_vec(), x.select(0, 1).t().to_vec());
    assert_eq!(tu.squeeze(0).at(&[3, 2]), 12.0 + 8.0 + 3.0);
}

#[test]
fn expand_repeats_without_copying() {
    let x = t64(&[1.0, 2.0, 3.0], &[3, 1]);
    let e = x.expand(&[2, 3, 4]);
    assert_eq!(e.shape(), &[2, 3, 4]);
    assert_eq!(e.strides(), &[0, 1, 0]);
    assert!(e.shares_storage_with(&x));
    assert!(!e.is_contiguous());
    let v = e.to_vec();
    assert_eq!(v.len(), 24);
    assert_eq!(
        v[..12],
        [1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 3.0, 3.0, 3.0, 3.0]
    );
    assert_eq!(v[12..], v[..12]);
    assert_eq!(e.sum().item(), 2.0 * 4.0 * 6.0);
    assert_eq!(t64(&[5.0], &[]).broadcast_to(&[2, 2]).to_vec(), vec![5.0; 4]);
    // An expanded view survives further views.
    assert_eq!(e.select(2, 3).t().to_vec(), vec![1.0, 1.0, 2.0, 2.0, 3.0, 3.0]);
}

// ---------------------------------------------------------------------------
// Broadcasting
// ---------------------------------------------------------------------------

#[test]
fn broadcast_column_with_row() {
    let a = t64(&[1.0, 2.0, 3.0], &[3, 1]);
    let b = t64(&[10.0, 20.0, 30.0, 40.0], &[1, 4]);
    let s = &a + &b;
    assert_eq!(s.shape(), &[3, 4]);
    assert_eq!(
        s.to_vec(),
        vec![11.0, 21.0, 31.0, 41.0, 12.0, 22.0, 32.0, 42.0, 13.0, 23.0, 33.0, 43.0]
    );
    assert_eq!((&b - &a).at(&[2, 0]), 7.0);
    assert_eq!((&a * &b).at(&[1, 3]), 80.0);
    assert_eq!((&b / &a).at(&[2, 2]), 10.0);
}

#[test]
fn broadcast_lower_rank_and_scalar_tensors() {
    let x = arange64(24).reshape(&[2, 3, 4]);
    let v = t64(&[1.0, -1.0, 2.0, 0.5], &[4]);
    let p = &x * &v;
    assert_eq!(p.shape(), &[2, 3, 4]);
    assert_eq!(p.to_vec()[..8], [0.0, -1.0, 4.0, 1.5, 4.0, -5.0, 12.0, 3.5]);
    assert_eq!(p.at(&[1, 2, 3]), 23.0 * 0.5);
    let s = Tensor::scalar(10.0f64);
    assert_eq!((&s - &v).to_vec(), vec![9.0, 11.0, 8.0, 9.5]);
    assert_eq!((&v + &s).shape(), &[4]);
    // [2, 1, 4] with [3, 1]: result [2, 3, 4].
    let a = arange64(8).reshape(&[2, 1, 4]);
    let b = t64(&[100.0, 200.0, 300.0], &[3, 1]);
    let c = &a + &b;
    assert_eq!(c.shape(), &[2, 3, 4]);
    assert_eq!(c.at(&[1, 2, 1]), 305.0);
    assert_eq!(c.at(&[0, 1, 3]), 203.0);
}

#[test]
fn broadcast_of_non_contiguous_inputs() {
    let x = arange64(6).reshape(&[2, 3]);
    let y = t64(&[1.0, 10.0], &[2]);
    // x.t() is [3, 2]: [[0, 3], [1, 4], [2, 5]].
    assert_eq!((&x.t() * &y).to_vec(), vec![0.0, 30.0, 1.0, 40.0, 2.0, 50.0]);
    let n = x.narrow(1, 1, 2); // [[1, 2], [4, 5]]
    assert_eq!((&n + &y.unsqueeze(1)).to_vec(), vec![2.0, 3.0, 14.0, 15.0]);
    assert_eq!((&x.t() - &x.t()).to_vec(), vec![0.0; 6]);
    assert_eq!(
        x.t().maximum(&Tensor::scalar(2.5)).to_vec(),
        vec![2.5, 3.0, 2.5, 4.0, 2.5, 5.0]
    );
}

#[test]
fn elementwise_binary_values() {
    let a = t64(&[1.0, -2.0, 3.0, 0.5], &[4]);
    let b = t64(&[2.0, 2.0, -1.0, 0.5], &[4]);
    assert_eq!(a.add(&b).to_vec(), vec![3.0, 0.0, 2.0, 1.0]);
    assert_eq!(a.sub(&b).to_vec(), vec![-1.0, -4.0, 4.0, 0.0]);
    assert_eq!(a.mul(&b).to_vec(), vec![2.0, -4.0, -3.0, 0.25]);
    assert_eq!(a.div(&b).to_vec(), vec![0.5, -1.0, -3.0, 1.0]);
    assert_eq!(a.maximum(&b).to_vec(), vec![2.0, 2.0, 3.0, 0.5]);
    assert_eq!(a.minimum(&b).to_vec(), vec![1.0, -2.0, -1.0, 0.5]);
    let base = t64(&[2.0, 9.0, 4.0], &[3]);
    let e = t64(&[3.0, 0.5, -1.0], &[3]);
    assert_close(&base.pow(&e).to_vec(), &[8.0, 3.0, 0.25], 1e-15);
    let m = a.maximum(&t64(&[f64::NAN], &[1])).to_vec();
    assert!(m.iter().all(|v| v.is_nan()), "maximum propagates NaN: {m:?}");
}

#[test]
fn unary_and_scalar_values() {
    let x = t64(&[-2.0, -0.5, 0.0, 1.0, 4.0], &[5]);
    assert_eq!(x.neg().to_vec(), vec![2.0, 0.5, -0.0, -1.0, -4.0]);
    assert_eq!(x.abs().to_vec(), vec![2.0, 0.5, 0.0, 1.0, 4.0]);
    assert_eq!(x.sign().to_vec(), vec![-1.0, -1.0, 0.0, 1.0, 1.0]);
    assert_eq!(x.square().to_vec(), vec![4.0, 0.25, 0.0, 1.0, 16.0]);
    assert_eq!(
        x.clamp(Some(-1.0), Some(2.0)).to_vec(),
        vec![-1.0, -0.5, 0.0, 1.0, 2.0]
    );
    assert_eq!(x.clamp(None, Some(0.0)).to_vec(), vec![-2.0, -0.5, 0.0, 0.0, 0.0]);
    assert_eq!(x.clamp(Some(0.5), None).to_vec(), vec![0.5, 0.5, 0.5, 1.0, 4.0]);
    assert_eq!(x.add_scalar(1.0).to_vec(), vec![-1.0, 0.5, 1.0, 2.0, 5.0]);
    assert_eq!(x.mul_scalar(-2.0).to_vec(), vec![4.0, 1.0, -0.0, -2.0, -8.0]);
    assert_eq!(x.div_scalar(2.0).to_vec(), vec![-1.0, -0.25, 0.0, 0.5, 2.0]);
    assert_eq!((&x - 1.0).to_vec(), vec![-3.0, -1.5, -1.0, 0.0, 3.0]);
    assert_eq!((1.0 - &x).to_vec(), vec![3.0, 1.5, 1.0, 0.0, -3.0]);
    assert_eq!((3.0 * &x).to_vec(), x.mul_scalar(3.0).to_vec());
    assert_eq!((2.0 + &x).to_vec(), x.add_scalar(2.0).to_vec());
    let p = t64(&[0.25, 1.0, 4.0], &[3]);
    assert_eq!(p.sqrt().to_vec(), vec![0.5, 1.0, 2.0]);
    assert_eq!(p.recip().to_vec(), vec![4.0, 1.0, 0.25]);
    assert_eq!(p.rdiv_scalar(2.0).to_vec(), vec![8.0, 2.0, 0.5]);
    assert_eq!((2.0 / &p).to_vec(), vec![8.0, 2.0, 0.5]);
    assert_eq!(p.pow_scalar(0.5).to_vec(), vec![0.5, 1.0, 2.0]);
    assert_eq!(p.pow_scalar(-1.0).to_vec(), vec![4.0, 1.0, 0.25]);
    assert_eq!(p.pow_scalar(0.0).to_vec(), vec![1.0, 1.0, 1.0]);
    assert_eq!(t64(&[-2.0], &[1]).pow_scalar(3.0).to_vec(), vec![-8.0]);
    assert_close(&p.log().to_vec(), &[-(4f64.ln()), 0.0, 4f64.ln()], 1e-15);
    assert_close(
        &t64(&[0.0, 1.0, -1.0], &[3]).exp().to_vec(),
        &[1.0, std::f64::consts::E, 1.0 / std::f64::consts::E],
        1e-15,
    );
    assert_close(
        &t64(&[0.0, 0.5, -1.0, 3.0], &[4]).erf().to_vec(),
        &[
            0.0,
            0.520_499_877_813_046_5,
            -0.842_700_792_949_714_9,
            0.999_977_909_503_001_4,
        ],
        1e-14,
    );
    assert_close(
        &t32(&[0.5, -1.0], &[2]).erf().to_vec(),
        &[0.520_499_877_813_046_5, -0.842_700_792_949_714_9],
        1e-6,
    );
    // Non-contiguous input gives row-major output.
    let m = t64(&[1.0, 4.0, 9.0, 16.0], &[2, 2]);
    assert_eq!(m.t().sqrt().to_vec(), vec![1.0, 3.0, 2.0, 4.0]);
    assert_eq!(m.t().map(|v| v + 1.0).to_vec(), vec![2.0, 10.0, 5.0, 17.0]);
}

// ---------------------------------------------------------------------------
// Reductions
// ---------------------------------------------------------------------------

#[test]
fn sums_and_means_with_keepdim() {
    let x = arange64(24).reshape(&[2, 3, 4]);
    assert_eq!(x.sum().item(), 276.0);
    assert_eq!(x.sum().shape(), &[] as &[usize]);
    let s0 = x.sum_dims(&[0], false);
    assert_eq!(s0.shape(), &[3, 4]);
    assert_eq!(
        s0.to_vec(),
        (0..12).map(|i| (2 * i + 12) as f64).collect::<Vec<_>>()
    );
    let s1 = x.sum_dims(&[1], true);
    assert_eq!(s1.shape(), &[2, 1, 4]);
    assert_eq!(s1.to_vec(), vec![12.0, 15.0, 18.0, 21.0, 48.0, 51.0, 54.0, 57.0]);
    let s_last = x.sum_dims(&[-1], false);
    assert_eq!(s_last.shape(), &[2, 3]);
    assert_eq!(s_last.to_vec(), vec![6.0, 22.0, 38.0, 54.0, 70.0, 86.0]);
    let s02 = x.sum_dims(&[2, 0], true);
    assert_eq!(s02.shape(), &[1, 3, 1]);
    assert_eq!(s02.to_vec(), vec![60.0, 92.0, 124.0]);
    let all = x.sum_dims(&[], true);
    assert_eq!(all.shape(), &[1, 1, 1]);
    assert_eq!(all.item(), 276.0);
    assert_eq!(x.sum_dim(1, false).to_vec(), x.sum_dims(&[1], false).to_vec());
    assert_eq!(x.mean().item(), 11.5);
    let m = x.mean_dims(&[0, 2], false);
    assert_eq!(m.shape(), &[3]);
    assert_eq!(m.to_vec(), vec![7.5, 11.5, 15.5]);
    assert_eq!(x.mean_dim(-1, true).shape(), &[2, 3, 1]);
    assert_eq!(
        x.mean_dim(-1, true).to_vec(),
        vec![1.5, 5.5, 9.5, 13.5, 17.5, 21.5]
    );
    // Reductions of strided views.
    assert_eq!(
        x.transpose(0, 2).sum_dims(&[0], false).to_vec(),
        s_last.t().to_vec()
    );
    assert_eq!(
        x.narrow(2, 1, 2).sum_dims(&[2], false).to_vec(),
        vec![3.0, 11.0, 19.0, 27.0, 35.0, 43.0]
    );
    let e = t64(&[1.0, 2.0], &[2, 1]).expand(&[2, 5]);
    assert_eq!(e.sum_dims(&[1], false).to_vec(), vec![5.0, 10.0]);
}

#[test]
fn sum_to_reverses_broadcasting() {
    let x = arange64(24).reshape(&[2, 3, 4]);
    assert_eq!(x.sum_to(&[3, 1]).shape(), &[3, 1]);
    assert_eq!(x.sum_to(&[3, 1]).to_vec(), vec![60.0, 92.0, 124.0]);
    assert_eq!(x.sum_to(&[4]).to_vec(), vec![60.0, 66.0, 72.0, 78.0]);
    assert_eq!(x.sum_to(&[]).item(), 276.0);
    assert_eq!(x.sum_to(&[2, 3, 4]).to_vec(), x.to_vec());
    assert_eq!(x.sum_to(&[2, 1, 1]).to_vec(), vec![66.0, 210.0]);
}

#[test]
fn variance_and_standard_deviation() {
    let x = t64(&[1.0, 2.0, 3.0, 4.0, 6.0, 8.0], &[2, 3]);
    // Mean 4, squared deviations 9 + 4 + 1 + 0 + 4 + 16 = 34.
    assert_close(&[x.var().item()], &[34.0 / 5.0], 1e-15);
    assert_close(&[x.std().item()], &[(34.0f64 / 5.0).sqrt()], 1e-15);
    assert_close(&x.var_dims(&[], 0, false).to_vec(), &[34.0 / 6.0], 1e-15);
    // Rows: [1, 2, 3] has var 1 (corr 1) / 2/3 (corr 0); [4, 6, 8] 4 / 8/3.
    assert_close(&x.var_dims(&[1], 1, false).to_vec(), &[1.0, 4.0], 1e-15);
    assert_close(
        &x.var_dims(&[1], 0, false).to_vec(),
        &[2.0 / 3.0, 8.0 / 3.0],
        1e-15,
    );
    assert_eq!(x.var_dims(&[1], 0, true).shape(), &[2, 1]);
    assert_close(&x.std_dims(&[-1], 1, true).to_vec(), &[1.0, 2.0], 1e-15);
    // Columns: pairs (1, 4), (2, 6), (3, 8): var 4.5, 8, 12.5 (corr 1).
    assert_close(&x.var_dims(&[0], 1, false).to_vec(), &[4.5, 8.0, 12.5], 1e-15);
    assert_close(&x.std_dims(&[0], 0, false).to_vec(), &[1.5, 2.0, 2.5], 1e-15);
    assert_close(&x.t().var_dims(&[1], 1, false).to_vec(), &[4.5, 8.0, 12.5], 1e-15);
}

#[test]
fn max_min_and_their_dims() {
    let x = t64(&[3.0, -1.0, 7.0, 2.0, 7.0, -5.0], &[2, 3]);
    assert_eq!(x.max().item(), 7.0);
    assert_eq!(x.min().item(), -5.0);
    let (v, i) = x.max_dim(1, false);
    assert_eq!(v.shape(), &[2]);
    assert_eq!(v.to_vec(), vec![7.0, 7.0]);
    assert_eq!(i.to_vec(), vec![2, 1]);
    assert_eq!(i.shape(), &[2]);
    let (v, i) = x.min_dim(0, true);
    assert_eq!(v.shape(), &[1, 3]);
    assert_eq!(i.shape(), &[1, 3]);
    assert_eq!(v.to_vec(), vec![2.0, -1.0, -5.0]);
    assert_eq!(i.to_vec(), vec![1, 0, 1]);
    let (v, i) = x.t().max_dim(-1, false);
    assert_eq!(v.to_vec(), vec![3.0, 7.0, 7.0]);
    assert_eq!(i.to_vec(), vec![0, 1, 0]);
}

#[test]
fn argmax_argmin_ties_take_the_first_index() {
    let x = t64(&[1.0, 5.0, 5.0, 0.0, 0.0, 2.0, 4.0, 4.0, 4.0], &[3, 3]);
    assert_eq!(x.argmax(1, false).to_vec(), vec![1, 2, 0]);
    assert_eq!(x.argmin(1, false).to_vec(), vec![0, 0, 0]);
    assert_eq!(x.argmax(0, false).to_vec(), vec![2, 0, 0]);
    assert_eq!(x.argmin(0, true).shape(), &[1, 3]);
    assert_eq!(x.argmin(0, true).to_vec(), vec![1, 1, 1]);
    assert_eq!(x.argmax(-1, true).shape(), &[3, 1]);
    assert_eq!(x.t().argmax(1, false).to_vec(), vec![2, 0, 0]);
    let y = t32(&[2.0, 2.0, 2.0], &[3]);
    assert_eq!(y.argmax(0, false).to_vec(), vec![0]);
    assert_eq!(y.argmin(0, false).to_vec(), vec![0]);
    assert_eq!(y.argmax(0, false).shape(), &[] as &[usize]);
    let z = arange64(24).reshape(&[2, 3, 4]);
    assert_eq!(z.argmax(1, false).to_vec(), vec![2; 8]);
    assert_eq!(z.argmin(2, false).to_vec(), vec![0; 6]);
}

#[test]
fn argmax_treats_nan_as_largest() {
    let x = t64(&[1.0, f64::NAN, 3.0, f64::NAN], &[4]);
    assert_eq!(x.argmax(0, false).to_vec(), vec![1]);
    assert_eq!(x.argmin(0, false).to_vec(), vec![1]);
    assert!(x.max_dim(0, false).0.item().is_nan());
}

#[test]
fn full_max_and_min_propagate_nan() {
    let x = t64(&[1.0, f64::NAN, 3.0], &[3]);
    assert!(x.max().item().is_nan(), "max gave {}", x.max().item());
    assert!(x.min().item().is_nan(), "min gave {}", x.min().item());
}

// ---------------------------------------------------------------------------
// Comparisons and where_
// ---------------------------------------------------------------------------

#[test]
fn comparison_masks() {
    let a = t64(&[1.0, 2.0, 3.0], &[3]);
    let b = t64(&[2.0, 2.0, 2.0], &[3]);
    assert_eq!(a.eq(&b).to_vec(), vec![0.0, 1.0, 0.0]);
    assert_eq!(a.ne(&b).to_vec(), vec![1.0, 0.0, 1.0]);
    assert_eq!(a.lt(&b).to_vec(), vec![1.0, 0.0, 0.0]);
    assert_eq!(a.le(&b).to_vec(), vec![1.0, 1.0, 0.0]);
    assert_eq!(a.gt(&b).to_vec(), vec![0.0, 0.0, 1.0]);
    assert_eq!(a.ge(&b).to_vec(), vec![0.0, 1.0, 1.0]);
    assert_eq!(a.eq_scalar(3.0).to_vec(), vec![0.0, 0.0, 1.0]);
    assert_eq!(a.ne_scalar(3.0).to_vec(), vec![1.0, 1.0, 0.0]);
    assert_eq!(a.lt_scalar(2.0).to_vec(), vec![1.0, 0.0, 0.0]);
    assert_eq!(a.le_scalar(2.0).to_vec(), vec![1.0, 1.0, 0.0]);
    assert_eq!(a.gt_scalar(2.0).to_vec(), vec![0.0, 0.0, 1.0]);
    assert_eq!(a.ge_scalar(2.0).to_vec(), vec![0.0, 1.0, 1.0]);
    // Broadcast: [3, 1] against [3].
    let c = a.unsqueeze(1).lt(&a);
    assert_eq!(c.shape(), &[3, 3]);
    assert_eq!(c.to_vec(), vec![0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
    // NaN compares unequal to everything.
    let n = t64(&[f64::NAN], &[1]);
    assert_eq!(n.eq(&n).to_vec(), vec![0.0]);
    assert_eq!(n.ne(&n).to_vec(), vec![1.0]);
    // Masks carry no gradient.
    let w = a.detach().requires_grad();
    assert!(!w.gt_scalar(1.0).is_requires_grad());
}

#[test]
fn where_selects_with_broadcasting() {
    let cond = t64(&[1.0, 0.0, 0.0, 1.0, 1.0, 0.0], &[2, 3]);
    let a = arange64(6).reshape(&[2, 3]);
    let b = t64(&[-1.0, -2.0, -3.0], &[3]);
    assert_eq!(
        Tensor::where_(&cond, &a, &b).to_vec(),
        vec![0.0, -2.0, -3.0, 3.0, 4.0, -3.0]
    );
    let col = t64(&[0.0, 2.0], &[2, 1]);
    assert_eq!(
        Tensor::where_(&col, &a, &Tensor::scalar(9.0)).to_vec(),
        vec![9.0, 9.0, 9.0, 3.0, 4.0, 5.0]
    );
    let r = Tensor::where_(
        &t64(&[1.0, 0.0], &[2]),
        &t64(&[1.0], &[1]),
        &t64(&[5.0, 6.0], &[2, 1]),
    );
    assert_eq!(r.shape(), &[2, 2]);
    assert_eq!(r.to_vec(), vec![1.0, 5.0, 1.0, 6.0]);
    // A negative "true" value is still true; the transposed mask is read logically.
    let m = t64(&[-0.5, 0.0, 0.0, 3.0], &[2, 2]);
    assert_eq!(
        Tensor::where_(&m.t(), &Tensor::scalar(1.0), &Tensor::scalar(0.0)).to_vec(),
        vec![1.0, 0.0, 0.0, 1.0]
    );
}

// ---------------------------------------------------------------------------
// Joining and indexing
// ---------------------------------------------------------------------------

#[test]
fn cat_values() {
    let a = arange64(6).reshape(&[2, 3]);
    let b = t64(&[10.0, 11.0, 12.0], &[1, 3]);
    let c0 = Tensor::cat(&[&a, &b], 0);
    assert_eq!(c0.shape(), &[3, 3]);
    assert_eq!(c0.to_vec(), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 11.0, 12.0]);
    let d = t64(&[7.0, 8.0], &[2, 1]);
    let c1 = Tensor::cat(&[&d, &a, &d], 1);
    assert_eq!(c1.shape(), &[2, 5]);
    assert_eq!(
        c1.to_vec(),
        vec![7.0, 0.0, 1.0, 2.0, 7.0, 8.0, 3.0, 4.0, 5.0, 8.0]
    );
    let c_neg = Tensor::cat(&[&a.t(), &a.t()], -1);
    assert_eq!(c_neg.shape(), &[3, 4]);
    assert_eq!(
        c_neg.to_vec(),
        vec![0.0, 3.0, 0.0, 3.0, 1.0, 4.0, 1.0, 4.0, 2.0, 5.0, 2.0, 5.0]
    );
    let e = Tensor::<f64>::zeros(&[0, 3]);
    assert_eq!(Tensor::cat(&[&a, &e], 0).to_vec(), a.to_vec());
}

#[test]
fn stack_values() {
    let a = t64(&[1.0, 2.0, 3.0], &[3]);
    let b = t64(&[4.0, 5.0, 6.0], &[3]);
    let s0 = Tensor::stack(&[&a, &b], 0);
    assert_eq!(s0.shape(), &[2, 3]);
    assert_eq!(s0.to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let s1 = Tensor::stack(&[&a, &b], 1);
    assert_eq!(s1.shape(), &[3, 2]);
    assert_eq!(s1.to_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    let s_last = Tensor::stack(&[&a, &b, &a], -1);
    assert_eq!(s_last.shape(), &[3, 3]);
    assert_eq!(s_last.to_vec(), vec![1.0, 4.0, 1.0, 2.0, 5.0, 2.0, 3.0, 6.0, 3.0]);
}

#[test]
fn index_select_and_index_add_values() {
    let x = arange64(12).reshape(&[3, 4]);
    let r = x.index_select(0, &IndexTensor::from([2, 0, 2]));
    assert_eq!(r.shape(), &[3, 4]);
    assert_eq!(
        r.to_vec(),
        vec![8.0, 9.0, 10.0, 11.0, 0.0, 1.0, 2.0, 3.0, 8.0, 9.0, 10.0, 11.0]
    );
    let c = x.index_select(1, &IndexTensor::from([3, 3]));
    assert_eq!(c.shape(), &[3, 2]);
    assert_eq!(c.to_vec(), vec![3.0, 3.0, 7.0, 7.0, 11.0, 11.0]);
    assert_eq!(
        x.t().index_select(0, &IndexTensor::from([1])).to_vec(),
        vec![1.0, 5.0, 9.0]
    );
    assert_eq!(x.index_select(0, &IndexTensor::from(Vec::new())).shape(), &[0, 4]);
    let base = Tensor::<f64>::zeros(&[3, 2]);
    let src = t64(&[1.0, 2.0, 10.0, 20.0, 100.0, 200.0], &[3, 2]);
    // Index 1 twice: its rows accumulate.
    let added = base.index_add(0, &IndexTensor::from([1, 2, 1]), &src);
    assert_eq!(added.to_vec(), vec![0.0, 0.0, 101.0, 202.0, 10.0, 20.0]);
    let ones = Tensor::<f64>::ones(&[2, 3]);
    let added = ones.index_add(
        1,
        &IndexTensor::from([0, 0]),
        &t64(&[1.0, 2.0, 3.0, 4.0], &[2, 2]),
    );
    assert_eq!(added.to_vec(), vec![4.0, 1.0, 1.0, 8.0, 1.0, 1.0]);
}

#[test]
fn gather_and_scatter_add_values() {
    let x = t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let g = x.gather(1, &IndexTensor::from_vec(vec![2, 0, 1, 1], &[2, 2]));
    assert_eq!(g.shape(), &[2, 2]);
    assert_eq!(g.to_vec(), vec![3.0, 1.0, 5.0, 5.0]);
    let g0 = x.gather(0, &IndexTensor::from_vec(vec![1, 0, 1], &[1, 3]));
    assert_eq!(g0.to_vec(), vec![4.0, 2.0, 6.0]);
    // Gather from a transposed view: x.t() = [[1, 4], [2, 5], [3, 6]].
    let gt = x.t().gather(1, &IndexTensor::from_vec(vec![1, 0, 1], &[3, 1]));
    assert_eq!(gt.to_vec(), vec![4.0, 2.0, 6.0]);
    let zeros = Tensor::<f64>::zeros(&[2, 4]);
    let idx = IndexTensor::from_vec(vec![0, 3, 0, 1, 1, 1], &[2, 3]);
    let src = t64(&[1.0, 2.0, 3.0, 10.0, 20.0, 30.0], &[2, 3]);
    let s = zeros.scatter_add(1, &idx, &src);
    assert_eq!(s.to_vec(), vec![4.0, 0.0, 0.0, 2.0, 0.0, 60.0, 0.0, 0.0]);
    let s0 = Tensor::<f64>::ones(&[3, 2]).scatter_add(
        0,
        &IndexTensor::from_vec(vec![2, 2, 2, 0], &[2, 2]),
        &t64(&[1.0, 2.0, 3.0, 4.0], &[2, 2]),
    );
    assert_eq!(s0.to_vec(), vec![1.0, 5.0, 1.0, 1.0, 5.0, 3.0]);
}

// ---------------------------------------------------------------------------
// Matrix products against a naive loop
// ---------------------------------------------------------------------------

/// `torch.matmul` semantics by a triple loop, on row-major data.
fn naive_matmul(a: &[f64], sa: &[usize], b: &[f64], sb: &[usize]) -> (Vec<f64>, Vec<usize>) {
    let a_shape: Vec<usize> = if sa.len() == 1 {
        vec![1, sa[0]]
    } else {
        sa.to_vec()
    };
    let b_shape: Vec<usize> = if sb.len() == 1 {
        vec![sb[0], 1]
    } else {
        sb.to_vec()
    };
    let (ra, rb) = (a_shape.len(), b_shape.len());
    let (m, k) = (a_shape[ra - 2], a_shape[ra - 1]);
    let (k2, n) = (b_shape[rb - 2], b_shape[rb - 1]);
    assert_eq!(k, k2);
    let (ba, bb) = (&a_shape[..ra - 2], &b_shape[..rb - 2]);
    let rank = ba.len().max(bb.len());
    let pad = |s: &[usize]| [vec![1; rank - s.len()], s.to_vec()].concat();
    let (pa, pb) = (pad(ba), pad(bb));
    let batch: Vec<usize> = pa.iter().zip(&pb).map(|(&x, &y)| x.max(y)).collect();
    let count: usize = batch.iter().product();
    let mut out = Vec::with_capacity(count * m * n);
    for flat in 0..count {
        // Batch multi-index, then each operand's batch offset with broadcasting.
        let mut rem = flat;
        let mut index = vec![0; rank];
        for d in (0..rank).rev() {
            index[d] = rem % batch[d];
            rem /= batch[d];
        }
        let offset = |p: &[usize]| {
            let mut o = 0;
            for d in 0..rank {
                o = o * p[d] + if p[d] == 1 { 0 } else { index[d] };
            }
            o
        };
        let (oa, ob) = (offset(&pa) * m * k, offset(&pb) * k * n);
        for i in 0..m {
            for j in 0..n {
                let mut acc = 0.0;
                for l in 0..k {
                    acc += a[oa + i * k + l] * b[ob + l * n + j];
                }
                out.push(acc);
            }
        }
    }
    let mut shape = batch;
    if sa.len() > 1 {
        shape.push(m);
    }
    if sb.len() > 1 {
        shape.push(n);
    }
    (out, shape)
}

#[track_caller]
fn check_matmul_f64(a: &Tensor<f64>, b: &Tensor<f64>) {
    let got = a.matmul(b);
    let (want, shape) = naive_matmul(&a.to_vec(), a.shape(), &b.to_vec(), b.shape());
    assert_eq!(got.shape(), &shape[..], "{:?} x {:?}", a.shape(), b.shape());
    assert_close(&got.to_vec(), &want, 1e-12);
}

#[track_caller]
fn check_matmul_f32(a: &Tensor<f32>, b: &Tensor<f32>) {
    let got = a.matmul(b);
    let a64: Vec<f64> = a.to_vec().iter().map(|&v| v as f64).collect();
    let b64: Vec<f64> = b.to_vec().iter().map(|&v| v as f64).collect();
    let (want, shape) = naive_matmul(&a64, a.shape(), &b64, b.shape());
    assert_eq!(got.shape(), &shape[..], "{:?} x {:?}", a.shape(), b.shape());
    assert_close(&got.to_vec(), &want, 1e-4);
}

const MATMUL_CASES: &[(&[usize], &[usize])] = &[
    (&[5], &[5]),
    (&[3], &[3, 4]),
    (&[3, 4], &[4]),
    (&[3, 4], &[4, 5]),
    (&[1, 1], &[1, 1]),
    (&[2, 3, 4], &[2, 4, 5]),
    (&[2, 1, 3, 4], &[5, 4, 2]),
    (&[4], &[2, 4, 3]),
    (&[2, 3, 4], &[4]),
    (&[2, 3, 4], &[4, 5]),
    (&[3, 4], &[2, 4, 5]),
    (&[1, 2, 3], &[4, 1, 3, 2]),
    (&[17, 33], &[33, 9]),
];

#[test]
fn matmul_all_rank_cases_f64() {
    for (i, (sa, sb)) in MATMUL_CASES.iter().enumerate() {
        check_matmul_f64(&randn64(sa, 500 + i as u64), &randn64(sb, 600 + i as u64));
    }
}

#[test]
fn matmul_all_rank_cases_f32() {
    for (i, (sa, sb)) in MATMUL_CASES.iter().enumerate() {
        check_matmul_f32(&randn32(sa, 700 + i as u64), &randn32(sb, 800 + i as u64));
    }
}

#[test]
fn matmul_of_strided_views() {
    let a = randn64(&[5, 4], 900);
    let b = randn64(&[6, 5], 901);
    check_matmul_f64(&a.t(), &b.t());
    check_matmul_f64(&a.narrow(1, 1, 2).t(), &a.narrow(1, 0, 3));
    check_matmul_f64(&b.narrow(0, 2, 3).narrow(1, 1, 4), &a.narrow(0, 1, 4));
    check_matmul_f64(&a.select(1, 2), &b.t());
    check_matmul_f64(&randn64(&[4], 902).expand(&[3, 4]), &a.t());
    check_matmul_f64(&a.expand(&[3, 5, 4]), &randn64(&[3, 4, 2], 903));
    check_matmul_f64(
        &randn64(&[2, 3, 4], 904).permute(&[2, 0, 1]),
        &randn64(&[3, 5], 905),
    );
    let a32 = randn32(&[7, 9], 906);
    check_matmul_f32(&a32.t(), &a32);
    check_matmul_f32(&a32.narrow(0, 2, 3), &a32.t().narrow(1, 1, 5));
}

#[test]
fn matmul_large_and_many_batches() {
    // Large enough for gemm's own threading, and a batch of many small
    // products spread over threads.
    check_matmul_f64(&randn64(&[130, 150], 910), &randn64(&[150, 120], 911));
    check_matmul_f32(&randn32(&[97, 100], 912), &randn32(&[100, 110], 913));
    check_matmul_f64(&randn64(&[64, 8, 7], 914), &randn64(&[64, 7, 6], 915));
    check_matmul_f32(&randn32(&[2, 32, 5, 9], 916), &randn32(&[32, 9, 4], 917));
    check_matmul_f64(&randn64(&[150, 130], 918).t(), &randn64(&[120, 150], 919).t());
}

#[test]
fn matmul_hand_computed() {
    let a = t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let b = t64(&[7.0, 8.0, 9.0, 10.0, 11.0, 12.0], &[3, 2]);
    assert_eq!(a.matmul(&b).to_vec(), vec![58.0, 64.0, 139.0, 154.0]);
    let v = t64(&[1.0, 0.0, -1.0], &[3]);
    assert_eq!(a.matmul(&v).to_vec(), vec![-2.0, -2.0]);
    assert_eq!(v.matmul(&b).to_vec(), vec![-4.0, -4.0]);
    let d = v.matmul(&v);
    assert_eq!(d.shape(), &[] as &[usize]);
    assert_eq!(d.item(), 2.0);
    // Inner size 0 gives zeros.
    let z = Tensor::<f64>::ones(&[2, 0]).matmul(&Tensor::<f64>::ones(&[0, 3]));
    assert_eq!(z.shape(), &[2, 3]);
    assert_eq!(z.to_vec(), vec![0.0; 6]);
}

// ---------------------------------------------------------------------------
// Activations
// ---------------------------------------------------------------------------

#[test]
fn softmax_is_stable_on_huge_inputs() {
    let x = t64(&[1e4, -1e4, 0.0, 1e4], &[4]);
    let s = x.softmax(0).to_vec();
    assert!(s.iter().all(|v| v.is_finite()), "{s:?}");
    assert_close(&s, &[0.5, 0.0, 0.0, 0.5], 1e-15);
    assert_close(&[s.iter().sum::<f64>()], &[1.0], 1e-15);
    let l = x.log_softmax(0).to_vec();
    assert!(l.iter().all(|v| v.is_finite()), "{l:?}");
    let ln2 = 2f64.ln();
    assert_close(&l, &[-ln2, -2e4 - ln2, -1e4 - ln2, -ln2], 1e-12);
    // f32, along each dim of a 2-D tensor.
    let y = t32(&[1e4, -1e4, -1e4, 1e4, 0.0, 5e3], &[2, 3]);
    let s1 = y.softmax(1).to_vec();
    assert!(s1.iter().all(|v| v.is_finite()), "{s1:?}");
    assert_close(&s1, &[1.0, 0.0, 0.0, 1.0, 0.0, 0.0], 1e-6);
    let s0 = y.softmax(0).to_vec();
    assert_close(&s0, &[0.5, 0.0, 0.0, 0.5, 1.0, 1.0], 1e-6);
    let l1 = y.log_softmax(-1).to_vec();
    assert!(l1.iter().all(|v| v.is_finite()), "{l1:?}");
    assert_close(&l1, &[0.0, -2e4, -2e4, 0.0, -1e4, -5e3], 1e-6);
    // Large negative everywhere still sums to one.
    let z = t32(&[-1e4, -1e4 - 1.0], &[2]).softmax(0).to_vec();
    let e = (-1f64).exp();
    assert_close(&z, &[1.0 / (1.0 + e), e / (1.0 + e)], 1e-6);
}

#[test]
fn softmax_known_values_and_sums() {
    let x = t64(&[1.0, 2.0, 3.0], &[3]);
    let total = 1f64.exp() + 2f64.exp() + 3f64.exp();
    let want = [1f64.exp() / total, 2f64.exp() / total, 3f64.exp() / total];
    assert_close(&x.softmax(0).to_vec(), &want, 1e-15);
    assert_close(&x.log_softmax(-1).to_vec(), &want.map(f64::ln), 1e-14);
    let r = randn64(&[2, 3, 4], 950);
    for dim in [0isize, 1, 2, -1] {
        let s = r.softmax(dim);
        assert_eq!(s.shape(), &[2, 3, 4]);
        let sums = s.sum_dims(&[dim], false).to_vec();
        assert_close(&sums, &vec![1.0; sums.len()], 1e-14);
        assert_close(&r.log_softmax(dim).exp().to_vec(), &s.to_vec(), 1e-14);
    }
    // Softmax along dim 0 of a transposed view equals softmax along dim 1,
    // transposed.
    let m = randn64(&[3, 4], 951);
    assert_close(&m.t().softmax(0).to_vec(), &m.softmax(1).t().to_vec(), 1e-15);
    // Shifting the input does not change softmax.
    assert_close(
        &m.add_scalar(100.0).softmax(1).to_vec(),
        &m.softmax(1).to_vec(),
        1e-13,
    );
}

#[test]
fn activation_known_values() {
    let x = t64(&[-2.0, -1.0, 0.0, 1.0, 2.0], &[5]);
    assert_eq!(x.relu().to_vec(), vec![0.0, 0.0, 0.0, 1.0, 2.0]);
    assert_eq!(x.leaky_relu(0.1).to_vec(), vec![-0.2, -0.1, 0.0, 1.0, 2.0]);
    assert_close(
        &x.sigmoid().to_vec(),
        &[
            0.119_202_922_022_117_58,
            0.268_941_421_369_995_1,
            0.5,
            0.731_058_578_630_004_9,
            0.880_797_077_977_882_4,
        ],
        1e-15,
    );
    assert_close(
        &x.tanh().to_vec(),
        &[
            -0.964_027_580_075_817,
            -0.761_594_155_955_764_9,
            0.0,
            0.761_594_155_955_764_9,
            0.964_027_580_075_817,
        ],
        1e-15,
    );
    assert_close(
        &x.gelu().to_vec(),
        &[
            -0.045_500_263_896_358_41,
            -0.158_655_253_931_457_05,
            0.0,
            0.841_344_746_068_542_9,
            1.954_499_736_103_641_6,
        ],
        1e-14,
    );
    let y = t32(&[-1.0, 0.5, 3.0], &[3]);
    assert_close(
        &y.gelu().to_vec(),
        &[
            -0.158_655_253_931_457_05,
            0.345_731_230_637_006_56,
            2.995_950_305_905_11,
        ],
        1e-6,
    );
    assert_close(
        &y.sigmoid().to_vec(),
        &[
            0.268_941_421_369_995_1,
            0.622_459_331_201_854_6,
            0.952_574_126_822_433_4,
        ],
        1e-6,
    );
    // Saturation without NaN or overflow.
    let big = t64(&[-1e4, -800.0, 800.0, 1e4], &[4]);
    assert_eq!(big.sigmoid().to_vec(), vec![0.0, 0.0, 1.0, 1.0]);
    assert_eq!(big.tanh().to_vec(), vec![-1.0, -1.0, 1.0, 1.0]);
    assert_eq!(big.gelu().to_vec(), vec![-0.0, -0.0, 800.0, 1e4]);
    let big32 = t32(&[-1e4, -100.0, 100.0, 1e4], &[4]);
    // sigmoid(-100) = e^-100 ~ 3.7e-44 is a float32 subnormal, not 0.
    let s32 = big32.sigmoid().to_vec();
    assert_eq!(s32[0], 0.0);
    assert!(s32[1] > 0.0 && s32[1] < 1e-43, "{s32:?}");
    assert_eq!(s32[2..], [1.0, 1.0]);
    assert!(big32.tanh().to_vec().iter().all(|v| v.is_finite()));
}

// ---------------------------------------------------------------------------
// Display
// ---------------------------------------------------------------------------

#[test]
fn display_formats() {
    assert_eq!(
        t32(&[1.0, 2.0, 3.0], &[3]).to_string(),
        "tensor([1., 2., 3.], shape=[3])"
    );
    assert_eq!(
        t32(&[-1.0, 2.0], &[2]).to_string(),
        "tensor([-1.,  2.], shape=[2])"
    );
    assert_eq!(
        Tensor::scalar(0.5f64).to_string(),
        "tensor(0.5000, shape=[], dtype=float64)"
    );
    assert_eq!(
        t32(&[0.25, -10.5, 3.0], &[3]).to_string(),
        "tensor([  0.2500, -10.5000,   3.0000], shape=[3])"
    );
    assert_eq!(
        t32(&[1e9, 1.0], &[2]).to_string(),
        "tensor([1.0000e+09, 1.0000e+00], shape=[2])"
    );
    assert_eq!(
        t32(&[f32::NAN, 1.5, f32::INFINITY], &[3]).to_string(),
        "tensor([   nan, 1.5000,    inf], shape=[3])"
    );
    // A transposed view prints in logical order.
    let m = t32(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    assert_eq!(
        m.t().to_string(),
        "tensor([[1., 4.],\n        [2., 5.],\n        [3., 6.]], shape=[3, 2])"
    );
    // Autograd state.
    let w = t32(&[1.0, 2.0], &[2]).requires_grad();
    assert_eq!(w.to_string(), "tensor([1., 2.], shape=[2], requires_grad=true)");
    assert_eq!(
        (&w * 2.0).to_string(),
        "tensor([2., 4.], shape=[2], grad_fn=<MulScalarBackward>)"
    );
    assert_eq!(w.sum().to_string(), "tensor(3., shape=[], grad_fn=<SumBackward>)");
    assert_eq!(format!("{:?}", w.detach()), "tensor([1., 2.], shape=[2])");
}

// ---------------------------------------------------------------------------
// Autograd semantics
// ---------------------------------------------------------------------------

#[test]
fn gradients_accumulate_until_zero_grad() {
    let x = t64(&[1.0, -2.0, 3.0], &[3]).requires_grad();
    assert!(x.grad().is_none());
    (&x * &x).sum().backward();
    assert_eq!(x.grad().unwrap().to_vec(), vec![2.0, -4.0, 6.0]);
    (&x * &x).sum().backward();
    assert_eq!(x.grad().unwrap().to_vec(), vec![4.0, -8.0, 12.0]);
    x.mul_scalar(3.0).sum().backward();
    assert_eq!(x.grad().unwrap().to_vec(), vec![7.0, -5.0, 15.0]);
    x.zero_grad();
    assert!(x.grad().is_none());
    (&x * &x).sum().backward();
    assert_eq!(x.grad().unwrap().to_vec(), vec![2.0, -4.0, 6.0]);
}

#[test]
fn a_tensor_used_twice_gets_both_gradients() {
    // y = x^2 + x^3 + x through three paths into one leaf.
    let x = t64(&[2.0], &[1]).requires_grad();
    let y = &(&x * &x) + &(&x.pow_scalar(3.0) + &x);
    y.sum().backward();
    assert_eq!(x.grad().unwrap().to_vec(), vec![4.0 + 12.0 + 1.0]);
    // A diamond through an intermediate node.
    let a = t64(&[0.5, 1.5], &[2]).requires_grad();
    let h = a.exp();
    let z = (&h * &h).sum() + h.sum();
    z.backward();
    let want: Vec<f64> = [0.5f64, 1.5]
        .iter()
        .map(|v| 2.0 * (2.0 * v).exp() + v.exp())
        .collect();
    assert_close(&a.grad().unwrap().to_vec(), &want, 1e-14);
}

#[test]
fn gradients_through_views_have_the_leaf_shape() {
    let x = arange64(6).reshape(&[2, 3]).requires_grad();
    let w = t64(&[1.0, 10.0], &[2]);
    // x.t() is [3, 2]; weight its columns.
    (&x.t() * &w).narrow(0, 1, 2).sum().backward();
    let g = x.grad().unwrap();
    assert_eq!(g.shape(), &[2, 3]);
    assert!(g.is_contiguous());
    assert_eq!(g.to_vec(), vec![0.0, 1.0, 1.0, 0.0, 10.0, 10.0]);
    let b = t64(&[1.0, 2.0, 3.0], &[3]).requires_grad();
    b.expand(&[4, 3]).sum().backward();
    assert_eq!(b.grad().unwrap().to_vec(), vec![4.0, 4.0, 4.0]);
}

#[test]
fn max_ties_share_the_gradient() {
    let x = t64(&[1.0, 3.0, 3.0, 2.0], &[4]).requires_grad();
    x.max().backward();
    assert_eq!(x.grad().unwrap().to_vec(), vec![0.0, 0.5, 0.5, 0.0]);
    let a = t64(&[1.0, 2.0, 3.0], &[3]).requires_grad();
    let b = t64(&[2.0, 2.0, 2.0], &[3]).requires_grad();
    a.maximum(&b).sum().backward();
    assert_eq!(a.grad().unwrap().to_vec(), vec![0.0, 0.5, 1.0]);
    assert_eq!(b.grad().unwrap().to_vec(), vec![1.0, 0.5, 0.0]);
    // max_dim sends the gradient to the first maximum only.
    let m = t64(&[5.0, 5.0, 1.0], &[1, 3]).requires_grad();
    m.max_dim(1, false).0.sum().backward();
    assert_eq!(m.grad().unwrap().to_vec(), vec![1.0, 0.0, 0.0]);
}

#[test]
fn relu_abs_clamp_gradients_at_the_kinks() {
    let x = t64(&[-1.0, 0.0, 2.0], &[3]).requires_grad();
    x.relu().sum().backward();
    assert_eq!(x.grad().unwrap().to_vec(), vec![0.0, 0.0, 1.0]);
    x.zero_grad();
    x.abs().sum().backward();
    assert_eq!(x.grad().unwrap().to_vec(), vec![-1.0, 0.0, 1.0]);
    // clamp passes the gradient strictly inside (min, max), as documented:
    // an element exactly on a bound gets none.
    let y = t64(&[-1.0, 0.0, 1.0, 2.0, 3.0], &[5]).requires_grad();
    y.clamp(Some(0.0), Some(2.0)).sum().backward();
    assert_eq!(y.grad().unwrap().to_vec(), vec![0.0, 0.0, 1.0, 0.0, 0.0]);
    y.zero_grad();
    y.clamp(Some(0.0), None).sum().backward();
    assert_eq!(y.grad().unwrap().to_vec(), vec![0.0, 0.0, 1.0, 1.0, 1.0]);
    y.zero_grad();
    y.clamp(None, Some(2.0)).sum().backward();
    assert_eq!(y.grad().unwrap().to_vec(), vec![1.0, 1.0, 1.0, 0.0, 0.0]);
}

#[test]
fn no_grad_results_have_no_history() {
    let w = t64(&[1.0, 2.0], &[2]).requires_grad();
    assert!(is_grad_enabled());
    let y = no_grad(|| {
        assert!(!is_grad_enabled());
        (&w * 3.0).exp()
    });
    assert!(is_grad_enabled());
    assert!(!y.is_requires_grad());
    assert!(y.is_leaf());
    assert!(y.grad_fn_name().is_none());
    assert_close(&y.to_vec(), &[3f64.exp(), 6f64.exp()], 1e-15);
    {
        let _guard = NoGradGuard::new();
        assert!(!is_grad_enabled());
        let z = w.matmul(&w);
        assert!(!z.is_requires_grad());
        // Nested no_grad keeps recording off and restores "off".
        no_grad(|| assert!(!is_grad_enabled()));
        assert!(!is_grad_enabled());
    }
    assert!(is_grad_enabled());
    let r = w.mul_scalar(2.0);
    assert!(r.is_requires_grad());
    assert_eq!(r.grad_fn_name(), Some("MulScalar"));
    // The mode is restored after a panic inside no_grad.
    let result = catch_unwind(|| no_grad(|| panic!("inside no_grad")));
    assert!(result.is_err());
    assert!(is_grad_enabled());
}

#[test]
fn detach_cuts_the_graph_and_shares_storage() {
    let x = t64(&[1.0, 2.0, 3.0], &[3]).requires_grad();
    let d = x.detach();
    assert!(d.shares_storage_with(&x));
    assert!(!d.is_requires_grad());
    assert!(d.is_leaf());
    // z = x * detach(x): the detached factor is a constant, so dz/dx = x.
    (&x * &d).sum().backward();
    assert_eq!(x.grad().unwrap().to_vec(), vec![1.0, 2.0, 3.0]);
    let h = x.exp();
    let hd = h.detach();
    assert!(hd.grad_fn_name().is_none());
    assert!(h.grad_fn_name().is_some());
    assert!(!(&hd * 2.0).is_requires_grad());
}

#[test]
fn requires_grad_is_shared_by_clones_and_can_be_switched_off() {
    let w = t64(&[1.0, 2.0], &[2]).requires_grad();
    let alias = w.clone();
    assert!(alias.is_requires_grad());
    w.set_requires_grad(false);
    assert!(!alias.is_requires_grad());
    assert!(!(&alias * 2.0).is_requires_grad());
    alias.set_requires_grad(true);
    assert!(w.is_requires_grad());
    (&w * 2.0).sum().backward();
    assert_eq!(alias.grad().unwrap().to_vec(), vec![2.0, 2.0]);
}

#[test]
fn update_data_and_copy_from_change_the_values_in_place() {
    let w = t64(&[1.0, 2.0, 3.0], &[3]).requires_grad();
    let alias = w.clone();
    let view = w.narrow(0, 1, 2);
    w.update_data(|d| d.iter_mut().for_each(|v| *v *= -2.0));
    assert_eq!(alias.to_vec(), vec![-2.0, -4.0, -6.0]);
    assert_eq!(view.to_vec(), vec![-4.0, -6.0]);
    assert!(w.is_requires_grad());
    assert!(w.grad().is_none(), "an update records nothing");
    let m = arange64(4).reshape(&[2, 2]);
    // Copying from a view of its own storage reads before writing.
    m.copy_from(&m.t());
    assert_eq!(m.to_vec(), vec![0.0, 2.0, 1.0, 3.0]);
    // A contiguous narrow view updates only its window of the base.
    let base = arange64(6).reshape(&[3, 2]);
    base.narrow(0, 1, 1).copy_from(&t64(&[10.0, 11.0], &[1, 2]));
    assert_eq!(base.to_vec(), vec![0.0, 1.0, 10.0, 11.0, 4.0, 5.0]);
}

#[test]
#[should_panic(expected = "already freed")]
fn second_backward_panics() {
    let x = t64(&[1.0, 2.0], &[2]).requires_grad();
    let y = x.exp().sum();
    y.backward();
    y.backward();
}

#[test]
fn second_backward_message_names_retain_graph() {
    let x = t64(&[1.0, 2.0], &[2]).requires_grad();
    let y = x.tanh().mul_scalar(2.0).sum();
    y.backward();
    let err = catch_unwind(AssertUnwindSafe(|| y.backward())).expect_err("second backward must panic");
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(msg.contains("already freed"), "{msg}");
    assert!(msg.contains("retain_graph"), "{msg}");
    // The first backward's gradient is intact.
    let want: Vec<f64> = [1.0f64, 2.0]
        .iter()
        .map(|v| 2.0 * (1.0 - v.tanh().powi(2)))
        .collect();
    assert_close(&x.grad().unwrap().to_vec(), &want, 1e-15);
}

#[test]
fn retain_graph_allows_a_second_backward_that_doubles_the_gradient() {
    let x = t64(&[0.5, -1.0, 2.0], &[3]).requires_grad();
    let y = x.sigmoid().mul(&x).sum();
    y.backward_with_options(None, true, false);
    let once = x.grad().unwrap().to_vec();
    y.backward_with_options(None, true, false);
    let twice = x.grad().unwrap().to_vec();
    let want: Vec<f64> = [0.5f64, -1.0, 2.0]
        .iter()
        .map(|&v| {
            let s = 1.0 / (1.0 + (-v).exp());
            s + v * s * (1.0 - s)
        })
        .collect();
    assert_close(&once, &want, 1e-15);
    assert_close(&twice, &want.iter().map(|v| 2.0 * v).collect::<Vec<_>>(), 1e-15);
    // Not retained on the third pass: a fourth then fails.
    y.backward_with_options(None, false, false);
    assert!(catch_unwind(AssertUnwindSafe(|| y.backward())).is_err());
}

#[test]
fn backward_with_gives_the_vector_jacobian_product() {
    let w = t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let x = t64(&[1.0, -1.0, 0.5], &[3]).requires_grad();
    let y = w.matmul(&x);
    assert_eq!(y.shape(), &[2]);
    y.backward_with(&t64(&[1.0, -2.0], &[2]));
    // W^T v = [1 - 8, 2 - 10, 3 - 12]
    assert_eq!(x.grad().unwrap().to_vec(), vec![-7.0, -8.0, -9.0]);
    // Elementwise: the VJP of exp is v * e^x.
    let z = t64(&[0.0, 1.0], &[2]).requires_grad();
    z.exp()
        .backward_with_options(Some(&t64(&[3.0, 2.0], &[2])), false, false);
    assert_close(
        &z.grad().unwrap().to_vec(),
        &[3.0, 2.0 * std::f64::consts::E],
        1e-15,
    );
}

#[test]
fn grad_returns_none_for_unused_inputs_and_leaves_dot_grad_alone() {
    let x = t64(&[1.0, 2.0], &[2]).requires_grad();
    let unused = t64(&[5.0], &[1]).requires_grad();
    let y = x.pow_scalar(3.0).sum();
    let g = grad(&[&y], &[&x, &unused], false);
    assert_eq!(g.len(), 2);
    assert_eq!(g[0].as_ref().unwrap().to_vec(), vec![3.0, 12.0]);
    assert!(g[1].is_none());
    assert!(x.grad().is_none(), "grad must not write .grad");
    assert!(unused.grad().is_none());
    // Gradients with respect to an intermediate tensor.
    let h = x.mul_scalar(2.0);
    let z = h.exp().sum();
    let gh = grad(&[&z], &[&h], false)[0].clone().unwrap();
    assert_close(&gh.to_vec(), &[2f64.exp(), 4f64.exp()], 1e-15);
    assert!(x.grad().is_none());
    // A constant (no requires_grad) input also gets None.
    let c = t64(&[1.0, 1.0], &[2]);
    let yc = (&x * &c).sum();
    let gc = grad(&[&yc], &[&c, &x], false);
    assert!(gc[0].is_none());
    assert_eq!(gc[1].as_ref().unwrap().to_vec(), vec![1.0, 1.0]);
}

#[test]
fn grad_of_a_sum_of_outputs() {
    // Two independent outputs: the gradients add.
    let x = t64(&[1.0, 2.0], &[2]).requires_grad();
    let y1 = x.square().sum();
    let y2 = x.mul_scalar(3.0).sum();
    let g = grad(&[&y1, &y2], &[&x], false)[0].clone().unwrap();
    assert_eq!(g.to_vec(), vec![5.0, 7.0]);
}

#[test]
fn grad_of_outputs_that_depend_on_each_other() {
    // y2 = 3 y1 and y1 = sum(exp(2x)): d(y1 + y2)/dx = 4 * 2 e^(2x).
    let x = t64(&[1.0], &[1]).requires_grad();
    let y1 = x.mul_scalar(2.0).exp().sum();
    let y2 = y1.mul_scalar(3.0);
    let g = grad(&[&y1, &y2], &[&x], false);
    let g = g[0].as_ref().expect("x influences both outputs");
    assert_close(&g.to_vec(), &[8.0 * 2f64.exp()], 1e-14);
}

#[test]
fn grad_with_create_graph_gives_a_hessian_vector_product() {
    // f(x) = 0.5 x^T A x with A not symmetric: grad = 0.5 (A + A^T) x and
    // Hessian H = 0.5 (A + A^T).
    let a_data = [2.0, 1.0, 0.0, -3.0, 4.0, 5.0, 1.0, -2.0, 6.0];
    let a = t64(&a_data, &[3, 3]);
    let x_data = [1.0, -2.0, 0.5];
    let x = t64(&x_data, &[3]).requires_grad();
    let f = x.matmul(&a.matmul(&x)).mul_scalar(0.5);
    assert_eq!(f.shape(), &[] as &[usize]);
    let h = |i: usize, j: usize| 0.5 * (a_data[3 * i + j] + a_data[3 * j + i]);
    let g = grad(&[&f], &[&x], true)[0].clone().unwrap();
    let want_g: Vec<f64> = (0..3)
        .map(|i| (0..3).map(|j| h(i, j) * x_data[j]).sum())
        .collect();
    assert_close(&g.to_vec(), &want_g, 1e-15);
    assert!(g.is_requires_grad(), "a create_graph gradient is differentiable");
    let v_data = [0.5, 1.0, -1.0];
    let v = t64(&v_data, &[3]);
    let hv = grad_with(&[&g], &[&v], &[&x], false, false)[0].clone().unwrap();
    let want_hv: Vec<f64> = (0..3)
        .map(|i| (0..3).map(|j| h(i, j) * v_data[j]).sum())
        .collect();
    assert_close(&hv.to_vec(), &want_hv, 1e-15);
    // The same through the (g . v) scalar.
    let x2 = t64(&x_data, &[3]).requires_grad();
    let f2 = x2.matmul(&a.matmul(&x2)).mul_scalar(0.5);
    let g2 = grad(&[&f2], &[&x2], true)[0].clone().unwrap();
    let hv2 = grad(&[&g2.mul(&v).sum()], &[&x2], false)[0].clone().unwrap();
    assert_close(&hv2.to_vec(), &want_hv, 1e-15);
    assert!(x.grad().is_none() && x2.grad().is_none());
}

#[test]
fn third_derivative_through_nested_create_graph() {
    // d^3/dx^3 sin-free example: x^4 -> 24 x.
    let x = t64(&[1.5], &[1]).requires_grad();
    let y = x.pow_scalar(4.0).sum();
    let d1 = grad(&[&y], &[&x], true)[0].clone().unwrap();
    let d2 = grad(&[&d1.sum()], &[&x], true)[0].clone().unwrap();
    let d3 = grad(&[&d2.sum()], &[&x], false)[0].clone().unwrap();
    assert_close(&d1.to_vec(), &[4.0 * 1.5f64.powi(3)], 1e-14);
    assert_close(&d2.to_vec(), &[12.0 * 1.5f64.powi(2)], 1e-14);
    assert_close(&d3.to_vec(), &[24.0 * 1.5], 1e-14);
}

#[test]
fn backward_with_create_graph_records_the_leaf_gradient() {
    let x = t64(&[2.0, -1.0], &[2]).requires_grad();
    let y = x.pow_scalar(3.0).sum();
    y.backward_with_options(None, false, true);
    let g = x.grad().unwrap();
    assert_eq!(g.to_vec(), vec![12.0, 3.0]);
    assert!(g.is_requires_grad());
    x.zero_grad();
    g.sum().backward();
    assert_eq!(x.grad().unwrap().to_vec(), vec![12.0, -6.0]);
}

#[test]
fn pow_gradients_at_a_zero_base() {
    // d(a^e)/da = e a^(e-1) and d(a^e)/de = a^e ln a, taken as 0 at a = 0.
    let a = t64(&[0.0, 2.0], &[2]).requires_grad();
    let e = t64(&[2.0, 3.0], &[2]).requires_grad();
    a.pow(&e).sum().backward();
    assert_eq!(a.grad().unwrap().to_vec(), vec![0.0, 12.0]);
    let ge = e.grad().unwrap().to_vec();
    assert_eq!(ge[0], 0.0);
    assert_close(&ge[1..], &[8.0 * 2f64.ln()], 1e-15);
}

#[test]
fn long_chains_backpropagate_and_drop_without_overflow() {
    // Runs on a test thread (2 MiB stack): a recursive walk or drop of a
    // 100k-node chain would overflow it.
    let x = t64(&[1.0], &[1]).requires_grad();
    let mut y = x.clone();
    for _ in 0..100_000 {
        y = y.mul_scalar(1.0).add_scalar(0.0);
    }
    y.sum().backward();
    assert_eq!(x.grad().unwrap().to_vec(), vec![1.0]);
    let mut z = x.clone();
    for _ in 0..100_000 {
        z = z.neg();
    }
    assert_eq!(z.to_vec(), vec![1.0]);
    drop(z); // never backpropagated: the whole graph is dropped
}
