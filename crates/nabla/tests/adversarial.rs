//! The attacks' properties: FGSM's closed form on a linear model, PGD's
//! iterates inside the ball and the range, the best iterate never worse
//! with more steps, restarts never better for the model, targeted attacks
//! reaching their targets, adversarial training's step, and clear errors.

use std::cell::RefCell;

use nabla::adversarial::{
    loss_and_input_gradient, robust_accuracy_of_batch, AdversarialClassification, Attack, AttackLoss,
    AttackMode, Norm, Pixels,
};
use nabla::data::Batch;
use nabla::nn::{zoo, Layer, Linear, Module, Sequential};
use nabla::train::Step;
use nabla::{Generator, IndexTensor, Tensor};

fn linear(inputs: usize, classes: usize, seed: u64) -> Linear<f64> {
    Linear::new(inputs, classes, true, &mut Generator::new(seed))
}

fn batch(n: usize, features: usize, classes: usize, seed: u64) -> (Tensor<f64>, IndexTensor) {
    let mut g = Generator::new(seed);
    let x = Tensor::rand(&[n, features], &mut g);
    let y = IndexTensor::from_vec((0..n).map(|i| (i * 7 + 3) % classes).collect(), &[n]);
    (x, y)
}

#[test]
fn fgsm_on_a_linear_model_is_the_closed_form() {
    let model = linear(5, 3, 1);
    let (x, y) = batch(4, 5, 3, 2);
    let w = model.weight.to_vec();
    let eps = 0.05;
    // The true class's loss -z_y has gradient -w_y: FGSM moves x by -eps sign(w_y).
    let fgsm = Attack::fgsm(Norm::Linf, eps).unwrap().range(None);
    let true_class_loss = |z: &Tensor<f64>, y: &IndexTensor| {
        z.gather(1, &y.reshape(&[y.numel(), 1]))
            .reshape(&[y.numel()])
            .neg()
    };
    let got = fgsm
        .perturb_with(
            &|x: &Tensor<f64>| model.forward(x),
            &true_class_loss,
            &x,
            &y,
            &mut Generator::new(0),
        )
        .unwrap()
        .to_vec();
    let xs = x.to_vec();
    for (i, &label) in y.as_slice().iter().enumerate() {
        for j in 0..5 {
            let want = xs[i * 5 + j] - eps * w[label * 5 + j].signum();
            assert!((got[i * 5 + j] - want).abs() < 1e-15, "example {i}, feature {j}");
        }
    }
    // With two classes the cross-entropy's gradient is p_other (w_other - w_y).
    let two = linear(5, 2, 3);
    let w = two.weight.to_vec();
    let got = Attack::fgsm(Norm::Linf, eps)
        .unwrap()
        .range(None)
        .perturb(
            &|x: &Tensor<f64>| two.forward(x),
            &x,
            &IndexTensor::from_vec(vec![0; 4], &[4]),
            &mut Generator::new(0),
        )
        .unwrap()
        .to_vec();
    for i in 0..4 {
        for j in 0..5 {
            let want = xs[i * 5 + j] + eps * (w[5 + j] - w[j]).signum();
            assert!((got[i * 5 + j] - want).abs() < 1e-15);
        }
    }
}

fn size(delta: &[f64], norm: Norm) -> f64 {
    match norm {
        Norm::Linf => delta.iter().fold(0.0, |m, d| m.max(d.abs())),
        Norm::L2 => delta.iter().map(|d| d * d).sum::<f64>().sqrt(),
    }
}

#[test]
fn pgd_iterates_never_leave_the_ball_or_the_range() {
    let mut g = Generator::new(4);
    let model: Sequential<f64> = zoo::lenet5(&mut g);
    let x = Tensor::<f64>::rand(&[3, 1, 28, 28], &mut g);
    let y = IndexTensor::from_vec(vec![1, 2, 3], &[3]);
    for (norm, eps, step) in [(Norm::Linf, 0.1, 0.04), (Norm::L2, 1.5, 0.6)] {
        let seen = RefCell::new(Vec::new());
        let spy = |input: &Tensor<f64>| {
            seen.borrow_mut().push(input.to_vec());
            model.forward(input)
        };
        let pgd = Attack::pgd(norm, eps, 6, step).unwrap().restarts(2);
        let out = pgd.perturb(&spy, &x, &y, &mut Generator::new(5)).unwrap();
        let xs = x.to_vec();
        let per = 28 * 28;
        let mut points = seen.into_inner();
        points.push(out.to_vec());
        assert_eq!(
            points.len(),
            2 * (6 + 1) + 1,
            "6 steps and a last look per run, and the result"
        );
        for p in &points {
            assert!(
                p.iter().all(|v| (0.0..=1.0).contains(v)),
                "{norm}: a value left [0, 1]"
            );
            for i in 0..3 {
                let delta: Vec<f64> = (0..per).map(|k| p[i * per + k] - xs[i * per + k]).collect();
                assert!(
                    size(&delta, norm) <= eps * (1.0 + 1e-9),
                    "{norm}: {} > {eps}",
                    size(&delta, norm)
                );
            }
        }
    }
}

/// The attack's key for an example: fooled first, then the loss.
fn key(model: &Linear<f64>, x: &Tensor<f64>, y: &IndexTensor) -> Vec<(bool, f64)> {
    let logits = model.forward(x);
    let loss = AttackLoss::CrossEntropy.per_example(&logits, y).to_vec();
    let predicted = logits.argmax(1, false);
    predicted
        .as_slice()
        .iter()
        .zip(y.as_slice())
        .zip(loss)
        .map(|((p, l), loss)| (p != l, loss))
        .collect()
}

/// Whether `after` is at least as bad for the model as `before`: it fools
/// the model where `before` did not, or fools it equally with no lower loss.
fn no_better_for_the_model(before: (bool, f64), after: (bool, f64)) -> bool {
    (after.0 && !before.0) || (after.0 == before.0 && after.1 >= before.1 - 1e-12)
}

#[test]
fn more_steps_never_lower_the_best_loss_found() {
    let model = linear(8, 4, 6);
    let (x, y) = batch(16, 8, 4, 7);
    let mut previous: Option<Vec<(bool, f64)>> = None;
    for steps in [1, 2, 3, 5, 8, 13] {
        // The same seed: the same random start, so a longer run extends a shorter one.
        let pgd = Attack::pgd(Norm::Linf, 0.2, steps, 0.05).unwrap();
        let out = pgd
            .perturb(
                &|x: &Tensor<f64>| model.forward(x),
                &x,
                &y,
                &mut Generator::new(8),
            )
            .unwrap();
        let now = key(&model, &out, &y);
        if let Some(before) = &previous {
            for (i, (b, n)) in before.iter().zip(&now).enumerate() {
                assert!(
                    no_better_for_the_model(*b, *n),
                    "example {i}: {b:?} then {n:?} at {steps} steps"
                );
            }
        }
        previous = Some(now);
    }
}

#[test]
fn restarts_only_make_the_model_look_worse() {
    let mut g = Generator::new(9);
    let model: Sequential<f64> = zoo::lenet5(&mut g);
    let x = Tensor::<f64>::rand(&[16, 1, 28, 28], &mut g);
    let y = IndexTensor::from_vec((0..16).map(|i| i % 10).collect(), &[16]);
    let f = |x: &Tensor<f64>| model.forward(x);
    let once = Attack::pgd(Norm::Linf, 0.02, 3, 0.01).unwrap();
    let one = once.perturb(&f, &x, &y, &mut Generator::new(10)).unwrap();
    let five = once
        .clone()
        .restarts(5)
        .perturb(&f, &x, &y, &mut Generator::new(10))
        .unwrap();
    let (k1, k5) = (key_of(&f, &one, &y), key_of(&f, &five, &y));
    for (a, b) in k1.iter().zip(&k5) {
        assert!(no_better_for_the_model(*a, *b), "{a:?} then {b:?}");
    }
}

fn key_of(f: &dyn Fn(&Tensor<f64>) -> Tensor<f64>, x: &Tensor<f64>, y: &IndexTensor) -> Vec<(bool, f64)> {
    let logits = f(x);
    let loss = AttackLoss::CrossEntropy.per_example(&logits, y).to_vec();
    logits
        .argmax(1, false)
        .as_slice()
        .iter()
        .zip(y.as_slice())
        .zip(loss)
        .map(|((p, l), v)| (p != l, v))
        .collect()
}

#[test]
fn a_targeted_attack_reaches_its_targets_and_an_untargeted_one_fools() {
    let model = linear(6, 3, 11);
    let (x, y) = batch(12, 6, 3, 12);
    let f = |x: &Tensor<f64>| model.forward(x);
    let targets = IndexTensor::from_vec(y.as_slice().iter().map(|l| (l + 1) % 3).collect(), &[12]);
    let pgd = Attack::pgd(Norm::Linf, 10.0, 50, 0.5).unwrap().range(None);
    let reached = pgd
        .clone()
        .targeted()
        .perturb(&f, &x, &targets, &mut Generator::new(0))
        .unwrap();
    assert_eq!(f(&reached).argmax(1, false).to_vec(), targets.to_vec());
    let fooled = pgd.perturb(&f, &x, &y, &mut Generator::new(0)).unwrap();
    let (_, robust) = robust_accuracy_of_batch(&f, &x, &fooled, &y);
    assert_eq!(robust, 0);
}

#[test]
fn the_normalisation_is_part_of_the_attacked_function() {
    // A model on normalised inputs, attacked in pixels, is the same as the
    // model with the normalisation folded into its first layer.
    let model = linear(4, 3, 13);
    let (x, y) = batch(5, 4, 3, 14);
    let (mean, std) = (0.25, 0.5);
    let pixels = Pixels::normalized(&[mean], &[std]);
    let through_pixels =
        |p: &Tensor<f64>| model.forward(&pixels.to_input(&p.reshape(&[5, 1, 4])).reshape(&[5, 4]));
    let folded = |p: &Tensor<f64>| model.forward(&((p - mean) / std));
    let pgd = Attack::pgd(Norm::L2, 0.3, 4, 0.1).unwrap();
    let a = pgd
        .perturb(&through_pixels, &x, &y, &mut Generator::new(1))
        .unwrap();
    let b = pgd.perturb(&folded, &x, &y, &mut Generator::new(1)).unwrap();
    for (u, v) in a.to_vec().iter().zip(b.to_vec()) {
        assert!((u - v).abs() < 1e-12);
    }
}

#[test]
fn attack_mode_restores_the_model_and_spares_the_weights_gradients() {
    let mut model = zoo::lenet5_bn::<f32>(&mut Generator::new(15));
    let x = Tensor::rand(&[2, 1, 28, 28], &mut Generator::new(16));
    let y = IndexTensor::from_vec(vec![3, 4], &[2]);
    {
        let attacked = AttackMode::enter(&mut model);
        let (_, _, g) = loss_and_input_gradient(
            &|x: &Tensor| attacked.forward(x),
            &|z, y| AttackLoss::CrossEntropy.per_example(z, y),
            &x,
            &y,
        )
        .unwrap();
        assert_eq!(g.shape(), x.shape());
        assert!(attacked.parameters().iter().all(|p| p.grad().is_none()));
    }
    assert!(model.is_training());
    assert_eq!(model.num_trainable_parameters(), model.num_parameters());
}

#[test]
fn adversarial_training_learns_on_the_attacked_batch() {
    let mut model = Linear::<f32>::new(2, 2, true, &mut Generator::new(17));
    let x = Tensor::from_vec(vec![0.2f32, 0.2, 0.8, 0.8, 0.1, 0.3, 0.9, 0.7], &[4, 2]);
    let batch = Batch {
        inputs: x.clone(),
        targets: IndexTensor::from_vec(vec![0, 1, 0, 1], &[4]),
        indices: vec![0, 1, 2, 3],
    };
    let fgsm = Attack::fgsm(Norm::Linf, 0.1).unwrap();
    let mut step = AdversarialClassification::new(fgsm.clone(), Pixels::raw(), 0).unwrap();
    let out = step.train_step(&mut model, &batch);
    // The loss is the cross-entropy at FGSM's points, computed apart.
    let adversarial = fgsm
        .perturb(
            &|x: &Tensor| model.forward(x),
            &batch.inputs,
            &batch.targets,
            &mut Generator::new(0),
        )
        .unwrap();
    let want = nabla::nn::loss::cross_entropy(&model.forward(&adversarial), &batch.targets).item();
    assert!(
        (out.loss.item() - want).abs() < 1e-6,
        "{} vs {want}",
        out.loss.item()
    );
    assert!(model.parameters().iter().all(|p| p.is_requires_grad()));
    let eval = step.eval_step(&mut model, &batch);
    let names: Vec<&str> = eval.metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["accuracy", "adv_accuracy"]);
}

#[test]
fn bad_settings_and_bad_models_get_clear_errors() {
    let message = |r: nabla::Result<Attack>| r.unwrap_err().to_string();
    assert!(message(Attack::fgsm(Norm::Linf, -0.1)).contains("eps must be a finite number >= 0, not -0.1"));
    assert!(message(Attack::pgd(Norm::L2, 0.3, 0, 0.1)).contains("at least one step"));
    assert!(message(Attack::pgd(Norm::L2, 0.3, 3, f64::NAN)).contains("step size"));
    let (x, y) = batch(4, 3, 2, 18);
    let g = &mut Generator::new(0);
    let fgsm = Attack::fgsm(Norm::Linf, 0.1).unwrap();
    let scalar_model = |x: &Tensor<f64>| x.sum_dims(&[1], false);
    let e = fgsm.perturb(&scalar_model, &x, &y, g).unwrap_err().to_string();
    assert!(
        e.contains("output of shape [4]") && e.contains("logits [B, C]"),
        "{e}"
    );
    let model = linear(3, 2, 19);
    let f = |x: &Tensor<f64>| model.forward(x);
    let e = fgsm.perturb(&f, &(&x * 3.0), &y, g).unwrap_err().to_string();
    assert!(e.contains("outside the valid range [0, 1]"), "{e}");
    let e = fgsm
        .perturb(&f, &x, &IndexTensor::from_vec(vec![0, 1, 2, 0], &[4]), g)
        .unwrap_err()
        .to_string();
    assert!(e.contains("label 2 is not one of the model's 2 classes"), "{e}");
    let e = AdversarialClassification::new(fgsm.targeted(), Pixels::raw(), 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("untargeted"), "{e}");
}
