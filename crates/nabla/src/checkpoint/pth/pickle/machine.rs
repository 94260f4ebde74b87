//! The pickle machine: a stack, its marks, the memo and the arena, and
//! one method per opcode.

use std::collections::HashMap;

use super::{kind, Dict, Item, Object, StorageRecord, Value};
use crate::checkpoint::pth::allowed::{self, Global};

/// The most nested containers a pickle may build (a state dict needs 3 or 4).
const MAX_DEPTH: usize = 64;
/// The most values the result may hold once shared parts are copied out,
/// beyond one per byte of the pickle (which a pickle without sharing never
/// exceeds): sharing may repeat a tensor or two, not expand exponentially.
const EXTRA_VALUES: usize = 1_000_000;
/// The longest module or name a `GLOBAL` opcode may give.
const MAX_GLOBAL_LEN: usize = 1024;
/// The longest integer `LONG1`/`LONG4` may give, in bytes.
const MAX_LONG_BYTES: usize = 64;

/// Python's unpickler, restricted: what it builds is in the arena, the
/// stack and the memo hold plain values and arena indices.
pub(crate) struct Machine<'a> {
    bytes: &'a [u8],
    pos: usize,
    stack: Vec<Item>,
    /// The stack's length at each open MARK.
    marks: Vec<usize>,
    memo: HashMap<u64, Item>,
    arena: Vec<Object>,
}

mod op {
    pub const MARK: u8 = b'(';
    pub const STOP: u8 = b'.';
    pub const POP: u8 = b'0';
    pub const POP_MARK: u8 = b'1';
    pub const DUP: u8 = b'2';
    pub const BININT: u8 = b'J';
    pub const BININT1: u8 = b'K';
    pub const BININT2: u8 = b'M';
    pub const NONE: u8 = b'N';
    pub const BINPERSID: u8 = b'Q';
    pub const REDUCE: u8 = b'R';
    pub const BINSTRING: u8 = b'T';
    pub const SHORT_BINSTRING: u8 = b'U';
    pub const BINUNICODE: u8 = b'X';
    pub const APPEND: u8 = b'a';
    pub const BUILD: u8 = b'b';
    pub const GLOBAL: u8 = b'c';
    pub const DICT: u8 = b'd';
    pub const EMPTY_DICT: u8 = b'}';
    pub const APPENDS: u8 = b'e';
    pub const BINGET: u8 = b'h';
    pub const LONG_BINGET: u8 = b'j';
    pub const LIST: u8 = b'l';
    pub const EMPTY_LIST: u8 = b']';
    pub const BINPUT: u8 = b'q';
    pub const LONG_BINPUT: u8 = b'r';
    pub const SETITEM: u8 = b's';
    pub const TUPLE: u8 = b't';
    pub const EMPTY_TUPLE: u8 = b')';
    pub const SETITEMS: u8 = b'u';
    pub const BINFLOAT: u8 = b'G';
    pub const PROTO: u8 = 0x80;
    pub const NEWOBJ: u8 = 0x81;
    pub const TUPLE1: u8 = 0x85;
    pub const TUPLE2: u8 = 0x86;
    pub const TUPLE3: u8 = 0x87;
    pub const NEWTRUE: u8 = 0x88;
    pub const NEWFALSE: u8 = 0x89;
    pub const LONG1: u8 = 0x8a;
    pub const LONG4: u8 = 0x8b;
    pub const BINBYTES: u8 = b'B';
    pub const SHORT_BINBYTES: u8 = b'C';
    pub const SHORT_BINUNICODE: u8 = 0x8c;
    pub const BINUNICODE8: u8 = 0x8d;
    pub const BINBYTES8: u8 = 0x8e;
    pub const STACK_GLOBAL: u8 = 0x93;
    pub const MEMOIZE: u8 = 0x94;
    pub const FRAME: u8 = 0x95;
}

impl<'a> Machine<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Machine {
            bytes,
            pos: 0,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
            arena: Vec::new(),
        }
    }

    /// The result `item` as an owned tree, and the bytes the pickle took.
    pub(super) fn finish(&self, item: &Item) -> Result<(Value, usize), String> {
        let mut budget = self.pos + EXTRA_VALUES;
        Ok((self.copy_out(item, 0, &mut budget)?, self.pos))
    }

    pub(super) fn run(&mut self) -> Result<Item, String> {
        loop {
            let at = self.pos;
            let opcode = self
                .byte()
                .map_err(|_| format!("the pickle ends at byte {at} without its STOP opcode: truncated"))?;
            if opcode == op::STOP {
                return self.pop(at, opcode);
            }
            self.step(at, opcode)
                .map_err(|message| format!("{message} (opcode {} at byte {at})", describe(opcode)))?;
        }
    }

    fn step(&mut self, at: usize, opcode: u8) -> Result<(), String> {
        match opcode {
            op::PROTO => {
                let version = self.byte()?;
                if !(2..=5).contains(&version) {
                    return Err(format!("pickle protocol {version}: nabla reads protocols 2 to 5"));
                }
            }
            op::FRAME => {
                self.take(8)?;
            }
            op::MARK => self.marks.push(self.stack.len()),
            op::POP => {
                self.pop(at, opcode)?;
            }
            op::POP_MARK => {
                self.pop_mark()?;
            }
            op::DUP => {
                let top = self.top()?.clone();
                self.stack.push(top);
            }
            op::NONE => self.stack.push(Item::None),
            op::NEWTRUE => self.stack.push(Item::Bool(true)),
            op::NEWFALSE => self.stack.push(Item::Bool(false)),
            op::BININT => {
                let b = self.take(4)?;
                self.stack
                    .push(Item::Int(i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))));
            }
            op::BININT1 => {
                let b = self.byte()?;
                self.stack.push(Item::Int(i64::from(b)));
            }
            op::BININT2 => {
                let b = self.take(2)?;
                self.stack
                    .push(Item::Int(i64::from(u16::from_le_bytes([b[0], b[1]]))));
            }
            op::LONG1 => {
                let n = usize::from(self.byte()?);
                self.long(n)?;
            }
            op::LONG4 => {
                let n = self.length(4)?;
                self.long(n)?;
            }
            op::BINFLOAT => {
                // The one big-endian number of the format.
                let b = self.take(8)?;
                self.stack
                    .push(Item::Float(f64::from_be_bytes(b.try_into().expect("8 bytes"))));
            }
            op::SHORT_BINUNICODE => {
                let n = usize::from(self.byte()?);
                self.string(n)?;
            }
            op::BINUNICODE => {
                let n = self.length(4)?;
                self.string(n)?;
            }
            op::BINUNICODE8 => {
                let n = self.length(8)?;
                self.string(n)?;
            }
            // Python 2's `str`, as a Python 3 pickle reads it by default.
            op::SHORT_BINSTRING => {
                let n = usize::from(self.byte()?);
                self.string(n)?;
            }
            op::BINSTRING => {
                let n = self.length(4)?;
                self.string(n)?;
            }
            op::SHORT_BINBYTES => {
                let n = usize::from(self.byte()?);
                let b = self.take(n)?;
                self.stack.push(Item::Bytes(b.into()));
            }
            op::BINBYTES => {
                let n = self.length(4)?;
                let b = self.take(n)?;
                self.stack.push(Item::Bytes(b.into()));
            }
            op::BINBYTES8 => {
                let n = self.length(8)?;
                let b = self.take(n)?;
                self.stack.push(Item::Bytes(b.into()));
            }
            op::EMPTY_TUPLE => self.push_object(Object::Tuple(Vec::new())),
            op::TUPLE => {
                let items = self.pop_mark()?;
                self.push_object(Object::Tuple(items));
            }
            op::TUPLE1 | op::TUPLE2 | op::TUPLE3 => {
                let n = usize::from(opcode - op::TUPLE1 + 1);
                if self.stack.len() < n + self.marks.last().copied().unwrap_or(0) {
                    return Err(format!("a {n}-tuple of fewer than {n} values"));
                }
                let items = self.stack.split_off(self.stack.len() - n);
                self.push_object(Object::Tuple(items));
            }
            op::EMPTY_LIST => self.push_object(Object::List(Vec::new())),
            op::LIST => {
                let items = self.pop_mark()?;
                self.push_object(Object::List(items));
            }
            op::APPEND => {
                let value = self.pop(at, opcode)?;
                self.list_at_top()?.push(value);
            }
            op::APPENDS => {
                let values = self.pop_mark()?;
                self.list_at_top()?.extend(values);
            }
            op::EMPTY_DICT => self.push_object(Object::Dict(Dict::default())),
            op::DICT => {
                let items = self.pop_mark()?;
                let mut dict = Dict::default();
                insert_pairs(&mut dict, items)?;
                self.push_object(Object::Dict(dict));
            }
            op::SETITEM => {
                let value = self.pop(at, opcode)?;
                let key = self.pop(at, opcode)?;
                self.dict_at_top()?.insert(key, value)?;
            }
            op::SETITEMS => {
                let items = self.pop_mark()?;
                insert_pairs(self.dict_at_top()?, items)?;
            }
            op::BINPUT => {
                let id = u64::from(self.byte()?);
                self.memoize(id)?;
            }
            op::LONG_BINPUT => {
                let id = self.length(4)? as u64;
                self.memoize(id)?;
            }
            op::MEMOIZE => {
                let id = self.memo.len() as u64;
                self.memoize(id)?;
            }
            op::BINGET => {
                let id = u64::from(self.byte()?);
                self.recall(id)?;
            }
            op::LONG_BINGET => {
                let id = self.length(4)? as u64;
                self.recall(id)?;
            }
            op::GLOBAL => {
                let module = self.line()?;
                let name = self.line()?;
                let global = allowed::lookup(module, name)?;
                self.stack.push(Item::Global(global));
            }
            op::STACK_GLOBAL => {
                let name = self.pop(at, opcode)?;
                let module = self.pop(at, opcode)?;
                let (Item::Str(module), Item::Str(name)) = (&module, &name) else {
                    return Err("the module and name of a global are not strings".to_string());
                };
                let global = allowed::lookup(module, name)?;
                self.stack.push(Item::Global(global));
            }
            op::REDUCE => {
                let args = self.pop(at, opcode)?;
                let callable = self.pop(at, opcode)?;
                let args = self.tuple_items(&args, "the arguments of a call")?;
                let result = allowed::call(self, &callable, args)?;
                self.stack.push(result);
            }
            op::NEWOBJ => {
                let args = self.pop(at, opcode)?;
                let class = self.pop(at, opcode)?;
                let args = self.tuple_items(&args, "the arguments of a constructor")?;
                let result = allowed::construct(self, &class, args)?;
                self.stack.push(result);
            }
            op::BUILD => {
                let state = self.pop(at, opcode)?;
                allowed::build(self, self.top()?, &state)?;
            }
            op::BINPERSID => {
                let id = self.pop(at, opcode)?;
                let storage = self.persistent_load(&id)?;
                self.push_object(Object::Storage(storage));
            }
            other => {
                return Err(format!(
                "unsupported opcode {}: nabla reads the opcodes of torch.save's pickles (protocols 2 to 5)",
                describe(other)
            ))
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------ input

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.bytes.len());
        let Some(end) = end else {
            return Err(format!(
                "{n} bytes wanted but only {} remain: truncated",
                self.bytes.len() - self.pos
            ));
        };
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// A little-endian length of `width` bytes (4 or 8).
    fn length(&mut self, width: usize) -> Result<usize, String> {
        let b = self.take(width)?;
        let mut full = [0u8; 8];
        full[..width].copy_from_slice(b);
        usize::try_from(u64::from_le_bytes(full)).map_err(|_| "a length beyond the address space".to_string())
    }

    /// A `\n`-terminated line of a `GLOBAL` opcode.
    fn line(&mut self) -> Result<&'a str, String> {
        let rest = &self.bytes[self.pos..];
        let end = rest
            .iter()
            .take(MAX_GLOBAL_LEN + 1)
            .position(|&b| b == b'\n')
            .ok_or_else(|| {
                format!("a global's module or name longer than {MAX_GLOBAL_LEN} bytes, or truncated")
            })?;
        let line =
            std::str::from_utf8(&rest[..end]).map_err(|_| "a global's name is not UTF-8".to_string())?;
        self.pos += end + 1;
        Ok(line)
    }

    fn string(&mut self, n: usize) -> Result<(), String> {
        let bytes = self.take(n)?;
        let text = std::str::from_utf8(bytes).map_err(|_| "a string that is not UTF-8".to_string())?;
        self.stack.push(Item::Str(text.into()));
        Ok(())
    }

    /// A `LONG1`/`LONG4` integer of `n` little-endian two's-complement bytes.
    fn long(&mut self, n: usize) -> Result<(), String> {
        if n > MAX_LONG_BYTES {
            return Err(format!(
                "an integer of {n} bytes: nabla reads at most {MAX_LONG_BYTES}"
            ));
        }
        let bytes = self.take(n)?;
        let item = if n <= 8 {
            let negative = bytes.last().is_some_and(|&b| b & 0x80 != 0);
            let mut full = [if negative { 0xff } else { 0 }; 8];
            full[..n].copy_from_slice(bytes);
            Item::Int(i64::from_le_bytes(full))
        } else {
            Item::BigInt(bytes.into())
        };
        self.stack.push(item);
        Ok(())
    }

    // ------------------------------------------------------------ stack

    fn pop(&mut self, at: usize, opcode: u8) -> Result<Item, String> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(format!(
                "opcode {} at byte {at} pops from an empty stack: corrupted pickle",
                describe(opcode)
            ));
        }
        Ok(self.stack.pop().expect("checked"))
    }

    fn top(&self) -> Result<&Item, String> {
        self.stack.last().ok_or_else(|| "the stack is empty".to_string())
    }

    fn pop_mark(&mut self) -> Result<Vec<Item>, String> {
        let mark = self.marks.pop().ok_or_else(|| "no MARK to pop to".to_string())?;
        Ok(self.stack.split_off(mark))
    }

    fn push_object(&mut self, object: Object) {
        self.arena.push(object);
        self.stack.push(Item::Object(self.arena.len() - 1));
    }

    pub(crate) fn new_object(&mut self, object: Object) -> Item {
        self.arena.push(object);
        Item::Object(self.arena.len() - 1)
    }

    pub(crate) fn object(&self, item: &Item) -> Option<&Object> {
        match item {
            Item::Object(id) => self.arena.get(*id),
            _ => None,
        }
    }

    fn object_at_top(&mut self) -> Result<&mut Object, String> {
        match self.stack.last() {
            Some(Item::Object(id)) => Ok(&mut self.arena[*id]),
            Some(other) => Err(format!("{} where a list or dict should be", kind(other))),
            None => Err("the stack is empty".to_string()),
        }
    }

    fn list_at_top(&mut self) -> Result<&mut Vec<Item>, String> {
        match self.object_at_top()? {
            Object::List(items) => Ok(items),
            _ => Err("appending to something that is not a list".to_string()),
        }
    }

    fn dict_at_top(&mut self) -> Result<&mut Dict, String> {
        match self.object_at_top()? {
            Object::Dict(dict) => Ok(dict),
            _ => Err("setting an item of something that is not a dict".to_string()),
        }
    }

    /// The items of a tuple on the stack.
    pub(crate) fn tuple_items(&self, item: &Item, what: &str) -> Result<Vec<Item>, String> {
        match self.object(item) {
            Some(Object::Tuple(items)) => Ok(items.clone()),
            _ => Err(format!("{what} are {}, not a tuple", kind(item))),
        }
    }

    fn memoize(&mut self, id: u64) -> Result<(), String> {
        let top = self.top()?.clone();
        self.memo.insert(id, top);
        Ok(())
    }

    fn recall(&mut self, id: u64) -> Result<(), String> {
        let item = self
            .memo
            .get(&id)
            .cloned()
            .ok_or_else(|| format!("memo entry {id} was never stored: corrupted pickle"))?;
        self.stack.push(item);
        Ok(())
    }

    /// `torch.save`'s persistent id of a storage: `('storage', storage
    /// class, key, location, numel)`, and a sixth `None` (view metadata) in
    /// the legacy format.
    fn persistent_load(&self, id: &Item) -> Result<StorageRecord, String> {
        let fields = self.tuple_items(id, "a persistent id's fields")?;
        let bad = || {
            "a persistent id that is not ('storage', torch.<Type>Storage, key, location, numel)".to_string()
        };
        let [Item::Str(tag), Item::Global(class), key, Item::Str(_location), Item::Int(numel), rest @ ..] =
            fields.as_slice()
        else {
            return Err(bad());
        };
        if &**tag != "storage" || rest.len() > 1 {
            return Err(bad());
        }
        if let Some(view) = rest.first() {
            if !matches!(view, Item::None) {
                return Err(
                    "a legacy storage view (the persistent id's view metadata): not supported".to_string(),
                );
            }
        }
        let Global::Storage(dtype) = class else {
            return Err(format!("a persistent id whose storage class is {}", class.name()));
        };
        let key = match key {
            Item::Str(key) => key.to_string(),
            Item::Int(key) => key.to_string(),
            _ => return Err(bad()),
        };
        let numel = u64::try_from(*numel).map_err(|_| format!("storage {key:?} has {numel} elements"))?;
        Ok(StorageRecord {
            key,
            dtype: *dtype,
            numel,
        })
    }

    // ------------------------------------------------------------ result

    /// `item` as an owned tree; `budget` counts down the values copied.
    fn copy_out(&self, item: &Item, depth: usize, budget: &mut usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(format!(
                "containers nested more than {MAX_DEPTH} deep (or a container inside itself)"
            ));
        }
        *budget = budget.checked_sub(1).ok_or_else(|| {
            format!(
                "more values than the pickle's {} bytes plus {EXTRA_VALUES} once shared parts are \
                     copied: refused",
                self.pos
            )
        })?;
        let many = |items: &[Item], budget: &mut usize| -> Result<Vec<Value>, String> {
            items
                .iter()
                .map(|i| self.copy_out(i, depth + 1, budget))
                .collect()
        };
        Ok(match item {
            Item::None => Value::None,
            Item::Bool(b) => Value::Bool(*b),
            Item::Int(i) => Value::Int(*i),
            Item::BigInt(b) => Value::BigInt(b.to_vec()),
            Item::Float(f) => Value::Float(*f),
            Item::Str(s) => Value::Str(s.to_string()),
            Item::Bytes(b) => Value::Bytes(b.to_vec()),
            Item::Global(g) => Value::Global(g.name()),
            Item::Object(id) => match &self.arena[*id] {
                Object::List(items) => Value::List(many(items, budget)?),
                Object::Tuple(items) => Value::Tuple(many(items, budget)?),
                Object::Dict(dict) => Value::Dict(
                    dict.entries
                        .iter()
                        .map(|(k, v)| {
                            Ok((
                                self.copy_out(k, depth + 1, budget)?,
                                self.copy_out(v, depth + 1, budget)?,
                            ))
                        })
                        .collect::<Result<_, String>>()?,
                ),
                Object::Tensor(t) => Value::Tensor(t.clone()),
                Object::Storage(s) => Value::Storage(s.clone()),
            },
        })
    }
}

/// Key, value, key, value, ... into `dict`.
fn insert_pairs(dict: &mut Dict, items: Vec<Item>) -> Result<(), String> {
    if items.len() % 2 != 0 {
        return Err("an odd number of keys and values".to_string());
    }
    let mut items = items.into_iter();
    while let (Some(key), Some(value)) = (items.next(), items.next()) {
        dict.insert(key, value)?;
    }
    Ok(())
}

/// An opcode as pickletools names it, for messages.
fn describe(opcode: u8) -> String {
    if opcode.is_ascii_graphic() {
        format!("{:?}", opcode as char)
    } else {
        format!("0x{opcode:02x}")
    }
}
