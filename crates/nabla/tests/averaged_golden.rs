//! `AveragedModel` against PyTorch's `torch.optim.swa_utils.AveragedModel`
//! (equal and exponential averages, with and without buffers), in `f64`,
//! on fixtures from `scripts/make_averaged_fixtures.py`; and the
//! bias-corrected average (which PyTorch lacks) against its closed form.

mod common;

use std::collections::HashMap;

use common::{parse_data, read_fixtures, tensor, widen, Data};
use nabla::nn::{BatchNorm1d, Linear, Module, Sequential};
use nabla::optim::{AveragedModel, Averaging};
use nabla::Generator;
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/averaged.json");
const SCRIPT: &str = "make_averaged_fixtures.py";

fn model() -> Sequential<f64> {
    Sequential::new()
        .add(Linear::new(3, 2, true, &mut Generator::new(0)))
        .add(BatchNorm1d::new(2))
}

fn tensors(v: &Value) -> HashMap<String, Data> {
    v.as_object()
        .expect("an object of tensors")
        .iter()
        .map(|(name, t)| (name.clone(), parse_data(t)))
        .collect()
}

/// Sets `module`'s parameters and buffers named in `values` to them.
fn set(module: &dyn Module<f64>, values: &HashMap<String, Data>) {
    for (name, t) in module.state_dict() {
        if let Some(value) = values.get(&name) {
            t.copy_from(&tensor(value));
        }
    }
}

#[test]
fn averages_follow_pytorch() {
    let root = read_fixtures(FIXTURES, SCRIPT);
    let cases = root["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 4);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let averaging = match case["averaging"].as_str().unwrap() {
            "equal" => Averaging::Equal,
            "exponential" => Averaging::Exponential {
                decay: case["decay"].as_f64().unwrap(),
            },
            other => panic!("{name}: unknown averaging {other}"),
        };
        let use_buffers = case["use_buffers"].as_bool().unwrap();
        let source = model();
        let mut average = AveragedModel::new(model(), averaging, use_buffers).unwrap();
        let updates = case["updates"].as_array().unwrap();
        let averages = case["averages"].as_array().unwrap();
        for (k, (update, want)) in updates.iter().zip(averages).enumerate() {
            set(&source, &tensors(update));
            average.update_parameters(&source);
            let want = tensors(want);
            assert_eq!(average.n_averaged(), k as u64 + 1);
            for (tensor_name, got) in average.module.state_dict() {
                let Some(want) = want.get(&tensor_name) else {
                    assert!(
                        tensor_name.ends_with("num_batches_tracked"),
                        "{name}: {tensor_name} not in the fixture"
                    );
                    continue;
                };
                let got = widen(&got);
                assert_eq!(got.shape, want.shape, "{name}: {tensor_name}");
                for (g, w) in got.values.iter().zip(&want.values) {
                    assert!(
                        (g - w).abs() <= 1e-12 * (1.0 + w.abs()),
                        "{name}, update {k}: {tensor_name} is {:?}, PyTorch {:?}",
                        got.values,
                        want.values
                    );
                }
            }
        }
    }
}

#[test]
fn the_bias_corrected_average_is_the_normalised_exponential_mean() {
    let decay = 0.8_f64;
    let source = Linear::<f64>::new(2, 1, false, &mut Generator::new(0));
    let copy = Linear::new(2, 1, false, &mut Generator::new(1));
    let mut average = AveragedModel::new(copy, Averaging::BiasCorrected { decay }, true).unwrap();
    let values = [3.0, -1.0, 4.0, 1.5, -9.0, 2.0];
    for (n, &v) in values.iter().enumerate() {
        source.weight.update_data(|w| w.fill(v));
        average.update_parameters(&source);
        let weights: Vec<f64> = (0..=n).map(|t| decay.powi((n - t) as i32)).collect();
        let want =
            values[..=n].iter().zip(&weights).map(|(x, w)| x * w).sum::<f64>() / weights.iter().sum::<f64>();
        let got = average.module.weight.to_vec()[0];
        assert!(
            (got - want).abs() < 1e-12,
            "after {} updates: {got}, want {want}",
            n + 1
        );
    }
}

#[test]
fn a_decay_outside_zero_to_one_is_refused_by_name() {
    for decay in [1.0, -0.1, f64::NAN] {
        let error = AveragedModel::new(model(), Averaging::Exponential { decay }, true)
            .err()
            .expect("refused")
            .to_string();
        assert!(
            error.contains("AveragedModel") && error.contains("decay"),
            "{error}"
        );
    }
}

#[test]
#[should_panic(expected = "has shape [4, 3] in the model and [2, 3] in the average")]
fn a_model_of_another_shape_is_refused() {
    let mut average = AveragedModel::new(model(), Averaging::Equal, false).unwrap();
    let other: Sequential<f64> = Sequential::new()
        .add(Linear::new(3, 4, true, &mut Generator::new(0)))
        .add(BatchNorm1d::new(2));
    average.update_parameters(&other);
}
