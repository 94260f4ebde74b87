//! The GANs learn (short runs on a few MNIST digits), their gradient
//! penalty passes an f64 gradient check through its double backward, and
//! their checkpoints round-trip and refuse what is not theirs.

use nabla::autograd::{gradcheck, GradcheckOptions};
use nabla::checkpoint::save_module_with_metadata;
use nabla::data::{Mnist, Split};
use nabla::generative::{
    frechet_distance, gradient_penalty_at, load_gan, load_gan_generator, mnist_images, save_gan,
    tanh_to_unit, Gan, GanConfig, GanKind, GanTrainer, GanTraining, MnistJudge,
};
use nabla::nn::Module;
use nabla::{no_grad, Conv2dOptions, Generator, Tensor};

fn scratch(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("nabla_gan_{name}_{}.safetensors", std::process::id()))
}

/// The first `n` training digits in [-1, 1], in batches of `batch`.
fn digit_batches(n: usize, batch: usize) -> Vec<Tensor> {
    let train = Mnist::bundled(Split::Train).expect("the bundled MNIST");
    let digits = mnist_images(&train, 0..n).mul_scalar(2.0).add_scalar(-1.0);
    (0..n)
        .step_by(batch)
        .map(|s| digits.narrow(0, s, batch.min(n - s)))
        .collect()
}

fn samples(gan: &mut Gan, n: usize) -> Tensor {
    let z = Tensor::randn(&[n, gan.config().latent_dim], &mut Generator::new(99));
    gan.generator.eval();
    let images = no_grad(|| gan.generator.forward(&z));
    gan.generator.train(true);
    tanh_to_unit(&images)
}

#[test]
fn a_small_dcgan_moves_its_samples_towards_the_digits() {
    let config = GanConfig {
        latent_dim: 16,
        feature_maps: 8,
    };
    // DCGAN's betas, at a rate 5 times its 2e-4, so that a few hundred
    // steps show it; a moving average over about the last 20 steps.
    let training = GanTraining {
        lr: 1e-3,
        ema_decay: Some(0.95),
        ..GanTraining::for_kind(GanKind::Dcgan)
    };
    let mut trainer = GanTrainer::new(
        Gan::new(GanKind::Dcgan, &config, &mut Generator::new(0)),
        training,
        1,
    )
    .unwrap();
    let judge = MnistJudge::bundled().unwrap();
    let test = Mnist::bundled(Split::Test).unwrap();
    let reference = judge.feature_stats(&mnist_images(&test, 0..2000));
    let distance = |trainer: &mut GanTrainer| {
        frechet_distance(&judge.feature_stats(&samples(trainer.gan_mut(), 500)), &reference)
    };
    let before = distance(&mut trainer);
    let batches = digit_batches(2048, 32);
    let mut d_real = Vec::new();
    for _ in 0..4 {
        for batch in &batches {
            let step = trainer.step(batch);
            assert!(step.d_loss.is_finite() && step.g_loss.is_some_and(f64::is_finite));
            d_real.push(step.d_real);
        }
    }
    let after = distance(&mut trainer);
    let images = samples(trainer.gan_mut(), 500).to_vec();
    let dark = images.iter().filter(|&&v| v < 0.1).count() as f64 / images.len() as f64;
    // MNIST digits are about 80% black background; the untrained
    // generator's grey noise has almost none (measured: 62% after).
    assert!(
        dark > 0.5,
        "{:.0}% of the generated pixels are dark",
        100.0 * dark
    );
    // Measured: 1895 before, 946 after.
    assert!(
        after < 0.7 * before,
        "Fréchet LeNet distance {before:.1} before, {after:.1} after"
    );
    // The moving average draws digits as near.
    let average = trainer
        .gan_mut()
        .generator_ema
        .as_mut()
        .expect("an average was asked for");
    assert_eq!(average.n_averaged(), 257);
    let z = Tensor::randn(&[500, 16], &mut Generator::new(99));
    average.module.eval();
    let averaged = tanh_to_unit(&no_grad(|| average.module.forward(&z)));
    let averaged = frechet_distance(&judge.feature_stats(&averaged), &reference);
    assert!(
        averaged < 0.7 * before,
        "Fréchet LeNet distance {before:.1} before, {averaged:.1} from the average"
    );
}

#[test]
fn the_generator_average_is_the_bias_corrected_mean_and_is_what_sampling_reads() {
    let config = GanConfig {
        latent_dim: 4,
        feature_maps: 2,
    };
    let training = GanTraining {
        ema_decay: Some(0.5),
        ..GanTraining::for_kind(GanKind::Dcgan)
    };
    let gan = Gan::new(GanKind::Dcgan, &config, &mut Generator::new(0));
    let initial = gan.generator.fc.weight.to_vec();
    let mut trainer = GanTrainer::new(gan, training, 1).unwrap();
    trainer.step(&digit_batches(8, 8)[0]);
    let gan = trainer.into_gan();
    let stepped = gan.generator.fc.weight.to_vec();
    let average = gan.generator_ema.as_ref().expect("an average");
    // Two sets seen (the initial weights, then one step's): weights 0.5 and 1.
    for ((a, w0), w1) in average
        .module
        .fc
        .weight
        .to_vec()
        .iter()
        .zip(&initial)
        .zip(&stepped)
    {
        let want = (0.5 * w0 + w1) / 1.5;
        assert!(
            (a - want).abs() <= 1e-6 * (1.0 + want.abs()),
            "{a} against {want}"
        );
    }
    assert_ne!(stepped, initial);

    let path = scratch("average");
    save_gan(&gan, &path).unwrap();
    let loaded = load_gan(&path).unwrap();
    let (_, sampler) = load_gan_generator(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let reread = loaded.generator_ema.as_ref().expect("the average is saved");
    assert_eq!(reread.n_averaged(), 2);
    assert_eq!(
        reread.averaging(),
        nabla::optim::Averaging::BiasCorrected { decay: 0.5 }
    );
    assert_eq!(loaded.generator.fc.weight.to_vec(), stepped);
    for ((name, a), (_, b)) in average.module.state_dict().iter().zip(sampler.state_dict()) {
        assert_eq!(a.to_vec(), b.to_vec(), "{name}: sampling reads the average");
    }

    // Without an average, the checkpoint has none and sampling reads the generator.
    let training = GanTraining {
        ema_decay: None,
        ..GanTraining::for_kind(GanKind::Dcgan)
    };
    let trainer = GanTrainer::new(gan, training, 1).unwrap();
    let gan = trainer.into_gan();
    assert!(gan.generator_ema.is_none());
    save_gan(&gan, &path).unwrap();
    let (_, sampler) = load_gan_generator(&path).unwrap();
    let names: Vec<String> = nabla::checkpoint::load_tensors::<f32>(&path)
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    std::fs::remove_file(&path).unwrap();
    assert!(
        !names.iter().any(|n| n.starts_with("generator_ema.")),
        "{names:?}"
    );
    assert_eq!(sampler.fc.weight.to_vec(), stepped);
}

#[test]
fn wgan_gp_takes_a_generator_step_every_n_critic_batches_and_its_critic_separates() {
    let config = GanConfig {
        latent_dim: 8,
        feature_maps: 4,
    };
    let training = GanTraining::for_kind(GanKind::WganGp);
    assert_eq!(
        (training.lr, training.betas, training.n_critic, training.gp_lambda),
        (1e-4, (0.0, 0.9), 5, 10.0)
    );
    let mut trainer = GanTrainer::new(
        Gan::new(GanKind::WganGp, &config, &mut Generator::new(0)),
        training,
        1,
    )
    .unwrap();
    let batches = digit_batches(640, 16);
    let steps: Vec<_> = batches.iter().map(|b| trainer.step(b)).collect();
    let generator_steps: Vec<usize> = (0..steps.len()).filter(|&i| steps[i].g_loss.is_some()).collect();
    assert_eq!(generator_steps, (4..40).step_by(5).collect::<Vec<_>>());
    assert!(steps
        .iter()
        .all(|s| s.gradient_penalty.is_some_and(f64::is_finite)));
    // The critic learns to give real digits higher values than generated ones.
    let last: f64 = steps[30..].iter().map(|s| s.d_real - s.d_fake).sum::<f64>() / 10.0;
    assert!(last > 0.0, "Wasserstein estimate {last}");
}

/// A two-layer convolutional critic on 6x6 images (6 -> 3 -> 1 pixels a
/// side) as a function of its weights, so that the gradient check perturbs them.
fn functional_critic(x: &Tensor<f64>, weights: &[Tensor<f64>]) -> Tensor<f64> {
    let options = Conv2dOptions::default().stride(2).padding(1);
    let h = x.conv2d(&weights[0], None, options).leaky_relu(0.2);
    let h = h.conv2d(&weights[1], None, options).leaky_relu(0.2);
    h.flatten(1, -1).matmul(&weights[2])
}

#[test]
fn the_gradient_penalty_passes_an_f64_gradient_check_in_the_critic_weights() {
    let mut g = Generator::new(3);
    let weights = [
        Tensor::<f64>::randn(&[2, 1, 4, 4], &mut g).mul_scalar(0.5),
        Tensor::<f64>::randn(&[3, 2, 4, 4], &mut g).mul_scalar(0.5),
        Tensor::<f64>::randn(&[3, 1], &mut g).mul_scalar(0.5),
    ];
    let real = Tensor::<f64>::randn(&[3, 1, 6, 6], &mut g);
    let fake = Tensor::<f64>::randn(&[3, 1, 6, 6], &mut g);
    let epsilon = Tensor::<f64>::rand(&[3, 1, 1, 1], &mut g);
    let penalty =
        |w: &[Tensor<f64>]| gradient_penalty_at(|x| functional_critic(x, w), &real, &fake, &epsilon);
    assert!(penalty(&weights).item() > 0.0);
    let options = GradcheckOptions {
        eps: 1e-6,
        atol: 1e-6,
        rtol: 1e-4,
    };
    gradcheck(penalty, &weights, &options).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_checkpoint_round_trips_and_sampling_needs_only_the_generator() {
    let config = GanConfig {
        latent_dim: 5,
        feature_maps: 2,
    };
    let gan = Gan::new(GanKind::WganGp, &config, &mut Generator::new(4));
    let path = scratch("roundtrip");
    save_gan(&gan, &path).unwrap();
    let loaded = load_gan(&path).unwrap();
    assert_eq!(loaded.kind, GanKind::WganGp);
    for (a, b) in gan
        .generator
        .state_dict()
        .iter()
        .zip(loaded.generator.state_dict())
    {
        assert_eq!((&a.0, a.1.to_vec()), (&b.0, b.1.to_vec()));
    }
    for (a, b) in gan
        .discriminator
        .state_dict()
        .iter()
        .zip(loaded.discriminator.state_dict())
    {
        assert_eq!((&a.0, a.1.to_vec()), (&b.0, b.1.to_vec()));
    }
    let (_, generator) = load_gan_generator(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let z = Tensor::randn(&[3, 5], &mut Generator::new(0));
    let (mut original, mut reread) = (gan.generator, generator);
    original.eval();
    reread.eval();
    assert_eq!(original.forward(&z).to_vec(), reread.forward(&z).to_vec());
}

#[test]
fn loading_names_the_file_and_what_it_holds_instead() {
    let path = scratch("not_gan");
    let lenet = nabla::nn::zoo::lenet5::<f32>(&mut Generator::new(0));
    let vae_like = [
        ("nabla.model".to_string(), "vae".to_string()),
        ("nabla.config".to_string(), "{}".to_string()),
    ];
    save_module_with_metadata(&lenet, &path, vae_like.into_iter().collect()).unwrap();
    let error = load_gan_generator(&path).err().expect("an error").to_string();
    assert!(
        error.contains("not_gan") && error.contains("holds a vae model, not a GAN"),
        "{error}"
    );

    nabla::checkpoint::save_module(&lenet, &path).unwrap();
    let error = load_gan(&path).err().expect("an error").to_string();
    assert!(error.contains("no \"nabla.model\""), "{error}");

    // A latent size that does not match the weights.
    let gan = Gan::new(
        GanKind::Dcgan,
        &GanConfig {
            latent_dim: 5,
            feature_maps: 2,
        },
        &mut Generator::new(0),
    );
    save_gan(&gan, &path).unwrap();
    let mut tensors: Vec<(String, Tensor)> = nabla::checkpoint::load_tensors(&path).unwrap();
    let config = r#"{"latent_dim":7,"feature_maps":2}"#.to_string();
    let metadata = [
        ("nabla.model".to_string(), "dcgan".to_string()),
        ("nabla.config".to_string(), config),
    ];
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    nabla::checkpoint::save_tensors(&path, &tensors, Some(metadata.into_iter().collect())).unwrap();
    let error = load_gan_generator(&path).err().expect("an error").to_string();
    std::fs::remove_file(&path).unwrap();
    assert!(
        error.contains("fc.weight") && error.contains("[196, 7]") && error.contains("[196, 5]"),
        "{error}"
    );
}
