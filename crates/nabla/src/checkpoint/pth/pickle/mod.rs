//! A restricted unpickler: Python's pickle machine for the opcodes of
//! protocols 2 to 5 that `torch.save` and `pickle.dump` write for data,
//! building only plain values, lists, tuples, (ordered) dicts, and tensors
//! over storages. A global (`GLOBAL`, `STACK_GLOBAL`) is looked up in the
//! allow-list of [`super::allowed`] the moment it is read, and anything else
//! (`posix.system`, `builtins.eval`, any class) is refused with an error
//! naming it: nothing in the file is ever called, only recognised.
//!
//! Python's memo shares objects: a list fetched from the memo and appended
//! to is the same list everywhere. So the containers live in an arena and
//! the stack and the memo hold their indices; the result is copied out of
//! the arena as a tree at the end, with a bound on its depth and size (a
//! pickle can share one list many times over, or put a list inside itself).

use std::collections::HashMap;
use std::rc::Rc;

mod machine;

use super::allowed::Global;
use super::dtype::PthDtype;
pub(crate) use machine::Machine;

/// A value read from a pickle.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An integer beyond `i64` (`LONG1`/`LONG4`): its little-endian two's
    /// complement bytes, as in the pickle.
    BigInt(Vec<u8>),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Value>),
    Tuple(Vec<Value>),
    /// A `dict` or a `collections.OrderedDict`, in insertion order.
    Dict(Vec<(Value, Value)>),
    Tensor(TensorRecord),
    Storage(StorageRecord),
    /// An allowed global used as a value (a storage class, say).
    Global(String),
}

/// Where a tensor's elements are: a storage and a strided view of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TensorRecord {
    pub storage: StorageRecord,
    /// In elements of the storage.
    pub offset: usize,
    pub shape: Vec<usize>,
    /// In elements; PyTorch's strides are never negative.
    pub strides: Vec<usize>,
}

/// A storage: `torch.save`'s persistent id `('storage', torch.FloatStorage,
/// key, location, numel)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StorageRecord {
    /// Its name in the archive (`data/{key}`) or the legacy format.
    pub key: String,
    pub dtype: PthDtype,
    /// Its length in elements.
    pub numel: u64,
}

/// Reads one pickle from the start of `bytes`, to its `STOP`; returns the
/// value and the number of bytes the pickle took.
///
/// # Errors
/// A message naming the refused global, the unsupported opcode or the
/// malformed part, with its byte offset.
pub(crate) fn unpickle(bytes: &[u8]) -> Result<(Value, usize), String> {
    let mut machine = Machine::new(bytes);
    let item = machine.run()?;
    machine.finish(&item)
}

/// A value on the stack or in the memo: plain values inline, containers and
/// tensors by their index in the arena.
#[derive(Clone, Debug)]
pub(crate) enum Item {
    None,
    Bool(bool),
    Int(i64),
    BigInt(Rc<[u8]>),
    Float(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    Global(Global),
    Object(usize),
}

/// What the arena holds.
#[derive(Debug)]
pub(crate) enum Object {
    List(Vec<Item>),
    Tuple(Vec<Item>),
    Dict(Dict),
    Tensor(TensorRecord),
    Storage(StorageRecord),
}

/// A dict in insertion order, indexed by key as Python's dicts are.
#[derive(Debug, Default)]
pub(crate) struct Dict {
    pub(super) entries: Vec<(Item, Item)>,
    index: HashMap<Key, usize>,
}

/// A dict key: what Python hashes equal (`True == 1`) is one key.
#[derive(Debug, PartialEq, Eq, Hash)]
enum Key {
    None,
    Int(i64),
    Str(Rc<str>),
}

impl Dict {
    pub(super) fn insert(&mut self, key: Item, value: Item) -> Result<(), String> {
        let hashed = match &key {
            Item::None => Key::None,
            Item::Bool(b) => Key::Int(i64::from(*b)),
            Item::Int(i) => Key::Int(*i),
            Item::Str(s) => Key::Str(s.clone()),
            other => {
                return Err(format!(
                    "a dict key that is {}: only strings, integers and None are read",
                    kind(other)
                ))
            }
        };
        match self.index.get(&hashed) {
            Some(&at) => self.entries[at].1 = value,
            None => {
                self.index.insert(hashed, self.entries.len());
                self.entries.push((key, value));
            }
        }
        Ok(())
    }
}

/// A short description of an item, for messages.
pub(super) fn kind(item: &Item) -> &'static str {
    match item {
        Item::None => "None",
        Item::Bool(_) => "a bool",
        Item::Int(_) | Item::BigInt(_) => "an int",
        Item::Float(_) => "a float",
        Item::Str(_) => "a string",
        Item::Bytes(_) => "bytes",
        Item::Global(_) => "a class or function",
        Item::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<Value, String> {
        unpickle(bytes).map(|(v, _)| v)
    }

    #[test]
    fn plain_values_and_containers_are_built() {
        // pickle.dumps({"a": [1, -2, 3.5, None, True], "b": ("x", 70000, 2**40)}, protocol=2)
        let bytes = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01J\xfe\xff\xff\xffG@\x0c\x00\x00\x00\x00\x00\x00N\x88eX\x01\x00\x00\x00bq\x03X\x01\x00\x00\x00xq\x04Jp\x11\x01\x00\x8a\x06\x00\x00\x00\x00\x00\x01\x87q\x05u.";
        let (value, used) = unpickle(bytes).unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(
            value,
            Value::Dict(vec![
                (
                    Value::Str("a".into()),
                    Value::List(vec![
                        Value::Int(1),
                        Value::Int(-2),
                        Value::Float(3.5),
                        Value::None,
                        Value::Bool(true)
                    ])
                ),
                (
                    Value::Str("b".into()),
                    Value::Tuple(vec![
                        Value::Str("x".into()),
                        Value::Int(70000),
                        Value::Int(1 << 40)
                    ])
                ),
            ])
        );
    }

    #[test]
    fn memo_entries_share_one_object() {
        // l = []; pickle.dumps([l, l], protocol=2) with l appended to after
        // its first use, as ]q\x00 ... h\x00 then APPEND to the first copy:
        // PROTO, EMPTY_LIST(outer), MARK, EMPTY_LIST q1, BINGET 1, APPENDS,
        // then BINGET 1, K 7, APPEND: the inner list gets 7 in both places.
        let bytes = b"\x80\x02]q\x00(]q\x01h\x01eh\x01K\x07a0.";
        assert_eq!(
            read(bytes).unwrap(),
            Value::List(vec![
                Value::List(vec![Value::Int(7)]),
                Value::List(vec![Value::Int(7)])
            ])
        );
    }

    #[test]
    fn a_list_inside_itself_is_refused() {
        // l = []; l.append(l)
        let bytes = b"\x80\x02]q\x00h\x00a.";
        assert!(read(bytes).unwrap_err().contains("nested more than"));
    }

    #[test]
    fn sharing_that_would_expand_exponentially_is_refused() {
        // Each list holds the previous one twice: 2^40 values once copied.
        let mut bytes = b"\x80\x02N".to_vec();
        for _ in 0..40 {
            bytes.extend_from_slice(b"q\x00h\x00\x86");
        }
        bytes.push(b'.');
        assert!(read(&bytes).unwrap_err().contains("once shared parts are copied"));
    }

    #[test]
    fn globals_outside_the_allow_list_are_refused_by_name() {
        // pickle.dumps of an object whose __reduce__ is os.system, protocol 2.
        let system = b"\x80\x02cposix\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03.";
        let message = read(system).unwrap_err();
        assert!(message.contains("posix.system"), "{message}");
        // Protocol 4 names it with STACK_GLOBAL.
        let eval = b"\x80\x04\x95\x1d\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94\x8c\x011\x94\x85\x94R\x94.";
        let message = read(eval).unwrap_err();
        assert!(message.contains("builtins.eval"), "{message}");
    }

    #[test]
    fn malformed_pickles_are_errors_not_panics() {
        let cases: &[&[u8]] = &[
            b"",
            b"\x80\x02",
            b"\x80\x02X\xff\xff\xff\xff",
            b"\x80\x02a.",
            b"\x80\x02K\x01s.",
            b"\x80\x02h\x05.",
            b"\x80\x02(t(u.",
            b"\x80\x02\x86.",
            b"\x80\x09N.",
            b"\x80\x02S'text'\n.",
            b"\x80\x02N\x85Q.",
            b"\x80\x02ctorch\nFloatStorage\n)R.",
            b"\x80\x02]N\x85b.",
            b"\x80\x02}]K\x01s.",
        ];
        for bytes in cases {
            assert!(read(bytes).is_err(), "{bytes:?}");
        }
    }
}
