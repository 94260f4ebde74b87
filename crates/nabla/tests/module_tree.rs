//! Modules whose forward is not one tensor to one tensor: a parameter tree
//! with names, saving and training, and a forward of its own signature.

use nabla::checkpoint::{load_module, save_module};
use nabla::nn::{Layer, Linear, Module};
use nabla::{Float, Generator, Tensor};

/// A gated cell, as recurrent cells are: `forward(x, h)` returns the new
/// state and the gate, so it cannot be a single-tensor `Layer`.
struct GatedCell<T: Float> {
    input: Linear<T>,
    hidden: Linear<T>,
}

impl<T: Float> GatedCell<T> {
    fn new(features: usize, generator: &mut Generator) -> Self {
        GatedCell {
            input: Linear::new(features, features, true, generator),
            hidden: Linear::new(features, features, false, generator),
        }
    }

    /// `x [B, F]`, `h [B, F]` -> `(h' [B, F], gate [B, F])`.
    fn forward(&self, x: &Tensor<T>, h: &Tensor<T>) -> (Tensor<T>, Tensor<T>) {
        let gate = (&self.input.forward(x) + &self.hidden.forward(h)).sigmoid();
        let next = &(&gate * h) + &(&(-&gate).add_scalar(T::one()) * &x.tanh());
        (next, gate)
    }
}

impl<T: Float> Module<T> for GatedCell<T> {
    fn children(&self) -> Vec<(String, &dyn Module<T>)> {
        vec![
            ("input".to_string(), &self.input),
            ("hidden".to_string(), &self.hidden),
        ]
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module<T>)> {
        vec![
            ("input".to_string(), &mut self.input),
            ("hidden".to_string(), &mut self.hidden),
        ]
    }
}

#[test]
fn a_module_with_a_two_tensor_forward_has_names_gradients_and_a_state_dict() {
    let mut g = Generator::new(3);
    let cell = GatedCell::<f64>::new(4, &mut g);
    let names: Vec<String> = cell.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["input.weight", "input.bias", "hidden.weight"]);

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

    let path = std::env::temp_dir().join(format!("nabla_module_tree_{}.safetensors", std::process::id()));
    save_module(&cell, &path).unwrap();
    let restored = GatedCell::<f64>::new(4, &mut Generator::new(99));
    assert_ne!(restored.hidden.weight.to_vec(), cell.hidden.weight.to_vec());
    load_module(&restored, &path, true).unwrap();
    assert_eq!(restored.hidden.weight.to_vec(), cell.hidden.weight.to_vec());
    assert_eq!(restored.forward(&x, &h).0.to_vec(), next.to_vec());
    std::fs::remove_file(&path).unwrap();
}
