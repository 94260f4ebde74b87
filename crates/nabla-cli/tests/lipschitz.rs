//! `nabla lipschitz` end to end: a LeNet-5 with BatchNorm trained for one
//! epoch on 1000 digits, its layers' constants, both bounds of its
//! Lipschitz constant and its certified accuracies; and the errors for a
//! negative radius and a checkpoint that is not a classifier.

mod common;

use common::*;

/// The number after `label` on the line that contains it.
fn number_after(text: &str, label: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no line with {label:?} in\n{text}"));
    let rest = &line[line.find(label).unwrap() + label.len()..];
    let token: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || ".e+-".contains(*c))
        .collect();
    token
        .parse()
        .unwrap_or_else(|e| panic!("{token:?} after {label:?} in {line:?}: {e}"))
}

#[test]
fn lipschitz_prints_layers_bounds_and_certified_accuracies_of_a_trained_lenet() {
    let out = scratch("lipschitz-lenet");
    let run = nabla(&[
        "train",
        "--epochs",
        "1",
        "--limit",
        "1000",
        "--workers",
        "0",
        "--threads",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let model = out.join("model.safetensors");
    let report = nabla(&[
        "lipschitz",
        "--checkpoint",
        model.to_str().unwrap(),
        "--limit",
        "300",
        "--radii",
        "0,0.01,0.1,1",
    ]);
    let text = stdout(&report);
    assert!(report.status.success(), "{text}\n{}", stderr(&report));
    for row in ["conv1", "bn1", "pool1", "flatten", "fc1", "bn4", "fc3"] {
        assert!(
            text.lines().any(|l| l.starts_with(row)),
            "no row {row} in\n{text}"
        );
    }
    assert!(text.contains("[16, 5, 5]"), "pool2's input shape:\n{text}");
    assert!(text.contains("power iteration"), "{text}");
    let upper = number_after(&text, "upper bound (product of the layers):");
    let lower = number_after(
        &text,
        "lower bound (largest Jacobian norm over 300 test examples):",
    );
    assert!(
        0.0 < lower && lower <= upper,
        "lower {lower}, upper {upper}\n{text}"
    );
    let clean = number_after(&text, "clean accuracy on the mnist test set:");
    assert!(clean > 60.0, "{text}");
    let certified: Vec<f64> = ["eps 0 ", "eps 0.01", "eps 0.1 ", "eps 1 "]
        .iter()
        .map(|label| number_after(&text, label))
        .collect();
    assert!(certified[0] <= clean, "{text}");
    assert!(
        certified.windows(2).all(|w| w[0] >= w[1]),
        "certified accuracy falls with eps: {certified:?}"
    );
    assert!(
        text.contains("on pixels (divided by the smallest std 0.3081"),
        "{text}"
    );
}

#[test]
fn lipschitz_refuses_a_negative_radius_and_a_model_that_is_not_a_classifier() {
    let out = nabla(&[
        "lipschitz",
        "--checkpoint",
        "nowhere.safetensors",
        "--radii",
        "0.1,-0.5",
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("--radii: a radius must be a finite number >= 0, got -0.5"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    let ae = scratch("lipschitz-ae");
    let run = nabla(&[
        "train",
        "--model",
        "ae",
        "--epochs",
        "1",
        "--limit",
        "256",
        "--workers",
        "0",
        "--threads",
        "1",
        "--out",
        ae.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let out = nabla(&[
        "lipschitz",
        "--checkpoint",
        ae.join("model.safetensors").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("not a classifier"), "{err}");
    // nabla attack refuses it the same way.
    let attack = nabla(&[
        "attack",
        "--checkpoint",
        ae.join("model.safetensors").to_str().unwrap(),
    ]);
    assert!(!attack.status.success());
    assert!(
        stderr(&attack).contains("not a classifier: nabla attack takes the classifiers"),
        "{}",
        stderr(&attack)
    );
    check_no_panic(&[
        "lipschitz",
        "--checkpoint",
        ae.join("model.safetensors").to_str().unwrap(),
    ]);
}
