//! `#[derive(Module)]`: every parameter, buffer and submodule field is
//! found from the struct's types, with PyTorch's state-dict names, without
//! a list written by hand.

use nabla::autograd::{gradcheck, GradcheckOptions};
use nabla::checkpoint::{load_module, save_module};
use nabla::nn::{Dropout, Layer, Linear, Module, Relu, Sequential, Summarize, ToDtype};
use nabla::{Float, Generator, Tensor};

/// A user-defined model: a `Linear` field, a `Vec` of layers, a bare
/// parameter, a buffer, an optional child, plain data and a training flag.
#[derive(Module)]
struct Net<T: Float> {
    fc: Linear<T>,
    blocks: Vec<Linear<T>>,
    scale: Tensor<T>,
    #[module(buffer)]
    calls: Tensor<T>,
    head: Option<Linear<T>>,
    dropout: Dropout<T>,
    width: usize,
    label: String,
    #[module(training)]
    training: bool,
}

impl<T: Float> Net<T> {
    fn new(width: usize, head: bool, generator: &mut Generator) -> Self {
        Net {
            fc: Linear::new(3, width, true, generator),
            blocks: (0..2)
                .map(|_| Linear::new(width, width, false, generator))
                .collect(),
            scale: Tensor::ones(&[width]).requires_grad(),
            calls: Tensor::zeros(&[1]),
            head: head.then(|| Linear::new(width, 2, true, generator)),
            dropout: Dropout::new(0.5, 1),
            width,
            label: "net".to_string(),
            training: true,
        }
    }
}

impl<T: Float> Layer<T> for Net<T> {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        let x = self
            .blocks
            .iter()
            .fold(self.fc.forward(input).tanh(), |x, b| b.forward(&x).tanh());
        let x = &self.dropout.forward(&x) * &self.scale;
        match &self.head {
            Some(head) => head.forward(&x),
            None => x,
        }
    }
}

fn names<T: Float>(m: &dyn Module<T>) -> Vec<String> {
    m.state_dict().into_iter().map(|(n, _)| n).collect()
}

#[test]
fn fields_get_pytorch_names_without_a_list() {
    let net = Net::<f32>::new(4, true, &mut Generator::new(0));
    assert_eq!(
        names(&net),
        [
            "scale",
            "calls",
            "fc.weight",
            "fc.bias",
            "blocks.0.weight",
            "blocks.1.weight",
            "head.weight",
            "head.bias"
        ]
    );
    let parameters: Vec<String> = net.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert!(
        !parameters.contains(&"calls".to_string()),
        "a buffer is not a parameter"
    );
    assert_eq!(net.num_parameters(), 4 + (3 * 4 + 4) + 2 * 16 + (4 * 2 + 2));
    assert_eq!(net.named_buffers()[0].0, "calls");

    // An absent optional child has no entries.
    let headless = Net::<f32>::new(4, false, &mut Generator::new(0));
    assert!(names(&headless).iter().all(|n| !n.starts_with("head")));
}

#[test]
fn train_and_eval_reach_the_flag_and_every_child() {
    let mut net = Net::<f32>::new(4, true, &mut Generator::new(0));
    assert!(net.is_training() && net.dropout.is_training());
    net.eval();
    assert!(!net.training && !net.dropout.is_training());
    let x = Tensor::ones(&[2, 3]);
    assert_eq!(
        net.forward(&x).to_vec(),
        net.forward(&x).to_vec(),
        "eval mode drops nothing"
    );
    net.train(true);
    assert!(net.training && net.dropout.is_training());
}

#[test]
fn a_derived_model_saves_and_loads_back() {
    let net = Net::<f32>::new(4, true, &mut Generator::new(0));
    net.calls.update_data(|d| d[0] = 7.0);
    let path = std::env::temp_dir().join(format!("nabla_derive_module_{}.safetensors", std::process::id()));
    save_module(&net, &path).unwrap();
    let restored = Net::<f32>::new(4, true, &mut Generator::new(1));
    assert_ne!(restored.blocks[1].weight.to_vec(), net.blocks[1].weight.to_vec());
    let report = load_module(&restored, &path, true).unwrap();
    assert_eq!(report.loaded.len(), 8);
    for ((name, a), (_, b)) in net.state_dict().iter().zip(restored.state_dict()) {
        assert_eq!(a.to_vec(), b.to_vec(), "{name}");
    }
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn to_f64_runs_the_architecture_in_double_precision() {
    let mut net = Net::<f32>::new(3, true, &mut Generator::new(5));
    net.eval();
    let double: Net<f64> = net.to_f64();
    assert!(!double.training, "the training flag is copied");
    assert_eq!(names(&double), names(&net));
    for ((name, a), (_, b)) in net.state_dict().iter().zip(double.state_dict()) {
        let widened: Vec<f64> = a.to_vec().iter().map(|&v| v as f64).collect();
        assert_eq!(widened, b.to_vec(), "{name}");
        assert_eq!(a.is_requires_grad(), b.is_requires_grad(), "{name}");
        assert!(b.is_leaf(), "{name} is a new leaf");
    }
    let x = Tensor::<f64>::randn(&[2, 3], &mut Generator::new(6)).requires_grad();
    gradcheck(
        |inputs| double.forward(&inputs[0]).sum(),
        &[x],
        &GradcheckOptions::default(),
    )
    .unwrap();
    let back: Net<f32> = double.to_f32();
    assert_eq!(back.fc.weight.to_vec(), net.fc.weight.to_vec());
}

/// Tuple structs, arrays of children, boxed layers and a unit struct.
#[derive(Module)]
struct Pair<T: Float>(Linear<T>, [Linear<T>; 2]);

#[derive(Module)]
struct Boxed<T: Float> {
    layers: Vec<Box<dyn Layer<T>>>,
    last: Box<dyn Layer<T>>,
}

#[derive(Module, Clone, Copy)]
struct Square;

impl<T: Float> Layer<T> for Square {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        input.square()
    }
}

#[test]
fn tuple_fields_arrays_boxes_and_stateless_structs() {
    let mut g = Generator::new(2);
    let pair = Pair::<f32>(
        Linear::new(2, 2, false, &mut g),
        [Linear::new(2, 2, false, &mut g), Linear::new(2, 2, false, &mut g)],
    );
    assert_eq!(names(&pair), ["0.weight", "1.0.weight", "1.1.weight"]);
    assert_eq!(names(&pair.to_f64()), names(&pair));

    let boxed = Boxed::<f32> {
        layers: vec![Box::new(Linear::new(2, 2, true, &mut g)), Box::new(Relu)],
        last: Box::new(Linear::new(2, 1, false, &mut g)),
    };
    assert_eq!(names(&boxed), ["layers.0.weight", "layers.0.bias", "last.weight"]);

    // A struct without tensors or modules is a module of every element type.
    assert!(Module::<f64>::state_dict(&Square).is_empty());
    assert_eq!(Summarize::<f32>::describe(&Square), "Square");
    let chain: Sequential<f64> = Sequential::new().add(Square).add(Square);
    assert_eq!(chain.forward(&Tensor::scalar(2.0)).item(), 16.0);
    assert_eq!(chain.to_f32().forward(&Tensor::scalar(2.0)).item(), 16.0);
}

/// A module whose forward takes two tensors and returns a tuple: a plain
/// `Module` with an inherent `forward`, as recurrent cells and attention are.
#[derive(Module)]
struct GatedCell<T: Float> {
    input: Linear<T>,
    hidden: Linear<T>,
}

impl<T: Float> GatedCell<T> {
    /// `x [B, F]`, `h [B, F]` -> `(h' [B, F], gate [B, F])`.
    fn forward(&self, x: &Tensor<T>, h: &Tensor<T>) -> (Tensor<T>, Tensor<T>) {
        let gate = (&self.input.forward(x) + &self.hidden.forward(h)).sigmoid();
        let next = &(&gate * h) + &(&(-&gate).add_scalar(T::one()) * &x.tanh());
        (next, gate)
    }
}

#[test]
fn a_module_with_a_two_tensor_forward_has_names_gradients_and_a_state_dict() {
    let mut g = Generator::new(3);
    let cell = GatedCell::<f64> {
        input: Linear::new(4, 4, true, &mut g),
        hidden: Linear::new(4, 4, false, &mut g),
    };
    assert_eq!(names(&cell), ["input.weight", "input.bias", "hidden.weight"]);

    let x = Tensor::<f64>::randn(&[2, 4], &mut g);
    let h = Tensor::<f64>::randn(&[2, 4], &mut g);
    let (next, gate) = cell.forward(&x, &h);
    assert_eq!((next.shape(), gate.shape()), (&[2, 4][..], &[2, 4][..]));
    next.sum().backward();
    for (name, p) in cell.named_parameters() {
        let grad = p.grad().unwrap_or_else(|| panic!("{name} got no gradient"));
        assert!(
            grad.to_vec().iter().any(|&v| v != 0.0),
            "{name}'s gradient is zero"
        );
    }

    let path = std::env::temp_dir().join(format!("nabla_gated_cell_{}.safetensors", std::process::id()));
    save_module(&cell, &path).unwrap();
    let restored = GatedCell::<f64> {
        input: Linear::new(4, 4, true, &mut g),
        hidden: Linear::new(4, 4, false, &mut g),
    };
    load_module(&restored, &path, true).unwrap();
    assert_eq!(restored.forward(&x, &h).0.to_vec(), next.to_vec());
    std::fs::remove_file(&path).unwrap();
}
