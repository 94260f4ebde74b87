//! What an optimizer's state in a file may declare, checked against the
//! optimizer's parameters from the header alone, before any tensor is read:
//! so a file declaring tensors bigger than the parameters, or more of them
//! than any optimizer keeps, is refused without reading its data.

use std::collections::HashMap;

use super::MappedSafetensors;
use crate::element::Float;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The most state tensors one parameter may have in a file. nabla's and
/// PyTorch's optimizers keep at most 4 (Adam with AMSGrad: `step`,
/// `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`); the bound only stops a file
/// from declaring any number of parameter-sized tensors.
const MAX_STATE_TENSORS_PER_PARAMETER: usize = 16;

/// Checks the optimizer-state tensors `entries` of `file`, each given as
/// its name in the file and its name in the optimizer's state dict
/// (`state.{index}.{key}`), against `parameters`: the index must be a
/// parameter's, the shape that parameter's or a scalar (a step count), and
/// no parameter may have more than 16 entries. Whether the keys are the
/// optimizer's is left to its `load_state_dict`.
///
/// # Errors
/// [`Error::UnexpectedTensor`] for a name that is not of that form or an
/// index beyond the parameters, [`Error::ShapeMismatch`] for a shape that
/// is neither, [`Error::Format`] for too many entries; each names the file
/// (as `"{file} (optimizer state)"`) and the tensor as the file names it.
pub(crate) fn check_optimizer_state<'a, T: Float>(
    file: &MappedSafetensors,
    entries: impl IntoIterator<Item = (&'a str, &'a str)>,
    parameters: &[Tensor<T>],
) -> Result<()> {
    // As the optimizer's own errors read once the file is named.
    let context = || format!("{} (optimizer state)", file.path().display());
    let mut per_parameter: HashMap<usize, usize> = HashMap::new();
    for (in_file, in_state) in entries {
        let unexpected = || Error::UnexpectedTensor {
            context: context(),
            name: in_file.to_string(),
        };
        let index = in_state
            .strip_prefix("state.")
            .and_then(|rest| rest.split_once('.'))
            .and_then(|(index, _)| index.parse::<usize>().ok())
            .ok_or_else(unexpected)?;
        let parameter = parameters.get(index).ok_or_else(unexpected)?;
        let shape = &file.info(in_file).ok_or_else(unexpected)?.shape;
        if !shape.is_empty() && shape.as_slice() != parameter.shape() {
            return Err(Error::ShapeMismatch {
                context: context(),
                name: in_file.to_string(),
                expected: parameter.shape().to_vec(),
                found: shape.clone(),
            });
        }
        let count = per_parameter.entry(index).or_default();
        *count += 1;
        if *count > MAX_STATE_TENSORS_PER_PARAMETER {
            return Err(Error::Format {
                path: file.path().to_path_buf(),
                message: format!(
                    "tensor {in_file:?}: more than {MAX_STATE_TENSORS_PER_PARAMETER} optimizer-state \
                     tensors for parameter {index}; no optimizer keeps that many"
                ),
            });
        }
    }
    Ok(())
}
