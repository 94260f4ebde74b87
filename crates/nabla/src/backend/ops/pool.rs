//! The geometry of 2-D poolings, the plain data of the pooling
//! operations: a max pooling's windows, and an average pooling as a plan
//! of per-axis bins.

/// Marks, in the internal arg-max positions, a window with no tap inside
/// the image (possible only with dilation): its output is `-inf` and it
/// passes no gradient.
pub(crate) const EMPTY_WINDOW: usize = usize::MAX;

/// The geometry of one max pooling: sizes, and per axis `(height, width)`
/// kernel, stride, implicit `-inf` padding and dilation. It maps `planes`
/// images `H x W` to `planes` outputs `OH x OW`, and records the flat
/// position `h * W + w` of each window's maximum in its plane
/// ([`EMPTY_WINDOW`] for a window entirely in the padding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MaxPoolGeometry {
    /// `N * C`: the number of independent images.
    pub planes: usize,
    pub input: (usize, usize),
    pub output: (usize, usize),
    pub kernel: (usize, usize),
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
}

impl MaxPoolGeometry {
    /// The position PyTorch reports for a window with no tap in the image:
    /// `first_h * W + first_w` of the (out-of-range) first taps of output
    /// `flat_output` (counted over all planes).
    pub(crate) fn empty_window_index(&self, flat_output: usize) -> usize {
        let (oh, ow) = self.output;
        let (oy, ox) = ((flat_output / ow) % oh, flat_output % ow);
        let first = |o: usize, stride: usize, padding: usize, dilation: usize| {
            let start = (o * stride) as isize - padding as isize;
            if start < 0 {
                (start + ((-start) as usize).div_ceil(dilation) as isize * dilation as isize) as usize
            } else {
                start as usize
            }
        };
        let fy = first(oy, self.stride.0, self.padding.0, self.dilation.0);
        let fx = first(ox, self.stride.1, self.padding.1, self.dilation.1);
        fy * self.input.1 + fx
    }

    /// Elements of the pooling's output: `planes OH OW`.
    pub(crate) fn output_numel(&self) -> usize {
        self.planes * self.output.0 * self.output.1
    }
}

/// A window along one axis: input positions `start..end` (inside the
/// input) and the length the sum is divided by along this axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Bin {
    pub start: usize,
    pub end: usize,
    pub divisor: usize,
}

/// Average pooling as a linear map: `out[p, i, j]` is the sum of
/// `x[p, rows[i], cols[j]]` divided by `rows[i].divisor * cols[j].divisor`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AvgPlan {
    /// `N * C`: the number of independent images.
    pub planes: usize,
    pub input: (usize, usize),
    pub rows: Vec<Bin>,
    pub cols: Vec<Bin>,
}

impl AvgPlan {
    /// The bins of `avg_pool2d` along one axis, as PyTorch computes them:
    /// the window `[o s - p, o s - p + k)` cut at `input + p` (so the
    /// padding counted by `count_include_pad` never includes the extra
    /// positions of `ceil_mode`), then clipped to the input.
    pub(crate) fn window_bins(
        output: usize,
        input: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        count_include_pad: bool,
    ) -> Vec<Bin> {
        (0..output)
            .map(|o| {
                let start = (o * stride) as isize - padding as isize;
                let end = (start + kernel as isize).min((input + padding) as isize);
                let padded = (end - start) as usize;
                let (start, end) = (start.max(0) as usize, end.min(input as isize).max(0) as usize);
                let end = end.max(start);
                Bin {
                    start,
                    end,
                    divisor: if count_include_pad { padded } else { end - start },
                }
            })
            .collect()
    }

    /// PyTorch's adaptive bins: `[floor(o I / O), ceil((o + 1) I / O))`.
    pub(crate) fn adaptive_bins(output: usize, input: usize) -> Vec<Bin> {
        (0..output)
            .map(|o| {
                let start = o * input / output;
                let end = ((o + 1) * input).div_ceil(output);
                Bin {
                    start,
                    end,
                    divisor: end - start,
                }
            })
            .collect()
    }

    /// `(OH, OW)`.
    pub(crate) fn output(&self) -> (usize, usize) {
        (self.rows.len(), self.cols.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_bins_cut_ceil_mode_overhang_from_the_divisor() {
        // Input 5, kernel 2, stride 2, ceil mode: the last window [4, 6)
        // overhangs; it averages one element whether padding counts or not.
        let bins = AvgPlan::window_bins(3, 5, 2, 2, 0, true);
        assert_eq!(
            bins[2],
            Bin {
                start: 4,
                end: 5,
                divisor: 1
            }
        );
        // Padding 1: the first window [-1, 1) counts its padding only
        // when asked to.
        assert_eq!(AvgPlan::window_bins(3, 4, 2, 2, 1, true)[0].divisor, 2);
        assert_eq!(AvgPlan::window_bins(3, 4, 2, 2, 1, false)[0].divisor, 1);
    }

    #[test]
    fn adaptive_bins_overlap_when_not_divisible() {
        let bins = AvgPlan::adaptive_bins(3, 5);
        let ranges: Vec<_> = bins.iter().map(|b| (b.start, b.end)).collect();
        assert_eq!(ranges, vec![(0, 2), (1, 4), (3, 5)]);
    }
}
