//! Chapter 8 end to end: train the default LeNet-5 (with BatchNorm) on
//! MNIST, watch its accuracy fall under FGSM as eps grows and vanish under
//! PGD, train the same network adversarially, attack it again, and bound
//! both networks' Lipschitz constants.
//!
//! Run with `cargo run --release -p nabla --example robustness [epochs]
//! [test examples]` (defaults 2 and 2000; the guide's chapter 8 has the
//! figures of the full runs).

use std::sync::Arc;

use nabla::adversarial::{robust_accuracy, AdversarialClassification, Attack, Norm, Pixels};
use nabla::data::{Batch, DataLoader, LabeledDataset, LoaderConfig, Mnist, Split, Subset};
use nabla::lipschitz::{certify, lipschitz_lower_bound, lipschitz_upper_bound, PowerIteration};
use nabla::nn::loss::cross_entropy;
use nabla::nn::{zoo, Layer, Sequential};
use nabla::optim::{Adam, AdamConfig};
use nabla::train::metrics::correct_predictions;
use nabla::train::{fit, Metric, Step, StepOutput, TrainConfig};
use nabla::{no_grad, Generator};

/// MNIST's normalisation, which the model sees behind the pixels the attacks move.
const MEAN: f64 = 0.1307;
const STD: f64 = 0.3081;

fn train(model: &mut Sequential, step: &mut dyn Step<Sequential, Batch>, train: &DataLoader, epochs: usize) {
    let mut adam = Adam::new(nabla::nn::Module::parameters(model), AdamConfig::new(1e-3));
    let config = TrainConfig {
        epochs,
        ..TrainConfig::default()
    };
    fit(model, step, &mut adam, None, train, None, &config, &mut ()).expect("training runs");
}

fn report(name: &str, model: &mut Sequential, pixels: &Pixels, test: &DataLoader) -> nabla::Result<()> {
    let mut attacks: Vec<Attack> = [0.05, 0.1, 0.2, 0.3]
        .iter()
        .map(|&eps| Attack::fgsm(Norm::Linf, eps))
        .collect::<nabla::Result<_>>()?;
    attacks.push(Attack::pgd(Norm::Linf, 0.3, 20, 0.025)?);
    let table = robust_accuracy(model, pixels, test, &attacks, 0, &mut |_| ())?;
    println!("\n{name}: accuracy under attack\n{table}");
    // The constant of the logits on pixels: the network's over the normalisation's std.
    let upper = lipschitz_upper_bound(&*model, &[1, 28, 28], &PowerIteration::default())?.upper_bound / STD;
    let normalised = || test.epoch(0).map(|b| pixels.to_input(&b.inputs));
    let lower = lipschitz_lower_bound(model, normalised())?.value / STD;
    let radii = [0.001, 0.01, 0.1];
    let certified = certify(
        model,
        test.epoch(0).map(|b| (pixels.to_input(&b.inputs), b.targets)),
        upper,
        &radii,
    )?;
    println!("{name}: L2 Lipschitz constant on pixels between {lower:.1} (data) and {upper:.1} (product of layers)");
    for (radius, accuracy) in certified.certified_accuracy() {
        println!(
            "{name}: certified accuracy at L2 radius {radius}: {:.2}%",
            100.0 * accuracy
        );
    }
    Ok(())
}

fn main() -> nabla::Result<()> {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<usize>().expect("a number"));
    let epochs = args.next().unwrap_or(2);
    let examples = args.next().unwrap_or(2000);
    let train_set: Arc<dyn LabeledDataset> = Arc::new(Mnist::bundled(Split::Train)?);
    let test_set: Arc<dyn LabeledDataset> = Arc::new(Mnist::bundled(Split::Test)?);
    let test_set = Arc::new(Subset::new(test_set, (0..examples).collect()));
    // Both loaders give pixels in [0, 1]; the models normalise them through `pixels`.
    let train_loader = DataLoader::new(train_set, LoaderConfig::default());
    let test_loader = DataLoader::new(
        test_set,
        LoaderConfig {
            batch_size: 250,
            shuffle: false,
            ..LoaderConfig::default()
        },
    );
    let pixels = Pixels::normalized(&[MEAN], &[STD]);

    let mut standard = zoo::lenet5_bn(&mut Generator::new(0));
    let mut classification = |model: &mut Sequential, batch: &Batch| {
        let logits = model.forward(&pixels.to_input(&batch.inputs));
        let n = batch.targets.numel();
        let correct = no_grad(|| correct_predictions(&logits, &batch.targets));
        StepOutput::new(cross_entropy(&logits, &batch.targets), n).with(Metric::sum(
            "accuracy",
            correct as f64,
            n,
        ))
    };
    println!("training LeNet-5 for {epochs} epochs");
    train(&mut standard, &mut classification, &train_loader, epochs);
    report("LeNet-5", &mut standard, &pixels, &test_loader)?;

    let mut robust = zoo::lenet5_bn(&mut Generator::new(0));
    let pgd = Attack::pgd(Norm::Linf, 0.3, 5, 0.15)?.keep_best(false);
    println!("\ntraining LeNet-5 for {epochs} epochs on {pgd} examples");
    let mut adversarial = AdversarialClassification::new(pgd, pixels.clone(), 0)?;
    train(&mut robust, &mut adversarial, &train_loader, epochs);
    report(
        "adversarially trained LeNet-5",
        &mut robust,
        &pixels,
        &test_loader,
    )
}
