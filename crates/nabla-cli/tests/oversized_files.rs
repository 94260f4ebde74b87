//! Files that claim more than the command needs (issue 11, item 8), through
//! the real binary: a checkpoint with a 64 GiB tensor behind its header
//! given to `eval`, `predict` and `train --resume`, an IDX file whose
//! header claims 2^31 images, and directories where files should be. Each
//! is a one-line error naming the file (and the tensor), found from the
//! header alone: the huge files are sparse, and reading one would take
//! minutes and more memory than the machine has.

mod common;

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use common::*;
use serde_json::{json, Map, Value};

/// 64 GiB of F32 data.
const HUGE_ELEMENTS: u64 = 1 << 34;

/// Rewrites the safetensors file `src` as `dst` with one more F32 tensor
/// `name` of `elements` declared after the others, its data a hole.
fn with_huge_tensor(src: &Path, dst: &Path, name: &str, elements: u64) {
    let bytes = fs::read(src).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: Map<String, Value> = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    let end = data.len() as u64 + elements * 4;
    header.insert(
        name.to_string(),
        json!({"dtype": "F32", "shape": [elements], "data_offsets": [data.len(), end]}),
    );
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

/// Runs `args`, which must fail with exit 1; returns the last line of
/// standard error (notes may come before it), after checking it is the
/// error line.
fn error_line(args: &[&str]) -> String {
    let out = nabla(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    let last = err.lines().last().unwrap_or_default().to_string();
    assert!(
        last.starts_with("nabla: ") && !last.starts_with("nabla: note"),
        "{err}"
    );
    last
}

#[test]
fn checkpoints_with_a_huge_tensor_are_refused_by_eval_predict_and_resume() {
    let data = tiny_image_folder("huge-ckpt");
    let run = scratch("huge-ckpt-run");
    let run_s = run.to_str().unwrap();
    let trained = nabla(&[
        "train",
        "--dataset",
        data.to_str().unwrap(),
        "--model",
        "mlp",
        "--epochs",
        "1",
        "--workers",
        "0",
        "--out",
        run_s,
    ]);
    assert!(trained.status.success(), "{}", stderr(&trained));

    let big = run.join("big.safetensors");
    with_huge_tensor(&run.join("model.safetensors"), &big, "extra", HUGE_ELEMENTS);
    assert!(fs::metadata(&big).unwrap().len() > 64 << 30);
    let image = data.join("test/dark/00.png");
    for args in [
        vec!["eval", "--checkpoint", big.to_str().unwrap()],
        vec![
            "predict",
            "--checkpoint",
            big.to_str().unwrap(),
            image.to_str().unwrap(),
        ],
    ] {
        let line = error_line(&args);
        assert!(
            line.contains(&format!("{}: unexpected tensor \"extra\"", big.display())),
            "{line}"
        );
    }

    // The run's own checkpoint, with a huge optimizer-state tensor: the
    // resumed run is refused before anything is read or written.
    let last = run.join("checkpoints/last.safetensors");
    with_huge_tensor(&last, &last, "optimizer.state.0.huge", HUGE_ELEMENTS);
    let line = error_line(&[
        "train",
        "--resume",
        run.join("checkpoints").to_str().unwrap(),
        "--epochs",
        "2",
    ]);
    assert!(
        line.contains(&last.display().to_string())
            && line.contains("tensor \"optimizer.state.0.huge\" has shape [17179869184]"),
        "{line}"
    );
    let metrics = fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 1, "the run is as it was");
    fs::remove_dir_all(&run).unwrap();
}

#[test]
fn an_idx_file_claiming_billions_of_images_is_refused_by_name() {
    let dir = scratch("huge-idx");
    let images = dir.join("t10k-images-idx3-ubyte");
    let mut file = File::create(&images).unwrap();
    for n in [0x803u32, 1 << 31, 28, 28] {
        file.write_all(&n.to_be_bytes()).unwrap();
    }
    // 8 GiB of (unwritten) pixels behind the header.
    file.set_len(16 + (8 << 30)).unwrap();
    let mut labels = 0x801u32.to_be_bytes().to_vec();
    labels.extend(10u32.to_be_bytes());
    labels.extend([0; 10]);
    fs::write(dir.join("t10k-labels-idx1-ubyte"), labels).unwrap();
    // A model file that records nothing: `eval` loads the data first.
    let model = dir.join("model.safetensors");
    nabla::checkpoint::save_tensors::<f32>(&model, &[], None).unwrap();
    let line = error_line(&[
        "eval",
        "--checkpoint",
        model.to_str().unwrap(),
        "--dataset",
        "mnist",
        "--data-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(
        line.contains(&format!(
            "{}: the header announces 2147483648 images of 28x28, 1683627180032 bytes, more than",
            images.display()
        )),
        "{line}"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_directory_where_a_file_should_be_is_reported_as_a_directory() {
    let dir = scratch("dir-for-file");
    let images = dir.join("t10k-images-idx3-ubyte.gz");
    fs::create_dir(&images).unwrap();
    let model = dir.join("model.safetensors");
    nabla::checkpoint::save_tensors::<f32>(&model, &[], None).unwrap();
    let line = error_line(&[
        "eval",
        "--checkpoint",
        model.to_str().unwrap(),
        "--dataset",
        "mnist",
        "--data-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(
        line.contains(&format!("{}: a directory", images.display())) && !line.contains("no such file"),
        "{line}"
    );

    // An image to predict that is a directory.
    let run = scratch("dir-for-image-run");
    let data = tiny_image_folder("dir-for-image");
    let trained = nabla(&[
        "train",
        "--dataset",
        data.to_str().unwrap(),
        "--model",
        "mlp",
        "--epochs",
        "1",
        "--workers",
        "0",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(trained.status.success(), "{}", stderr(&trained));
    let folder = dir.join("picture.png");
    fs::create_dir(&folder).unwrap();
    let line = error_line(&[
        "predict",
        "--checkpoint",
        run.join("model.safetensors").to_str().unwrap(),
        folder.to_str().unwrap(),
    ]);
    assert!(
        line.contains(&folder.display().to_string()) && line.contains("directory"),
        "{line}"
    );
}
