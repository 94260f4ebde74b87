//! Checkpoints (`nabla::checkpoint`): round trips of module and optimizer
//! states, a file written by PyTorch (`tests/fixtures/torch_mlp.safetensors`
//! from `scripts/make_checkpoint_fixtures.py`), strict and non-strict loads,
//! bad files (truncated, wrong headers, bad offsets, unsupported dtypes)
//! that must give errors and never panics, and atomic writes.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nabla::checkpoint::{
    load_metadata, load_module, load_optimizer, load_tensors, save_module, save_optimizer, save_tensors,
    write_atomic, LoadReport, ShapeMismatch, LEARNING_RATE_KEY,
};
use nabla::nn::{Layer, Linear, Module, Relu, Sequential};
use nabla::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use nabla::{Error, Float, Generator, Result, Tensor};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

// ---------------------------------------------------------------- helpers

/// A fresh directory for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("nabla_checkpoint_{name}_{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    /// The names of the files in the directory, sorted.
    fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// `Sequential(Linear(4, 8), Relu, Linear(8, 3))`, as the PyTorch fixture.
fn mlp<T: Float>(seed: u64) -> Sequential<T> {
    let mut g = Generator::new(seed);
    Sequential::new()
        .add(Linear::new(4, 8, true, &mut g))
        .add(Relu)
        .add(Linear::new(8, 3, true, &mut g))
}

/// Every state tensor's name, shape and values.
fn snapshot<T: Float>(module: &dyn Module<T>) -> Vec<(String, Vec<usize>, Vec<T>)> {
    module
        .state_dict()
        .into_iter()
        .map(|(n, t)| (n, t.shape().to_vec(), t.to_vec()))
        .collect()
}

fn named(name: &str, t: Tensor) -> (String, Tensor) {
    (name.to_string(), t)
}

fn ones(shape: &[usize]) -> Tensor {
    Tensor::ones(shape)
}

/// A safetensors file from a hand-written JSON header and data bytes (the
/// header is padded with spaces to a multiple of 8, as the format does).
fn raw_file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut h = header.as_bytes().to_vec();
    while h.len() % 8 != 0 {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend(h);
    out.extend_from_slice(data);
    out
}

/// The error of loading `bytes` as a file, through `load_tensors`,
/// `load_metadata` and `load_module` (which must agree that it is bad).
fn load_error(dir: &TempDir, bytes: &[u8]) -> Error {
    let path = dir.path("bad.safetensors");
    fs::write(&path, bytes).unwrap();
    let from_module = load_module(&mlp::<f32>(0), &path, false).expect_err("load_module accepted a bad file");
    assert_eq!(
        from_module.to_string(),
        load_tensors::<f32>(&path)
            .expect_err("load_tensors accepted a bad file")
            .to_string()
    );
    load_metadata(&path).expect_err("load_metadata accepted a bad file");
    from_module
}

/// Asserts `error` is a `Format` error naming `path` whose message contains
/// every one of `words`.
fn assert_format(error: &Error, path: &Path, words: &[&str]) {
    match error {
        Error::Format { path: p, message } => {
            assert_eq!(p, path, "{error}");
            for w in words {
                assert!(message.contains(w), "{w:?} not in {message:?}");
            }
        }
        other => panic!("expected a Format error, got {other:?}"),
    }
    assert!(error.to_string().contains(&path.display().to_string()), "{error}");
}

// ------------------------------------------------------------ round trips

#[test]
fn module_round_trip_restores_every_value() {
    let dir = TempDir::new("round_trip");
    let path = dir.path("model.safetensors");
    let trained = mlp::<f32>(0);
    save_module(&trained, &path).unwrap();

    let restored = mlp::<f32>(1);
    assert_ne!(snapshot(&restored), snapshot(&trained));
    let report = load_module(&restored, &path, true).unwrap();
    assert_eq!(report.loaded, ["0.weight", "0.bias", "2.weight", "2.bias"]);
    assert!(report.is_complete(), "{report}");
    assert_eq!(snapshot(&restored), snapshot(&trained));

    // In place: the module's own tensors (and every handle to them) changed,
    // and they are still parameters.
    let x = Tensor::randn(&[5, 4], &mut Generator::new(7));
    assert_eq!(restored.forward(&x).to_vec(), trained.forward(&x).to_vec());
    assert!(restored.parameters().iter().all(Tensor::is_requires_grad));

    // The file is what PyTorch writes: F32 tensors under state_dict names,
    // format "pt" in the metadata.
    let tensors = load_tensors::<f32>(&path).unwrap();
    let names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["0.bias", "0.weight", "2.bias", "2.weight"]);
    assert_eq!(load_metadata(&path).unwrap()["format"], "pt");
    assert_eq!(dir.files(), ["model.safetensors"]);
}

#[test]
fn f64_modules_round_trip_and_dtypes_convert_on_load() {
    let dir = TempDir::new("dtypes");
    let path64 = dir.path("model64.safetensors");
    let trained = mlp::<f64>(0);
    save_module(&trained, &path64).unwrap();
    let restored = mlp::<f64>(1);
    load_module(&restored, &path64, true).unwrap();
    assert_eq!(snapshot(&restored), snapshot(&trained));
    let header_len = u64::from_le_bytes(fs::read(&path64).unwrap()[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8(fs::read(&path64).unwrap()[8..8 + header_len].to_vec()).unwrap();
    assert!(
        header.contains("\"F64\"") && !header.contains("\"F32\""),
        "{header}"
    );

    // f64 file into an f32 model: rounded to nearest, as PyTorch's copy_.
    let into32 = mlp::<f32>(2);
    load_module(&into32, &path64, true).unwrap();
    for ((_, _, a), (_, _, b)) in snapshot(&into32).iter().zip(snapshot(&trained)) {
        let rounded: Vec<f32> = b.iter().map(|&v| v as f32).collect();
        assert_eq!(a, &rounded);
    }
    // f32 file into an f64 model: exact.
    let path32 = dir.path("model32.safetensors");
    save_module(&into32, &path32).unwrap();
    let into64 = mlp::<f64>(3);
    load_module(&into64, &path32, true).unwrap();
    for ((_, _, a), (_, _, b)) in snapshot(&into64).iter().zip(snapshot(&into32)) {
        let widened: Vec<f64> = b.iter().map(|&v| v as f64).collect();
        assert_eq!(a, &widened);
    }
}

#[test]
fn save_tensors_writes_views_row_major_and_keeps_metadata() {
    let dir = TempDir::new("tensors");
    let path = dir.path("t.safetensors");
    let base = Tensor::from_vec((0..24).map(|i| i as f32).collect(), &[2, 3, 4]);
    let view = base.permute(&[2, 0, 1]).narrow(1, 1, 1);
    let scalar = Tensor::scalar(2.5f32);
    let empty = Tensor::<f32>::zeros(&[0, 3]);
    let meta = HashMap::from([("epoch".to_string(), "12".to_string())]);
    save_tensors(
        &path,
        &[
            named("view", view.clone()),
            named("scalar", scalar),
            named("empty", empty),
        ],
        Some(meta.clone()),
    )
    .unwrap();
    let loaded: HashMap<String, Tensor> = load_tensors(&path).unwrap().into_iter().collect();
    assert_eq!(loaded["view"].shape(), view.shape());
    assert_eq!(loaded["view"].to_vec(), view.to_vec());
    assert!(loaded["view"].is_contiguous());
    assert_eq!(loaded["scalar"].shape(), &[] as &[usize]);
    assert_eq!(loaded["scalar"].item(), 2.5);
    assert_eq!(loaded["empty"].shape(), &[0, 3]);
    assert_eq!(load_metadata(&path).unwrap(), meta);

    // No metadata at all: an empty map.
    save_tensors(&path, &[named("a", ones(&[1]))], None).unwrap();
    assert!(load_metadata(&path).unwrap().is_empty());
}

#[test]
fn saving_rejects_duplicate_and_reserved_names() {
    let dir = TempDir::new("names");
    let path = dir.path("t.safetensors");
    let e = save_tensors(&path, &[named("w", ones(&[2])), named("w", ones(&[3]))], None).unwrap_err();
    assert!(
        matches!(&e, Error::DuplicateTensor { name, .. } if name == "w"),
        "{e:?}"
    );
    assert!(e.to_string().contains("t.safetensors"), "{e}");
    let e = save_tensors(&path, &[named("__metadata__", ones(&[2]))], None).unwrap_err();
    assert_format(&e, &path, &["__metadata__"]);
    assert!(dir.files().is_empty(), "{:?}", dir.files());
}

// ------------------------------------------------------------ the PyTorch side

#[test]
fn pytorch_file_loads_and_reproduces_torch_output() {
    let path = Path::new(FIXTURES).join("torch_mlp.safetensors");
    let model = mlp::<f32>(123);
    let report = load_module(&model, &path, true).unwrap();
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.loaded, ["0.weight", "0.bias", "2.weight", "2.bias"]);

    let io: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(Path::new(FIXTURES).join("torch_mlp_io.json")).unwrap())
            .unwrap();
    let tensor = |v: &serde_json::Value| {
        let shape: Vec<usize> = v["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        let values: Vec<f32> = v["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        Tensor::from_vec(values, &shape)
    };
    let (x, want) = (tensor(&io["input"]), tensor(&io["output"]));
    let got = model.forward(&x);
    assert_eq!(got.shape(), want.shape());
    for (g, w) in got.to_vec().iter().zip(want.to_vec()) {
        assert!((g - w).abs() <= 1e-6, "nabla {g} vs torch {w}");
    }

    // Names and shapes as PyTorch wrote them.
    let tensors = load_tensors::<f32>(&path).unwrap();
    let shapes: Vec<(&str, &[usize])> = tensors.iter().map(|(n, t)| (n.as_str(), t.shape())).collect();
    assert_eq!(
        shapes,
        [
            ("0.bias", &[8][..]),
            ("0.weight", &[8, 4][..]),
            ("2.bias", &[3][..]),
            ("2.weight", &[3, 8][..])
        ]
    );
    // `save_file` without metadata writes no "__metadata__" entry.
    assert!(load_metadata(&path).unwrap().is_empty());
}

/// Writes sample files for `scripts/check_nabla_checkpoint.py` when
/// `NABLA_CHECKPOINT_OUT` names a directory (a no-op otherwise).
#[test]
fn files_for_python() {
    let Some(out) = std::env::var_os("NABLA_CHECKPOINT_OUT") else {
        return;
    };
    let out = PathBuf::from(out);
    fs::create_dir_all(&out).unwrap();
    save_module(&mlp::<f32>(0), out.join("nabla_mlp_f32.safetensors")).unwrap();
    // For comparison with the script's "output for ones(1, 4)".
    println!(
        "nabla output for ones(1, 4): {:?}",
        mlp::<f32>(0).forward(&ones(&[1, 4])).to_vec()
    );
    save_module(&mlp::<f64>(0), out.join("nabla_mlp_f64.safetensors")).unwrap();
    let model = mlp::<f32>(0);
    let mut opt = TestMomentum::new(model.parameters(), 0.05);
    opt.step();
    save_optimizer(&opt, out.join("nabla_optimizer.safetensors")).unwrap();
}

// ------------------------------------------------------------ strict loads

/// Writes the state of `mlp(0)` changed by `edit` and returns the path.
fn edited_state(dir: &TempDir, file: &str, edit: impl FnOnce(&mut Vec<(String, Tensor)>)) -> PathBuf {
    let mut state = mlp::<f32>(0).state_dict();
    edit(&mut state);
    let path = dir.path(file);
    save_tensors(&path, &state, None).unwrap();
    path
}

/// Loads `path` strictly into a fresh model, checks the model is unchanged,
/// and returns the error.
fn strict_error(path: &Path) -> Error {
    let model = mlp::<f32>(1);
    let before = snapshot(&model);
    let e = load_module(&model, path, true).expect_err("strict load accepted a bad state");
    assert_eq!(
        snapshot(&model),
        before,
        "a failed strict load changed the module"
    );
    let message = e.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    e
}

#[test]
fn strict_load_names_a_missing_tensor_and_changes_nothing() {
    let dir = TempDir::new("missing");
    let path = edited_state(&dir, "missing.safetensors", |s| s.retain(|(n, _)| n != "2.bias"));
    let e = strict_error(&path);
    assert!(
        matches!(&e, Error::MissingTensor { name, .. } if name == "2.bias"),
        "{e:?}"
    );
    assert!(e.to_string().contains("\"2.bias\""), "{e}");
}

#[test]
fn strict_load_names_an_unexpected_tensor_and_changes_nothing() {
    // Every tensor the module has is present and fits: only the extra one is
    // wrong, so the module would be fully loaded if checks came late.
    let dir = TempDir::new("unexpected");
    let path = edited_state(&dir, "unexpected.safetensors", |s| {
        s.push(named("3.weight", ones(&[2, 2])))
    });
    let e = strict_error(&path);
    assert!(
        matches!(&e, Error::UnexpectedTensor { name, .. } if name == "3.weight"),
        "{e:?}"
    );
    assert!(e.to_string().contains("\"3.weight\""), "{e}");
}

#[test]
fn strict_load_names_a_wrong_shape_and_changes_nothing() {
    let dir = TempDir::new("shape");
    let path = edited_state(&dir, "shape.safetensors", |s| {
        let w = s.iter_mut().find(|(n, _)| n == "2.weight").unwrap();
        w.1 = w.1.transpose(0, 1);
    });
    let e = strict_error(&path);
    match &e {
        Error::ShapeMismatch {
            name,
            expected,
            found,
            ..
        } => {
            assert_eq!(name, "2.weight");
            assert_eq!(
                (expected.as_slice(), found.as_slice()),
                (&[3, 8][..], &[8, 3][..])
            );
        }
        other => panic!("expected ShapeMismatch, got {other:?}"),
    }
    assert!(e.to_string().contains("\"2.weight\""), "{e}");
}

#[test]
fn non_strict_load_loads_what_fits_and_reports_the_rest() {
    let dir = TempDir::new("non_strict");
    let source = mlp::<f32>(0);
    let path = dir.path("partial.safetensors");
    let state: HashMap<String, Tensor> = source.state_dict().into_iter().collect();
    save_tensors(
        &path,
        &[
            named("0.weight", state["0.weight"].clone()),
            named("2.weight", state["2.weight"].transpose(0, 1)),
            named("2.bias", state["2.bias"].clone()),
            named("head.weight", ones(&[1, 3])),
        ],
        None,
    )
    .unwrap();

    let model = mlp::<f32>(1);
    let before: HashMap<String, Vec<f32>> = model
        .state_dict()
        .into_iter()
        .map(|(n, t)| (n, t.to_vec()))
        .collect();
    let report = load_module(&model, &path, false).unwrap();
    assert_eq!(
        report,
        LoadReport {
            loaded: vec!["0.weight".into(), "2.bias".into()],
            missing: vec!["0.bias".into()],
            unexpected: vec!["head.weight".into()],
            mismatched: vec![ShapeMismatch {
                name: "2.weight".into(),
                expected: vec![3, 8],
                found: vec![8, 3],
            }],
        }
    );
    assert!(!report.is_complete());
    let text = report.to_string();
    for word in ["loaded 2", "0.bias", "head.weight", "2.weight", "[8, 3]"] {
        assert!(text.contains(word), "{word:?} not in {text:?}");
    }
    let after: HashMap<String, Vec<f32>> = model
        .state_dict()
        .into_iter()
        .map(|(n, t)| (n, t.to_vec()))
        .collect();
    assert_eq!(after["0.weight"], state["0.weight"].to_vec());
    assert_eq!(after["2.bias"], state["2.bias"].to_vec());
    assert_eq!(after["0.bias"], before["0.bias"]);
    assert_eq!(after["2.weight"], before["2.weight"]);
}

#[test]
fn unsupported_dtypes_are_errors_naming_the_tensor_unless_nothing_needs_them() {
    let dir = TempDir::new("dtype");
    // 0.bias as F16 (2 bytes per element); every other tensor F32 and valid.
    let mut header = String::from("{\"__metadata__\":{\"format\":\"pt\"}");
    let mut data = Vec::new();
    for (name, t) in mlp::<f32>(0).state_dict() {
        let dtype = if name == "0.bias" { "F16" } else { "F32" };
        let bytes: Vec<u8> = if dtype == "F16" {
            vec![0; 2 * t.numel()]
        } else {
            t.to_vec().iter().flat_map(|v| v.to_le_bytes()).collect()
        };
        header += &format!(
            ",\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{:?},\"data_offsets\":[{},{}]}}",
            t.shape(),
            data.len(),
            data.len() + bytes.len()
        );
        data.extend(bytes);
    }
    header.push('}');
    let path = dir.path("bad.safetensors");
    fs::write(&path, raw_file(&header, &data)).unwrap();
    let model = mlp::<f32>(1);
    let before = snapshot(&model);
    for strict in [true, false] {
        let e = load_module(&model, &path, strict).unwrap_err();
        assert_format(&e, &path, &["\"0.bias\"", "F16"]);
    }
    assert_eq!(snapshot(&model), before);
    assert_format(
        &load_tensors::<f32>(&path).unwrap_err(),
        &path,
        &["\"0.bias\"", "F16"],
    );

    // A tensor the module does not have: non-strict reports it as
    // unexpected without reading it (as a PyTorch BatchNorm's I64 counter
    // would be).
    let renamed = raw_file(&header.replace("\"0.bias\"", "\"0.num_batches_tracked\""), &data);
    fs::write(&path, renamed).unwrap();
    let report = load_module(&mlp::<f32>(1), &path, false).unwrap();
    assert_eq!(report.unexpected, ["0.num_batches_tracked"]);
    assert_eq!(report.missing, ["0.bias"]);
}

// ------------------------------------------------------------ bad files

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let dir = TempDir::new("no_file");
    let path = dir.path("nowhere.safetensors");
    for e in [
        load_module(&mlp::<f32>(0), &path, true).unwrap_err(),
        load_tensors::<f32>(&path).unwrap_err(),
    ] {
        match &e {
            Error::Io { path: p, source } => {
                assert_eq!(p, &path);
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            }
            other => panic!("expected Io, got {other:?}"),
        }
        assert!(e.to_string().contains("nowhere.safetensors"), "{e}");
    }
    let mut opt = TestMomentum::new(vec![], 0.1);
    assert!(matches!(load_optimizer(&mut opt, &path), Err(Error::Io { .. })));
}

#[test]
fn a_file_truncated_anywhere_is_a_format_error() {
    let dir = TempDir::new("truncated");
    let good = dir.path("good.safetensors");
    save_module(&mlp::<f32>(0), &good).unwrap();
    let bytes = fs::read(&good).unwrap();
    let header_end = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let bad = dir.path("bad.safetensors");
    for cut in 0..bytes.len() {
        let e = load_error(&dir, &bytes[..cut]);
        let words: &[&str] = if cut < 8 {
            &["too short"]
        } else if cut < header_end {
            &["header length", "truncated"]
        } else {
            &["truncated"]
        };
        assert_format(&e, &bad, words);
    }
    // Inside the data, the message names the first tensor cut off.
    let e = load_error(&dir, &bytes[..header_end + 10]);
    assert_format(&e, &bad, &["tensor \"0.bias\""]);
    // The untouched file still loads.
    load_module(&mlp::<f32>(1), &good, true).unwrap();
}

#[test]
fn wrong_headers_are_format_errors() {
    let dir = TempDir::new("headers");
    let bad = dir.path("bad.safetensors");
    let one_f32 = 1.5f32.to_le_bytes();

    // Garbage: text, random bytes.
    let e = load_error(&dir, b"this is not a checkpoint at all, just some text");
    assert_format(&e, &bad, &["header length"]);
    let mut g = Generator::new(3);
    let noise: Vec<u8> = Tensor::<f32>::rand(&[300], &mut g)
        .to_vec()
        .iter()
        .map(|v| (v * 255.0) as u8)
        .collect();
    load_error(&dir, &noise);

    // The header length larger than the file, up to u64::MAX.
    for n in [1000u64, u64::MAX, 1 << 63] {
        let mut bytes = n.to_le_bytes().to_vec();
        bytes.extend_from_slice(b"{}      ");
        assert_format(
            &load_error(&dir, &bytes),
            &bad,
            &["header length", &n.to_string()],
        );
    }

    // Not JSON, not an object, not UTF-8, wrong structure.
    assert_format(&load_error(&dir, &raw_file("{not json", &[])), &bad, &["JSON"]);
    assert_format(
        &load_error(&dir, &raw_file("[1, 2]", &[])),
        &bad,
        &["JSON object"],
    );
    assert_format(&load_error(&dir, &raw_file("", &[])), &bad, &["JSON object"]);
    let mut latin1 = raw_file("{\"caf\u{e9}\":1}", &[]);
    latin1[8 + 5] = 0xE9; // a lone Latin-1 byte where UTF-8 has two
    latin1[8 + 6] = b' ';
    assert_format(&load_error(&dir, &latin1), &bad, &["UTF-8"]);
    let no_dtype = "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}";
    assert_format(&load_error(&dir, &raw_file(no_dtype, &one_f32)), &bad, &["dtype"]);
    let bad_dtype = "{\"w\":{\"dtype\":\"F31\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    load_error(&dir, &raw_file(bad_dtype, &one_f32));
    let bad_meta =
        "{\"__metadata__\":{\"epoch\":3},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    load_error(&dir, &raw_file(bad_meta, &one_f32));

    // Offsets: beyond the data, not matching the shape, with a gap, with
    // extra bytes after the last tensor.
    let beyond = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    assert_format(
        &load_error(&dir, &raw_file(beyond, &one_f32)),
        &bad,
        &["\"w\"", "truncated"],
    );
    let short = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,8]}}";
    assert_format(&load_error(&dir, &raw_file(short, &[0; 8])), &bad, &["shape"]);
    let gap = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\
               \"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
    assert_format(&load_error(&dir, &raw_file(gap, &[0; 12])), &bad, &["\"b\""]);
    let exact = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    assert_format(&load_error(&dir, &raw_file(exact, &[0; 12])), &bad, &["extended"]);
    let negative = "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}";
    load_error(&dir, &raw_file(negative, &one_f32));
    let huge_shape = "{\"w\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}";
    load_error(&dir, &raw_file(huge_shape, &one_f32));

    // Byte ranges that are each consistent with their shapes but add up to
    // nearly 2^64: the sum would overflow inside the safetensors crate.
    let size = (1u64 << 61) - 1;
    let mut header = String::from("{");
    for i in 0..8u64 {
        if i > 0 {
            header.push(',');
        }
        header += &format!(
            "\"t{i}\":{{\"dtype\":\"U8\",\"shape\":[{size}],\"data_offsets\":[{},{}]}}",
            i * size,
            (i + 1) * size
        );
    }
    header.push('}');
    assert_format(&load_error(&dir, &raw_file(&header, &[0; 16])), &bad, &["\"t0\""]);

    // A valid file still loads after all that.
    fs::write(&bad, raw_file(exact, &one_f32)).unwrap();
    assert_eq!(load_tensors::<f32>(&bad).unwrap()[0].1.to_vec(), [1.5]);
}

// ------------------------------------------------------------ atomic writes

#[test]
fn saving_over_a_checkpoint_replaces_it_whole_and_leaves_no_temporary_file() {
    let dir = TempDir::new("replace");
    let path = dir.path("model.safetensors");
    save_module(&mlp::<f32>(0), &path).unwrap();
    let wider: Sequential = Sequential::new().add(Linear::new(4, 100, true, &mut Generator::new(5)));
    save_module(&wider, &path).unwrap();
    assert_eq!(dir.files(), ["model.safetensors"]);
    let restored: Sequential = Sequential::new().add(Linear::new(4, 100, true, &mut Generator::new(6)));
    load_module(&restored, &path, true).unwrap();
    assert_eq!(snapshot(&restored), snapshot(&wider));
}

#[test]
fn a_failed_write_leaves_the_old_checkpoint_and_no_temporary_file() {
    let dir = TempDir::new("failed_write");
    let path = dir.path("model.safetensors");
    let old = mlp::<f32>(0);
    save_module(&old, &path).unwrap();
    let old_bytes = fs::read(&path).unwrap();

    // The writer fails half-way through (a full disk, a crash).
    let e = write_atomic(&path, |w| {
        w.write_all(&old_bytes[..old_bytes.len() / 2])?;
        w.flush()?;
        Err(std::io::Error::other("disk full"))
    })
    .unwrap_err();
    match &e {
        Error::Io { path: p, source } => {
            assert_eq!(p, &path);
            assert_eq!(source.to_string(), "disk full");
        }
        other => panic!("expected Io, got {other:?}"),
    }
    assert!(e.to_string().contains("model.safetensors"), "{e}");
    assert_eq!(fs::read(&path).unwrap(), old_bytes);
    assert_eq!(dir.files(), ["model.safetensors"]);
    let restored = mlp::<f32>(1);
    load_module(&restored, &path, true).unwrap();
    assert_eq!(snapshot(&restored), snapshot(&old));

    // A writer that panics: the target is untouched and the temporary file
    // removed too.
    let caught = std::panic::catch_unwind(|| {
        let _ = write_atomic(&path, |w| {
            w.write_all(b"partial")?;
            panic!("killed mid-write")
        });
    });
    assert!(caught.is_err());
    assert_eq!(fs::read(&path).unwrap(), old_bytes);
    assert_eq!(dir.files(), ["model.safetensors"]);

    // Nowhere to write: an error naming the path, nothing created.
    let nowhere = dir.path("missing_dir/model.safetensors");
    let e = save_module(&old, &nowhere).unwrap_err();
    assert!(matches!(&e, Error::Io { path, .. } if path == &nowhere), "{e:?}");
    // A target that is a directory: the rename fails, the temp file goes.
    fs::create_dir(dir.path("a_dir")).unwrap();
    let e = save_module(&old, dir.path("a_dir")).unwrap_err();
    assert!(matches!(&e, Error::Io { .. }), "{e:?}");
    assert_eq!(dir.files(), ["a_dir", "model.safetensors"]);
}

#[test]
fn concurrent_readers_see_the_old_or_the_new_file_never_a_partial_one() {
    let dir = TempDir::new("concurrent");
    let path = dir.path("model.safetensors");
    let (a, b) = (mlp::<f32>(0), mlp::<f32>(1));
    let (snap_a, snap_b) = (snapshot(&a), snapshot(&b));
    save_module(&a, &path).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (path, done) = (path.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut reads = 0;
            let model = mlp::<f32>(2);
            while !done.load(Ordering::Relaxed) || reads == 0 {
                load_module(&model, &path, true).expect("a reader saw a bad checkpoint");
                let s = snapshot(&model);
                assert!(
                    s == snap_a || s == snap_b,
                    "a reader saw a mix of two checkpoints"
                );
                reads += 1;
            }
            reads
        })
    };
    for i in 0..200 {
        save_module(if i % 2 == 0 { &b } else { &a }, &path).unwrap();
    }
    done.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    assert_eq!(dir.files(), ["model.safetensors"]);
}

// ------------------------------------------------------------ optimizers

/// A minimal momentum optimizer (v = 0.9 v + g; p -= lr v) with the
/// trait's state naming, for testing the checkpoint functions on their own.
struct TestMomentum {
    parameters: Vec<Tensor>,
    learning_rate: f64,
    velocity: Vec<Option<Tensor>>,
}

impl TestMomentum {
    fn new(parameters: Vec<Tensor>, learning_rate: f64) -> Self {
        let velocity = vec![None; parameters.len()];
        TestMomentum {
            parameters,
            learning_rate,
            velocity,
        }
    }
}

impl Optimizer for TestMomentum {
    fn step(&mut self) {
        for (p, v) in self.parameters.iter().zip(&mut self.velocity) {
            let g = p.grad().unwrap_or_else(|| p.ones_like());
            let new_v = match v {
                Some(v) => &(&*v * 0.9f32) + &g,
                None => g.detach(),
            };
            let lr = self.learning_rate as f32;
            let step = new_v.to_vec();
            p.update_data(|d| d.iter_mut().zip(&step).for_each(|(x, s)| *x -= lr * s));
            *v = Some(new_v.detach());
        }
    }

    fn parameters(&self) -> &[Tensor] {
        &self.parameters
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    fn state_dict(&self) -> Vec<(String, Tensor)> {
        self.velocity
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                v.as_ref()
                    .map(|v| (format!("state.{i}.momentum_buffer"), v.clone()))
            })
            .collect()
    }

    fn load_state_dict(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let context = || "optimizer state".to_string();
        let mut velocity = vec![None; self.parameters.len()];
        for (name, t) in state {
            let index = name
                .strip_prefix("state.")
                .and_then(|r| r.strip_suffix(".momentum_buffer"))
                .and_then(|i| i.parse::<usize>().ok())
                .filter(|&i| i < self.parameters.len())
                .ok_or_else(|| Error::UnexpectedTensor {
                    context: context(),
                    name: name.clone(),
                })?;
            if t.shape() != self.parameters[index].shape() {
                return Err(Error::ShapeMismatch {
                    context: context(),
                    name: name.clone(),
                    expected: self.parameters[index].shape().to_vec(),
                    found: t.shape().to_vec(),
                });
            }
            velocity[index] = Some(t.clone());
        }
        self.velocity = velocity;
        Ok(())
    }
}

#[test]
fn optimizer_state_and_learning_rate_round_trip() {
    let dir = TempDir::new("optimizer");
    let path = dir.path("optimizer.safetensors");
    let model = mlp::<f32>(0);
    let mut opt = TestMomentum::new(model.parameters(), 0.0123);
    opt.step();
    opt.step();
    save_optimizer(&opt, &path).unwrap();
    assert_eq!(load_metadata(&path).unwrap()[LEARNING_RATE_KEY], "0.0123");

    let twin = mlp::<f32>(0);
    let mut restored = TestMomentum::new(twin.parameters(), 1.0);
    load_optimizer(&mut restored, &path).unwrap();
    assert_eq!(restored.learning_rate(), 0.0123);
    let as_values = |o: &TestMomentum| -> Vec<(String, Vec<f32>)> {
        o.state_dict().into_iter().map(|(n, t)| (n, t.to_vec())).collect()
    };
    assert_eq!(as_values(&restored), as_values(&opt));
    assert_eq!(restored.state_dict().len(), 4);

    // An awkward learning rate reads back exactly.
    opt.set_learning_rate(0.1 + 0.2);
    save_optimizer(&opt, &path).unwrap();
    load_optimizer(&mut restored, &path).unwrap();
    assert_eq!(restored.learning_rate(), 0.1 + 0.2);
}

#[test]
fn bad_optimizer_checkpoints_are_errors_naming_the_file() {
    let dir = TempDir::new("bad_optimizer");
    let model = mlp::<f32>(0);
    let mut opt = TestMomentum::new(model.parameters(), 0.5);

    // A module checkpoint is not an optimizer checkpoint: no learning rate.
    let module_file = dir.path("model.safetensors");
    save_module(&model, &module_file).unwrap();
    let e = load_optimizer(&mut opt, &module_file).unwrap_err();
    assert_format(&e, &module_file, &[LEARNING_RATE_KEY]);
    assert_eq!(opt.learning_rate(), 0.5);

    // A learning rate that is not a number.
    let path = dir.path("opt.safetensors");
    let meta = HashMap::from([(LEARNING_RATE_KEY.to_string(), "fast".to_string())]);
    save_tensors::<f32>(&path, &[], Some(meta)).unwrap();
    assert_format(
        &load_optimizer(&mut opt, &path).unwrap_err(),
        &path,
        &["\"fast\""],
    );

    // The optimizer's own checks, with the file added to their context; the
    // learning rate is left as it was.
    let meta = HashMap::from([(LEARNING_RATE_KEY.to_string(), "0.1".to_string())]);
    save_tensors(
        &path,
        &[named("state.1.momentum_buffer", ones(&[3]))],
        Some(meta.clone()),
    )
    .unwrap();
    let e = load_optimizer(&mut opt, &path).unwrap_err();
    assert!(
        matches!(&e, Error::ShapeMismatch { name, .. } if name == "state.1.momentum_buffer"),
        "{e:?}"
    );
    assert!(e.to_string().contains("opt.safetensors"), "{e}");
    assert!(e.to_string().contains("optimizer state"), "{e}");
    save_tensors(&path, &[named("state.9.momentum_buffer", ones(&[3]))], Some(meta)).unwrap();
    let e = load_optimizer(&mut opt, &path).unwrap_err();
    assert!(matches!(&e, Error::UnexpectedTensor { .. }), "{e:?}");
    assert!(e.to_string().contains("opt.safetensors"), "{e}");
    assert_eq!(opt.learning_rate(), 0.5);

    // A truncated optimizer file.
    save_optimizer(&opt, &path).unwrap();
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    assert_format(
        &load_optimizer(&mut opt, &path).unwrap_err(),
        &path,
        &["truncated"],
    );
}

/// Trains, checkpoints the model and the optimizer, trains on; then resumes
/// a fresh model and optimizer from the checkpoint and trains as long: the
/// two must end bitwise equal (and the learning rate comes from the file).
fn check_resume<O: Optimizer>(name: &str, make: impl Fn(Vec<Tensor>) -> O) {
    let dir = TempDir::new(name);
    let (model_file, optimizer_file) = (dir.path("model.safetensors"), dir.path("optimizer.safetensors"));
    let x = Tensor::randn(&[6, 4], &mut Generator::new(9));
    let train = |model: &Sequential, opt: &mut O, steps: usize| {
        for _ in 0..steps {
            opt.zero_grad();
            let y = model.forward(&x);
            (&y * &y).sum().backward();
            opt.step();
        }
    };

    let model = mlp::<f32>(0);
    let mut opt = make(model.parameters());
    train(&model, &mut opt, 3);
    opt.set_learning_rate(0.02);
    save_module(&model, &model_file).unwrap();
    save_optimizer(&opt, &optimizer_file).unwrap();
    assert!(!opt.state_dict().is_empty(), "{name} has no state to save");
    train(&model, &mut opt, 3);

    let resumed = mlp::<f32>(1);
    let mut resumed_opt = make(resumed.parameters());
    load_module(&resumed, &model_file, true).unwrap();
    load_optimizer(&mut resumed_opt, &optimizer_file).unwrap();
    assert_eq!(resumed_opt.learning_rate(), 0.02);
    train(&resumed, &mut resumed_opt, 3);
    assert_eq!(
        snapshot(&resumed),
        snapshot(&model),
        "{name}: resumed training differs"
    );

    // The state of other parameters (other shapes, more of them) fails, and
    // the error names the file.
    let other: Sequential = Sequential::new().add(Linear::new(4, 5, true, &mut Generator::new(0)));
    let mut other_opt = make(other.parameters());
    let e = load_optimizer(&mut other_opt, &optimizer_file).unwrap_err();
    assert!(e.to_string().contains("optimizer.safetensors"), "{e}");
}

#[test]
fn training_resumes_exactly_with_sgd_momentum() {
    check_resume("sgd", |p| Sgd::new(p, SgdConfig::new(0.1).momentum(0.9)));
}

#[test]
fn training_resumes_exactly_with_adam() {
    check_resume("adam", |p| Adam::new(p, AdamConfig::new(0.01)));
}
