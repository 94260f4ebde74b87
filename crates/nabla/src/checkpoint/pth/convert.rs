//! A PyTorch checkpoint rewritten as a safetensors file (`nabla convert`).

use std::path::Path;

use super::PthFile;
use crate::checkpoint::mapped::format_error;
use crate::checkpoint::{write_atomic, Encoded};
use crate::error::Result;

/// What [`convert_to_safetensors`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conversion {
    /// The tensors written, in the checkpoint's order.
    pub tensors: Vec<String>,
    /// Their elements, summed.
    pub elements: u64,
    /// The `float16`/`bfloat16` tensors, written as `F32`.
    pub widened: Vec<String>,
    /// The checkpoint's values that are not tensors (not written).
    pub skipped: Vec<String>,
}

/// Writes the tensors of the PyTorch checkpoint `input` to a safetensors
/// file `output`, atomically, with the metadata `{"format": "pt"}`: each
/// tensor under its name in the checkpoint (see the [module docs](super)
/// for nested checkpoints), contiguous, in its own type, except `float16`
/// and `bfloat16`, which are widened to `F32` (exactly) because nabla
/// computes in `f32`. So `safetensors.torch.load_file` on the result gives
/// what `torch.load` gives, half-precision tensors as `float32`.
///
/// ```
/// use nabla::checkpoint::{load_tensors, pth::convert_to_safetensors};
/// let input = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pth/conv_bn.pth");
/// let output = std::env::temp_dir().join(format!("nabla_doc_convert_{}.safetensors", std::process::id()));
/// let done = convert_to_safetensors(input, &output)?;
/// assert_eq!(done.tensors.len(), 7);
/// assert_eq!(done.elements, 18 + 2 + 4 * 2 + 1);
/// let tensors = load_tensors::<f32>(&output)?;
/// assert!(tensors.iter().any(|(name, t)| name == "1.num_batches_tracked" && t.item() == 3.0));
/// # std::fs::remove_file(&output).unwrap();
/// # Ok::<(), nabla::Error>(())
/// ```
///
/// # Errors
/// As [`PthFile::open`] and [`PthFile::read`] for `input` (nothing is
/// written then); [`Error::Io`](crate::Error::Io) if `output` cannot be
/// written (it is then left as it was).
pub fn convert_to_safetensors(input: impl AsRef<Path>, output: impl AsRef<Path>) -> Result<Conversion> {
    let (input, output) = (input.as_ref(), output.as_ref());
    let file = PthFile::open(input)?;
    let mut done = Conversion {
        skipped: file.others().to_vec(),
        ..Conversion::default()
    };
    let mut encoded = Vec::new();
    for name in file.names() {
        let raw = file.read(&name)?;
        if raw.dtype.is_half() {
            done.widened.push(name.clone());
        }
        done.elements += raw.shape.iter().product::<usize>() as u64;
        encoded.push((
            name.clone(),
            Encoded {
                dtype: raw.dtype.safetensors(),
                shape: raw.shape,
                bytes: raw.dtype.to_safetensors_bytes(raw.data),
            },
        ));
        done.tensors.push(name);
    }
    let metadata = Some(std::collections::HashMap::from([(
        "format".to_string(),
        "pt".to_string(),
    )]));
    let bytes = safetensors::serialize(encoded, metadata)
        .map_err(|e| format_error(output, format!("cannot encode the tensors: {e}")))?;
    write_atomic(output, |w| w.write_all(&bytes))?;
    Ok(done)
}
