//! The judges of generated digits: the MNIST score (the Inception-score
//! formula with the bundled LeNet-5) near its maximum on the MNIST test
//! set and near 1 on uniform noise; the Fréchet distance of a set with
//! itself 0, and equal to SciPy's on fixed features (the golden value of
//! `scripts/make_frechet_fixture.py`).

mod common;

use common::{parse_data, read_fixtures, tensor};
use nabla::data::{Mnist, Split};
use nabla::generative::{frechet_distance, mnist_images, FeatureStats, MnistJudge};
use nabla::{Generator, IndexTensor, Tensor};

const FRECHET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/frechet.json");

fn test_digits() -> Tensor {
    let test = Mnist::bundled(Split::Test).expect("the bundled MNIST");
    mnist_images(&test, 0..10_000)
}

#[test]
fn the_mnist_test_set_scores_near_the_maximum_of_10() {
    let judge = MnistJudge::bundled().expect("the bundled judge");
    let score = judge.mnist_score(&test_digits());
    // Published: about 9.88 for a classifier of this accuracy (99.17%).
    assert!(
        (9.8..=10.0).contains(&score),
        "MNIST score of the test set {score}"
    );
}

#[test]
fn uniform_noise_scores_near_1() {
    let judge = MnistJudge::bundled().expect("the bundled judge");
    let noise = Tensor::rand(&[2000, 1, 28, 28], &mut Generator::new(0));
    let score = judge.mnist_score(&noise);
    // 1.50 measured: the judge puts noise in two or three classes, unsure.
    assert!(
        (1.0..2.0).contains(&score),
        "MNIST score of uniform noise {score}"
    );
}

#[test]
fn a_set_is_at_frechet_distance_0_from_itself_and_far_from_noise() {
    let judge = MnistJudge::bundled().expect("the bundled judge");
    let digits = test_digits();
    let stats = judge.feature_stats(&digits);
    assert_eq!(stats.dim(), 84);
    let itself = frechet_distance(&stats, &stats);
    let trace: f64 = (0..84).map(|i| stats.covariance[i * 84 + i]).sum();
    assert!(
        itself.abs() < 1e-10 * trace,
        "distance to itself {itself} (the trace is {trace})"
    );
    // The even and the odd test digits (its first and last 5,000 come from
    // different writers, and differ more).
    let every_other = |start: usize| {
        let indices = IndexTensor::from_vec((start..10_000).step_by(2).collect(), &[5000]);
        judge.feature_stats(&digits.index_select(0, &indices))
    };
    let halves = frechet_distance(&every_other(0), &every_other(1));
    let noise = Tensor::rand(&[2000, 1, 28, 28], &mut Generator::new(0));
    let to_noise = frechet_distance(&judge.feature_stats(&noise), &stats);
    // 5.1 measured: two samples of 5,000 differ by their sampling noise.
    assert!(
        halves > 0.0 && halves < 10.0,
        "between the even and the odd test digits {halves}"
    );
    assert!(to_noise > 100.0 * halves, "noise {to_noise}, halves {halves}");
}

#[test]
fn the_frechet_distance_matches_scipy() {
    let root = read_fixtures(FRECHET, "make_frechet_fixture.py");
    let a = FeatureStats::of(&tensor::<f32>(&parse_data(&root["a"])));
    let b = FeatureStats::of(&tensor::<f32>(&parse_data(&root["b"])));
    let want = root["distance"].as_f64().expect("distance");
    let got = frechet_distance(&a, &b);
    assert!((got - want).abs() < 1e-8 * want, "nabla {got}, SciPy {want}");
    assert!(frechet_distance(&a, &a).abs() < 1e-9);
    // Symmetric, although the formula is written with one side's root.
    assert!((frechet_distance(&b, &a) - want).abs() < 1e-8 * want);
}

#[test]
fn the_judge_refuses_a_checkpoint_without_its_normalisation() {
    let path = std::env::temp_dir().join(format!("nabla_judge_bare_{}.safetensors", std::process::id()));
    let lenet = nabla::nn::zoo::lenet5::<f32>(&mut Generator::new(0));
    nabla::checkpoint::save_module(&lenet, &path).unwrap();
    let error = MnistJudge::load(&path).err().expect("an error").to_string();
    std::fs::remove_file(&path).unwrap();
    assert!(
        error.contains("nabla_data") && error.contains("nabla_judge_bare"),
        "{error}"
    );
}
