//! The `nabla` command end to end: real processes, real output.

use std::process::{Command, Output};

fn nabla(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nabla"))
        .args(args)
        .output()
        .expect("the nabla binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn graph_of_the_course_example_has_its_values_and_gradients() {
    let out = nabla(&["graph", "--example", "course"]);
    assert!(out.status.success());
    let dot = stdout(&out);
    // Forward: x = -2, y = 5, z = -4, q = x + y = 3, f = q z = -12.
    // Backward: df/dx = df/dy = -4, df/dz = 3, df/dq = -4, df/df = 1.
    for needle in [
        "x = -2\\ngrad -4",
        "y = 5\\ngrad -4",
        "z = -4\\ngrad 3",
        "Add\\n= 3\\ngrad -4",
        "Mul\\n= -12\\ngrad 1",
    ] {
        assert!(dot.contains(needle), "missing {needle:?} in\n{dot}");
    }
    assert!(dot.starts_with("digraph"));
}

#[test]
fn graph_of_the_sigmoid_neuron_matches_figure_2_6() {
    let dot = stdout(&nabla(&["graph", "--example", "neuron"]));
    for needle in [
        "w0 = 2\\ngrad -0.1966",
        "w1 = -3\\ngrad -0.3932",
        "x0 = -1\\ngrad 0.3932",
        "x1 = -2\\ngrad -0.5898",
    ] {
        assert!(dot.contains(needle), "missing {needle:?} in\n{dot}");
    }
}

#[test]
fn graph_rejects_an_unknown_function_in_one_line() {
    let out = nabla(&["graph", "--expr", "foo(x)", "--var", "x=1"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim(), "nabla: unknown function \"foo\"");
}

#[test]
fn summary_of_lenet5_has_the_reference_totals() {
    let out = nabla(&["summary", "--model", "lenet5"]);
    assert!(out.status.success());
    let table = stdout(&out);
    assert!(table.contains("total: 61,706 parameters"), "{table}");
    assert!(table.contains("conv2 Conv2d(6, 16"), "{table}");
    assert!(table.contains("16x16"), "{table}");
}

#[test]
fn bad_arguments_fail_without_a_backtrace() {
    let out = nabla(&["summary", "--model", "resnet"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown model \"resnet\""), "{err}");
    assert!(!err.contains("backtrace"), "{err}");
}

#[test]
fn every_subcommand_has_help() {
    for sub in ["summary", "graph", "bench"] {
        let out = nabla(&[sub, "--help"]);
        assert!(out.status.success(), "{sub} --help");
        assert!(stdout(&out).contains("Usage: nabla"), "{sub}");
    }
}
