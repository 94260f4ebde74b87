//! The skeleton every first-order optimizer shares: per-parameter state (a
//! step count and named buffers), its state dict in PyTorch's names, and the
//! loop that updates each parameter that has a gradient by one named
//! backend update.

use crate::backend::{self, ops::OptimizerUpdate};
use crate::element::Float;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The context that [`Error`]s from `load_state_dict` name.
const STATE_CONTEXT: &str = "optimizer state";

/// One parameter's state.
struct ParameterState<T: Float> {
    /// The steps this parameter has taken.
    step: f64,
    /// Buffers of the parameter's shape, in the order of the names.
    buffers: Vec<Tensor<T>>,
}

/// What an optimizer keeps for each of its parameters, named as in
/// PyTorch's `optimizer.state_dict()["state"]`: `state.{i}.step` (a scalar,
/// when the optimizer counts steps) and `state.{i}.{name}` for each buffer.
pub(super) struct OptimizerState<T: Float> {
    counts_steps: bool,
    buffer_names: Vec<&'static str>,
    /// True when every parameter has state from construction (Adagrad), so
    /// a loaded state must have it too.
    eager: bool,
    slots: Vec<Option<ParameterState<T>>>,
}

impl<T: Float> OptimizerState<T> {
    /// State created at each parameter's first step, with zeroed buffers.
    pub(super) fn lazy(parameter_count: usize, counts_steps: bool, buffer_names: Vec<&'static str>) -> Self {
        OptimizerState {
            counts_steps,
            buffer_names,
            eager: false,
            slots: (0..parameter_count).map(|_| None).collect(),
        }
    }

    /// State for every parameter from construction, at step 0 with buffers
    /// filled with `value`.
    pub(super) fn eager(
        parameters: &[Tensor<T>],
        counts_steps: bool,
        buffer_names: Vec<&'static str>,
        value: f64,
    ) -> Self {
        let slots = parameters
            .iter()
            .map(|p| {
                let buffers = buffer_names
                    .iter()
                    .map(|_| Tensor::full(p.shape(), T::from_f64(value)))
                    .collect();
                Some(ParameterState { step: 0.0, buffers })
            })
            .collect();
        OptimizerState {
            counts_steps,
            buffer_names,
            eager: true,
            slots,
        }
    }

    /// Updates every parameter that requires grad and has a gradient by
    /// `update(step, first_step)`, given its step count (this step
    /// included) and whether its state was created for this step. Frozen
    /// parameters and those without a gradient are skipped, as in PyTorch.
    ///
    /// # Panics
    /// If a gradient's shape is not its parameter's.
    pub(super) fn step(&mut self, parameters: &[Tensor<T>], update: impl Fn(f64, bool) -> OptimizerUpdate) {
        for (p, slot) in parameters.iter().zip(&mut self.slots) {
            if !p.is_requires_grad() {
                continue;
            }
            let Some(grad) = p.grad() else {
                continue;
            };
            assert!(
                grad.shape() == p.shape(),
                "optimizer: a gradient of shape {:?} cannot update a parameter of shape {:?}",
                grad.shape(),
                p.shape()
            );
            let first_step = slot.is_none();
            let names = &self.buffer_names;
            let s = slot.get_or_insert_with(|| ParameterState {
                step: 0.0,
                buffers: names.iter().map(|_| Tensor::zeros(p.shape())).collect(),
            });
            s.step += 1.0;
            backend::optimizer_update(&update(s.step, first_step), p, &grad, &s.buffers);
        }
    }

    /// The state as `(name, tensor)` pairs, parameter by parameter, each
    /// `step` first and then the buffers in order; copies, so later steps
    /// leave them alone.
    pub(super) fn state_dict(&self) -> Vec<(String, Tensor<T>)> {
        let mut out = Vec::new();
        for (i, s) in self.slots.iter().enumerate() {
            let Some(s) = s else { continue };
            if self.counts_steps {
                out.push((state_key(i, "step"), Tensor::scalar(T::from_f64(s.step))));
            }
            for (name, buffer) in self.buffer_names.iter().zip(&s.buffers) {
                out.push((state_key(i, name), backend::copy(buffer)));
            }
        }
        out
    }

    /// Replaces the state by `state` (copied), checked against the
    /// parameters: every entry must be named `state.{i}.{key}` with `i` a
    /// parameter's index and `key` one of this state's keys, appear once,
    /// and have the parameter's shape (a scalar for `step`); a parameter
    /// with any entry (every parameter, for eager state) must have all keys.
    ///
    /// # Errors
    /// Names the first entry that is unknown, duplicated, missing or of the
    /// wrong shape; the state is left unchanged then.
    pub(super) fn load_state_dict(
        &mut self,
        state: &[(String, Tensor<T>)],
        parameters: &[Tensor<T>],
    ) -> Result<()> {
        let mut keys: Vec<&str> = Vec::with_capacity(1 + self.buffer_names.len());
        if self.counts_steps {
            keys.push("step");
        }
        keys.extend(&self.buffer_names);
        let parsed = parse_state(state, parameters, &keys, self.eager)?;
        let counts_steps = self.counts_steps;
        self.slots = parsed
            .into_iter()
            .map(|entry| {
                entry.map(|tensors| {
                    let (step, buffers) = if counts_steps {
                        (tensors[0].item().as_f64(), &tensors[1..])
                    } else {
                        (0.0, &tensors[..])
                    };
                    ParameterState {
                        step,
                        buffers: buffers.iter().map(backend::copy).collect(),
                    }
                })
            })
            .collect();
        Ok(())
    }
}

/// PyTorch's name of a state entry: `state.{index}.{key}`.
fn state_key(index: usize, key: &str) -> String {
    format!("state.{index}.{key}")
}

/// Checks `state` against the parameters (see
/// [`OptimizerState::load_state_dict`]) and returns, per parameter, its
/// tensors in the order of `keys`, or `None` for a parameter with no state.
fn parse_state<T: Float>(
    state: &[(String, Tensor<T>)],
    parameters: &[Tensor<T>],
    keys: &[&str],
    every_parameter: bool,
) -> Result<Vec<Option<Vec<Tensor<T>>>>> {
    let mut slots: Vec<Vec<Option<Tensor<T>>>> = vec![vec![None; keys.len()]; parameters.len()];
    for (name, tensor) in state {
        let unexpected = || Error::UnexpectedTensor {
            context: STATE_CONTEXT.to_string(),
            name: name.clone(),
        };
        let rest = name.strip_prefix("state.").ok_or_else(unexpected)?;
        let (index, key) = rest.split_once('.').ok_or_else(unexpected)?;
        // Canonical decimal indices only ("01" names nothing).
        let index: usize = match index.parse() {
            Ok(i) if index == format!("{i}") => i,
            _ => return Err(unexpected()),
        };
        let k = keys.iter().position(|&k| k == key).ok_or_else(unexpected)?;
        let parameter = parameters.get(index).ok_or_else(unexpected)?;
        let expected: &[usize] = if key == "step" { &[] } else { parameter.shape() };
        if tensor.shape() != expected {
            return Err(Error::ShapeMismatch {
                context: STATE_CONTEXT.to_string(),
                name: name.clone(),
                expected: expected.to_vec(),
                found: tensor.shape().to_vec(),
            });
        }
        let slot = &mut slots[index][k];
        if slot.is_some() {
            return Err(Error::DuplicateTensor {
                context: STATE_CONTEXT.to_string(),
                name: name.clone(),
            });
        }
        *slot = Some(tensor.clone());
    }
    slots
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            if !every_parameter && entry.iter().all(Option::is_none) {
                return Ok(None);
            }
            entry
                .into_iter()
                .zip(keys)
                .map(|(t, key)| {
                    t.ok_or_else(|| Error::MissingTensor {
                        context: STATE_CONTEXT.to_string(),
                        name: state_key(i, key),
                    })
                })
                .collect::<Result<Vec<_>>>()
                .map(Some)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::optim::{Adam, AdamConfig, Optimizer, RmsProp, RmsPropConfig};
    use crate::tensor::Tensor;

    fn step_with_gradient_of_square(opt: &mut dyn Optimizer<f64>, w: &Tensor<f64>) {
        opt.zero_grad();
        (w * w).sum().backward();
        opt.step();
    }

    #[test]
    fn a_state_dict_is_a_snapshot_that_later_steps_leave_alone() {
        let w = Tensor::from_vec(vec![1.0f64, -2.0], &[2]).requires_grad();
        let mut opt = Adam::new(vec![w.clone()], AdamConfig::new(0.1));
        step_with_gradient_of_square(&mut opt, &w);
        let saved = opt.state_dict();
        let saved_values: Vec<Vec<f64>> = saved.iter().map(|(_, t)| t.to_vec()).collect();
        step_with_gradient_of_square(&mut opt, &w);
        let now: Vec<Vec<f64>> = saved.iter().map(|(_, t)| t.to_vec()).collect();
        assert_eq!(now, saved_values);
        assert_eq!(opt.state_dict()[0].1.item(), 2.0);
    }

    #[test]
    fn a_large_parameter_updated_in_parallel_chunks_matches_one_element_at_a_time() {
        // Three buffers (momentum and centered RMSprop), over more elements
        // than one chunk of the parallel update.
        let n = 3 * (1 << 14) + 5;
        let values: Vec<f64> = (0..n).map(|i| ((i % 97) as f64 - 48.0) / 7.0).collect();
        let config = RmsPropConfig::new(0.01).momentum(0.9).centered(true);
        let w = Tensor::from_vec(values.clone(), &[n]).requires_grad();
        let mut opt = RmsProp::new(vec![w.clone()], config);
        for _ in 0..2 {
            step_with_gradient_of_square(&mut opt, &w);
        }
        let got = w.to_vec();
        for i in [0, 1, 1 << 14, (1 << 15) + 3, n - 1] {
            let one = Tensor::from_vec(vec![values[i]], &[1]).requires_grad();
            let mut alone = RmsProp::new(vec![one.clone()], config);
            for _ in 0..2 {
                step_with_gradient_of_square(&mut alone, &one);
            }
            assert_eq!(got[i], one.item(), "element {i}");
        }
    }
}
