//! How a recurrent layer walks its sequence.

/// One LSTM layer and direction's walk over `rows.len()` time steps of a
/// batch of `batch` sequences with `hidden` features: at time step `t`
/// the first `rows[t]` rows run (a packed batch sorted by decreasing
/// length; the others keep their state), in time order, or from the last
/// step to the first when `reverse`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LstmSchedule {
    pub rows: Vec<usize>,
    pub batch: usize,
    pub hidden: usize,
    pub reverse: bool,
}

impl LstmSchedule {
    /// `(steps, batch, hidden)`.
    pub fn dims(&self) -> (usize, usize, usize) {
        (self.rows.len(), self.batch, self.hidden)
    }

    /// The time steps in the order they run.
    pub fn order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.rows.len()).collect();
        if self.reverse {
            order.reverse();
        }
        order
    }
}
