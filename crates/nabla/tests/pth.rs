//! PyTorch checkpoints read directly (`checkpoint::pth`), on files written
//! by `torch.save` (fixtures from scripts/make_pth_fixtures.py, in
//! tests/fixtures/pth/): every layout and type of tensor, both formats,
//! nested checkpoints, malicious pickles refused, truncated and corrupted
//! files refused by name, PyTorch models' state dicts loaded into nabla
//! models with the same outputs, and the conversion to safetensors.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use nabla::checkpoint::pth::{convert_to_safetensors, PthDtype, PthFile};
use nabla::checkpoint::{load_metadata, load_module, load_tensors};
use nabla::nn::{zoo, BatchNorm2d, Conv2d, Layer, Module, Sequential};
use nabla::train::load_model_from_checkpoint;
use nabla::{Error, Generator, Tensor};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn pth(name: &str) -> PathBuf {
    fixture("pth").join(name)
}

/// A path under the system's temporary folder, unique to this test run.
fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("nabla_pth_{}_{name}", std::process::id()))
}

fn by_name<T: nabla::Float>(path: &Path) -> HashMap<String, Tensor<T>> {
    load_tensors::<T>(path)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .collect()
}

const LAYOUTS: [(&str, PthDtype, &[usize]); 13] = [
    ("f32", PthDtype::F32, &[2, 3]),
    ("f64", PthDtype::F64, &[3, 2]),
    ("f16", PthDtype::F16, &[10]),
    ("bf16", PthDtype::BF16, &[2, 2]),
    ("i64", PthDtype::I64, &[4]),
    ("shared_whole", PthDtype::F32, &[4, 6]),
    ("shared_rows", PthDtype::F32, &[2, 6]),
    ("shared_offset", PthDtype::F32, &[6]),
    ("shared_transposed", PthDtype::F32, &[6, 4]),
    ("shared_step", PthDtype::F32, &[4, 3]),
    ("broadcast", PthDtype::F32, &[3, 4]),
    ("scalar", PthDtype::F32, &[]),
    ("empty", PthDtype::F32, &[0, 3]),
];

fn assert_layouts(file: &PthFile) {
    let expected = by_name::<f64>(&pth("state_dict_expected.safetensors"));
    let names: Vec<&str> = LAYOUTS.iter().map(|(n, _, _)| *n).collect();
    assert_eq!(file.names(), names, "{}: the dict's order", file.path().display());
    for (name, dtype, shape) in LAYOUTS {
        assert_eq!(file.dtype(name), Some(dtype), "{name}");
        assert_eq!(file.shape(name), Some(shape), "{name}");
        let got = file.decode::<f64>(name).unwrap();
        assert_eq!(got.shape(), shape, "{name}");
        assert_eq!(
            got.to_vec(),
            expected[name].to_vec(),
            "{name} of {}",
            file.path().display()
        );
    }
    // The float16 tensor's special values, the sign of its zero included.
    let f16 = file.decode::<f32>("f16").unwrap().to_vec();
    assert_eq!(f16[4..6], [f32::INFINITY, f32::NEG_INFINITY]);
    assert_eq!(f16[6], 2f32.powi(-24), "6e-8 rounds to the smallest subnormal");
    assert!(f16[7] == 0.0 && f16[7].is_sign_negative());
    assert_eq!(f16[8..], [65504.0, 0.333_251_95]);
    // int64 as stored, beyond 2^31.
    let raw = file.read("i64").unwrap();
    let ints: Vec<i64> = raw
        .data
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(ints, [0, -1, 1 << 40, 7]);
    // The transpose of the shared grid is the grid transposed.
    let grid = file.decode::<f32>("shared_whole").unwrap();
    assert_eq!(
        file.decode::<f32>("shared_transposed").unwrap().to_vec(),
        grid.transpose(0, 1).to_vec()
    );
}

#[test]
fn every_layout_and_type_reads_as_pytorch_shows_it() {
    let file = PthFile::open(pth("state_dict.pth")).unwrap();
    assert!(!file.is_legacy());
    assert_layouts(&file);
}

#[test]
fn the_legacy_format_reads_the_same() {
    let file = PthFile::open(pth("state_dict_legacy.pth")).unwrap();
    assert!(file.is_legacy());
    assert_layouts(&file);
}

#[test]
fn nested_checkpoints_name_their_tensors_by_path() {
    let file = PthFile::open(pth("nested.pth")).unwrap();
    assert_eq!(
        file.names(),
        [
            "model.weight",
            "model.bias",
            "tied",
            "optimizer.state.0.momentum_buffer",
            "optimizer.state.1.momentum_buffer"
        ]
    );
    for other in [
        "epoch",
        "names.0",
        "names.1",
        "optimizer.param_groups.0.lr",
        "optimizer.param_groups.0.params.1",
    ] {
        assert!(
            file.others().iter().any(|o| o == other),
            "{other} in {:?}",
            file.others()
        );
    }
    let weight = file.decode::<f32>("model.weight").unwrap();
    assert_eq!(weight.shape(), &[2, 3]);
    assert_eq!(file.decode::<f32>("tied").unwrap().to_vec(), weight.to_vec());
    // Saved as nn.Parameter (torch._utils._rebuild_parameter): the same values.
    let parameters = PthFile::open(pth("parameters.pth")).unwrap();
    assert_eq!(parameters.names(), ["weight", "bias"]);
    assert_eq!(
        parameters.decode::<f32>("weight").unwrap().to_vec(),
        weight.to_vec()
    );
    assert_eq!(
        parameters.decode::<f32>("bias").unwrap().to_vec(),
        file.decode::<f32>("model.bias").unwrap().to_vec()
    );
}

#[test]
fn pickles_that_would_run_code_are_refused_naming_the_global() {
    let pwned = Path::new("/tmp/nabla_pth_pwned");
    for (name, global) in [
        ("malicious_system.pth", "posix.system"),
        ("malicious_eval.pth", "builtins.eval"),
        ("malicious_legacy.pth", "posix.system"),
    ] {
        let path = pth(name);
        let message = match PthFile::open(&path) {
            Err(Error::Format { path: p, message }) if p == path => message,
            Err(other) => panic!("{name}: {other}"),
            Ok(_) => panic!("{name} was read"),
        };
        assert!(
            message.contains(&format!("refused global {global}")),
            "{name}: {message}"
        );
        let model: Sequential = Sequential::new();
        let error = load_module(&model, &path, false).unwrap_err().to_string();
        assert!(error.contains(global) && error.contains(name), "{error}");
        assert!(load_tensors::<f32>(&path)
            .unwrap_err()
            .to_string()
            .contains(global));
    }
    assert!(!pwned.exists(), "a command from a malicious pickle ran");
}

/// Opening `path` and reading all its tensors fails, naming the file.
fn assert_refused(path: &Path, what: &str) -> String {
    let result = PthFile::open(path).and_then(|file| {
        for name in file.names() {
            file.read(&name)?;
        }
        Ok(())
    });
    let message = result.expect_err(what).to_string();
    assert!(message.contains(&path.display().to_string()), "{what}: {message}");
    message
}

#[test]
fn truncated_and_corrupted_files_are_refused_naming_the_file() {
    for source in ["state_dict.pth", "state_dict_legacy.pth"] {
        let bytes = std::fs::read(pth(source)).unwrap();
        let path = scratch(&format!("truncated_{source}"));
        for len in [
            1,
            4,
            20,
            bytes.len() / 3,
            bytes.len() / 2,
            bytes.len() - 30,
            bytes.len() - 1,
        ] {
            std::fs::write(&path, &bytes[..len]).unwrap();
            assert_refused(&path, &format!("{source} cut to {len} bytes"));
        }
        std::fs::remove_file(&path).unwrap();
    }

    // A flipped bit in a tensor's data fails the archive's CRC-32.
    let mut bytes = std::fs::read(pth("state_dict.pth")).unwrap();
    let f32_tensor = PthFile::open(pth("state_dict.pth"))
        .unwrap()
        .read("f32")
        .unwrap()
        .data;
    let at = bytes
        .windows(f32_tensor.len())
        .position(|w| w == f32_tensor)
        .expect("the f32 tensor's bytes are stored as they are");
    bytes[at + 5] ^= 0x10;
    let path = scratch("corrupted.pth");
    std::fs::write(&path, &bytes).unwrap();
    let message = assert_refused(&path, "a flipped bit");
    assert!(
        message.contains("checksum") && message.contains("\"f32\""),
        "{message}"
    );

    // Bytes flipped in turn: an error or tensors, never a panic. The
    // legacy format has no checksum, so its flips reach the unpickler.
    for (source, step) in [("state_dict.pth", 11), ("state_dict_legacy.pth", 1)] {
        let original = std::fs::read(pth(source)).unwrap();
        for at in (0..original.len()).step_by(step) {
            let mut bytes = original.clone();
            bytes[at] ^= if at % 2 == 0 { 0xff } else { 0x01 };
            std::fs::write(&path, &bytes).unwrap();
            if let Ok(file) = PthFile::open(&path) {
                for name in file.names() {
                    let _ = file.read(&name);
                }
            }
        }
    }
    std::fs::remove_file(&path).unwrap();

    // Not a checkpoint at all.
    let path = scratch("text.pth");
    std::fs::write(&path, "weights, honest\n").unwrap();
    assert!(assert_refused(&path, "a text file").contains("not a PyTorch checkpoint"));
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_compressed_archive_is_refused_saying_why() {
    let message = assert_refused(&pth("deflated.pth"), "a deflated archive");
    assert!(message.contains("uncompressed"), "{message}");
}

#[test]
fn a_zip_archive_that_is_not_from_torch_save_is_refused() {
    // The smallest zip archive: an end-of-central-directory record alone.
    let mut empty = b"PK\x05\x06".to_vec();
    empty.extend_from_slice(&[0; 18]);
    let path = scratch("empty.zip");
    std::fs::write(&path, [b"PK\x03\x04".as_slice(), &empty].concat()).unwrap();
    assert_refused(&path, "an empty archive");
    std::fs::remove_file(&path).unwrap();
}

fn assert_close(what: &str, got: &[f32], want: &[f32], atol: f32, rtol: f32) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= atol + rtol * b.abs(),
            "{what}: element {i} is {a}, PyTorch has {b}"
        );
    }
}

#[test]
fn a_pytorch_lenet5_state_dict_gives_pytorchs_logits() {
    let model = zoo::lenet5::<f32>(&mut Generator::new(0));
    let report = load_module(&model, pth("lenet5.pth"), true).unwrap();
    assert!(report.is_complete(), "{report}");
    let io = by_name::<f32>(&fixture("lenet5_io.safetensors"));
    let logits = nabla::no_grad(|| model.forward(&io["input"]));
    assert_close("logits", &logits.to_vec(), &io["logits"].to_vec(), 1e-5, 1e-4);
    // The same weights as the safetensors file PyTorch wrote.
    let reference = by_name::<f32>(&fixture("lenet5_weights.safetensors"));
    for (name, tensor) in model.state_dict() {
        assert_eq!(tensor.to_vec(), reference[&name].to_vec(), "{name}");
    }
}

#[test]
fn a_pytorch_batchnorm_state_dict_loads_with_its_int64_counter() {
    let mut g = Generator::new(0);
    let mut model: Sequential = Sequential::new()
        .add(Conv2d::new(1, 2, 3, &mut g))
        .add(BatchNorm2d::new(2));
    load_model_from_checkpoint(&model, pth("conv_bn.pth")).unwrap();
    let state: HashMap<String, Tensor> = model.state_dict().into_iter().collect();
    assert_eq!(state["1.num_batches_tracked"].item(), 3.0);
    model.eval();
    let io = by_name::<f32>(&fixture("conv_bn_io.safetensors"));
    let output = nabla::no_grad(|| model.forward(&io["input"]));
    assert_close(
        "eval output",
        &output.to_vec(),
        &io["output"].to_vec(),
        1e-5,
        1e-4,
    );
    assert!(load_metadata(pth("conv_bn.pth")).unwrap().is_empty());
}

#[test]
fn loading_checks_names_and_shapes_as_for_safetensors() {
    let mut g = Generator::new(0);
    let wrong: Sequential = Sequential::new()
        .add(Conv2d::new(1, 3, 3, &mut g))
        .add(BatchNorm2d::new(3));
    match load_module(&wrong, pth("conv_bn.pth"), true) {
        Err(Error::ShapeMismatch {
            context,
            name,
            expected,
            found,
        }) => {
            assert!(context.ends_with("conv_bn.pth"), "{context}");
            assert_eq!(
                (name.as_str(), expected, found),
                ("0.weight", vec![3, 1, 3, 3], vec![2, 1, 3, 3])
            );
        }
        other => panic!("{other:?}"),
    }
    let before = wrong.state_dict()[2].1.to_vec();
    let report = load_module(&wrong, pth("nested.pth"), false).unwrap();
    assert!(report.loaded.is_empty());
    assert_eq!(report.unexpected.len(), 5);
    assert_eq!(
        wrong.state_dict()[2].1.to_vec(),
        before,
        "nothing loaded, nothing changed"
    );
}

#[test]
fn conversion_writes_what_torch_load_gives() {
    let output = scratch("converted.safetensors");
    let done = convert_to_safetensors(pth("state_dict.pth"), &output).unwrap();
    assert_eq!(done.tensors.len(), LAYOUTS.len());
    assert_eq!(done.widened, ["f16", "bf16"]);
    assert!(done.skipped.is_empty());
    assert_eq!(done.elements, 6 + 6 + 10 + 4 + 4 + 24 + 12 + 6 + 24 + 12 + 12 + 1);
    let expected = by_name::<f64>(&pth("state_dict_expected.safetensors"));
    let converted = by_name::<f64>(&output);
    assert_eq!(converted.len(), expected.len());
    for (name, tensor) in &expected {
        assert_eq!(converted[name].shape(), tensor.shape(), "{name}");
        assert_eq!(converted[name].to_vec(), tensor.to_vec(), "{name}");
    }
    // Each in its own type; the halves widened to F32.
    let bytes = std::fs::read(&output).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let dtype = |name: &str| file.tensor(name).unwrap().dtype();
    use safetensors::Dtype;
    assert_eq!(
        [
            dtype("f32"),
            dtype("f64"),
            dtype("f16"),
            dtype("bf16"),
            dtype("i64")
        ],
        [Dtype::F32, Dtype::F64, Dtype::F32, Dtype::F32, Dtype::I64]
    );
    assert_eq!(load_metadata(&output).unwrap()["format"], "pt");

    // A nested checkpoint: its plain values are reported, not written.
    let done = convert_to_safetensors(pth("nested.pth"), &output).unwrap();
    assert!(done.skipped.contains(&"epoch".to_string()));
    assert_eq!(by_name::<f32>(&output).len(), 5);

    // A refused input leaves the output as it was.
    let before = std::fs::read(&output).unwrap();
    assert!(convert_to_safetensors(pth("malicious_system.pth"), &output).is_err());
    assert_eq!(std::fs::read(&output).unwrap(), before);
    std::fs::remove_file(&output).unwrap();
}
