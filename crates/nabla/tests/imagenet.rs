//! The ImageNet pieces against torchvision (fixtures from
//! scripts/make_imagenet_zoo_fixtures.py): ResNet-18 and VGG-16 with
//! torchvision's state-dict names and shapes and its logits for weights
//! filled from a formula (nothing large is committed), ResNet-18's training
//! mode and running statistics; the evaluation preprocessing (Resize(256),
//! CenterCrop(224), ToTensor, Normalize) on images of several sizes and
//! colour types, pixel for pixel; the class names.

use std::collections::HashMap;
use std::path::PathBuf;

use nabla::checkpoint::load_tensors;
use nabla::data::imagenet::{imagenet_classes, open_image, DynamicImage, ImagePreprocess, RgbImage};
use nabla::nn::{zoo, Layer, Module};
use nabla::{Float, Generator, Tensor};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn zoo_meta() -> Value {
    let path = fixture("imagenet_zoo.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn zoo_outputs() -> HashMap<String, Tensor> {
    load_tensors::<f32>(fixture("imagenet_zoo.safetensors"))
        .expect("the fixture loads")
        .into_iter()
        .collect()
}

/// Element `i` of stream `k` in [-1, 1): the script's `uniform`, SplitMix64's
/// finaliser on `(i + 1) * 0x9E3779B97F4A7C15 + k * 0xD1B54A32D192ED03`.
fn uniform(i: usize, k: usize) -> f64 {
    let mut z = (i as u64 + 1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((k as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 * 2f64.powi(-53) * 2.0 - 1.0
}

/// Element `i` of the `k`-th state-dict entry `name`, as the script's
/// `formula_value`.
fn formula(name: &str, shape: &[usize], k: usize, meta: &Value) -> Vec<f64> {
    let gain = meta["weight_gain"].as_f64().unwrap();
    let n: usize = shape.iter().product();
    let leaf = name.rsplit('.').next().unwrap();
    (0..n)
        .map(|i| {
            let u = uniform(i, k);
            match leaf {
                "num_batches_tracked" => 0.0,
                "weight" if shape.len() >= 2 => gain * u / ((n / shape[0]) as f64).sqrt(),
                "weight" => 1.0 + 0.2 * u,
                "bias" | "running_mean" => 0.1 * u,
                "running_var" => 1.0 + 0.5 * u.abs(),
                _ => panic!("no formula for {name}"),
            }
        })
        .collect()
}

/// Fills every parameter and buffer of `model` from the formula.
fn fill<T: Float>(model: &dyn Module<T>, meta: &Value) {
    for (k, (name, t)) in model.state_dict().into_iter().enumerate() {
        let values = formula(&name, t.shape(), k, meta);
        t.update_data(|data| {
            for (d, v) in data.iter_mut().zip(&values) {
                *d = T::from_f64(*v);
            }
        });
    }
}

/// The input of shape `key` in the metadata: element i is
/// uniform(i, input_stream), rounded to f32 as torchvision's input.
fn formula_input<T: Float>(meta: &Value, key: &str) -> Tensor<T> {
    let shape: Vec<usize> = serde_json::from_value(meta[key].clone()).unwrap();
    let stream = meta["input_stream"].as_u64().unwrap() as usize;
    let n: usize = shape.iter().product();
    let values = (0..n)
        .map(|i| T::from_f64(f64::from(uniform(i, stream) as f32)))
        .collect();
    Tensor::from_vec(values, &shape)
}

/// Asserts `|got - want| <= rtol * (|want| + max |want|)`: relative to each
/// logit and to the scale of all of them (logits near zero).
fn assert_close<T: Float>(what: &str, got: &Tensor<T>, want: &Tensor, rtol: f64) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let (g, w) = (got.to_vec(), want.to_vec());
    let scale = w.iter().fold(0.0f64, |m, v| m.max(f64::from(v.abs())));
    let mut worst = (0.0, 0);
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        let error = (a.as_f64() - f64::from(*b)).abs() / (f64::from(b.abs()) + scale);
        if error > worst.0 {
            worst = (error, i);
        }
    }
    let i = worst.1;
    assert!(
        worst.0 <= rtol,
        "{what}: element {i} is {} but torchvision has {} (relative error {:.2e})",
        g[i].as_f64(),
        w[i],
        worst.0
    );
}

fn assert_names_and_shapes<T: Float>(model: &dyn Module<T>, meta: &Value, key: &str) {
    let want: Vec<(String, Vec<usize>)> = serde_json::from_value(meta[key].clone()).unwrap();
    let got: Vec<(String, Vec<usize>)> = model
        .state_dict()
        .into_iter()
        .map(|(n, t)| (n, t.shape().to_vec()))
        .collect();
    assert_eq!(got.len(), want.len(), "{key}: number of entries");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "{key}");
    }
}

fn resnet18_matches_torchvision<T: Float>(rtol: f64) {
    let meta = zoo_meta();
    let outputs = zoo_outputs();
    let mut model = zoo::resnet18::<T>(1000, &mut Generator::new(0));
    assert_names_and_shapes(&model, &meta, "resnet18_state_dict");
    fill(&model, &meta);
    let x = formula_input::<T>(&meta, "resnet18_input");
    model.eval();
    assert_close(
        "eval logits",
        &model.forward(&x),
        &outputs["resnet18.eval_logits"],
        rtol,
    );
    model.train(true);
    assert_close(
        "train logits",
        &model.forward(&x),
        &outputs["resnet18.train_logits"],
        rtol,
    );
    for (name, t) in model.named_buffers() {
        if name.ends_with("num_batches_tracked") {
            assert_eq!(t.item().as_f64(), 1.0, "{name}");
        } else {
            assert_close(&name, &t, &outputs[&format!("resnet18.after_train.{name}")], rtol);
        }
    }
}

#[test]
fn resnet18_has_torchvisions_names_logits_and_running_statistics_in_f32() {
    resnet18_matches_torchvision::<f32>(1e-4);
}

#[test]
fn resnet18_matches_torchvision_in_f64() {
    resnet18_matches_torchvision::<f64>(1e-4);
}

#[test]
fn vgg16_has_torchvisions_names_parameters_initialisation_and_logits() {
    let meta = zoo_meta();
    let outputs = zoo_outputs();
    let mut model = zoo::vgg16::<f32>(1000, &mut Generator::new(0));
    assert_eq!(model.num_parameters(), 138_357_544);
    assert_names_and_shapes(&model, &meta, "vgg16_state_dict");
    // torchvision's initialisation: linear weights N(0, 0.01), zero biases;
    // convolutions Kaiming-normal with fan-out (std sqrt(2 / (64 * 9)) for the first).
    let sd: HashMap<String, Tensor> = model.state_dict().into_iter().collect();
    let std = |t: &Tensor| {
        let v = t.to_vec();
        (v.iter().map(|x| f64::from(x * x)).sum::<f64>() / v.len() as f64).sqrt()
    };
    assert!((std(&sd["classifier.3.weight"]) - 0.01).abs() < 2e-4);
    assert!((std(&sd["features.0.weight"]) / (2.0 / 576.0f64).sqrt() - 1.0).abs() < 0.1);
    assert!(sd["features.0.bias"].to_vec().iter().all(|&b| b == 0.0));
    assert!(sd["classifier.6.bias"].to_vec().iter().all(|&b| b == 0.0));
    drop(sd);
    fill(&model, &meta);
    model.eval();
    let x = formula_input::<f32>(&meta, "vgg16_input");
    assert_close(
        "eval logits",
        &model.forward(&x),
        &outputs["vgg16.eval_logits"],
        1e-4,
    );
}

// ------------------------------------------------------------ preprocessing

struct ImageCase {
    file: String,
    resized: (usize, usize),
    channel_sums: Vec<f64>,
    samples: Vec<(usize, f32)>,
}

fn image_cases() -> Vec<ImageCase> {
    let path = fixture("imagenet/preprocess.json");
    let root: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    root["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| {
            let resized: Vec<usize> = serde_json::from_value(case["resized"].clone()).unwrap();
            let indices: Vec<usize> = serde_json::from_value(case["sample_indices"].clone()).unwrap();
            let values: Vec<f32> = serde_json::from_value(case["sample_values"].clone()).unwrap();
            ImageCase {
                file: case["file"].as_str().unwrap().to_string(),
                resized: (resized[0], resized[1]),
                channel_sums: serde_json::from_value(case["channel_sums"].clone()).unwrap(),
                samples: indices.into_iter().zip(values).collect(),
            }
        })
        .collect()
}

fn read_rgb(name: &str) -> RgbImage {
    open_image(&fixture(&format!("imagenet/{name}")))
        .unwrap()
        .to_rgb8()
}

/// How many of the crop's values differ from `want`, and by how much at most.
fn crop_differences(got: &RgbImage, want: &RgbImage) -> (usize, u8, f64) {
    let diffs: Vec<u8> = got
        .as_raw()
        .iter()
        .zip(want.as_raw())
        .map(|(a, b)| a.abs_diff(*b))
        .collect();
    let count = diffs.iter().filter(|&&d| d > 0).count();
    let mean = diffs.iter().map(|&d| f64::from(d)).sum::<f64>() / diffs.len() as f64;
    (count, diffs.into_iter().max().unwrap_or(0), mean)
}

#[test]
fn preprocessing_gives_torchvisions_pixels_and_values() {
    let preprocess = ImagePreprocess::imagenet();
    let cases = image_cases();
    assert!(cases.len() >= 9);
    for case in &cases {
        let path = fixture(&format!("imagenet/{}", case.file));
        let jpeg = case.file.ends_with(".jpg");
        // A JPEG starts from PIL's decoded pixels (libjpeg-turbo's); the
        // `image` crate's decoder is compared below.
        let image = if jpeg {
            DynamicImage::ImageRgb8(read_rgb(&format!("{}.decoded.png", case.file)))
        } else {
            open_image(&path).unwrap()
        };
        let size = (image.width() as usize, image.height() as usize);
        assert_eq!(
            preprocess.resized_size(size),
            case.resized,
            "{}: resized size",
            case.file
        );
        let crop = preprocess.resize_and_crop(&image);
        let want = read_rgb(&format!("{}.crop.png", case.file));
        let (differing, ..) = crop_differences(&crop, &want);
        assert_eq!(
            differing, 0,
            "{}: {differing} of 224x224x3 crop values differ",
            case.file
        );
        let values = if jpeg {
            preprocess.apply(&image)
        } else {
            preprocess.load(&path).unwrap()
        };
        let plane = 224 * 224;
        for (c, want_sum) in case.channel_sums.iter().enumerate() {
            let sum: f64 = values[c * plane..(c + 1) * plane]
                .iter()
                .map(|&v| f64::from(v))
                .sum();
            assert!(
                (sum - want_sum).abs() < 1e-6 * plane as f64,
                "{}: channel {c} sums to {sum}, torchvision {want_sum}",
                case.file
            );
        }
        for &(i, want) in &case.samples {
            assert!(
                (values[i] - want).abs() <= 1e-6,
                "{}: value {i} is {} not {want}",
                case.file,
                values[i]
            );
        }
    }
}

#[test]
fn jpeg_decoding_differs_from_pils_by_a_few_levels_at_most() {
    // The `image` crate's JPEG decoder and libjpeg-turbo round the chroma
    // upsampling and the inverse DCT differently: on this 4:2:0 JPEG, about
    // a third of the cropped values differ, by 3 levels at most, 0.4 on average.
    let preprocess = ImagePreprocess::imagenet();
    let crop = preprocess.resize_and_crop(&open_image(&fixture("imagenet/photo_320x240.jpg")).unwrap());
    let (_, max, mean) = crop_differences(&crop, &read_rgb("photo_320x240.jpg.crop.png"));
    assert!(max <= 4 && mean <= 0.5, "max difference {max}, mean {mean}");
}

#[test]
fn a_batch_stacks_the_single_images() {
    let preprocess = ImagePreprocess::imagenet();
    let paths = [
        fixture("imagenet/gray_181x320.png"),
        fixture("imagenet/photo_320x240.jpg"),
    ];
    let batch = preprocess.load_batch(&paths).unwrap();
    assert_eq!(batch.shape(), &[2, 3, 224, 224]);
    let values = batch.to_vec();
    assert_eq!(values[3 * 224 * 224..], preprocess.load(&paths[1]).unwrap()[..]);
    let small = ImagePreprocess {
        resize: 64,
        crop: 56,
        ..ImagePreprocess::imagenet()
    };
    assert_eq!(small.load_batch(&paths[..1]).unwrap().shape(), &[1, 3, 56, 56]);
}

#[test]
fn a_corrupt_or_missing_image_is_an_error_naming_the_file() {
    let preprocess = ImagePreprocess::imagenet();
    for name in ["imagenet/corrupt.png", "imagenet/no_such_image.png"] {
        let path = fixture(name);
        let message = preprocess.load(&path).unwrap_err().to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        let batch = preprocess.load_batch(&[fixture("imagenet/gray_181x320.png"), path.clone()]);
        assert!(
            batch.unwrap_err().to_string().contains(name),
            "batch error names {name}"
        );
    }
}

#[test]
#[should_panic(expected = "crop 300 must be between 1 and resize 256")]
fn a_crop_larger_than_the_resize_is_refused() {
    let preprocess = ImagePreprocess {
        crop: 300,
        ..ImagePreprocess::imagenet()
    };
    let image = open_image(&fixture("imagenet/gray_181x320.png")).unwrap();
    preprocess.resize_and_crop(&image);
}

#[test]
fn the_class_names_are_torchvisions() {
    let classes = imagenet_classes();
    assert_eq!(classes.len(), 1000);
    assert_eq!(classes[0], "tench");
    assert_eq!(classes[207], "golden retriever");
    assert_eq!(classes[281], "tabby");
    assert_eq!(classes[999], "toilet tissue");
    assert!(classes.iter().all(|c| !c.is_empty() && c.trim() == *c));
}
