//! Every op recorded in the graph has an f64 gradient check: this test
//! collects the op names from the `record(...)` calls in `src/` and fails
//! listing those whose op is not called in any gradcheck test file
//! (`tests/*gradcheck*.rs`, and `tests/distributed.rs`, whose checks of
//! `SyncBatchNorm` run at several ranks under `mpirun`).

use std::fs;
use std::path::{Path, PathBuf};

/// Ops whose call in a test does not read as `.snake_case_name(`: the
/// record name and the calls that exercise it. Nodes recorded only by a
/// backward formula (the `...Scatter`, `...Transpose`, `...WeightGrad`
/// ones) are checked by the gradgradchecks of their forward op.
const CALLS: &[(&str, &[&str])] = &[
    ("Add", &[".add(", " + "]),
    ("Sub", &[".sub(", " - "]),
    ("Mul", &[".mul(", " * "]),
    ("Div", &[".div(", " / "]),
    ("Neg", &[".neg(", "-&"]),
    ("View", &[".squeeze(", ".unsqueeze(", ".flatten("]),
    ("MatMul", &[".matmul("]),
    ("Cat", &["Tensor::cat("]),
    ("Where", &["Tensor::where_("]),
    ("Reciprocal", &[".recip("]),
    ("RDivScalar", &[".rdiv_scalar("]),
    ("Max", &[".max("]),
    ("Min", &[".min("]),
    ("NegLogSigmoid", &["binary_cross_entropy_with_logits("]),
    ("BinaryCrossEntropy", &["binary_cross_entropy("]),
    ("ToDtype", &[".to_f32(", ".to_dtype::<"]),
    ("MaxPool2dScatter", &[".max_pool2d("]),
    ("MaxPool2dGather", &[".max_pool2d("]),
    ("Conv2dWeightGrad", &[".conv2d("]),
    ("AvgPool2dTranspose", &[".avg_pool2d("]),
    ("AdaptiveAvgPool2dTranspose", &[".adaptive_avg_pool2d("]),
    ("AttentionWeights", &["scaled_dot_product_attention("]),
    ("LogSumExp", &[".logsumexp("]),
    ("CumSum", &[".cumsum("]),
    ("GeluTanh", &["GeluApproximation::Tanh"]),
    ("BatchNorm", &["BatchNorm1d::", "BatchNorm2d::"]),
    ("BatchNormEval", &["BatchNorm1d::", "BatchNorm2d::"]),
    ("LayerNorm", &["LayerNorm::<f64>::"]),
    ("SyncBatchNorm", &["SyncBatchNorm::<f64>::"]),
    ("LstmSequence", &["Lstm::from_weights("]),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable source directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The string literals in `text` that start with a capital letter: op names.
fn capitalized_literals(text: &str) -> Vec<String> {
    text.split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with(|c: char| c.is_ascii_uppercase()) && s.chars().all(char::is_alphanumeric))
        .map(str::to_string)
        .collect()
}

/// The op names recorded in `source`: the literals in the first argument
/// of each `record(` call, and in constants of name pairs that a helper
/// passes to `record` (`const AVG_POOL: AvgNames = ("AvgPool2d", ...)`).
fn recorded_names(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in source.match_indices("record(") {
        let preceded_by_word = source[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        if preceded_by_word {
            continue;
        }
        let rest = &source[at + "record(".len()..];
        // The first argument ends at the first comma outside braces.
        let mut depth = 0i32;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '{' | '(' => depth += 1,
                    '}' | ')' => depth -= 1,
                    _ => {}
                }
                c == ',' && depth == 0
            })
            .map_or(rest.len(), |(i, _)| i);
        names.extend(capitalized_literals(&rest[..end]));
    }
    for line in source
        .lines()
        .filter(|l| l.trim_start().starts_with("const ") && l.contains("Names = ("))
    {
        names.extend(capitalized_literals(line));
    }
    names
}

fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[test]
fn every_recorded_op_has_an_f64_gradient_check() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Vec::new();
    rust_files(&root.join("src"), &mut sources);
    let mut names: Vec<String> = sources
        .iter()
        .flat_map(|p| recorded_names(&fs::read_to_string(p).expect("readable source")))
        .collect();
    names.sort();
    names.dedup();
    assert!(names.len() > 40, "found only {names:?}: the scan is broken");

    let mut tests = Vec::new();
    rust_files(&root.join("tests"), &mut tests);
    let checks: String = tests
        .iter()
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                let name = n.to_string_lossy();
                name.contains("gradcheck") || name == "distributed.rs"
            })
        })
        .map(|p| fs::read_to_string(p).expect("readable test"))
        .collect();

    let missing: Vec<&String> = names
        .iter()
        .filter(|name| {
            let default = [format!(".{}(", snake_case(name))];
            let calls: Vec<String> = match CALLS.iter().find(|(n, _)| n == name) {
                Some((_, calls)) => calls.iter().map(|c| c.to_string()).collect(),
                None => default.to_vec(),
            };
            !calls.iter().any(|c| checks.contains(c.as_str()))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "these recorded ops have no f64 gradient check in tests/*gradcheck*.rs: {missing:?}"
    );
}

#[test]
fn the_scan_finds_literal_conditional_and_paired_names() {
    let source = r#"
        record("Exp", out, &[self], |ctx| vec![]);
        record(if op == "max" { "Max" } else { "Min" }, out, &[self], f);
        const AVG: AvgNames = ("AvgPool2d", "AvgPool2dTranspose");
        fn record(name: &str) {}
        let r = reader.read_byte_record(&mut record);
    "#;
    assert_eq!(
        recorded_names(source),
        vec!["Exp", "Max", "Min", "AvgPool2d", "AvgPool2dTranspose"]
    );
}
