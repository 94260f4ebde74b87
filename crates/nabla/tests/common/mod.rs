//! Support code shared by the golden tests against PyTorch
//! (`pytorch_golden`, `loss_golden`, `optim_golden`, `pool_golden` and
//! `norm_golden`): reading the JSON fixtures into tensors, comparing values
//! with `|got - want| <= atol + rtol * |want|` and reporting the worst
//! element, and collecting the failures of a family of cases.
//!
//! The fixture format (see the scripts under `scripts/`): a tensor is an
//! object `{"shape": [...], "values": [...]}`, its values flat in row-major
//! order, and a file holds its cases in arrays of objects, each with a
//! `name`.

// Every test file is its own crate and compiles this module separately
// (`mod common;`), each using a different subset of it: what one of them
// leaves unused would otherwise warn as dead code.
#![allow(dead_code)]

use std::any::Any;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use nabla::{Float, IndexTensor, Tensor};
use serde_json::{Map, Value};

// --------------------------------------------------------------- fixtures

/// A tensor of a fixture (or of nabla's result, widened to `f64`).
#[derive(Debug, Clone)]
pub struct Data {
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
}

/// Integer indices of a fixture.
#[derive(Debug)]
pub struct Indices {
    pub shape: Vec<usize>,
    pub values: Vec<usize>,
}

impl Indices {
    pub fn to_index_tensor(&self) -> IndexTensor {
        IndexTensor::from_vec(self.values.clone(), &self.shape)
    }
}

/// The JSON of the fixture file `path`, which `scripts/{script}` writes.
pub fn read_fixtures(path: &str, script: &str) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}; run scripts/{script}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `cases` array of the fixture file `path` (which must have some),
/// each case parsed by `parse`.
pub fn load_cases<C>(path: &str, script: &str, parse: impl Fn(&Value) -> C) -> Vec<C> {
    let root = read_fixtures(path, script);
    let list = root["cases"]
        .as_array()
        .unwrap_or_else(|| panic!("{path}: no `cases` array"));
    assert!(!list.is_empty(), "{path}: no cases");
    list.iter().map(parse).collect()
}

/// One case (a JSON object with a `name`) of the fixture file `path`, for
/// reading its entries with messages that name the file and the case.
pub struct CaseJson<'a> {
    pub path: &'a str,
    pub json: &'a Value,
    pub name: String,
}

impl<'a> CaseJson<'a> {
    pub fn new(path: &'a str, json: &'a Value) -> Self {
        let name = json["name"].as_str().expect("case name").to_string();
        CaseJson { path, json, name }
    }

    /// The entry `key`, which must be present and not null.
    pub fn field(&self, key: &str) -> &'a Value {
        let f = &self.json[key];
        assert!(!f.is_null(), "{}: case `{}` has no `{key}`", self.path, self.name);
        f
    }

    fn not_a(&self, key: &str, what: &str) -> String {
        format!("{}: `{key}` of `{}` is not {what}", self.path, self.name)
    }

    pub fn string(&self, key: &str) -> String {
        let v = self.field(key).as_str();
        v.unwrap_or_else(|| panic!("{}", self.not_a(key, "a string")))
            .to_string()
    }

    pub fn object(&self, key: &str) -> Map<String, Value> {
        let v = self.field(key).as_object();
        v.unwrap_or_else(|| panic!("{}", self.not_a(key, "an object")))
            .clone()
    }

    pub fn array(&self, key: &str) -> &'a Vec<Value> {
        let v = self.field(key).as_array();
        v.unwrap_or_else(|| panic!("{}", self.not_a(key, "a list")))
    }
}

/// The shape and the flat values of a tensor `{"shape": ..., "values": ...}`,
/// each value read by `item` (messages name one `what`, and all `plural`).
fn parse_flat<X>(
    v: &Value,
    what: &str,
    plural: &str,
    item: impl Fn(&Value) -> Option<X>,
) -> (Vec<usize>, Vec<X>) {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().expect("dimension") as usize)
        .collect();
    let values: Vec<X> = v["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|x| item(x).expect(what))
        .collect();
    assert_eq!(
        values.len(),
        shape.iter().product::<usize>(),
        "{plural} do not fill shape {shape:?}"
    );
    (shape, values)
}

pub fn parse_data(v: &Value) -> Data {
    let (shape, values) = parse_flat(v, "number", "values", Value::as_f64);
    Data { shape, values }
}

pub fn parse_indices(v: &Value) -> Indices {
    let (shape, values) = parse_flat(v, "index", "indices", |x| x.as_u64().map(|i| i as usize));
    Indices { shape, values }
}

/// A fixture's tensor in nabla, in the element type `T`.
pub fn tensor<T: Float>(d: &Data) -> Tensor<T> {
    Tensor::from_vec(d.values.iter().map(|&v| T::from_f64(v)).collect(), &d.shape)
}

/// A nabla tensor's shape and values, widened to `f64`.
pub fn widen<T: Float>(t: &Tensor<T>) -> Data {
    Data {
        shape: t.shape().to_vec(),
        values: t.to_vec().into_iter().map(T::as_f64).collect(),
    }
}

// -------------------------------------------------------------- comparing

/// `(rtol, atol)` for a dtype (`norm_golden` has its own). Every op, pow,
/// erf, gelu and log_softmax included, currently matches PyTorch to 1e-12
/// in `f64`, so no op gets a looser tolerance; loosen one (to 1e-10 at
/// most) only with a reason.
pub fn tolerance(dtype: &str) -> (f64, f64) {
    match dtype {
        "float32" => (1e-5, 1e-6),
        _ => (1e-12, 1e-12),
    }
}

/// The largest errors seen, with where they were.
#[derive(Default)]
pub struct Worst {
    pub abs: (f64, String),
    pub rel: (f64, String),
    pub of_tolerance: (f64, String),
    pub values: usize,
}

impl Worst {
    pub fn merge(&mut self, other: Worst) {
        for (mine, theirs) in [
            (&mut self.abs, other.abs),
            (&mut self.rel, other.rel),
            (&mut self.of_tolerance, other.of_tolerance),
        ] {
            if theirs.0 > mine.0 {
                *mine = theirs;
            }
        }
        self.values += other.values;
    }

    pub fn summary(&self) -> String {
        let at = |s: &str| {
            if s.is_empty() {
                "-".to_string()
            } else {
                s.to_string()
            }
        };
        format!(
            "{} values; max abs err {:.2e} at {}; max rel err {:.2e} at {}; max err/tolerance {:.3} at {}",
            self.values,
            self.abs.0,
            at(&self.abs.1),
            self.rel.0,
            at(&self.rel.1),
            self.of_tolerance.0,
            at(&self.of_tolerance.1)
        )
    }
}

/// The coordinates of the element at row-major index `flat`.
pub fn coords(shape: &[usize], mut flat: usize) -> Vec<usize> {
    let mut out = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        out[d] = flat % shape[d];
        flat /= shape[d];
    }
    out
}

/// Compares nabla's `got` (computed in `T`, of the case's `dtype`) with
/// PyTorch's `want`, within [`tolerance`], noting the largest errors in
/// `worst`: an error `"{label}: {what}: ..."` naming the worst element if
/// any is out of tolerance.
pub fn compare<T: Float>(
    label: &str,
    dtype: &str,
    what: &str,
    got: &Data,
    want: &Data,
    worst: &mut Worst,
) -> Result<(), String> {
    compare_within::<T>(label, what, got, want, tolerance(dtype), worst)
}

/// [`compare`] with the tolerances `(rtol, atol)`, for results whose
/// rounding errors in `f32` grow with their depth (a stack of layers and
/// its backward pass).
pub fn compare_within<T: Float>(
    label: &str,
    what: &str,
    got: &Data,
    want: &Data,
    (rtol, atol): (f64, f64),
    worst: &mut Worst,
) -> Result<(), String> {
    let label = format!("{label}: {what}");
    if got.shape != want.shape {
        return Err(format!(
            "{label}: shape {:?}, PyTorch {:?}",
            got.shape, want.shape
        ));
    }
    let mut bad: Option<(usize, f64)> = None; // (flat index, error / allowed)
    let mut bad_count = 0;
    for (i, (&g, &w)) in got.values.iter().zip(&want.values).enumerate() {
        // PyTorch's value in the case's own precision.
        let w = T::from_f64(w).as_f64();
        let err = if g == w { 0.0 } else { (g - w).abs() };
        let err = if err.is_nan() { f64::INFINITY } else { err };
        let ratio = err / (atol + rtol * w.abs());
        let at = || format!("{label}{:?}", coords(&want.shape, i));
        if err > worst.abs.0 {
            worst.abs = (err, at());
        }
        if w != 0.0 && err / w.abs() > worst.rel.0 {
            worst.rel = (err / w.abs(), at());
        }
        if ratio > worst.of_tolerance.0 {
            worst.of_tolerance = (ratio, at());
        }
        worst.values += 1;
        if ratio > 1.0 {
            bad_count += 1;
            if bad.is_none_or(|(_, r)| ratio > r) {
                bad = Some((i, ratio));
            }
        }
    }
    match bad {
        None => Ok(()),
        Some((i, _)) => {
            let w = T::from_f64(want.values[i]).as_f64();
            Err(format!(
                "{label}: worst element {:?} (flat {i}): nabla {:e}, PyTorch {:e}, |diff| {:.3e} > atol {atol:e} + rtol {rtol:e} * |PyTorch|; {bad_count} of {} elements out of tolerance",
                coords(&want.shape, i),
                got.values[i],
                w,
                (got.values[i] - w).abs(),
                got.values.len()
            ))
        }
    }
}

// --------------------------------------------------------------- failures

/// The message of a caught panic.
pub fn panic_message(panic: Box<dyn Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Runs `f`, turning a panic into the error `"panicked: {message}"`.
pub fn catch<R>(f: impl FnOnce() -> Result<R, String>) -> Result<R, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(panic) => Err(format!("panicked: {}", panic_message(panic))),
    }
}

/// A fixture case that runs in `f64` or `f32` by its dtype.
pub trait GoldenCase {
    /// `"float64"` or `"float32"`.
    fn dtype(&self) -> &str;
    /// The case as a failure names it, before `: unknown dtype ...`.
    fn describe(&self) -> String;
}

/// A case's mismatches with PyTorch (none when it matches), the largest
/// errors noted in the `Worst`.
pub type RunCase<C> = fn(&C, &mut Worst) -> Vec<String>;

/// Runs every one of `cases` by its dtype, with `run_f64` or `run_f32`,
/// keeping the largest errors per dtype. Prints a line
/// `"{family} {dtype}: {n} cases, ..."` per dtype (see them with
/// `cargo test -- --nocapture`) and returns the mismatches.
pub fn run_by_dtype<'a, C: GoldenCase + 'a>(
    family: &str,
    cases: impl IntoIterator<Item = &'a C>,
    run_f64: RunCase<C>,
    run_f32: RunCase<C>,
) -> Vec<String> {
    let mut failures = Vec::new();
    let mut stats: BTreeMap<&str, (usize, Worst)> = BTreeMap::new();
    for case in cases {
        let (count, worst) = stats.entry(case.dtype()).or_default();
        *count += 1;
        failures.extend(match case.dtype() {
            "float64" => run_f64(case, worst),
            "float32" => run_f32(case, worst),
            other => vec![format!("{}: unknown dtype `{other}`", case.describe())],
        });
    }
    for (dtype, (count, worst)) in &stats {
        println!("{family} {dtype}: {count} cases, {}", worst.summary());
    }
    failures
}

/// [`run_by_dtype`] on `cases` (which must not be none), failing with the
/// list of mismatches.
#[track_caller]
pub fn check_cases<'a, C: GoldenCase + 'a>(
    family: &str,
    cases: impl IntoIterator<Item = &'a C>,
    run_f64: RunCase<C>,
    run_f32: RunCase<C>,
) {
    let selected: Vec<&C> = cases.into_iter().collect();
    assert!(!selected.is_empty(), "no fixture cases for {family}");
    assert_no_mismatches(family, &run_by_dtype(family, selected, run_f64, run_f32));
}

/// Fails with the list of `failures`, if there are any.
#[track_caller]
pub fn assert_no_mismatches(family: &str, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{family}: {} mismatches with PyTorch:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}
