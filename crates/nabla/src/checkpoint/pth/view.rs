//! A tensor's elements out of its storage: the strided view PyTorch saved
//! (an offset into a shared storage, a transpose, a step, a broadcast),
//! checked against the storage's length, gathered into contiguous
//! row-major order.

use super::pickle::TensorRecord;

/// The number of elements of `shape`, if it fits a `usize`.
pub(crate) fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

/// Checks that the view of `record` lies inside its storage (of
/// `record.storage.numel` elements) and that its bytes fit in memory.
///
/// # Errors
/// A message giving the view and the storage's length.
pub(crate) fn check(record: &TensorRecord) -> Result<(), String> {
    let size = record.storage.dtype.size();
    let count = element_count(&record.shape)
        .filter(|n| n.checked_mul(size).is_some())
        .ok_or_else(|| format!("shape {:?} is too large", record.shape))?;
    if count == 0 {
        return Ok(());
    }
    // The last element the view reaches: offset + sum of (size - 1) * stride.
    let last = record
        .shape
        .iter()
        .zip(&record.strides)
        .try_fold(record.offset, |at, (&d, &s)| {
            (d - 1).checked_mul(s).and_then(|step| at.checked_add(step))
        });
    match last {
        Some(last) if (last as u64) < record.storage.numel => Ok(()),
        _ => Err(format!(
            "the view (offset {}, shape {:?}, strides {:?}) reaches beyond storage {:?} of {} elements",
            record.offset, record.shape, record.strides, record.storage.key, record.storage.numel
        )),
    }
}

/// The view's elements, contiguous in row-major order, from `storage`
/// (the storage's little-endian bytes, already checked to hold its
/// `numel` elements). The view must have passed [`check`].
pub(crate) fn gather(record: &TensorRecord, storage: &[u8]) -> Vec<u8> {
    let size = record.storage.dtype.size();
    let count = element_count(&record.shape).expect("checked");
    if count == 0 {
        return Vec::new();
    }
    if is_row_major(&record.shape, &record.strides) {
        let start = record.offset * size;
        return storage[start..start + count * size].to_vec();
    }
    let mut out = Vec::with_capacity(count * size);
    let rank = record.shape.len();
    // The innermost dimension is copied in a loop; the others are counted
    // through like an odometer.
    let (inner, inner_stride) = (record.shape[rank - 1], record.strides[rank - 1]);
    let mut index = vec![0usize; rank - 1];
    let mut base = record.offset;
    loop {
        for i in 0..inner {
            let at = (base + i * inner_stride) * size;
            out.extend_from_slice(&storage[at..at + size]);
        }
        let mut dim = rank - 1;
        loop {
            if dim == 0 {
                return out;
            }
            dim -= 1;
            index[dim] += 1;
            base += record.strides[dim];
            if index[dim] < record.shape[dim] {
                break;
            }
            base -= record.strides[dim] * record.shape[dim];
            index[dim] = 0;
        }
    }
}

/// Whether `strides` lay `shape` out contiguously in row-major order
/// (dimensions of size 1 may have any stride).
fn is_row_major(shape: &[usize], strides: &[usize]) -> bool {
    let mut expected = 1;
    for (&d, &s) in shape.iter().zip(strides).rev() {
        if d != 1 && s != expected {
            return false;
        }
        expected *= d;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::super::dtype::PthDtype;
    use super::super::pickle::StorageRecord;
    use super::*;

    fn record(numel: u64, offset: usize, shape: &[usize], strides: &[usize]) -> TensorRecord {
        TensorRecord {
            storage: StorageRecord {
                key: "0".into(),
                dtype: PthDtype::U8,
                numel,
            },
            offset,
            shape: shape.to_vec(),
            strides: strides.to_vec(),
        }
    }

    #[test]
    fn views_are_gathered_in_row_major_order() {
        let storage: Vec<u8> = (0..12).collect();
        // A [3, 4] grid's transpose, a column step, a broadcast, a scalar.
        let cases: [(TensorRecord, Vec<u8>); 5] = [
            (
                record(12, 0, &[4, 3], &[1, 4]),
                vec![0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11],
            ),
            (record(12, 1, &[3, 2], &[4, 2]), vec![1, 3, 5, 7, 9, 11]),
            (record(12, 5, &[2, 3], &[1, 0]), vec![5, 5, 5, 6, 6, 6]),
            (record(12, 7, &[], &[]), vec![7]),
            (record(12, 2, &[2, 1, 3], &[3, 99, 1]), vec![2, 3, 4, 5, 6, 7]),
        ];
        for (view, want) in cases {
            check(&view).unwrap();
            assert_eq!(gather(&view, &storage), want, "{view:?}");
        }
    }

    #[test]
    fn views_beyond_their_storage_are_refused() {
        assert!(check(&record(12, 0, &[4, 3], &[3, 1])).is_ok());
        assert!(check(&record(12, 1, &[4, 3], &[3, 1])).is_err());
        assert!(check(&record(12, 0, &[3, 4], &[1, 3])).is_ok());
        assert!(check(&record(12, 0, &[3, 5], &[1, 3])).is_err());
        assert!(check(&record(0, 0, &[], &[])).is_err());
        assert!(check(&record(0, 0, &[0, 3], &[3, 1])).is_ok());
        assert!(check(&record(12, 0, &[usize::MAX, 2], &[1, 1])).is_err());
        assert!(check(&record(12, usize::MAX, &[2], &[1])).is_err());
    }
}
