//! `nabla convert` and PyTorch checkpoints on the command line: a
//! `torch.save` state dict converted to safetensors holds PyTorch's
//! tensors; `nabla eval` reads the `.pth` itself and prints PyTorch's test
//! accuracy; malicious, truncated and missing files are refused with one
//! line naming the file (fixtures from scripts/make_pth_fixtures.py).

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::{check_no_panic, nabla, scratch, stderr, stdout};
use nabla::checkpoint::{load_metadata, load_tensors};
use nabla::Tensor;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../nabla/tests/fixtures")
        .join(name)
}

fn tensors(path: &Path) -> HashMap<String, Tensor> {
    load_tensors::<f32>(path).unwrap().into_iter().collect()
}

fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn a_pytorch_state_dict_converts_to_the_same_tensors() {
    let dir = scratch("convert_lenet5");
    let output = dir.join("lenet5.safetensors");
    let input = fixture("pth/lenet5_trained.pth");
    let out = nabla(&["convert", arg(&input), arg(&output)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("10 tensors, 61706 elements"),
        "{}",
        stdout(&out)
    );
    let converted = tensors(&output);
    let reference = tensors(&fixture("lenet5_trained.safetensors"));
    assert_eq!(converted.len(), reference.len());
    for (name, tensor) in &reference {
        assert_eq!(converted[name].to_vec(), tensor.to_vec(), "{name}");
    }
    assert_eq!(load_metadata(&output).unwrap()["format"], "pt");
}

#[test]
fn half_precision_and_plain_values_are_reported() {
    let dir = scratch("convert_layouts");
    let output = dir.join("layouts.safetensors");
    let out = nabla(&["convert", arg(&fixture("pth/state_dict.pth")), arg(&output)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("widened to float32 (exactly): f16, bf16"),
        "{}",
        stdout(&out)
    );
    let out = nabla(&["convert", arg(&fixture("pth/nested.pth")), arg(&output)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("left out: epoch, names.0"),
        "{}",
        stdout(&out)
    );
}

/// The number printed between `accuracy ` and `%` in `nabla eval`'s output.
fn printed_accuracy(stdout: &str) -> &str {
    let start = stdout.find("accuracy ").expect("an accuracy") + "accuracy ".len();
    let len = stdout[start..].find('%').expect("a percentage");
    &stdout[start..start + len]
}

#[test]
fn nabla_eval_reads_a_pth_checkpoint_directly() {
    let expected = load_metadata(fixture("lenet5_trained.safetensors")).unwrap()["test_accuracy"].clone();
    let input = fixture("pth/lenet5_trained.pth");
    let out = nabla(&["eval", "--model", "lenet5", "--checkpoint", arg(&input)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(printed_accuracy(&stdout(&out)), expected, "{}", stdout(&out));
}

#[test]
fn bad_checkpoints_are_refused_in_one_line_naming_the_file() {
    let dir = scratch("convert_bad");
    let output = dir.join("out.safetensors");
    let refused = |input: &Path, needle: &str| {
        let out = nabla(&["convert", arg(input), arg(&output)]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{input:?}: {err}");
        assert!(
            err.starts_with("nabla: ") && err.lines().count() == 1,
            "{input:?}: {err}"
        );
        assert!(
            err.contains(arg(input)) && err.contains(needle),
            "{input:?}: {err}"
        );
        assert!(!output.exists(), "{input:?}: an output was written");
    };
    refused(
        &fixture("pth/malicious_system.pth"),
        "refused global posix.system",
    );
    refused(&fixture("pth/malicious_eval.pth"), "refused global builtins.eval");
    refused(
        &fixture("pth/malicious_legacy.pth"),
        "refused global posix.system",
    );
    let bytes = std::fs::read(fixture("pth/lenet5.pth")).unwrap();
    let truncated = dir.join("truncated.pth");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    refused(&truncated, "truncated");
    refused(&dir.join("missing.pth"), "No such file");
    refused(&fixture("lenet5_trained.safetensors"), "not a PyTorch checkpoint");
    // The input as its own output.
    let copy = dir.join("copy.pth");
    std::fs::copy(fixture("pth/lenet5.pth"), &copy).unwrap();
    let out = nabla(&["convert", arg(&copy), arg(&copy)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("both the input and the output"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&copy).unwrap(), bytes);
    // Usage errors and odd arguments: one line, never a panic.
    let out = nabla(&["convert", arg(&copy)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    for args in [
        vec!["convert", "", ""],
        vec!["convert", "/", arg(&output)],
        vec!["convert", arg(&copy), "/"],
        vec!["convert", arg(&copy), "/nonexistent/dir/out.safetensors"],
    ] {
        check_no_panic(&args);
    }
}
