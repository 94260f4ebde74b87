//! Accumulation: adding values in place into a buffer that nothing else
//! shares (a gradient being summed, or the fresh output of `index_add` /
//! `scatter_add`), whole or at a [`Placement`].

use super::ops::Placement;
use super::{device_of, on_device};
use crate::element::Float;
use crate::tensor::Tensor;

/// The accumulation operations of a backend. Targets are contiguous
/// tensors whose storage no argument shares.
pub(crate) trait AccumulateOps {
    /// `target += source`, elementwise; `source` (any layout) has
    /// `target`'s shape.
    fn add_into<T: Float>(target: &Tensor<T>, source: &Tensor<T>);
    /// Adds `values` into `target` at `placement`, whose indices are in
    /// range.
    fn add_at<T: Float>(target: &Tensor<T>, placement: &Placement, values: &Tensor<T>);
}

/// `target += source` in place, unrecorded.
///
/// # Panics
/// If the shapes differ, `target` is a strided view, or the two share
/// storage.
pub(crate) fn add_into<T: Float>(target: &Tensor<T>, source: &Tensor<T>) {
    assert!(
        target.shape() == source.shape(),
        "accumulate: cannot add a tensor of shape {:?} into one of shape {:?}",
        source.shape(),
        target.shape()
    );
    check_target("accumulate", target, source);
    on_device!(device_of("accumulate", &[target, source]), B => B::add_into(target, source))
}

/// Adds `values` into `target` in place at `placement`, unrecorded.
/// The placement's indices must be in range (the ops that take indices
/// check them).
///
/// # Panics
/// If `values` does not fit `placement` in `target`, `target` is a
/// strided view, or the two share storage.
pub(crate) fn add_at<T: Float>(target: &Tensor<T>, placement: &Placement, values: &Tensor<T>) {
    let (full, part) = (target.shape(), values.shape());
    let same_except = |dim: usize, a: &[usize], b: &[usize]| {
        dim < a.len()
            && a.len() == b.len()
            && a.iter().zip(b).enumerate().all(|(d, (x, y))| d == dim || x == y)
    };
    let fits = match placement {
        Placement::Narrow { dim, start } => same_except(*dim, full, part) && start + part[*dim] <= full[*dim],
        Placement::IndexAdd { dim, indices } => {
            indices.ndim() == 1 && same_except(*dim, full, part) && part[*dim] == indices.numel()
        }
        Placement::ScatterAdd { dim, index } => {
            index.shape() == part
                && *dim < full.len()
                && part.len() == full.len()
                && part
                    .iter()
                    .zip(full)
                    .enumerate()
                    .all(|(d, (p, f))| d == *dim || p <= f)
        }
    };
    assert!(
        fits,
        "accumulate: values of shape {part:?} do not fit {placement:?} in a tensor of shape {full:?}"
    );
    check_target("accumulate", target, values);
    on_device!(device_of("accumulate", &[target, values]), B => B::add_at(target, placement, values))
}

fn check_target<T: Float>(op: &str, target: &Tensor<T>, source: &Tensor<T>) {
    assert!(
        target.is_contiguous() && !target.shares_storage_with(source),
        "{op}: the target of shape {:?} is a strided view or shares storage with what is added",
        target.shape()
    );
}

#[cfg(test)]
impl<B: AccumulateOps> AccumulateOps for super::counting::Counting<B> {
    fn add_into<T: Float>(target: &Tensor<T>, source: &Tensor<T>) {
        super::counting::count("add_into");
        B::add_into(target, source)
    }
    fn add_at<T: Float>(target: &Tensor<T>, placement: &Placement, values: &Tensor<T>) {
        super::counting::count("add_at");
        B::add_at(target, placement, values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::IndexTensor;

    fn zeros(shape: &[usize]) -> Tensor<f64> {
        Tensor::zeros(shape)
    }

    #[test]
    fn adds_a_strided_source_into_the_whole_target() {
        let target = Tensor::from_vec(vec![1.0, 1.0, 1.0, 1.0, 1.0, 1.0], &[2, 3]);
        let source = Tensor::arange(0.0, 6.0, 1.0).reshape(&[3, 2]).t();
        add_into(&target, &source);
        assert_eq!(target.to_vec(), vec![1.0, 3.0, 5.0, 2.0, 4.0, 6.0]);
    }

    #[test]
    fn a_narrow_placement_reaches_only_its_region() {
        let target = zeros(&[2, 3]);
        let values = Tensor::from_vec(vec![5.0, 7.0], &[2, 1]);
        add_at(&target, &Placement::Narrow { dim: 1, start: 1 }, &values);
        assert_eq!(target.to_vec(), vec![0.0, 5.0, 0.0, 0.0, 7.0, 0.0]);
    }

    #[test]
    fn an_index_add_placement_sums_repeats() {
        let target = Tensor::<f64>::ones(&[2, 3]);
        let indices = IndexTensor::from(vec![2, 2, 0]);
        let values = Tensor::from_vec(vec![1.0, 2.0, 3.0, 10.0, 20.0, 30.0], &[2, 3]);
        add_at(&target, &Placement::IndexAdd { dim: 1, indices }, &values);
        assert_eq!(target.to_vec(), vec![4.0, 1.0, 4.0, 31.0, 1.0, 31.0]);
    }

    #[test]
    fn a_scatter_add_placement_follows_the_index() {
        let target = zeros(&[2, 2]);
        let index = IndexTensor::from_vec(vec![1, 1], &[2, 1]);
        let values = Tensor::from_vec(vec![3.0, 4.0], &[2, 1]);
        add_at(&target, &Placement::ScatterAdd { dim: 1, index }, &values);
        assert_eq!(target.to_vec(), vec![0.0, 3.0, 0.0, 4.0]);
    }

    #[test]
    #[should_panic(
        expected = "accumulate: values of shape [2, 2] do not fit Narrow { dim: 1, start: 2 } in a tensor of shape [2, 3]"
    )]
    fn a_region_past_the_end_is_refused() {
        add_at(
            &zeros(&[2, 3]),
            &Placement::Narrow { dim: 1, start: 2 },
            &zeros(&[2, 2]),
        );
    }

    #[test]
    #[should_panic(expected = "accumulate: the target of shape [3, 2] is a strided view")]
    fn a_strided_target_is_refused() {
        add_into(&zeros(&[2, 3]).t(), &zeros(&[3, 2]));
    }
}
