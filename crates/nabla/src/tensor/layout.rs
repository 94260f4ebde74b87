//! Shape, strides and offset: how a tensor's elements sit in its storage.

/// Where the elements of a tensor live in its storage: element
/// `[i0, i1, ...]` is at `offset + i0 * strides[0] + i1 * strides[1] + ...`.
///
/// A stride of 0 repeats an element (that is how `expand` is free).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub shape: Vec<usize>,
    pub strides: Vec<usize>,
    pub offset: usize,
}

impl Layout {
    /// A row-major (C-contiguous) layout of `shape` starting at 0.
    pub fn contiguous(shape: &[usize]) -> Self {
        Layout {
            shape: shape.to_vec(),
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

    /// Calls `f(storage_offset)` for every element in row-major order.
    pub fn for_each_offset(&self, mut f: impl FnMut(usize)) {
        for_each_offset2(
            &self.shape,
            &self.strides,
            self.offset,
            &self.strides,
            self.offset,
            |a, _| f(a),
        );
    }
}

/// Row-major strides of `shape`.
pub(crate) fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; shape.len()];
    let mut acc = 1;
    for (s, &d) in strides.iter_mut().zip(shape).rev() {
        *s = acc;
        acc *= d;
    }
    strides
}

/// The NumPy broadcast of two shapes, or `None` when they do not broadcast.
pub(crate) fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
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
pub(crate) fn broadcast_strides(layout: &Layout, target: &[usize]) -> Vec<usize> {
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
///
/// The innermost dimension is a tight loop; the outer ones advance an odometer.
pub(crate) fn for_each_offset2(
    shape: &[usize],
    strides_a: &[usize],
    offset_a: usize,
    strides_b: &[usize],
    offset_b: usize,
    mut f: impl FnMut(usize, usize),
) {
    if shape.contains(&0) {
        return;
    }
    let rank = shape.len();
    if rank == 0 {
        f(offset_a, offset_b);
        return;
    }
    let inner = shape[rank - 1];
    let (sa, sb) = (strides_a[rank - 1], strides_b[rank - 1]);
    let mut index = vec![0usize; rank - 1];
    let (mut base_a, mut base_b) = (offset_a, offset_b);
    loop {
        for i in 0..inner {
            f(base_a + i * sa, base_b + i * sb);
        }
        // Advance the odometer over the outer dimensions.
        let mut d = rank - 1;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            index[d] += 1;
            base_a += strides_a[d];
            base_b += strides_b[d];
            if index[d] < shape[d] {
                break;
            }
            base_a -= strides_a[d] * shape[d];
            base_b -= strides_b[d] * shape[d];
            index[d] = 0;
        }
    }
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
        assert_eq!(broadcast_shapes(&[2, 1, 3], &[4, 1]), Some(vec![2, 4, 3]));
        assert_eq!(broadcast_shapes(&[], &[3]), Some(vec![3]));
        assert_eq!(broadcast_shapes(&[2, 3], &[3, 2]), None);
    }

    #[test]
    fn contiguity() {
        let l = Layout::contiguous(&[2, 3]);
        assert!(l.is_contiguous());
        let t = Layout {
            shape: vec![3, 2],
            strides: vec![1, 3],
            offset: 0,
        };
        assert!(!t.is_contiguous());
        let mut seen = vec![];
        t.for_each_offset(|o| seen.push(o));
        assert_eq!(seen, vec![0, 3, 1, 4, 2, 5]);
    }
}
