//! The pictures of the guide, drawn by the `nabla` command: the graph as
//! SVG without Graphviz, and `nabla show`'s kernels, filters and feature maps.

use std::path::PathBuf;
use std::process::{Command, Output};

fn nabla(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nabla"))
        .args(args)
        // No Graphviz on the PATH: the SVG must not need it.
        .env("PATH", "/nonexistent")
        .output()
        .expect("the nabla binary runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A fresh, empty folder under the target directory.
fn scratch(name: &str) -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn png_size(path: &PathBuf) -> (u32, u32) {
    image::open(path)
        .unwrap_or_else(|e| panic!("{} is not an image: {e}", path.display()))
        .to_rgb8()
        .dimensions()
}

#[test]
fn graph_as_svg_shows_the_course_values_and_gradients_without_graphviz() {
    let out = nabla(&["graph", "--example", "course", "--format", "svg"]);
    assert!(out.status.success(), "{}", text(&out));
    let svg = String::from_utf8_lossy(&out.stdout);
    assert!(svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"));
    for label in [
        "x = -2", "y = 5", "z = -4", "Add", "= 3", "Mul", "= -12", "grad -4", "grad 3",
    ] {
        assert!(svg.contains(&format!(">{label}</tspan>")), "{label} is missing");
    }
    // An --out ending in .svg writes SVG.
    let dir = scratch("pictures-graph");
    let file = dir.join("f.svg");
    let out = nabla(&["graph", "--example", "neuron", "--out", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let svg = std::fs::read_to_string(&file).unwrap();
    assert!(
        svg.contains(">= 0.7311</tspan>"),
        "the neuron's output is missing"
    );
}

#[test]
fn show_kernels_draws_a_digit_through_the_course_kernels() {
    let dir = scratch("pictures-kernels");
    let file = dir.join("kernels.png");
    let out = nabla(&["show", "kernels", "--out", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let (width, height) = png_size(&file);
    // Five 28x28 tiles at 6 pixels per value, side by side.
    assert!(width > 5 * 168 && height > 168 + 72, "{width}x{height}");
}

#[test]
fn show_filters_needs_a_checkpoint() {
    let out = nabla(&["show", "filters", "--out", "/nonexistent/f.png"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("give --checkpoint"), "{}", text(&out));
}

#[test]
fn a_model_trained_with_batch_norm_and_augmentation_shows_its_filters_and_maps() {
    let dir = scratch("pictures-trained");
    let run = nabla(&[
        "train",
        "--model",
        "lenet5-bn",
        "--augment",
        "--epochs",
        "1",
        "--limit",
        "1000",
        "--batch-size",
        "32",
        "--workers",
        "1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", text(&run));
    let model = dir.join("model.safetensors");
    let filters = dir.join("filters.png");
    let out = nabla(&[
        "show",
        "filters",
        "--model",
        "lenet5-bn",
        "--checkpoint",
        model.to_str().unwrap(),
        "--out",
        filters.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    // Six 5x5 filters at 24 pixels per weight in one line.
    let (width, _) = png_size(&filters);
    assert!(width >= 6 * 120, "{width}");
    let maps = dir.join("maps.png");
    let digit = dir.join("digit.png");
    image::GrayImage::from_fn(28, 28, |x, _| {
        image::Luma([if (12..16).contains(&x) { 255 } else { 0 }])
    })
    .save(&digit)
    .unwrap();
    // Without --model: the checkpoint records it.
    let out = nabla(&[
        "show",
        "feature-maps",
        "--checkpoint",
        model.to_str().unwrap(),
        "--image",
        digit.to_str().unwrap(),
        "--out",
        maps.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    // The input, then conv1's 6 maps and conv2's 16 (two lines of 8).
    let (_, height) = png_size(&maps);
    assert!(height > 168 + 112 + 2 * 110, "{height}");
}
