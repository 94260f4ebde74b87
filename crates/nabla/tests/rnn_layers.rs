//! Behaviour of the recurrent layers beyond single values: PyTorch's
//! parameter names and order, every parameter trained (both biases), batch
//! rows independent of each other, padded batches, dropout in training
//! only, conversions, error messages, and a char-LSTM that learns.

use nabla::nn::loss::cross_entropy;
use nabla::nn::zoo::{char_lstm, CharLstmConfig};
use nabla::nn::{Gru, Lstm, Module, Rnn, RnnOptions, Summarize, ToDtype};
use nabla::optim::{Adam, AdamConfig, Optimizer};
use nabla::{Generator, IndexTensor, Tensor};

fn names(m: &dyn Module) -> Vec<String> {
    m.state_dict().into_iter().map(|(n, _)| n).collect()
}

fn bidirectional_two_layers() -> RnnOptions {
    RnnOptions::default().num_layers(2).bidirectional(true)
}

#[test]
fn parameter_names_and_shapes_are_pytorchs() {
    let lstm: Lstm = Lstm::with_options(3, 4, bidirectional_two_layers(), &mut Generator::new(0));
    let got: Vec<(String, Vec<usize>)> = lstm
        .state_dict()
        .into_iter()
        .map(|(n, t)| (n, t.shape().to_vec()))
        .collect();
    let mut want = Vec::new();
    for (layer, input) in [(0, 3), (1, 8)] {
        for suffix in ["", "_reverse"] {
            want.push((format!("weight_ih_l{layer}{suffix}"), vec![16, input]));
            want.push((format!("weight_hh_l{layer}{suffix}"), vec![16, 4]));
            want.push((format!("bias_ih_l{layer}{suffix}"), vec![16]));
            want.push((format!("bias_hh_l{layer}{suffix}"), vec![16]));
        }
    }
    assert_eq!(got, want);
    let gru: Gru = Gru::with_options(3, 4, RnnOptions::default().bias(false), &mut Generator::new(0));
    assert_eq!(names(&gru), ["weight_ih_l0", "weight_hh_l0"]);
    assert_eq!(gru.weights(0, false).weight_hh.shape(), &[12, 4]);
}

#[test]
fn initialisation_is_uniform_within_one_over_sqrt_hidden() {
    let rnn: Rnn = Rnn::with_options(5, 64, bidirectional_two_layers(), &mut Generator::new(3));
    for (name, t) in rnn.state_dict() {
        let v = t.to_vec();
        assert!(
            v.iter().all(|x| x.abs() <= 0.125),
            "{name} leaves U(-0.125, 0.125)"
        );
        assert!(v.iter().any(|x| x.abs() > 0.1), "{name} does not fill the range");
    }
}

/// Other Rust frameworks shipped LSTMs whose bias never learned: every
/// parameter of every layer and direction gets a nonzero gradient.
#[test]
fn every_parameter_gets_a_gradient() {
    let mut g = Generator::new(1);
    let lstm: Lstm = Lstm::with_options(3, 4, bidirectional_two_layers(), &mut g);
    let (out, (h_n, c_n)) = lstm.forward(&Tensor::randn(&[5, 3, 3], &mut g), None);
    (out.sum() + h_n.square().sum() + c_n.sum()).backward();
    for (name, p) in lstm.named_parameters() {
        let grad = p.grad().unwrap_or_else(|| panic!("{name} has no gradient"));
        assert!(
            grad.to_vec().iter().all(|&v| v != 0.0),
            "{name} has zero entries: {grad}"
        );
    }
}

/// A batch of three sequences gives each sequence's result alone.
#[test]
fn batch_rows_are_independent() {
    let mut g = Generator::new(2);
    let options = bidirectional_two_layers().batch_first(true);
    let lstm: Lstm = Lstm::with_options(3, 4, options, &mut g);
    let x = Tensor::randn(&[3, 5, 3], &mut g);
    let h0 = Tensor::randn(&[4, 3, 4], &mut g);
    let c0 = Tensor::randn(&[4, 3, 4], &mut g);
    let (out, (h_n, c_n)) = lstm.forward(&x, Some((&h0, &c0)));
    for b in 0..3 {
        let one = |t: &Tensor, dim| t.narrow(dim, b, 1);
        let (o, (h, c)) = lstm.forward(&one(&x, 0), Some((&one(&h0, 1), &one(&c0, 1))));
        assert_close(&o, &one(&out, 0));
        assert_close(&h, &one(&h_n, 1));
        assert_close(&c, &one(&c_n, 1));
        // Unbatched input: the same numbers without the batch dimension.
        let (o, (h, _)) = lstm.forward(&x.select(0, b), Some((&h0.select(1, b), &c0.select(1, b))));
        assert_close(&o, &out.select(0, b));
        assert_close(&h, &h_n.select(1, b));
    }
}

/// A padded batch of lengths [2, 5, 3] gives each sequence's result when
/// run alone on its real steps, with zeros past its end.
#[test]
fn padded_batch_matches_each_sequence_alone() {
    let mut g = Generator::new(4);
    let gru: Gru = Gru::with_options(2, 3, bidirectional_two_layers(), &mut g);
    let x = Tensor::randn(&[5, 3, 2], &mut g);
    let lengths = [2, 5, 3];
    let (out, h_n) = gru.forward_padded(&x, &lengths, None);
    for (b, &len) in lengths.iter().enumerate() {
        let (alone, h_alone) = gru.forward(&x.narrow(0, 0, len).narrow(1, b, 1), None);
        assert_close(&out.narrow(0, 0, len).narrow(1, b, 1), &alone);
        assert_close(&h_n.narrow(1, b, 1), &h_alone);
        let tail = out.narrow(0, len, 5 - len).narrow(1, b, 1);
        assert!(tail.to_vec().iter().all(|&v| v == 0.0));
    }
    let (full, h_full) = gru.forward(&x, None);
    let (padded, h_padded) = gru.forward_padded(&x, &[5, 5, 5], None);
    assert_close(&full, &padded);
    assert_close(&h_full, &h_padded);
}

#[test]
fn dropout_acts_between_layers_in_training_only() {
    let mut g = Generator::new(5);
    let x = Tensor::randn(&[4, 2, 3], &mut g);
    let mut with: Lstm = Lstm::with_options(3, 8, RnnOptions::default().num_layers(2).dropout(0.5), &mut g);
    let without = Lstm::from_weights(
        (0..2).map(|l| copy_weights(&with, l)).collect(),
        RnnOptions::default().num_layers(2),
    );
    let (train, _) = with.forward(&x, None);
    let (plain, _) = without.forward(&x, None);
    assert!(
        train.sub(&plain).abs().max().item() > 1e-3,
        "dropout changed nothing in training"
    );
    with.eval();
    assert!(!with.is_training());
    assert_close(&with.forward(&x, None).0, &plain);
    // One layer: nothing to drop between.
    let mut g = Generator::new(6);
    let single: Lstm = Lstm::with_options(3, 8, RnnOptions::default().dropout(0.5), &mut g);
    let (a, _) = single.forward(&x, None);
    let (b, _) = single.forward(&x, None);
    assert_close(&a, &b);
}

fn copy_weights(lstm: &Lstm, layer: usize) -> nabla::nn::RecurrentWeights {
    let w = lstm.weights(layer, false);
    nabla::nn::RecurrentWeights::from_tensors(
        w.weight_ih.detach(),
        w.weight_hh.detach(),
        w.bias_ih.as_ref().map(Tensor::detach),
        w.bias_hh.as_ref().map(Tensor::detach),
    )
}

#[test]
fn converts_to_f64_and_describes_itself() {
    let options = bidirectional_two_layers().batch_first(true);
    let lstm: Lstm = Lstm::with_options(3, 4, options, &mut Generator::new(7));
    assert_eq!(
        Summarize::<f32>::describe(&lstm),
        "LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)"
    );
    let double = lstm.to_f64();
    let x = Tensor::<f64>::randn(&[2, 3, 3], &mut Generator::new(8));
    let (out64, _) = double.forward(&x, None);
    let (out32, _) = lstm.forward(&x.to_f32(), None);
    let diff = out64.sub(&out32.to_f64()).abs().max().item();
    assert!(diff < 1e-5, "f32 and f64 differ by {diff}");
    assert_eq!(
        names(&lstm),
        double
            .state_dict()
            .into_iter()
            .map(|(n, _)| n)
            .collect::<Vec<_>>()
    );
}

#[test]
#[should_panic(expected = "LSTM: input of shape [5, 2, 4] has 4 features where the layer takes 3")]
fn wrong_feature_count_is_named() {
    let lstm: Lstm = Lstm::new(3, 4, &mut Generator::new(0));
    lstm.forward(&Tensor::zeros(&[5, 2, 4]), None);
}

#[test]
#[should_panic(
    expected = "GRU: h0 of shape [1, 3, 4] does not match [layers * directions, batch, hidden] = [2, 3, 4]"
)]
fn wrong_state_shape_is_named() {
    let gru: Gru = Gru::with_options(
        3,
        4,
        RnnOptions::default().bidirectional(true),
        &mut Generator::new(0),
    );
    gru.forward(&Tensor::zeros(&[5, 3, 3]), Some(&Tensor::zeros(&[1, 3, 4])));
}

#[test]
#[should_panic(expected = "RNN: length 6 is outside 1..=5, the input's time steps")]
fn lengths_past_the_input_are_named() {
    let rnn: Rnn = Rnn::new(3, 4, &mut Generator::new(0));
    rnn.forward_padded(&Tensor::zeros(&[5, 2, 3]), &[6, 2], None);
}

#[test]
#[should_panic(expected = "Embedding: id 7 is out of range for a table of 5 embeddings")]
fn embedding_id_out_of_range_is_named() {
    let embedding: nabla::nn::Embedding = nabla::nn::Embedding::new(5, 2, &mut Generator::new(0));
    embedding.forward(&IndexTensor::from(vec![1, 7]));
}

/// A short learning test: the char-LSTM learns a repeating 7-character
/// text, its loss falling from ln(7) to near zero.
#[test]
fn char_lstm_learns_a_repeating_text() {
    let text: Vec<usize> = "abcdefg"
        .chars()
        .cycle()
        .take(400)
        .map(|c| c as usize - 'a' as usize)
        .collect();
    let config = CharLstmConfig {
        embedding_dim: 8,
        hidden_size: 32,
        num_layers: 2,
        ..CharLstmConfig::new(7)
    };
    let mut g = Generator::new(9);
    let model = char_lstm::<f32>(&config, &mut g);
    let mut optimizer = Adam::new(model.parameters(), AdamConfig::new(0.01));
    let (batch, steps) = (8, 16);
    let mut first = None;
    let mut last = 0.0;
    for _ in 0..60 {
        let starts: Vec<usize> = (0..batch).map(|_| g.below(text.len() - steps - 1)).collect();
        let window = |offset: usize| {
            let ids = starts
                .iter()
                .flat_map(|&s| text[s + offset..s + offset + steps].iter().copied());
            IndexTensor::from_vec(ids.collect(), &[batch, steps])
        };
        let logits = model.forward(&window(0));
        let targets = window(1).reshape(&[batch * steps]);
        let loss = cross_entropy(&logits.reshape(&[batch * steps, 7]), &targets);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        last = loss.item();
        first.get_or_insert(last);
    }
    let first = first.unwrap();
    assert!(
        (first - 7f32.ln()).abs() < 0.3,
        "the untrained loss {first} is not about ln 7"
    );
    assert!(last < 0.05, "the loss went from {first} to only {last}");
}

fn assert_close(a: &Tensor, b: &Tensor) {
    assert_eq!(a.shape(), b.shape());
    let diff = a.sub(b).abs().max().item();
    assert!(diff < 1e-6, "differ by {diff}:\n{a}\n{b}");
}
