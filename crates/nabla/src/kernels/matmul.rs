//! Matrix products on the `gemm` crate, which reads any row and column
//! strides, so transposed views are multiplied without a copy.

use std::mem::MaybeUninit;

use gemm::Parallelism;
use rayon::prelude::*;

use super::elementwise::{assume_init_mut, zeroed};
use crate::element::Float;

/// One matrix operand: a base pointer and its row and column strides in
/// elements.
#[derive(Clone, Copy)]
pub(crate) struct MatRef<T> {
    pub ptr: *const T,
    pub row_stride: isize,
    pub col_stride: isize,
}

// SAFETY: a MatRef is only dereferenced inside `gemm_batched`, while the
// caller holds read locks on the storage it points into.
unsafe impl<T: Sync> Send for MatRef<T> {}
unsafe impl<T: Sync> Sync for MatRef<T> {}

/// Below this many multiply-adds per product, a batch is spread over threads
/// one product each instead of threading inside each product, and a single
/// product runs on the calling thread: waking the other threads costs more
/// than they save (an MLP's 64 x 10 x 128 output layer, say).
const SMALL_PRODUCT: usize = 96 * 96 * 96;

/// How one `m x k` by `k x n` product runs: on the pool's threads, or on
/// the calling thread when it is too small to share.
pub(crate) fn parallelism_for(m: usize, n: usize, k: usize) -> Parallelism {
    let threads = rayon::current_num_threads();
    if threads > 1 && m * n * k >= SMALL_PRODUCT {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    }
}

/// `dst[b] = lhs[b] x rhs[b]` for every batch entry `b`, where `dst` is a
/// contiguous `[batch, m, n]` buffer and `lhs[b]` (`m x k`), `rhs[b]`
/// (`k x n`) are given as operands.
///
/// Every element of `dst` is written, none read.
///
/// # Safety
/// Every operand must point to `m x k` (resp. `k x n`) readable elements
/// under its strides for the duration of the call.
pub(crate) unsafe fn gemm_batched<T: Float>(
    dst: &mut [MaybeUninit<T>],
    m: usize,
    n: usize,
    k: usize,
    lhs: &[MatRef<T>],
    rhs: &[MatRef<T>],
) {
    let block = m * n;
    assert_eq!(
        dst.len(),
        block * lhs.len(),
        "gemm_batched: one m x n block per product"
    );
    assert_eq!(
        lhs.len(),
        rhs.len(),
        "gemm_batched: one right operand per left one"
    );
    if block == 0 {
        return;
    }
    let one = |out: &mut [MaybeUninit<T>], a: MatRef<T>, b: MatRef<T>, parallelism: Parallelism| {
        if k == 0 {
            zeroed(out);
            return;
        }
        match parallelism {
            // gemm multiplies a matrix by a vector on the calling thread
            // alone, so such a product is split here: each thread takes a
            // share of the output's entries (of `b`'s columns, or of
            // `a`'s rows).
            Parallelism::Rayon(threads) if m == 1 || n == 1 => {
                let share = (m * n).div_ceil(threads);
                out.par_chunks_mut(share).enumerate().for_each(|(i, out)| {
                    let first = (i * share) as isize;
                    if m == 1 {
                        let b = MatRef {
                            ptr: b.ptr.wrapping_offset(first * b.col_stride),
                            ..b
                        };
                        overwrite_product(out, (1, out.len(), k), a, b, Parallelism::None);
                    } else {
                        let a = MatRef {
                            ptr: a.ptr.wrapping_offset(first * a.row_stride),
                            ..a
                        };
                        overwrite_product(out, (out.len(), 1, k), a, b, Parallelism::None);
                    }
                });
            }
            _ => overwrite_product(out, (m, n, k), a, b, parallelism),
        }
    };
    if lhs.len() > 1 && m * n * k < SMALL_PRODUCT && rayon::current_num_threads() > 1 {
        dst.par_chunks_mut(block)
            .zip(lhs.par_iter().zip(rhs.par_iter()))
            .for_each(|(out, (&a, &b))| one(out, a, b, Parallelism::None));
    } else {
        let parallelism = parallelism_for(m, n, k);
        for (out, (&a, &b)) in dst.chunks_mut(block).zip(lhs.iter().zip(rhs)) {
            one(out, a, b, parallelism);
        }
    }
}

/// `dst [m, n] := lhs rhs` (row-major, contiguous), by gemm with
/// `read_dst = false`: `dst` may hold anything, and every element is
/// written.
///
/// # Safety
/// As [`gemm_batched`]: the operands must point to `m x k` (resp. `k x
/// n`) readable elements under their strides.
unsafe fn overwrite_product<T: Float>(
    dst: &mut [MaybeUninit<T>],
    (m, n, k): (usize, usize, usize),
    a: MatRef<T>,
    b: MatRef<T>,
    parallelism: Parallelism,
) {
    debug_assert_eq!(dst.len(), m * n);
    // SAFETY: the caller's promise for the operands; `dst` holds `m x n`
    // elements, row-major.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr().cast::<T>(),
            1,
            n as isize,
            false,
            a.ptr,
            a.col_stride,
            a.row_stride,
            b.ptr,
            b.col_stride,
            b.row_stride,
            T::zero(),
            T::one(),
            false,
            false,
            false,
            parallelism,
        )
    }
}

/// A matrix inside a slice: element `(i, j)` is `data[i * row + j * col]`.
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a, T> {
    pub data: &'a [T],
    pub row: usize,
    pub col: usize,
}

impl<'a, T> Mat<'a, T> {
    /// Row-major, `stride` elements from one row to the next.
    pub fn rows(data: &'a [T], stride: usize) -> Self {
        Mat {
            data,
            row: stride,
            col: 1,
        }
    }

    /// The transpose of a row-major matrix whose rows are `stride` apart.
    pub fn transposed(data: &'a [T], stride: usize) -> Self {
        Mat {
            data,
            row: 1,
            col: stride,
        }
    }
}

/// A mutable matrix inside a slice: element `(i, j)` is `data[i * row + j * col]`.
pub(crate) struct MatMut<'a, T> {
    pub data: &'a mut [T],
    pub row: usize,
    pub col: usize,
}

/// `dst (m x n) = [dst +] lhs (m x k) rhs (k x n)` on slices with any
/// strides, checked: every element the product touches must lie inside its
/// slice, or this panics. `dst`'s strides must give distinct elements.
pub(crate) fn gemm_into<T: Float>(
    dst: MatMut<'_, T>,
    lhs: Mat<'_, T>,
    rhs: Mat<'_, T>,
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
    parallelism: Parallelism,
) {
    if m == 0 || n == 0 {
        return;
    }
    // Checked in release builds too: they are what makes the call below
    // sound, and they cost nothing next to a matrix product.
    assert!(
        last_offset(m, n, dst.row, dst.col) < dst.data.len(),
        "gemm: destination too short"
    );
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                for j in 0..n {
                    dst.data[i * dst.row + j * dst.col] = T::zero();
                }
            }
        }
        return;
    }
    check_operands(lhs, rhs, (m, n, k));
    // SAFETY: the assertions above keep every element gemm reads or writes
    // inside the three slices, which outlive the call; `dst` is borrowed
    // mutably, so it cannot overlap the operands.
    unsafe {
        product(
            dst.data.as_mut_ptr(),
            (dst.row, dst.col),
            lhs,
            rhs,
            (m, n, k),
            accumulate,
            parallelism,
        )
    }
}

/// `dst (m x n, row-major) = lhs (m x k) rhs (k x n)` into a destination
/// that holds no values yet, which the product writes without reading
/// (gemm's `read_dst = false`): no zero-fill first. Returns `dst`,
/// initialised.
///
/// # Panics
/// If `dst` does not have `m n` elements, or an operand is too short.
pub(crate) fn gemm_overwrite<'a, T: Float>(
    dst: &'a mut [MaybeUninit<T>],
    lhs: Mat<'_, T>,
    rhs: Mat<'_, T>,
    (m, n, k): (usize, usize, usize),
    parallelism: Parallelism,
) -> &'a mut [T] {
    assert_eq!(
        dst.len(),
        m * n,
        "gemm: destination of {} elements for {m} x {n}",
        dst.len()
    );
    if k == 0 {
        return zeroed(dst);
    }
    if m * n > 0 {
        check_operands(lhs, rhs, (m, n, k));
        // SAFETY: as in `gemm_into`; with `accumulate` false gemm writes
        // every element of the `m x n` destination and reads none of them
        // before writing it.
        unsafe {
            product(
                dst.as_mut_ptr().cast::<T>(),
                (n, 1),
                lhs,
                rhs,
                (m, n, k),
                false,
                parallelism,
            )
        }
    }
    // SAFETY: every element was written above.
    unsafe { assume_init_mut(dst) }
}

/// The offset of the last element of a `rows x cols` matrix with strides
/// `row` and `col`.
fn last_offset(rows: usize, cols: usize, row: usize, col: usize) -> usize {
    (rows - 1) * row + (cols - 1) * col
}

/// Panics unless both operands lie inside their slices.
fn check_operands<T>(lhs: Mat<'_, T>, rhs: Mat<'_, T>, (m, n, k): (usize, usize, usize)) {
    assert!(
        last_offset(m, k, lhs.row, lhs.col) < lhs.data.len(),
        "gemm: left operand too short"
    );
    assert!(
        last_offset(k, n, rhs.row, rhs.col) < rhs.data.len(),
        "gemm: right operand too short"
    );
}

/// gemm's call: `dst := [dst +] lhs rhs`, `dst` with strides `(row, col)`.
///
/// # Safety
/// `dst` must address `m x n` distinct writable elements under its
/// strides (readable too when `accumulate`), overlapping neither operand,
/// and the operands must lie inside their slices.
unsafe fn product<T: Float>(
    dst: *mut T,
    (row, col): (usize, usize),
    lhs: Mat<'_, T>,
    rhs: Mat<'_, T>,
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
    parallelism: Parallelism,
) {
    // SAFETY: the caller's promise.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            col as isize,
            row as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col as isize,
            lhs.row as isize,
            rhs.data.as_ptr(),
            rhs.col as isize,
            rhs.row as isize,
            T::one(),
            T::one(),
            false,
            false,
            false,
            parallelism,
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::tensor::{Generator, Tensor};

    /// `a [m, k] x b [k, n]` summed in f64, one output at a time.
    fn reference(a: &[f64], b: &[f64], (m, n, k): (usize, usize, usize)) -> Vec<f64> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        out
    }

    #[test]
    fn matrix_vector_products_split_over_threads_equal_the_whole() {
        // Three threads, so the shares are uneven; both products are past
        // the size below which a product runs on one thread.
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let mut gen = Generator::new(9);
        for (m, n, k) in [(1, 1000, 1024), (1000, 1, 1024)] {
            let a = Tensor::<f64>::randn(&[m, k], &mut gen);
            let b = Tensor::<f64>::randn(&[k, n], &mut gen);
            let want = reference(&a.to_vec(), &b.to_vec(), (m, n, k));
            for b in [b.clone(), b.transpose(0, 1).contiguous().transpose(0, 1)] {
                let got = pool.install(|| a.matmul(&b)).to_vec();
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        (g - w).abs() <= 1e-10 * w.abs().max(1.0),
                        "[{m}, {n}, {k}] entry {i}: {g} against {w}"
                    );
                }
            }
        }
    }
}
