//! Gradient checks (f64, central differences) of the sequence layers:
//! `Embedding`, the cells, and `Rnn`/`Lstm`/`Gru` with batch > 1, two
//! layers, both directions, initial states and padded lengths, against
//! every parameter (both biases included), the input and the initial
//! states at once. The function checked returns the output, `h_n` and
//! `c_n` flattened together, so every one of them is differentiated.

use nabla::autograd::{grad_with, gradcheck, gradgradcheck, GradcheckOptions};
use nabla::nn::{
    Embedding, Gru, GruCell, Lstm, LstmCell, Module, Nonlinearity, RecurrentWeights, Rnn, RnnCell, RnnOptions,
};
use nabla::{Generator, IndexTensor, Tensor};

fn check(f: impl Fn(&[Tensor<f64>]) -> Tensor<f64>, inputs: &[Tensor<f64>]) {
    if let Err(e) = gradcheck(&f, inputs, &GradcheckOptions::default()) {
        panic!("{e}");
    }
}

fn randn(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::randn(shape, &mut Generator::new(seed))
}

/// Every tensor flattened and joined: one output vector.
fn joined(parts: &[&Tensor<f64>]) -> Tensor<f64> {
    Tensor::cat(parts.iter().map(|t| t.reshape(&[t.numel()])), 0)
}

/// The weights of a stack, from its parameters in state-dict order (four
/// per layer and direction, two without biases).
fn rebuild(params: &[Tensor<f64>], bias: bool) -> Vec<RecurrentWeights<f64>> {
    params
        .chunks(if bias { 4 } else { 2 })
        .map(|c| {
            RecurrentWeights::from_tensors(c[0].clone(), c[1].clone(), c.get(2).cloned(), c.get(3).cloned())
        })
        .collect()
}

fn detached(module: &dyn Module<f64>) -> Vec<Tensor<f64>> {
    module.parameters().iter().map(Tensor::detach).collect()
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    RnnTanh,
    RnnRelu,
    Lstm,
    Gru,
}

/// A case: the kind, its options, the input shape (time-major or batch
/// first per the options), whether it starts from given states, lengths.
struct Case {
    kind: Kind,
    options: RnnOptions,
    steps: usize,
    batch: usize,
    initial_state: bool,
    lengths: Option<Vec<usize>>,
}

const FEATURES: usize = 2;
const HIDDEN: usize = 3;

impl Case {
    fn input_shape(&self) -> Vec<usize> {
        if self.options.batch_first {
            vec![self.batch, self.steps, FEATURES]
        } else {
            vec![self.steps, self.batch, FEATURES]
        }
    }

    fn state_shape(&self) -> Vec<usize> {
        vec![
            self.options.num_layers * self.options.directions(),
            self.batch,
            HIDDEN,
        ]
    }

    fn nonlinearity(&self) -> Nonlinearity {
        match self.kind {
            Kind::RnnRelu => Nonlinearity::Relu,
            _ => Nonlinearity::Tanh,
        }
    }

    /// The parameters of a freshly initialised layer of this case.
    fn parameters(&self) -> Vec<Tensor<f64>> {
        let mut g = Generator::new(11);
        let options = self.options.clone().nonlinearity(self.nonlinearity());
        match self.kind {
            Kind::RnnTanh | Kind::RnnRelu => {
                detached(&Rnn::<f64>::with_options(FEATURES, HIDDEN, options, &mut g))
            }
            Kind::Lstm => detached(&Lstm::<f64>::with_options(FEATURES, HIDDEN, options, &mut g)),
            Kind::Gru => detached(&Gru::<f64>::with_options(FEATURES, HIDDEN, options, &mut g)),
        }
    }

    /// Output, h_n and (LSTM) c_n joined, from `inputs` = parameters, then
    /// the input, then h0 (and c0) when the case has initial states.
    fn run(&self, inputs: &[Tensor<f64>], n_params: usize) -> Tensor<f64> {
        let weights = rebuild(&inputs[..n_params], self.options.bias);
        let options = self.options.clone().nonlinearity(self.nonlinearity());
        let x = &inputs[n_params];
        let h0 = self.initial_state.then(|| &inputs[n_params + 1]);
        let lengths = self.lengths.as_deref();
        match self.kind {
            Kind::RnnTanh | Kind::RnnRelu | Kind::Gru => {
                let (out, h_n) = match self.kind {
                    Kind::Gru => {
                        let layer = Gru::from_weights(weights, options);
                        match lengths {
                            Some(l) => layer.forward_padded(x, l, h0),
                            None => layer.forward(x, h0),
                        }
                    }
                    _ => {
                        let layer = Rnn::from_weights(weights, options);
                        match lengths {
                            Some(l) => layer.forward_padded(x, l, h0),
                            None => layer.forward(x, h0),
                        }
                    }
                };
                joined(&[&out, &h_n])
            }
            Kind::Lstm => {
                let layer = Lstm::from_weights(weights, options);
                let state = self
                    .initial_state
                    .then(|| (&inputs[n_params + 1], &inputs[n_params + 2]));
                let (out, (h_n, c_n)) = match lengths {
                    Some(l) => layer.forward_padded(x, l, state),
                    None => layer.forward(x, state),
                };
                joined(&[&out, &h_n, &c_n])
            }
        }
    }

    /// The parameters, the input and the initial states, and how many of
    /// them are parameters.
    fn inputs(&self) -> (Vec<Tensor<f64>>, usize) {
        let mut inputs = self.parameters();
        let n_params = inputs.len();
        inputs.push(randn(&self.input_shape(), 3));
        if self.initial_state {
            let states = if matches!(self.kind, Kind::Lstm) { 2 } else { 1 };
            for s in 0..states {
                inputs.push(randn(&self.state_shape(), 4 + s));
            }
        }
        (inputs, n_params)
    }

    fn gradcheck(&self) {
        let (inputs, n_params) = self.inputs();
        check(|t| self.run(t, n_params), &inputs);
    }

    fn gradgradcheck(&self) {
        let (inputs, n_params) = self.inputs();
        if let Err(e) = gradgradcheck(|t| self.run(t, n_params), &inputs, &GradcheckOptions::default()) {
            panic!("{e}");
        }
    }
}

fn case(kind: Kind, options: RnnOptions) -> Case {
    Case {
        kind,
        options,
        steps: 3,
        batch: 2,
        initial_state: false,
        lengths: None,
    }
}

const KINDS: [Kind; 4] = [Kind::RnnTanh, Kind::RnnRelu, Kind::Lstm, Kind::Gru];

#[test]
fn one_layer_time_major_from_zero_state() {
    for kind in KINDS {
        case(kind, RnnOptions::default()).gradcheck();
    }
}

#[test]
fn two_bidirectional_layers_batch_first_with_initial_states() {
    let options = RnnOptions::default()
        .num_layers(2)
        .bidirectional(true)
        .batch_first(true);
    for kind in KINDS {
        Case {
            initial_state: true,
            ..case(kind, options.clone())
        }
        .gradcheck();
    }
}

#[test]
fn two_layers_without_bias() {
    let options = RnnOptions::default().num_layers(2).bias(false);
    for kind in KINDS {
        Case {
            initial_state: true,
            ..case(kind, options.clone())
        }
        .gradcheck();
    }
}

/// Unsorted lengths, one shorter than the input's steps: the outputs past
/// each end are constant zeros, `h_n` is each sequence's last real step,
/// and the reverse direction starts there.
#[test]
fn padded_lengths_bidirectional_two_layers() {
    let options = RnnOptions::default().num_layers(2).bidirectional(true);
    for kind in KINDS {
        Case {
            steps: 4,
            batch: 3,
            initial_state: true,
            lengths: Some(vec![2, 3, 1]),
            ..case(kind, options.clone())
        }
        .gradcheck();
    }
}

/// Second derivatives through the layers: an LSTM layer's one recorded op
/// recomputes its steps in recorded ops under `create_graph`, here with
/// both directions, initial states and rows that stop early.
#[test]
fn second_order_through_layers_with_padded_lengths() {
    let options = RnnOptions::default().num_layers(2).bidirectional(true);
    for kind in [Kind::Lstm, Kind::Gru] {
        Case {
            steps: 3,
            batch: 3,
            initial_state: true,
            lengths: Some(vec![2, 3, 1]),
            ..case(kind, options.clone())
        }
        .gradgradcheck();
    }
}

/// Under `create_graph` an LSTM layer's gradients come from its steps
/// recomputed in recorded ops, otherwise from its fused backward pass:
/// the two agree, rows that stop early included.
#[test]
fn lstm_gradients_agree_with_and_without_create_graph() {
    let options = RnnOptions::default().num_layers(2).bidirectional(true);
    let c = Case {
        steps: 4,
        batch: 3,
        initial_state: true,
        lengths: Some(vec![2, 3, 1]),
        ..case(Kind::Lstm, options)
    };
    let (inputs, n_params) = c.inputs();
    let inputs: Vec<Tensor<f64>> = inputs.into_iter().map(Tensor::requires_grad).collect();
    let refs: Vec<&Tensor<f64>> = inputs.iter().collect();
    let upstream = randn(c.run(&inputs, n_params).shape(), 9);
    let gradients = |create_graph| {
        let y = c.run(&inputs, n_params);
        grad_with(&[&y], &[&upstream], &refs, false, create_graph)
    };
    let (fused, recorded) = (gradients(false), gradients(true));
    for (i, (f, r)) in fused.iter().zip(&recorded).enumerate() {
        let (f, r) = (f.as_ref().unwrap().to_vec(), r.as_ref().unwrap().to_vec());
        for (a, b) in f.iter().zip(&r) {
            assert!((a - b).abs() < 1e-12 * (1.0 + b.abs()), "input {i}: {a} vs {b}");
        }
    }
}

/// Dropout between the layers in training mode: a layer built from the
/// same weights draws the same masks, so the function is smooth.
#[test]
fn dropout_between_layers_in_training() {
    let options = RnnOptions::default().num_layers(2).dropout(0.4);
    case(Kind::Lstm, options).gradcheck();
}

#[test]
fn cells_first_and_second_order() {
    let opts = GradcheckOptions::default();
    let x = randn(&[3, FEATURES], 5);
    let h = randn(&[3, HIDDEN], 6);
    let c = randn(&[3, HIDDEN], 7);
    for bias in [true, false] {
        let mut g = Generator::new(1);
        let n = if bias { 4 } else { 2 };
        let weights = |t: &[Tensor<f64>]| rebuild(&t[..n], bias).pop().unwrap();
        for nonlinearity in [Nonlinearity::Tanh, Nonlinearity::Relu] {
            let cell = RnnCell::<f64>::new(FEATURES, HIDDEN, bias, &mut g);
            let mut inputs = detached(&cell);
            inputs.extend([x.clone(), h.clone()]);
            let f = |t: &[Tensor<f64>]| {
                RnnCell::from_weights(weights(t))
                    .nonlinearity(nonlinearity)
                    .forward(&t[n], Some(&t[n + 1]))
            };
            gradcheck(f, &inputs, &opts).unwrap();
            gradgradcheck(f, &inputs, &opts).unwrap();
        }
        let cell = LstmCell::<f64>::new(FEATURES, HIDDEN, bias, &mut g);
        let mut inputs = detached(&cell);
        inputs.extend([x.clone(), h.clone(), c.clone()]);
        let f = |t: &[Tensor<f64>]| {
            let (h, c) = LstmCell::from_weights(weights(t)).forward(&t[n], Some((&t[n + 1], &t[n + 2])));
            joined(&[&h, &c])
        };
        gradcheck(f, &inputs, &opts).unwrap();
        gradgradcheck(f, &inputs, &opts).unwrap();
        let cell = GruCell::<f64>::new(FEATURES, HIDDEN, bias, &mut g);
        let mut inputs = detached(&cell);
        inputs.extend([x.clone(), h.clone()]);
        let f = |t: &[Tensor<f64>]| GruCell::from_weights(weights(t)).forward(&t[n], Some(&t[n + 1]));
        gradcheck(f, &inputs, &opts).unwrap();
        gradgradcheck(f, &inputs, &opts).unwrap();
    }
}

/// Repeated ids accumulate into their row.
#[test]
fn embedding_with_repeated_ids() {
    let ids = IndexTensor::from_vec(vec![1, 3, 1, 0, 3, 3], &[2, 3]);
    check(
        |t| Embedding::from_weight(t[0].clone(), None).forward(&ids).tanh(),
        &[randn(&[5, 4], 8)],
    );
}

/// The padding row is read as a constant: its gradient is zero (where
/// finite differences see the row, by design), every other row's is the
/// gradient without padding.
#[test]
fn embedding_padding_row_gets_no_gradient() {
    let ids = IndexTensor::from_vec(vec![1, 3, 1, 0, 3, 3], &[2, 3]);
    let weight = randn(&[5, 4], 8);
    let gradient = |padding| {
        let embedding = Embedding::from_weight(weight.detach(), padding);
        embedding.forward(&ids).tanh().sum().backward();
        embedding.weight.grad().unwrap()
    };
    let (free, padded) = (gradient(None), gradient(Some(3)));
    for row in 0..5 {
        let want = if row == 3 {
            vec![0.0; 4]
        } else {
            free.select(0, row).to_vec()
        };
        assert_eq!(padded.select(0, row).to_vec(), want, "row {row}");
    }
    assert!(free.select(0, 3).to_vec().iter().all(|&g| g != 0.0));
}
