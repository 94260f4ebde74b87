//! Files that declare more than their reader can need (issue 11, item 8):
//! checkpoints whose headers claim huge tensors with that much data behind
//! them, IDX files whose headers claim billions of images, and directories
//! where a file should be. Each is refused by name from its header alone.
//!
//! The huge files are sparse: as long as their headers say, with nothing
//! written, so they cost no disk. Reading one would take minutes and more
//! memory than the machine has: a test that ends at all shows the data was
//! not read.

use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use nabla::checkpoint::{load_module, load_optimizer, save_module, save_optimizer};
use nabla::data::idx::{read_idx_images, read_idx_labels, MAX_IDX_DATA_BYTES};
use nabla::data::{IdxDataset, Mnist, Split};
use nabla::nn::{Linear, Module};
use nabla::optim::{Sgd, SgdConfig};
use nabla::train::{load_model_from_checkpoint, TrainingCheckpoint};
use nabla::{Error, Generator};
use serde_json::{json, Map, Value};

/// 64 GiB of declared data, as in the issue.
const HUGE_ELEMENTS: u64 = 1 << 34;

/// A fresh directory for one test, removed with its huge files when
/// dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("nabla_oversized_{name}_{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

fn layer(seed: u64) -> Linear {
    Linear::new(4, 3, true, &mut Generator::new(seed))
}

/// Copies the safetensors file `src` to `dst` with `extra` F32 tensors
/// (name, shape) declared after the others: the file is as long as the
/// header says, their data a hole.
fn with_huge_tensors(src: &Path, dst: &Path, extra: &[(&str, &[u64])]) {
    let bytes = fs::read(src).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: Map<String, Value> = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    let mut end = data.len() as u64;
    for (name, shape) in extra {
        let size = shape.iter().product::<u64>() * 4;
        header.insert(
            name.to_string(),
            json!({"dtype": "F32", "shape": shape, "data_offsets": [end, end + size]}),
        );
        end += size;
    }
    let mut text = serde_json::to_vec(&header).unwrap();
    while text.len() % 8 != 0 {
        text.push(b' ');
    }
    let mut file = File::create(dst).unwrap();
    file.write_all(&(text.len() as u64).to_le_bytes()).unwrap();
    file.write_all(&text).unwrap();
    file.write_all(data).unwrap();
    file.set_len(8 + text.len() as u64 + end).unwrap();
}

#[test]
fn a_module_file_with_a_huge_extra_tensor_is_refused_by_name_and_not_read() {
    let dir = scratch("module");
    let (good, big) = (dir.join("good.safetensors"), dir.join("big.safetensors"));
    save_module(&layer(0), &good).unwrap();
    with_huge_tensors(&good, &big, &[("extra", &[HUGE_ELEMENTS])]);
    assert!(fs::metadata(&big).unwrap().len() > 64 << 30);

    let target = layer(1);
    let before = target.weight.to_vec();
    let e = load_module(&target, &big, true).unwrap_err();
    assert!(
        matches!(&e, Error::UnexpectedTensor { context, name } if name == "extra" && context.contains("big.safetensors")),
        "{e:?}"
    );
    assert_eq!(target.weight.to_vec(), before, "nothing loaded");
    // Not strict: the module's tensors load, the huge one is only reported.
    let report = load_module(&target, &big, false).unwrap();
    assert_eq!(report.unexpected, ["extra"]);
    assert_eq!(target.weight.to_vec(), layer(0).weight.to_vec());
}

#[test]
fn a_huge_tensor_in_place_of_the_modules_is_a_shape_error_naming_it() {
    let dir = scratch("shape");
    let (bias_only, big) = (dir.join("bias.safetensors"), dir.join("big.safetensors"));
    let model = layer(0);
    nabla::checkpoint::save_tensors(
        &bias_only,
        &[("bias".to_string(), model.bias.clone().unwrap())],
        None,
    )
    .unwrap();
    with_huge_tensors(&bias_only, &big, &[("weight", &[1 << 17, 1 << 17])]);
    let e = load_module(&layer(1), &big, true).unwrap_err();
    match &e {
        Error::ShapeMismatch {
            name,
            expected,
            found,
            ..
        } => {
            assert_eq!((name.as_str(), expected.as_slice()), ("weight", &[3, 4][..]));
            assert_eq!(found, &[1 << 17, 1 << 17]);
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("big.safetensors"), "{e}");
}

#[test]
fn an_optimizer_file_is_checked_against_the_parameters_before_it_is_read() {
    let dir = scratch("optimizer");
    let model = layer(0);
    let (empty, big) = (dir.join("empty.safetensors"), dir.join("big.safetensors"));
    let mut optimizer = Sgd::new(model.parameters(), SgdConfig::new(0.1).momentum(0.9));
    save_optimizer(&optimizer, &empty).unwrap();

    with_huge_tensors(&empty, &big, &[("state.0.momentum_buffer", &[HUGE_ELEMENTS])]);
    let e = load_optimizer(&mut optimizer, &big).unwrap_err();
    assert!(
        matches!(&e, Error::ShapeMismatch { name, expected, .. } if name == "state.0.momentum_buffer" && expected == &[3, 4]),
        "{e:?}"
    );
    assert!(e.to_string().contains("big.safetensors (optimizer state)"), "{e}");

    // A parameter that does not exist, a name of another form.
    for name in ["state.2.momentum_buffer", "momentum"] {
        with_huge_tensors(&empty, &big, &[(name, &[HUGE_ELEMENTS])]);
        let e = load_optimizer(&mut optimizer, &big).unwrap_err();
        assert!(
            matches!(&e, Error::UnexpectedTensor { name: n, .. } if n == name),
            "{e:?}"
        );
    }

    // Parameter-sized tensors, but more than any optimizer keeps.
    let names: Vec<String> = (0..17).map(|i| format!("state.1.buffer{i:02}")).collect();
    let extra: Vec<(&str, &[u64])> = names.iter().map(|n| (n.as_str(), &[3u64][..])).collect();
    with_huge_tensors(&empty, &big, &extra);
    match load_optimizer(&mut optimizer, &big).unwrap_err() {
        Error::Format { path, message } => {
            assert_eq!(path, big);
            assert!(
                message
                    .contains("\"state.1.buffer16\": more than 16 optimizer-state tensors for parameter 1"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_training_checkpoint_is_checked_against_the_model_and_optimizer_before_it_is_read() {
    let dir = scratch("training");
    let model = layer(0);
    let mut optimizer = Sgd::new(model.parameters(), SgdConfig::new(0.1).momentum(0.9));
    let (good, big) = (dir.join("last.safetensors"), dir.join("big.safetensors"));
    TrainingCheckpoint::new(5, 7)
        .save(&good, &model, &optimizer)
        .unwrap();

    with_huge_tensors(
        &good,
        &big,
        &[("optimizer.state.1.momentum_buffer", &[HUGE_ELEMENTS])],
    );
    let resumed = layer(1);
    let e = TrainingCheckpoint::resume(&big, &resumed, &mut optimizer, None).unwrap_err();
    assert!(
        matches!(&e, Error::ShapeMismatch { name, expected, .. } if name == "optimizer.state.1.momentum_buffer" && expected == &[3]),
        "{e:?}"
    );
    assert!(e.to_string().contains("big.safetensors"), "{e}");
    assert_ne!(resumed.weight.to_vec(), model.weight.to_vec(), "nothing loaded");
    // Evaluating reads the model's tensors only: the optimizer's huge one
    // is never read.
    load_model_from_checkpoint(&resumed, &big).unwrap();
    assert_eq!(resumed.weight.to_vec(), model.weight.to_vec());

    with_huge_tensors(&good, &big, &[("model.extra", &[HUGE_ELEMENTS])]);
    for e in [
        TrainingCheckpoint::resume(&big, &layer(1), &mut optimizer, None).unwrap_err(),
        load_model_from_checkpoint(&layer(1), &big).unwrap_err(),
    ] {
        assert!(
            matches!(&e, Error::UnexpectedTensor { name, .. } if name == "model.extra"),
            "{e:?}"
        );
    }
}

#[test]
fn a_header_longer_than_the_format_allows_is_refused_before_it_is_parsed() {
    let dir = scratch("header");
    let path = dir.join("long_header.safetensors");
    let n: u64 = 1 << 30;
    let mut file = File::create(&path).unwrap();
    file.write_all(&n.to_le_bytes()).unwrap();
    file.write_all(b"{").unwrap();
    file.set_len(8 + n).unwrap();
    match load_module(&layer(0), &path, true).unwrap_err() {
        Error::Format { path: p, message } => {
            assert_eq!(p, path);
            assert!(
                message.contains(&format!("says {n} bytes, more than the 100000000")),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_directory_where_a_checkpoint_should_be_is_named_as_one() {
    let dir = scratch("checkpoint_dir");
    let e = load_module(&layer(0), &dir, true).unwrap_err();
    assert!(
        matches!(&e, Error::Io { path, source } if path == &dir.0 && source.kind() == ErrorKind::IsADirectory),
        "{e:?}"
    );
    assert!(e.to_string().contains("a directory"), "{e}");
}

// ------------------------------------------------------------------ IDX

fn idx_header(magic: u32, dims: &[u32]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out
}

/// An IDX file of `header` followed by a hole of `data_len` bytes.
fn sparse_idx(path: &Path, header: &[u8], data_len: u64) {
    let mut file = File::create(path).unwrap();
    file.write_all(header).unwrap();
    file.set_len(header.len() as u64 + data_len).unwrap();
}

fn format_message(result: Result<impl std::fmt::Debug, Error>, path: &Path) -> String {
    match result.unwrap_err() {
        Error::Format { path: p, message } => {
            assert_eq!(p, path);
            message
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_idx_header_claiming_billions_of_images_is_refused_before_reading() {
    let dir = scratch("idx_images");
    let path = dir.join("images-idx3-ubyte");
    // 2^31 images of 28x28 (1.6 TB), 8 GiB of data behind the header.
    sparse_idx(&path, &idx_header(0x803, &[1 << 31, 28, 28]), 8 << 30);
    let message = format_message(read_idx_images(&path), &path);
    assert!(
        message.contains(&format!(
            "announces 2147483648 images of 28x28, 1683627180032 bytes, more than the {MAX_IDX_DATA_BYTES}"
        )),
        "{message}"
    );

    // Within the bound, but more than the file holds: refused from the
    // file's length, not by reading to its end.
    sparse_idx(&path, &idx_header(0x803, &[1 << 20, 28, 28]), 8 << 20);
    let message = format_message(read_idx_images(&path), &path);
    assert!(
        message.contains("announces 1048576 images of 28x28 (822083584 bytes of pixels) but only 8388608"),
        "{message}"
    );

    // Gzipped: no more than deflate can expand the file to.
    let gz = dir.join("labels-idx1-ubyte.gz");
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(&idx_header(0x801, &[1 << 30])).unwrap();
    encoder.write_all(&[1; 100]).unwrap();
    fs::write(&gz, encoder.finish().unwrap()).unwrap();
    let message = format_message(read_idx_labels(&gz), &gz);
    assert!(
        message.contains("announces 1073741824 labels, 1073741824 bytes, but")
            && message.contains("hold at most"),
        "{message}"
    );
}

#[test]
fn idx_headers_are_compared_before_either_file_is_read() {
    let dir = scratch("idx_counts");
    let (images, labels) = (dir.join("images"), dir.join("labels"));
    let mut small = idx_header(0x803, &[10, 28, 28]);
    small.extend(vec![0; 10 * 784]);
    fs::write(&images, small).unwrap();
    // 2^31 labels, with 2 GiB behind them: within the bound, and a valid
    // file on its own, but not the images' count.
    sparse_idx(&labels, &idx_header(0x801, &[1 << 31]), 1 << 31);
    let classes = (0..10).map(|d| d.to_string()).collect();
    let message = format_message(IdxDataset::load(&images, &labels, classes), &labels);
    assert!(
        message.contains("count mismatch: 2147483648 labels, but"),
        "{message}"
    );
}

#[test]
fn a_directory_where_an_idx_file_should_be_is_named_as_one() {
    let dir = scratch("idx_dir");
    let images = dir.join("t10k-images-idx3-ubyte.gz");
    fs::create_dir(&images).unwrap();
    for e in [
        Mnist::load(&dir, Split::Test).unwrap_err(),
        read_idx_images(&images).unwrap_err(),
    ] {
        assert!(
            matches!(&e, Error::Io { path, source } if path == &images && source.kind() == ErrorKind::IsADirectory),
            "{e:?}"
        );
        assert!(e.to_string().contains("a directory"), "{e}");
    }
    // A data folder that is a file is not "no such file" either.
    let file = dir.join("not-a-folder");
    fs::write(&file, b"x").unwrap();
    let e = Mnist::load(&file, Split::Test).unwrap_err();
    assert!(
        matches!(&e, Error::Io { path, source } if path == &file && source.kind() == ErrorKind::NotADirectory),
        "{e:?}"
    );
}
