//! The geometry of a 2-D convolution, the plain data of the convolution
//! operations.

/// The geometry of one 2-D convolution: sizes, and per axis stride,
/// zero padding and dilation (`(height, width)`). The convolution maps an
/// input [`input_shape`](Self::input_shape) with weights
/// [`weight_shape`](Self::weight_shape) to
/// [`output_shape`](Self::output_shape).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConvGeometry {
    pub batch: usize,
    /// Channels of the convolution's input (`C`).
    pub in_channels: usize,
    /// Channels of the convolution's output (`C'`).
    pub out_channels: usize,
    pub groups: usize,
    pub input: (usize, usize),
    pub kernel: (usize, usize),
    pub output: (usize, usize),
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
}

impl ConvGeometry {
    /// `[N, C, H, W]`.
    pub(crate) fn input_shape(&self) -> [usize; 4] {
        [self.batch, self.in_channels, self.input.0, self.input.1]
    }

    /// `[C', C / groups, kh, kw]`.
    pub(crate) fn weight_shape(&self) -> [usize; 4] {
        [
            self.out_channels,
            self.in_channels / self.groups,
            self.kernel.0,
            self.kernel.1,
        ]
    }

    /// `[N, C', OH, OW]`.
    pub(crate) fn output_shape(&self) -> [usize; 4] {
        [self.batch, self.out_channels, self.output.0, self.output.1]
    }
}
