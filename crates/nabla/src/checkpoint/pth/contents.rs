//! A checkpoint's object as named tensors: nested dicts, lists and tuples
//! are walked and their tensors named by their path, joined with dots, as
//! PyTorch names a state dict's entries (`{"model": {"fc.weight": t}}`
//! gives `model.fc.weight`, a list's items are `0`, `1`, ...). The plain
//! values met on the way (an epoch, a learning rate) are kept by name too.

use std::collections::HashSet;

use super::pickle::{TensorRecord, Value};

/// The tensors and other values of a checkpoint, by name, in the order of
/// the pickle (a state dict's order).
#[derive(Debug, Default)]
pub(crate) struct Contents {
    pub tensors: Vec<(String, TensorRecord)>,
    /// The names of the values that are not tensors.
    pub others: Vec<String>,
}

/// The name of a checkpoint that is one tensor (`torch.save(tensor)`).
pub(crate) const LONE_TENSOR: &str = "tensor";

/// Walks `root`.
///
/// # Errors
/// A message for a dict key that is not a string or an integer, or two
/// tensors with the same dotted name (`{"a.b": t, "a": {"b": u}}`).
pub(crate) fn contents(root: Value) -> Result<Contents, String> {
    let mut out = Contents::default();
    match root {
        Value::Tensor(t) => out.tensors.push((LONE_TENSOR.to_string(), t)),
        other => walk(other, "", &mut out)?,
    }
    let mut seen = HashSet::new();
    for (name, _) in &out.tensors {
        if !seen.insert(name.as_str()) {
            return Err(format!(
                "two tensors are both named {name:?} once the checkpoint's nesting is joined with dots"
            ));
        }
    }
    Ok(out)
}

fn walk(value: Value, name: &str, out: &mut Contents) -> Result<(), String> {
    let child = |key: &str| {
        if name.is_empty() {
            key.to_string()
        } else {
            format!("{name}.{key}")
        }
    };
    match value {
        Value::Dict(entries) => {
            for (key, value) in entries {
                let key = match key {
                    Value::Str(s) => s,
                    Value::Int(i) => i.to_string(),
                    other => {
                        return Err(format!(
                            "a dict key {other:?} under {name:?}: not a string or an integer"
                        ))
                    }
                };
                walk(value, &child(&key), out)?;
            }
        }
        Value::List(items) | Value::Tuple(items) => {
            for (i, item) in items.into_iter().enumerate() {
                walk(item, &child(&i.to_string()), out)?;
            }
        }
        Value::Tensor(t) => out.tensors.push((name.to_string(), t)),
        _ => out.others.push(name.to_string()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::dtype::PthDtype;
    use super::super::pickle::StorageRecord;
    use super::*;

    fn tensor() -> Value {
        Value::Tensor(TensorRecord {
            storage: StorageRecord {
                key: "0".into(),
                dtype: PthDtype::F32,
                numel: 1,
            },
            offset: 0,
            shape: vec![],
            strides: vec![],
        })
    }

    #[test]
    fn nesting_becomes_dotted_names() {
        let root = Value::Dict(vec![
            (
                Value::Str("model".into()),
                Value::Dict(vec![(Value::Str("fc.weight".into()), tensor())]),
            ),
            (Value::Str("epoch".into()), Value::Int(3)),
            (
                Value::Str("state".into()),
                Value::Dict(vec![(Value::Int(0), Value::List(vec![tensor(), Value::None]))]),
            ),
        ]);
        let c = contents(root).unwrap();
        let names: Vec<&str> = c.tensors.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["model.fc.weight", "state.0.0"]);
        assert_eq!(c.others, ["epoch", "state.0.1"]);
        assert_eq!(contents(tensor()).unwrap().tensors[0].0, LONE_TENSOR);
    }

    #[test]
    fn names_that_collide_once_joined_are_refused() {
        let root = Value::Dict(vec![
            (Value::Str("a.b".into()), tensor()),
            (
                Value::Str("a".into()),
                Value::Dict(vec![(Value::Str("b".into()), tensor())]),
            ),
        ]);
        assert!(contents(root).unwrap_err().contains("\"a.b\""));
        let float_key = Value::Dict(vec![(Value::Float(1.5), tensor())]);
        assert!(contents(float_key).is_err());
    }
}
