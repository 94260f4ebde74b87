//! The allow-list of the restricted unpickler: the only globals a pickle
//! may name, and what calling each one builds. Each is matched by its
//! module and name and then *interpreted* here (an `OrderedDict` becomes a
//! dict, `_rebuild_tensor_v2` a tensor record): no Python, and nothing of
//! the file's, ever runs. Every other global is refused by name.

use super::dtype::PthDtype;
use super::pickle::{Dict, Item, Machine, Object, TensorRecord};

/// A global the unpickler accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Global {
    /// `collections.OrderedDict`: a state dict.
    OrderedDict,
    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
    /// requires_grad, backward_hooks[, metadata])`: a tensor.
    RebuildTensor,
    /// `torch._utils._rebuild_parameter(data, requires_grad,
    /// backward_hooks)`: an `nn.Parameter`, read as its tensor.
    RebuildParameter,
    /// `torch._utils._rebuild_parameter_with_state(data, requires_grad,
    /// backward_hooks, state)`.
    RebuildParameterWithState,
    /// `torch._tensor._rebuild_from_type_v2(function, type, args, state)`:
    /// a tensor of a subclass, read as the tensor `function(*args)` builds.
    RebuildFromType,
    /// `torch.Tensor` or `torch.nn.parameter.Parameter`, as the type of
    /// `_rebuild_from_type_v2`.
    TensorType(&'static str),
    /// `torch.FloatStorage` and the other storage classes, in persistent ids.
    Storage(PthDtype),
    /// `_codecs.encode(text, "latin1")`: how protocol 2 writes `bytes`.
    Encode,
}

/// The storage classes, by their name in module `torch`.
const STORAGES: [&str; 11] = [
    "DoubleStorage",
    "FloatStorage",
    "HalfStorage",
    "BFloat16Storage",
    "LongStorage",
    "IntStorage",
    "ShortStorage",
    "CharStorage",
    "ByteStorage",
    "BoolStorage",
    "UntypedStorage",
];

/// The global `module.name`, if it is allowed.
///
/// # Errors
/// For any other global, naming it.
pub(crate) fn lookup(module: &str, name: &str) -> Result<Global, String> {
    let global = match (module, name) {
        ("collections", "OrderedDict") => Global::OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2") => Global::RebuildTensor,
        ("torch._utils", "_rebuild_parameter") => Global::RebuildParameter,
        ("torch._utils", "_rebuild_parameter_with_state") => Global::RebuildParameterWithState,
        ("torch._tensor", "_rebuild_from_type_v2") => Global::RebuildFromType,
        ("torch", "Tensor") => Global::TensorType("torch.Tensor"),
        ("torch.nn.parameter", "Parameter") => Global::TensorType("torch.nn.parameter.Parameter"),
        ("_codecs", "encode") => Global::Encode,
        ("torch" | "torch.storage", storage) if STORAGES.contains(&storage) => {
            Global::Storage(PthDtype::from_storage_class(storage).expect("a known storage class"))
        }
        _ => {
            return Err(format!(
                "refused global {module}.{name}: a checkpoint may only build tensors, dicts, lists, tuples \
                 and plain values (nabla's unpickler allows collections.OrderedDict, torch's tensor \
                 and parameter rebuilders and storage classes, and nothing that runs code)"
            ))
        }
    };
    Ok(global)
}

impl Global {
    /// Its Python name, for messages.
    pub(crate) fn name(self) -> String {
        match self {
            Self::OrderedDict => "collections.OrderedDict".into(),
            Self::RebuildTensor => "torch._utils._rebuild_tensor_v2".into(),
            Self::RebuildParameter => "torch._utils._rebuild_parameter".into(),
            Self::RebuildParameterWithState => "torch._utils._rebuild_parameter_with_state".into(),
            Self::RebuildFromType => "torch._tensor._rebuild_from_type_v2".into(),
            Self::TensorType(name) => name.into(),
            Self::Storage(dtype) => format!("a torch storage class ({dtype})"),
            Self::Encode => "_codecs.encode".into(),
        }
    }
}

/// `REDUCE`: what calling `callable` with `args` builds.
pub(crate) fn call(machine: &mut Machine, callable: &Item, args: Vec<Item>) -> Result<Item, String> {
    let Item::Global(global) = callable else {
        return Err("a call of something that is not an allowed function".to_string());
    };
    let arity = |n: std::ops::RangeInclusive<usize>| {
        if n.contains(&args.len()) {
            Ok(())
        } else {
            Err(format!("{} called with {} arguments", global.name(), args.len()))
        }
    };
    match global {
        Global::OrderedDict => {
            arity(0..=0)?;
            Ok(machine.new_object(Object::Dict(Dict::default())))
        }
        Global::RebuildTensor => {
            arity(6..=7)?;
            let record = rebuild_tensor(machine, &args)?;
            Ok(machine.new_object(Object::Tensor(record)))
        }
        Global::RebuildParameter | Global::RebuildParameterWithState => {
            arity(if *global == Global::RebuildParameter {
                3..=3
            } else {
                4..=4
            })?;
            tensor_argument(machine, &args[0], global)
        }
        Global::RebuildFromType => {
            arity(4..=4)?;
            if !matches!(args[1], Item::Global(Global::TensorType(_))) {
                return Err(format!(
                    "{} of a type other than torch.Tensor or torch.nn.Parameter",
                    global.name()
                ));
            }
            let inner = machine.tuple_items(&args[2], "the arguments of _rebuild_from_type_v2's function")?;
            let tensor = call(machine, &args[0], inner)?;
            tensor_argument(machine, &tensor, global)
        }
        Global::Encode => {
            arity(2..=2)?;
            let (Item::Str(text), Item::Str(encoding)) = (&args[0], &args[1]) else {
                return Err("_codecs.encode of something other than a string".to_string());
            };
            if !matches!(&**encoding, "latin1" | "latin-1") {
                return Err(format!("_codecs.encode to {encoding:?}: only latin1 is read"));
            }
            let bytes = text
                .chars()
                .map(|c| {
                    u8::try_from(u32::from(c))
                        .map_err(|_| "_codecs.encode of a non-latin1 string".to_string())
                })
                .collect::<Result<Vec<u8>, String>>()?;
            Ok(Item::Bytes(bytes.into()))
        }
        Global::TensorType(_) | Global::Storage(_) => {
            Err(format!("a call of {}: not allowed", global.name()))
        }
    }
}

/// `NEWOBJ`: `class.__new__(class, *args)`; only `OrderedDict()`.
pub(crate) fn construct(machine: &mut Machine, class: &Item, args: Vec<Item>) -> Result<Item, String> {
    match class {
        Item::Global(Global::OrderedDict) if args.is_empty() => {
            Ok(machine.new_object(Object::Dict(Dict::default())))
        }
        Item::Global(global) => Err(format!("constructing {} with NEWOBJ: not allowed", global.name())),
        _ => Err("constructing something that is not a class".to_string()),
    }
}

/// `BUILD`: setting an object's state. A state dict's `_metadata` (module
/// versions) and a tensor's Python attributes are not needed: accepted and
/// dropped. Other objects take no state.
pub(crate) fn build(machine: &Machine, target: &Item, _state: &Item) -> Result<(), String> {
    match machine.object(target) {
        Some(Object::Dict(_) | Object::Tensor(_)) => Ok(()),
        _ => Err("setting the state of something that is not a dict or a tensor".to_string()),
    }
}

/// The argument that must be a tensor, returned as it is.
fn tensor_argument(machine: &Machine, item: &Item, of: &Global) -> Result<Item, String> {
    match machine.object(item) {
        Some(Object::Tensor(_)) => Ok(item.clone()),
        _ => Err(format!("{} of something that is not a tensor", of.name())),
    }
}

/// `_rebuild_tensor_v2`'s storage, offset, size and stride.
fn rebuild_tensor(machine: &Machine, args: &[Item]) -> Result<TensorRecord, String> {
    let Some(Object::Storage(storage)) = machine.object(&args[0]) else {
        return Err("_rebuild_tensor_v2 of something that is not a storage".to_string());
    };
    let offset = non_negative(&args[1], "storage offset")?;
    let sizes = |item: &Item, what: &str| -> Result<Vec<usize>, String> {
        machine
            .tuple_items(item, &format!("the tensor's {what}s"))?
            .iter()
            .map(|i| non_negative(i, what))
            .collect()
    };
    let shape = sizes(&args[2], "size")?;
    let strides = sizes(&args[3], "stride")?;
    if shape.len() != strides.len() {
        return Err(format!(
            "a tensor of {} sizes and {} strides",
            shape.len(),
            strides.len()
        ));
    }
    Ok(TensorRecord {
        storage: storage.clone(),
        offset,
        shape,
        strides,
    })
}

fn non_negative(item: &Item, what: &str) -> Result<usize, String> {
    match item {
        Item::Int(i) => usize::try_from(*i).map_err(|_| format!("a tensor's {what} of {i}")),
        _ => Err(format!("a tensor's {what} that is not an integer")),
    }
}
