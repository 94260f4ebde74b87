//! Parameter groups (AdamW with and without weight decay, as nanoGPT) and a
//! learning rate set at every step by a `StepSchedule` inside `fit`.

use std::sync::Arc;

use nabla::data::{DataLoader, LoaderConfig, Stack, TensorPairDataset};
use nabla::nn::loss::mse_loss;
use nabla::nn::{Layer, Linear, Module};
use nabla::optim::{AdamW, AdamWConfig, Optimizer, ParamGroups, StepSchedule, WarmupCosine};
use nabla::train::{fit, BatchProgress, Interrupt, StepOutput, TrainConfig, TrainObserver};
use nabla::{Generator, Tensor};

fn square_loss(params: &[Tensor]) -> Tensor {
    params
        .iter()
        .map(|p| (p * p).sum())
        .reduce(|a, b| &a + &b)
        .unwrap()
}

/// Two groups over a weight and a bias: decay on the first only.
fn groups(w: &Tensor, b: &Tensor) -> ParamGroups {
    ParamGroups::new(vec![
        Box::new(AdamW::new(
            vec![w.clone()],
            AdamWConfig::new(0.1).weight_decay(0.5),
        )),
        Box::new(AdamW::new(
            vec![b.clone()],
            AdamWConfig::new(0.1).weight_decay(0.0),
        )),
    ])
}

#[test]
fn each_group_steps_with_its_own_weight_decay() {
    // After one step from the same values and gradients, only the decayed
    // group differs from plain Adam, by the factor (1 - lr wd).
    let w = Tensor::from_vec(vec![1.0f32, -2.0], &[2]).requires_grad();
    let b = Tensor::from_vec(vec![1.0f32, -2.0], &[2]).requires_grad();
    let mut opt = groups(&w, &b);
    opt.zero_grad();
    square_loss(&[w.clone(), b.clone()]).backward();
    opt.step();
    let (w, b) = (w.to_vec(), b.to_vec());
    assert!(
        (b[0] - 0.9).abs() < 1e-6 && (b[1] + 1.9).abs() < 1e-6,
        "no decay: one Adam step of lr against the sign"
    );
    assert!((w[0] - (1.0 * 0.95 - 0.1)).abs() < 1e-6 && (w[1] - (-2.0 * 0.95 + 0.1)).abs() < 1e-6);
}

#[test]
fn the_state_dict_numbers_parameters_across_groups_and_loads_back() {
    let (w, b) = (
        Tensor::<f32>::ones(&[2, 2]).requires_grad(),
        Tensor::<f32>::ones(&[2]).requires_grad(),
    );
    let mut opt = groups(&w, &b);
    opt.zero_grad();
    square_loss(&[w.clone(), b.clone()]).backward();
    opt.step();
    let state = opt.state_dict();
    let names: Vec<&str> = state.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "state.0.step",
            "state.0.exp_avg",
            "state.0.exp_avg_sq",
            "state.1.step",
            "state.1.exp_avg",
            "state.1.exp_avg_sq"
        ]
    );
    let mut fresh = groups(&w, &b);
    fresh.load_state_dict(&state).unwrap();
    let reloaded: Vec<Vec<f32>> = fresh.state_dict().iter().map(|(_, t)| t.to_vec()).collect();
    let original: Vec<Vec<f32>> = state.iter().map(|(_, t)| t.to_vec()).collect();
    assert_eq!(reloaded, original);
}

#[test]
fn a_bad_state_changes_no_group() {
    let (w, b) = (
        Tensor::<f32>::ones(&[2]).requires_grad(),
        Tensor::<f32>::ones(&[3]).requires_grad(),
    );
    let mut opt = groups(&w, &b);
    opt.zero_grad();
    square_loss(&[w.clone(), b.clone()]).backward();
    opt.step();
    let good = opt.state_dict();
    // Group 0's part is fine, group 1's exp_avg has the wrong shape.
    let mut bad: Vec<(String, Tensor)> = good.iter().map(|(n, t)| (n.clone(), t.mul_scalar(7.0))).collect();
    bad[4].1 = Tensor::zeros(&[5]);
    assert!(opt.load_state_dict(&bad).is_err());
    let after: Vec<Vec<f32>> = opt.state_dict().iter().map(|(_, t)| t.to_vec()).collect();
    let before: Vec<Vec<f32>> = good.iter().map(|(_, t)| t.to_vec()).collect();
    assert_eq!(after, before, "group 0 got its old state back");
    let unknown = vec![("state.9.step".to_string(), Tensor::scalar(1.0f32))];
    assert!(opt
        .load_state_dict(&unknown)
        .unwrap_err()
        .to_string()
        .contains("state.9.step"));
}

struct Rates(Vec<f64>);

impl TrainObserver for Rates {
    fn on_batch(&mut self, progress: &BatchProgress) {
        self.0.push(progress.lr);
    }
}

#[test]
fn fit_sets_the_step_schedules_rate_before_every_step() {
    let n = 40;
    let x = Tensor::<f32>::randn(&[n, 2], &mut Generator::new(1));
    let y = Tensor::<f32>::randn(&[n, 1], &mut Generator::new(2));
    let loader_config = LoaderConfig {
        batch_size: 10,
        workers: 1,
        ..LoaderConfig::default()
    };
    let train = DataLoader::collated(Arc::new(TensorPairDataset::new(x, y)), Stack, loader_config);
    let mut model = Linear::new(2, 1, true, &mut Generator::new(0));
    let mut optimizer = AdamW::new(model.parameters(), AdamWConfig::new(1.0));
    let schedule = WarmupCosine {
        lr: 1e-2,
        min_lr: 1e-3,
        warmup_steps: 3,
        decay_steps: 9,
    };
    let config = TrainConfig {
        max_steps: Some(12),
        step_schedule: Some(Arc::new(schedule)),
        interrupt: Interrupt::new(),
        ..TrainConfig::default()
    };
    let mut step = |model: &mut Linear, (x, y): &(Tensor, Tensor)| {
        StepOutput::new(mse_loss(&model.forward(x), y), x.shape()[0])
    };
    let mut rates = Rates(Vec::new());
    fit(
        &mut model,
        &mut step,
        &mut optimizer,
        None,
        &train,
        None,
        &config,
        &mut rates,
    )
    .unwrap();
    let expected: Vec<f64> = (0..12).map(|s| schedule.learning_rate(s)).collect();
    assert_eq!(rates.0, expected);
    assert_eq!(optimizer.learning_rate(), schedule.learning_rate(11));
}
