//! The machinery shared by [`Rnn`](super::Rnn), [`Lstm`](super::Lstm) and
//! [`Gru`](super::Gru): layers and directions of cells run over a sequence,
//! padded batches of different lengths, and the state-dict names
//! `weight_ih_l{k}[_reverse]`.

use super::lstm_sequence::lstm_sequence;
use super::step::{Recurrence, State};
use super::weights::{CellKind, RecurrentWeights};
use super::RnnOptions;
use crate::backend::ops::LstmSchedule;
use crate::element::Float;
use crate::nn::{Dropout, Layer, Module, ToDtype};
use crate::tensor::{Generator, IndexTensor, Tensor};

/// A recurrent layer of any kind: `num_layers * directions` cells, the
/// cell of layer `k` and direction `d` at index `k * directions + d`.
pub(crate) struct Stack<T: Float> {
    kind: CellKind,
    cells: Vec<RecurrentWeights<T>>,
    options: RnnOptions,
    dropout: Dropout<T>,
    training: bool,
}

/// What a forward pass returns: the output and the final `h` and `c`.
pub(crate) struct StackOutput<T: Float> {
    pub output: Tensor<T>,
    pub h_n: Tensor<T>,
    pub c_n: Option<Tensor<T>>,
}

impl<T: Float> Stack<T> {
    pub fn new(
        kind: CellKind,
        input_size: usize,
        hidden_size: usize,
        options: RnnOptions,
        generator: &mut Generator,
    ) -> Self {
        let name = kind.layer_name();
        assert!(options.num_layers >= 1, "{name}: num_layers must be at least 1");
        assert!(hidden_size >= 1, "{name}: hidden_size must be at least 1");
        let directions = options.directions();
        let cells = (0..options.num_layers * directions)
            .map(|i| {
                let input = if i < directions {
                    input_size
                } else {
                    hidden_size * directions
                };
                RecurrentWeights::init(kind, input, hidden_size, options.bias, generator)
            })
            .collect();
        Self::assemble(kind, cells, options, generator)
    }

    /// A stack from given weights, checked against the options.
    pub fn from_weights(kind: CellKind, cells: Vec<RecurrentWeights<T>>, options: RnnOptions) -> Self {
        let name = kind.layer_name();
        let directions = options.directions();
        assert!(
            options.num_layers >= 1 && cells.len() == options.num_layers * directions,
            "{name}: {} sets of weights given for {} layers of {directions} directions",
            cells.len(),
            options.num_layers
        );
        let hidden = cells[0].hidden_size();
        for (i, cell) in cells.iter().enumerate() {
            cell.check_gates(kind, name);
            assert!(
                cell.hidden_size() == hidden && cell.has_bias() == options.bias,
                "{name}: the weights of layer {} direction {} have hidden size {} and bias {} where {hidden} and {} are expected",
                i / directions,
                i % directions,
                cell.hidden_size(),
                cell.has_bias(),
                options.bias
            );
            assert!(
                i < directions || cell.input_size() == hidden * directions,
                "{name}: layer {} reads {} features where the layer below gives {}",
                i / directions,
                cell.input_size(),
                hidden * directions
            );
        }
        Self::assemble(kind, cells, options, &mut Generator::new(0))
    }

    fn assemble(
        kind: CellKind,
        cells: Vec<RecurrentWeights<T>>,
        options: RnnOptions,
        generator: &mut Generator,
    ) -> Self {
        let p = options.dropout;
        assert!(
            (0.0..1.0).contains(&p),
            "{}: dropout = {p} is not in [0, 1)",
            kind.layer_name()
        );
        // Draw the masks' seed only when there are masks, so that the
        // weights of a layer without dropout use the generator alone.
        let seed = if p > 0.0 {
            generator.below(usize::MAX) as u64
        } else {
            0
        };
        Stack {
            kind,
            cells,
            options,
            dropout: Dropout::new(p, seed),
            training: true,
        }
    }

    pub fn options(&self) -> &RnnOptions {
        &self.options
    }

    pub fn input_size(&self) -> usize {
        self.cells[0].input_size()
    }

    pub fn hidden_size(&self) -> usize {
        self.cells[0].hidden_size()
    }

    /// The weights of `layer`, forward or reverse direction.
    pub fn weights(&self, layer: usize, reverse: bool) -> &RecurrentWeights<T> {
        let name = self.kind.layer_name();
        assert!(
            layer < self.options.num_layers,
            "{name}: layer {layer} does not exist in a {}-layer stack",
            self.options.num_layers
        );
        assert!(
            !reverse || self.options.bidirectional,
            "{name}: a unidirectional layer has no reverse weights"
        );
        &self.cells[layer * self.options.directions() + usize::from(reverse)]
    }

    /// PyTorch's repr: `LSTM(10, 20, num_layers=2, bidirectional=True)`.
    pub fn describe(&self) -> String {
        let o = &self.options;
        let mut s = format!(
            "{}({}, {}",
            self.kind.layer_name(),
            self.input_size(),
            self.hidden_size()
        );
        if o.num_layers != 1 {
            s += &format!(", num_layers={}", o.num_layers);
        }
        if let CellKind::Rnn(n) = self.kind {
            if n != super::Nonlinearity::Tanh {
                s += &format!(", nonlinearity='{}'", n.name());
            }
        }
        if !o.bias {
            s += ", bias=False";
        }
        if o.batch_first {
            s += ", batch_first=True";
        }
        if o.dropout > 0.0 {
            s += &format!(", dropout={}", o.dropout);
        }
        if o.bidirectional {
            s += ", bidirectional=True";
        }
        s + ")"
    }

    /// Runs the stack over `input` (`[T, B, F]`, `[B, T, F]` with
    /// `batch_first`, or unbatched `[T, F]`) from the initial states `h0`
    /// and, for an LSTM, `c0` (zeros when absent); with `lengths`, sequence
    /// `b` is `input`'s first `lengths[b]` steps.
    pub fn forward(
        &self,
        input: &Tensor<T>,
        h0: Option<&Tensor<T>>,
        c0: Option<&Tensor<T>>,
        lengths: Option<&[usize]>,
    ) -> StackOutput<T> {
        let name = self.kind.layer_name();
        let batch_first = self.options.batch_first;
        let unbatched = input.ndim() == 2;
        assert!(
            input.ndim() == 3 || unbatched,
            "{name}: input must be [time, batch, features], [batch, time, features] with batch_first, or unbatched [time, features]; got {:?}",
            input.shape()
        );
        assert!(
            !(unbatched && lengths.is_some()),
            "{name}: lengths need a batched input, got {:?}",
            input.shape()
        );
        let batched = |t: &Tensor<T>, dim: isize| if unbatched { t.unsqueeze(dim) } else { t.clone() };
        // Time-major from here on (a view): every step reads `[B, F]` rows.
        let x = match (unbatched, batch_first) {
            (true, _) => input.unsqueeze(1),
            (false, true) => input.transpose(0, 1),
            (false, false) => input.clone(),
        };
        let h0 = h0.map(|h| batched(h, 1));
        let c0 = c0.map(|c| batched(c, 1));
        let (steps, batch, features) = (x.shape()[0], x.shape()[1], x.shape()[2]);
        assert!(
            features == self.input_size(),
            "{name}: input of shape {:?} has {features} features where the layer takes {}",
            input.shape(),
            self.input_size()
        );
        let states = self.options.num_layers * self.options.directions();
        let hidden = self.hidden_size();
        for (state, what) in [(&h0, "h0"), (&c0, "c0")] {
            if let Some(s) = state {
                assert!(
                    s.shape() == [states, batch, hidden],
                    "{name}: {what} of shape {:?} does not match [layers * directions, batch, hidden] = {:?}",
                    s.shape(),
                    [states, batch, hidden]
                );
            }
        }
        let packing = lengths.map(|l| Packing::new(name, l, batch, steps));
        let sorted = |t: Tensor<T>, dim: isize| match packing.as_ref().and_then(|p| p.order.as_ref()) {
            Some(order) => t.index_select(dim, order),
            None => t,
        };
        let mut x = sorted(x, 1);
        let h0 = h0.map(|h| sorted(h, 1));
        let c0 = c0.map(|c| sorted(c, 1));

        let directions = self.options.directions();
        let mut finals = Vec::with_capacity(states);
        for layer in 0..self.options.num_layers {
            let mut outputs = Vec::with_capacity(directions);
            for direction in 0..directions {
                let index = layer * directions + direction;
                let recurrence = Recurrence::new(self.kind, &self.cells[index]);
                let projected = recurrence.project(&x);
                // `None`: the zero state, which the first step needs no product for.
                let init = h0.as_ref().map(|h| State {
                    h: h.select(0, index),
                    c: c0.as_ref().map(|c| c.select(0, index)),
                });
                let sizes = packing.as_ref().map(|p| p.batch_sizes.as_slice());
                if self.kind == CellKind::Lstm {
                    let schedule = LstmSchedule {
                        rows: (0..steps)
                            .map(|t| sizes.map_or(batch, |s| s.get(t).copied().unwrap_or(0)))
                            .collect(),
                        batch,
                        hidden,
                        reverse: direction == 1,
                    };
                    let weight_hh = &self.cells[index].weight_hh;
                    let (out, last) = lstm_sequence(&projected, weight_hh, init.as_ref(), schedule);
                    outputs.push(out);
                    finals.push(last);
                    continue;
                }
                let run = Run {
                    recurrence: &recurrence,
                    projected: &projected,
                    steps,
                    batch,
                    hidden,
                };
                let (steps_out, last) = if direction == 0 {
                    run.forward(init, sizes)
                } else {
                    run.backward(init, sizes)
                };
                outputs.push(Tensor::stack(&steps_out, 0));
                finals.push(last);
            }
            x = if directions == 1 {
                outputs.pop().expect("one direction")
            } else {
                Tensor::cat(&outputs, 2)
            };
            let last_layer = layer + 1 == self.options.num_layers;
            if self.training && !last_layer && self.options.dropout > 0.0 {
                x = self.dropout.forward(&x);
            }
        }

        let unsorted = |t: Tensor<T>, dim: isize| match packing.as_ref().and_then(|p| p.inverse.as_ref()) {
            Some(inverse) => t.index_select(dim, inverse),
            None => t,
        };
        let unbatch = |t: Tensor<T>, dim: isize| if unbatched { t.squeeze(dim) } else { t };
        let output = match (unbatched, batch_first) {
            (true, _) => unsorted(x, 1).squeeze(1),
            (false, true) => unsorted(x, 1).transpose(0, 1),
            (false, false) => unsorted(x, 1),
        };
        let h_n = unbatch(unsorted(Tensor::stack(finals.iter().map(|s| &s.h), 0), 1), 1);
        let c_n = (self.kind == CellKind::Lstm).then(|| {
            let c = Tensor::stack(finals.iter().filter_map(|s| s.c.as_ref()), 0);
            unbatch(unsorted(c, 1), 1)
        });
        StackOutput { output, h_n, c_n }
    }
}

/// Variable lengths as PyTorch's packed sequences: the batch sorted by
/// decreasing length, and how many sequences are still running at each step.
struct Packing {
    /// The sorting permutation, when the lengths are not sorted already.
    order: Option<IndexTensor>,
    /// Its inverse.
    inverse: Option<IndexTensor>,
    /// `batch_sizes[t]`: the sequences longer than `t`, for `t` below the
    /// longest length.
    batch_sizes: Vec<usize>,
}

impl Packing {
    fn new(name: &str, lengths: &[usize], batch: usize, steps: usize) -> Self {
        assert!(
            lengths.len() == batch,
            "{name}: {} lengths given for a batch of {batch}",
            lengths.len()
        );
        if let Some(bad) = lengths.iter().find(|&&l| l == 0 || l > steps) {
            panic!("{name}: length {bad} is outside 1..={steps}, the input's time steps");
        }
        let sorted = lengths.windows(2).all(|w| w[0] >= w[1]);
        let (order, inverse) = if sorted {
            (None, None)
        } else {
            let mut order: Vec<usize> = (0..batch).collect();
            // Stable, as PyTorch's sort for pack_padded_sequence.
            order.sort_by(|&a, &b| lengths[b].cmp(&lengths[a]));
            let mut inverse = vec![0; batch];
            for (position, &b) in order.iter().enumerate() {
                inverse[b] = position;
            }
            (Some(IndexTensor::from(order)), Some(IndexTensor::from(inverse)))
        };
        let longest = lengths.iter().copied().max().unwrap_or(0);
        let batch_sizes = (0..longest)
            .map(|t| lengths.iter().filter(|&&l| l > t).count())
            .collect();
        Packing {
            order,
            inverse,
            batch_sizes,
        }
    }
}

/// One direction of one layer over the whole sequence.
struct Run<'a, T: Float> {
    recurrence: &'a Recurrence<T>,
    /// The projected input, `[T, B, G * H]`.
    projected: &'a Tensor<T>,
    steps: usize,
    batch: usize,
    hidden: usize,
}

impl<T: Float> Run<'_, T> {
    /// The projected input of the first `rows` sequences at step `t`.
    fn input(&self, t: usize, rows: usize) -> Tensor<T> {
        let step = self.projected.select(0, t);
        if rows == self.batch {
            step
        } else {
            step.narrow(0, 0, rows)
        }
    }

    /// `h` of the first rows, padded with zeros to the whole batch.
    fn padded(&self, h: &Tensor<T>) -> Tensor<T> {
        let rows = h.shape()[0];
        if rows == self.batch {
            h.clone()
        } else {
            Tensor::cat([h.clone(), Tensor::zeros(&[self.batch - rows, self.hidden])], 0)
        }
    }

    /// Reads the sequence forwards from `init` (`None` for zeros); a
    /// sequence leaves the batch after its last step, keeping the state it
    /// had there. Returns every step's output and the final state.
    fn forward(&self, init: Option<State<T>>, sizes: Option<&[usize]>) -> (Vec<Tensor<T>>, State<T>) {
        let mut outputs = Vec::with_capacity(self.steps);
        let mut state = init;
        // The final states of the sequences that ended, last rows first.
        let mut ended = Vec::new();
        for t in 0..self.steps {
            let rows = sizes.map_or(self.batch, |s| s.get(t).copied().unwrap_or(0));
            if rows == 0 {
                outputs.push(Tensor::zeros(&[self.batch, self.hidden]));
                continue;
            }
            if let Some(s) = state.as_ref().filter(|s| rows < s.batch()) {
                ended.push(s.rows(rows, s.batch() - rows));
                state = Some(s.rows(0, rows));
            }
            let next = self.recurrence.step(&self.input(t, rows), state.as_ref());
            outputs.push(self.padded(&next.h));
            state = Some(next);
        }
        ended.push(state.unwrap_or_else(|| self.recurrence.zero_state(self.batch)));
        ended.reverse();
        (outputs, State::cat(&ended))
    }

    /// Reads the sequence backwards; each sequence starts at its own last
    /// step from its initial state (`init`, `None` for zeros). Returns every
    /// step's output (in time order) and the final state.
    fn backward(&self, init: Option<State<T>>, sizes: Option<&[usize]>) -> (Vec<Tensor<T>>, State<T>) {
        let mut outputs = vec![None; self.steps];
        // `None` while every running sequence is still in its zero state.
        let mut state: Option<State<T>> = None;
        let mut running = 0;
        for t in (0..self.steps).rev() {
            let rows = sizes.map_or(self.batch, |s| s.get(t).copied().unwrap_or(0));
            if rows == 0 {
                outputs[t] = Some(Tensor::zeros(&[self.batch, self.hidden]));
                continue;
            }
            if rows > running {
                let joining = |from: usize| match &init {
                    Some(init) if from == 0 && rows == self.batch => init.clone(),
                    Some(init) => init.rows(from, rows - from),
                    None => self.recurrence.zero_state(rows - from),
                };
                state = match state {
                    Some(s) => Some(State::cat(&[s, joining(running)])),
                    None => init.as_ref().map(|_| joining(0)),
                };
                running = rows;
            }
            let next = self.recurrence.step(&self.input(t, rows), state.as_ref());
            outputs[t] = Some(self.padded(&next.h));
            state = Some(next);
        }
        let outputs = outputs
            .into_iter()
            .map(|o| o.expect("every step has an output"))
            .collect();
        let last = state
            .or(init)
            .unwrap_or_else(|| self.recurrence.zero_state(self.batch));
        (outputs, last)
    }
}

impl<T: Float> Module<T> for Stack<T> {
    /// PyTorch's names and order: for each layer and direction,
    /// `weight_ih_l{k}`, `weight_hh_l{k}`, `bias_ih_l{k}`, `bias_hh_l{k}`,
    /// with `_reverse` for the second direction.
    fn own_parameters(&self) -> Vec<(String, Tensor<T>)> {
        let directions = self.options.directions();
        let mut out = Vec::new();
        for (i, cell) in self.cells.iter().enumerate() {
            let suffix = if i % directions == 1 { "_reverse" } else { "" };
            for (name, t) in cell.own_parameters() {
                out.push((format!("{name}_l{}{suffix}", i / directions), t));
            }
        }
        out
    }

    fn set_own_training(&mut self, training: bool) {
        self.training = training;
    }

    fn is_training(&self) -> bool {
        self.training
    }
}

impl<T: Float> ToDtype for Stack<T> {
    type Output<U: Float> = Stack<U>;

    fn to_dtype<U: Float>(&self) -> Stack<U> {
        Stack {
            kind: self.kind,
            cells: self.cells.iter().map(ToDtype::to_dtype).collect(),
            options: self.options.clone(),
            dropout: self.dropout.to_dtype(),
            training: self.training,
        }
    }
}

/// `Module`, `Summarize` and `ToDtype` for a recurrent layer type that
/// wraps a [`Stack`] in its field `stack`: the stack's names, unprefixed.
macro_rules! stack_layer_impls {
    ($layer:ident) => {
        impl<T: Float> $crate::nn::Module<T> for $layer<T> {
            fn own_parameters(&self) -> Vec<(String, Tensor<T>)> {
                self.stack.own_parameters()
            }

            fn set_own_training(&mut self, training: bool) {
                self.stack.set_own_training(training);
            }

            fn is_training(&self) -> bool {
                self.stack.is_training()
            }
        }

        impl<T: Float> $crate::nn::Summarize<T> for $layer<T> {
            fn describe(&self) -> String {
                self.stack.describe()
            }

            fn geometry(&self) -> $crate::nn::Geometry {
                $crate::nn::Geometry::Unknown
            }
        }

        impl<T: Float> $crate::nn::ToDtype for $layer<T> {
            type Output<U: Float> = $layer<U>;

            fn to_dtype<U: Float>(&self) -> $layer<U> {
                $layer {
                    stack: self.stack.to_dtype(),
                }
            }
        }
    };
}
pub(crate) use stack_layer_impls;
