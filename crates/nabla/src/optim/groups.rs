//! [`ParamGroups`]: several optimizers of one kind over disjoint parameter
//! lists, stepped as one, as PyTorch's parameter groups.

use crate::element::Float;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

use super::Optimizer;

/// Optimizers over disjoint lists of parameters that step, schedule and
/// save as one, as PyTorch's parameter groups: the usual use is AdamW with
/// weight decay on the weight matrices and none on biases and norms, as
/// nanoGPT's `configure_optimizers`.
///
/// The parameters are the groups' in order, and the state dict numbers them
/// across the groups (`state.{i}.{name}` with `i` counting from the first
/// group's first parameter), as PyTorch's `Optimizer.state_dict()`.
/// Setting the learning rate sets every group's; [`learning_rate`] is the
/// first group's.
///
/// ```
/// use nabla::optim::{AdamW, AdamWConfig, Optimizer, ParamGroups};
/// use nabla::Tensor;
/// let (w, b) = (Tensor::<f32>::ones(&[2, 2]).requires_grad(), Tensor::<f32>::ones(&[2]).requires_grad());
/// let mut opt = ParamGroups::new(vec![
///     Box::new(AdamW::new(vec![w.clone()], AdamWConfig::new(0.1).weight_decay(0.1))),
///     Box::new(AdamW::new(vec![b.clone()], AdamWConfig::new(0.1).weight_decay(0.0))),
/// ]);
/// opt.zero_grad();
/// ((&w * &w).sum() + (&b * &b).sum()).backward();
/// opt.step();
/// let names: Vec<String> = opt.state_dict().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names[3], "state.1.step");
/// opt.set_learning_rate(0.01);
/// assert_eq!(opt.learning_rate(), 0.01);
/// ```
///
/// [`learning_rate`]: Optimizer::learning_rate
pub struct ParamGroups<T: Float = f32> {
    groups: Vec<Box<dyn Optimizer<T>>>,
    parameters: Vec<Tensor<T>>,
}

impl<T: Float> ParamGroups<T> {
    /// The groups, in order.
    ///
    /// # Panics
    /// If there is no group.
    pub fn new(groups: Vec<Box<dyn Optimizer<T>>>) -> Self {
        assert!(!groups.is_empty(), "ParamGroups: needs at least one group");
        let parameters = groups.iter().flat_map(|g| g.parameters().to_vec()).collect();
        ParamGroups { groups, parameters }
    }

    /// The index of each group's first parameter.
    fn offsets(&self) -> Vec<usize> {
        self.groups
            .iter()
            .scan(0, |start, g| {
                let first = *start;
                *start += g.parameters().len();
                Some(first)
            })
            .collect()
    }
}

/// `state.{i}.{rest}` as `(i, rest)`.
fn split_key(name: &str) -> Option<(usize, &str)> {
    let rest = name.strip_prefix("state.")?;
    let (index, key) = rest.split_once('.')?;
    Some((index.parse().ok()?, key))
}

impl<T: Float> Optimizer<T> for ParamGroups<T> {
    fn step(&mut self) {
        for g in &mut self.groups {
            g.step();
        }
    }

    fn parameters(&self) -> &[Tensor<T>] {
        &self.parameters
    }

    fn learning_rate(&self) -> f64 {
        self.groups[0].learning_rate()
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        for g in &mut self.groups {
            g.set_learning_rate(learning_rate);
        }
    }

    fn state_dict(&self) -> Vec<(String, Tensor<T>)> {
        let offsets = self.offsets();
        let mut out = Vec::new();
        for (g, offset) in self.groups.iter().zip(offsets) {
            for (name, tensor) in g.state_dict() {
                let (i, key) = split_key(&name).expect("optimizer state names are state.{i}.{key}");
                out.push((format!("state.{}.{key}", i + offset), tensor));
            }
        }
        out
    }

    fn load_state_dict(&mut self, state: &[(String, Tensor<T>)]) -> Result<()> {
        let offsets = self.offsets();
        let total = self.parameters.len();
        let mut per_group: Vec<Vec<(String, Tensor<T>)>> = vec![Vec::new(); self.groups.len()];
        for (name, tensor) in state {
            let Some((i, key)) = split_key(name).filter(|&(i, _)| i < total) else {
                return Err(Error::UnexpectedTensor {
                    context: "optimizer state".into(),
                    name: name.clone(),
                });
            };
            let group = offsets.partition_point(|&start| start <= i) - 1;
            per_group[group].push((format!("state.{}.{key}", i - offsets[group]), tensor.clone()));
        }
        // A group that refuses its part is left unchanged; the groups loaded
        // before it get their old state back, so an error changes nothing.
        let before: Vec<_> = self.groups.iter().map(|g| g.state_dict()).collect();
        for (k, part) in per_group.into_iter().enumerate() {
            if let Err(e) = self.groups[k].load_state_dict(&part) {
                for (g, old) in self.groups[..k].iter_mut().zip(&before) {
                    g.load_state_dict(old).expect("a group's own state loads back");
                }
                return Err(e);
            }
        }
        Ok(())
    }
}
