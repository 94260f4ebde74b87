//! The attacks against PyTorch: FGSM and PGD (L∞ and L2, untargeted and
//! targeted, cross-entropy and margin losses) on an MLP and a small CNN
//! with PyTorch's weights, in f64, against the adversarial examples of
//! `scripts/make_adversarial_fixtures.py` (no random start, last iterate).

mod common;

use common::{
    compare_within, load_cases, parse_data, parse_indices, read_fixtures, tensor, widen, CaseJson, Worst,
};
use nabla::adversarial::{Attack, AttackLoss, Norm};
use nabla::nn::{Conv2d, Flatten, Layer, Linear, MaxPool2d, Module, Relu, Sequential};
use nabla::{Generator, Tensor};
use serde_json::Value;

const PATH: &str = "tests/fixtures/adversarial.json";
const SCRIPT: &str = "make_adversarial_fixtures.py";

/// PyTorch's model `name`, its weights copied from the fixture (PyTorch's
/// `Sequential` names its layers by position: `0.weight`, `2.bias`).
fn model(root: &Value, name: &str) -> Sequential<f64> {
    let mut g = Generator::new(0);
    let model: Sequential<f64> = match name {
        "mlp" => Sequential::new()
            .add_named("0", Linear::new(6, 5, true, &mut g))
            .add_named("1", Relu)
            .add_named("2", Linear::new(5, 3, true, &mut g)),
        _ => Sequential::new()
            .add_named("0", Conv2d::new(1, 3, 3, &mut g).padding(1))
            .add_named("1", Relu)
            .add_named("2", MaxPool2d::new(2))
            .add_named("3", Flatten::default())
            .add_named("4", Linear::new(27, 4, true, &mut g)),
    };
    for (key, param) in model.state_dict() {
        let want = tensor::<f64>(&parse_data(&root["models"][name][&key]));
        assert_eq!(param.shape(), want.shape(), "{name}.{key}");
        param.copy_from(&want);
    }
    model
}

#[test]
fn attacks_match_pytorch() {
    let root = read_fixtures(PATH, SCRIPT);
    let cases = load_cases(PATH, SCRIPT, Clone::clone);
    let mut worst = Worst::default();
    let mut failures = Vec::new();
    for json in &cases {
        let case = CaseJson::new(PATH, json);
        let name = case.string("model");
        let net = model(&root, &name);
        let x = tensor::<f64>(&parse_data(&root["inputs"][&name]));
        let labels = parse_indices(case.field("labels")).to_index_tensor();
        let norm: Norm = case.string("norm").parse().unwrap();
        let number = |key: &str| case.field(key).as_f64().unwrap();
        let mut attack = Attack::pgd(norm, number("eps"), number("steps") as usize, number("step_size"))
            .unwrap()
            .random_start(false)
            .keep_best(false);
        if case.field("targeted").as_bool().unwrap() {
            attack = attack.targeted();
        }
        if case.string("loss") == "margin" {
            attack = attack.with_loss(AttackLoss::Margin);
        }
        let got = attack
            .perturb(
                &|x: &Tensor<f64>| net.forward(x),
                &x,
                &labels,
                &mut Generator::new(0),
            )
            .unwrap();
        let want = parse_data(case.field("adversarial"));
        if let Err(e) = compare_within::<f64>(
            &case.name,
            "adversarial",
            &widen(&got),
            &want,
            (1e-9, 1e-10),
            &mut worst,
        ) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("{} cases; {}", cases.len(), worst.summary());
}
