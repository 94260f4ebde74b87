//! Shape, strides and offset: how a tensor's elements sit in its storage.
//!
//! Shared by `tensor` (views) and `kernels` (loops over storage), so it sits
//! below both. Shapes and strides are [`Dims`]: inline up to six dimensions,
//! so creating a tensor or a view allocates nothing for its layout.

use smallvec::{smallvec, SmallVec};

/// A shape or a set of strides: inline (no heap allocation) up to six
/// dimensions, on the heap beyond.
pub(crate) type Dims = SmallVec<[usize; 6]>;

/// Where the elements of a tensor live in its storage: element
/// `[i0, i1, ...]` is at `offset + i0 * strides[0] + i1 * strides[1] + ...`.
///
/// A stride of 0 repeats an element (that is how `expand` is free).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub shape: Dims,
    pub strides: Dims,
    pub offset: usize,
}

impl Layout {
    /// A row-major (C-contiguous) layout of `shape` starting at 0.
    pub fn contiguous(shape: &[usize]) -> Self {
        Layout {
            shape: Dims::from_slice(shape),
            strides: contiguous_strides(shape),
            offset: 0,
        }
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the elements are exactly `storage[offset..offset + numel]` in
    /// row-major order.
    pub fn is_contiguous(&self) -> bool {
        let mut expected = 1;
        for (&dim, &stride) in self.shape.iter().zip(&self.strides).rev() {
            if dim != 1 && stride != expected {
                return false;
            }
            expected *= dim;
        }
        true
    }

    /// Calls `f(start, len, step)` for runs of elements in row-major order:
    /// the run's elements are at `start + i * step` for `i < len`.
    pub fn for_each_run(&self, mut f: impl FnMut(usize, usize, usize)) {
        for_each_run2(
            &self.shape,
            &self.strides,
            self.offset,
            &self.strides,
            self.offset,
            |r| f(r.a, r.len, r.step_a),
        );
    }
}

/// Row-major strides of `shape`.
pub(crate) fn contiguous_strides(shape: &[usize]) -> Dims {
    let mut strides: Dims = smallvec![0; shape.len()];
    let mut acc = 1;
    for (s, &d) in strides.iter_mut().zip(shape).rev() {
        *s = acc;
        acc *= d;
    }
    strides
}

/// The NumPy broadcast of two shapes, or `None` when they do not broadcast.
pub(crate) fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Dims> {
    let rank = a.len().max(b.len());
    let mut out: Dims = smallvec![0; rank];
    for i in 0..rank {
        let da = if i < rank - a.len() {
            1
        } else {
            a[i - (rank - a.len())]
        };
        let db = if i < rank - b.len() {
            1
        } else {
            b[i - (rank - b.len())]
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// Strides that read a tensor of `layout` as if it had shape `target`
/// (a broadcast of its own shape): broadcast dimensions get stride 0.
pub(crate) fn broadcast_strides(layout: &Layout, target: &[usize]) -> Dims {
    let lead = target.len() - layout.shape.len();
    (0..target.len())
        .map(|i| {
            if i < lead || layout.shape[i - lead] == 1 && target[i] != 1 {
                0
            } else {
                layout.strides[i - lead]
            }
        })
        .collect()
}

/// Walks `shape` in row-major order, calling `f(offset_a, offset_b)` with the
/// storage offsets of the same element under two sets of strides.
pub(crate) fn for_each_offset2(
    shape: &[usize],
    strides_a: &[usize],
    offset_a: usize,
    strides_b: &[usize],
    offset_b: usize,
    mut f: impl FnMut(usize, usize),
) {
    for_each_run2(shape, strides_a, offset_a, strides_b, offset_b, |run| {
        for i in 0..run.len {
            f(run.a + i * run.step_a, run.b + i * run.step_b);
        }
    });
}

/// A stretch of elements that is one arithmetic progression in each of two
/// storages: element `i` of the run is at `a + i * step_a` and
/// `b + i * step_b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Run {
    pub a: usize,
    pub b: usize,
    pub len: usize,
    pub step_a: usize,
    pub step_b: usize,
}

/// Walks `shape` in row-major order as runs over its innermost dimension,
/// after dropping size-1 dimensions and merging neighbours that are
/// contiguous in both stride sets. Kernels loop over each run's slices,
/// which the compiler vectorizes; the odometer over the outer dimensions
/// is paid once per run, not once per element.
pub(crate) fn for_each_run2(
    shape: &[usize],
    strides_a: &[usize],
    offset_a: usize,
    strides_b: &[usize],
    offset_b: usize,
    mut f: impl FnMut(Run),
) {
    if shape.contains(&0) {
        return;
    }
    let (shape, strides_a, strides_b) = coalesce(shape, strides_a, strides_b);
    let rank = shape.len();
    let Some((&len, outer)) = shape.split_last() else {
        f(Run {
            a: offset_a,
            b: offset_b,
            len: 1,
            step_a: 0,
            step_b: 0,
        });
        return;
    };
    let (step_a, step_b) = (strides_a[rank - 1], strides_b[rank - 1]);
    let mut index: Dims = smallvec![0; outer.len()];
    let (mut a, mut b) = (offset_a, offset_b);
    loop {
        f(Run {
            a,
            b,
            len,
            step_a,
            step_b,
        });
        // Advance the odometer over the outer dimensions.
        let mut d = outer.len();
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            index[d] += 1;
            a += strides_a[d];
            b += strides_b[d];
            if index[d] < outer[d] {
                break;
            }
            a -= strides_a[d] * outer[d];
            b -= strides_b[d] * outer[d];
            index[d] = 0;
        }
    }
}

/// `shape` and both stride sets with size-1 dimensions dropped and each
/// dimension merged into the next when both stride sets step over it as
/// one (`stride[d] == stride[d + 1] * shape[d + 1]`).
fn coalesce(shape: &[usize], strides_a: &[usize], strides_b: &[usize]) -> (Dims, Dims, Dims) {
    let mut out = (Dims::new(), Dims::new(), Dims::new());
    for ((&n, &sa), &sb) in shape.iter().zip(strides_a).zip(strides_b) {
        if n == 1 {
            continue;
        }
        match (out.0.last_mut(), out.1.last_mut(), out.2.last_mut()) {
            (Some(pn), Some(pa), Some(pb)) if *pa == sa * n && *pb == sb * n => {
                *pn *= n;
                *pa = sa;
                *pb = sb;
            }
            _ => {
                out.0.push(n);
                out.1.push(sa);
                out.2.push(sb);
            }
        }
    }
    out
}

/// Resolves a possibly negative dimension index against `rank`, panicking
/// with the op's name when it is out of range.
pub(crate) fn normalize_dim(op: &str, dim: isize, rank: usize) -> usize {
    let r = rank as isize;
    let d = if dim < 0 { dim + r } else { dim };
    if d < 0 || d >= r.max(1) {
        panic!("{op}: dimension {dim} is out of range for a tensor of rank {rank}");
    }
    d as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_follows_numpy() {
        assert_eq!(
            broadcast_shapes(&[2, 1, 3], &[4, 1]).as_deref(),
            Some(&[2, 4, 3][..])
        );
        assert_eq!(broadcast_shapes(&[], &[3]).as_deref(), Some(&[3][..]));
        assert_eq!(broadcast_shapes(&[2, 3], &[3, 2]), None);
    }

    #[test]
    fn contiguity() {
        let l = Layout::contiguous(&[2, 3]);
        assert!(l.is_contiguous());
        let t = Layout {
            shape: smallvec![3, 2],
            strides: smallvec![1, 3],
            offset: 0,
        };
        assert!(!t.is_contiguous());
        let mut seen = vec![];
        t.for_each_run(|start, len, step| seen.extend((0..len).map(|i| start + i * step)));
        assert_eq!(seen, vec![0, 3, 1, 4, 2, 5]);
    }

    #[test]
    fn runs_merge_contiguous_dimensions_and_skip_size_one() {
        // [2, 1, 3, 4] + a per-"channel" [3, 1] operand broadcast over it.
        let mut runs = vec![];
        for_each_run2(&[2, 1, 3, 4], &[12, 12, 4, 1], 0, &[0, 0, 1, 0], 5, |r| {
            runs.push(r)
        });
        assert_eq!(runs.len(), 6);
        assert_eq!(
            runs[4],
            Run {
                a: 16,
                b: 6,
                len: 4,
                step_a: 1,
                step_b: 0
            }
        );
        let mut one = vec![];
        for_each_run2(&[2, 3, 4], &[12, 4, 1], 3, &[12, 4, 1], 0, |r| one.push(r));
        assert_eq!(
            one,
            vec![Run {
                a: 3,
                b: 0,
                len: 24,
                step_a: 1,
                step_b: 1
            }]
        );
        let mut scalar = vec![];
        for_each_run2(&[], &[], 7, &[], 2, |r| scalar.push(r));
        assert_eq!(scalar.len(), 1);
        assert_eq!((scalar[0].a, scalar[0].b, scalar[0].len), (7, 2, 1));
    }

    #[test]
    fn offsets_visit_every_element_once_in_row_major_order() {
        let mut seen = vec![];
        for_each_offset2(&[2, 1, 2], &[1, 9, 2], 0, &[0, 0, 1], 0, |a, b| seen.push((a, b)));
        assert_eq!(seen, vec![(0, 0), (2, 1), (1, 0), (3, 1)]);
    }
}
