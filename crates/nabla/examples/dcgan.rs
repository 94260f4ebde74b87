//! Trains a GAN on the bundled MNIST with the library alone (chapter 11 of
//! the course): DCGAN (the default) or WGAN-GP, judging the generator after
//! every epoch by the MNIST score and the Fréchet LeNet distance of 10,000
//! of its digits to the test digits, and writing a grid of 64 digits from
//! fixed noise as `dcgan-samples.png` (or `wgan-gp-samples.png`).
//!
//! Run with `cargo run --release -p nabla --example dcgan -- [epochs] [dcgan|wgan-gp]`
//! (10 epochs of DCGAN by default; about 5 minutes an epoch on 2 busy
//! cores). `nabla train --model dcgan` does the same with a progress bar,
//! a grid per epoch, an animated GIF, metrics and a checkpoint.

use nabla::data::{Mnist, Split};
use nabla::generative::{
    frechet_distance, mnist_images, tanh_to_unit, Gan, GanConfig, GanKind, GanTrainer, GanTraining,
    MnistJudge,
};
use nabla::nn::Module;
use nabla::{no_grad, Generator, Tensor};

const BATCH: usize = 64;

/// The generator's digits for `z`, in [0, 1], in evaluation mode.
fn digits(gan: &mut Gan, z: &Tensor) -> Tensor {
    gan.generator.eval();
    let images = no_grad(|| gan.generator.forward(z));
    gan.generator.train(true);
    tanh_to_unit(&images)
}

/// An 8 x 8 grid of 64 digits `[64, 1, 28, 28]` as a grey PNG.
fn write_grid(path: &str, images: &Tensor) {
    let values = images.to_vec();
    let side = 8 * 28;
    let mut grid = image::GrayImage::new(side, side);
    for (k, digit) in values.chunks(784).enumerate() {
        for (i, v) in digit.iter().enumerate() {
            let (x, y) = ((k % 8) * 28 + i % 28, (k / 8) * 28 + i / 28);
            grid.put_pixel(
                x as u32,
                y as u32,
                image::Luma([(v.clamp(0.0, 1.0) * 255.0) as u8]),
            );
        }
    }
    grid.save(path).expect("the grid is written");
}

fn main() -> nabla::Result<()> {
    let mut args = std::env::args().skip(1);
    let epochs: usize = args.next().map_or(10, |a| a.parse().expect("epochs: a number"));
    let kind = match args.next().as_deref() {
        None | Some("dcgan") => GanKind::Dcgan,
        Some("wgan-gp") => GanKind::WganGp,
        Some(other) => panic!("unknown GAN {other:?}: dcgan or wgan-gp"),
    };
    let train = Mnist::bundled(Split::Train)?;
    let test = Mnist::bundled(Split::Test)?;
    // The digits scaled to [-1, 1], the range of the generator's tanh.
    let real = mnist_images(&train, 0..60_000).mul_scalar(2.0).add_scalar(-1.0);
    let judge = MnistJudge::bundled()?;
    let test_stats = judge.feature_stats(&mnist_images(&test, 0..10_000));

    let gan = Gan::new(kind, &GanConfig::default(), &mut Generator::new(0));
    let mut trainer = GanTrainer::new(gan, GanTraining::for_kind(kind), 1)?;
    let fixed = Tensor::randn(&[64, 100], &mut Generator::new(2));
    let mut shuffle = Generator::new(3);
    for epoch in 1..=epochs {
        let started = std::time::Instant::now();
        let mut order: Vec<usize> = (0..60_000).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, shuffle.below(i + 1));
        }
        for batch in order.chunks(BATCH) {
            let indices = nabla::IndexTensor::from_vec(batch.to_vec(), &[batch.len()]);
            trainer.step(&real.index_select(0, &indices));
        }
        let z = Tensor::randn(&[10_000, 100], &mut Generator::new(epoch as u64));
        let chunks: Vec<Tensor> = (0..20)
            .map(|c| digits(trainer.gan_mut(), &z.narrow(0, c * 500, 500)))
            .collect();
        let samples = Tensor::cat(chunks, 0);
        println!(
            "epoch {epoch:>2}: MNIST score {:.3}, Fréchet LeNet distance {:.2} ({:.0}s)",
            judge.mnist_score(&samples),
            frechet_distance(&judge.feature_stats(&samples), &test_stats),
            started.elapsed().as_secs_f64()
        );
    }
    let path = format!("{kind}-samples.png");
    write_grid(&path, &digits(trainer.gan_mut(), &fixed));
    println!("wrote {path}");
    Ok(())
}
