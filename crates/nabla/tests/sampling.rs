//! `multinomial` and `randint` draw from nabla's own seeded generator
//! (ChaCha8), whose stream is not PyTorch's, so they are tested by their
//! distributions: frequencies within a few standard deviations of the
//! probabilities, the same draws for the same seed, and clear errors.

use nabla::{Generator, IndexTensor, Tensor};

/// How often each of `classes` values occurs in `draws`.
fn counts(draws: &[usize], classes: usize) -> Vec<usize> {
    let mut counts = vec![0; classes];
    for &d in draws {
        counts[d] += 1;
    }
    counts
}

/// Asserts that `count` successes out of `n` are within 5 standard
/// deviations of probability `p` (a test that fails by chance about once
/// in 3 million runs, and catches any real bias of a percent or more).
#[track_caller]
fn assert_frequency(count: usize, n: usize, p: f64) {
    let expected = n as f64 * p;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    assert!(
        (count as f64 - expected).abs() <= 5.0 * sd.max(1.0),
        "{count} of {n} draws, expected {expected:.1} ± {sd:.1}"
    );
}

#[test]
fn multinomial_with_replacement_draws_by_weight() {
    // Unnormalised weights: probabilities 0.1, 0, 0.3, 0.6.
    let weights = Tensor::from_vec(vec![1.0f32, 0.0, 3.0, 6.0], &[4]);
    let n = 40_000;
    let draws = weights.multinomial(n, true, &mut Generator::new(1));
    assert_eq!(draws.shape(), &[n]);
    let counts = counts(&draws.to_vec(), 4);
    assert_eq!(counts[1], 0, "a weight of 0 was drawn");
    for (c, p) in [(0, 0.1), (2, 0.3), (3, 0.6)] {
        assert_frequency(counts[c], n, p);
    }
}

#[test]
fn multinomial_draws_each_row_from_its_own_weights() {
    let weights = Tensor::from_vec(vec![1.0f64, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0], &[3, 3]);
    let draws = weights.multinomial(3000, true, &mut Generator::new(2));
    assert_eq!(draws.shape(), &[3, 3000]);
    let rows: Vec<Vec<usize>> = draws.to_vec().chunks(3000).map(<[usize]>::to_vec).collect();
    assert!(rows[0].iter().all(|&c| c == 0));
    assert!(rows[1].iter().all(|&c| c == 2));
    let uniform = counts(&rows[2], 3);
    for count in uniform {
        assert_frequency(count, 3000, 1.0 / 3.0);
    }
}

#[test]
fn multinomial_without_replacement_draws_distinct_categories_in_sequence() {
    // The first draw is category c with probability w_c / Σw; the second,
    // given the first was 3 (weight 6), is 2 with probability 3 / 4.
    let weights = Tensor::from_vec(vec![1.0f64, 0.0, 3.0, 6.0], &[4]);
    let mut g = Generator::new(3);
    let n = 20_000;
    let (mut first, mut second_after_3, mut firsts_3) = (vec![0; 4], 0, 0);
    for _ in 0..n {
        let draw = weights.multinomial(3, false, &mut g).to_vec();
        let mut distinct = draw.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 3, "repeated category in {draw:?}");
        assert!(
            !draw.contains(&1),
            "a weight of 0 was drawn while positive ones remained: {draw:?}"
        );
        first[draw[0]] += 1;
        if draw[0] == 3 {
            firsts_3 += 1;
            second_after_3 += usize::from(draw[1] == 2);
        }
    }
    assert_frequency(first[0], n, 0.1);
    assert_frequency(first[2], n, 0.3);
    assert_frequency(first[3], n, 0.6);
    assert_frequency(second_after_3, firsts_3, 0.75);
    // Every category, the zero-weight one last.
    let all = weights.multinomial(4, false, &mut g).to_vec();
    assert_eq!(all[3], 1, "{all:?}");
}

#[test]
fn the_same_seed_gives_the_same_draws() {
    let weights = Tensor::from_vec(vec![0.2f32, 0.5, 0.3], &[1, 3]);
    let a = weights.multinomial(50, true, &mut Generator::new(9)).to_vec();
    let b = weights.multinomial(50, true, &mut Generator::new(9)).to_vec();
    let c = weights.multinomial(50, true, &mut Generator::new(10)).to_vec();
    assert_eq!(a, b);
    assert_ne!(a, c);
    let r1 = IndexTensor::randint(0, 65, &[8, 4], &mut Generator::new(9)).to_vec();
    let r2 = IndexTensor::randint(0, 65, &[8, 4], &mut Generator::new(9)).to_vec();
    assert_eq!(r1, r2);
}

#[test]
fn randint_is_uniform_over_its_range() {
    let n = 30_000;
    let draws = IndexTensor::randint(5, 11, &[n], &mut Generator::new(4)).to_vec();
    assert!(draws.iter().all(|d| (5..11).contains(d)));
    let counts = counts(&draws, 11);
    for count in &counts[5..] {
        assert_frequency(*count, n, 1.0 / 6.0);
    }
    assert_eq!(
        IndexTensor::randint(3, 4, &[5], &mut Generator::new(0)).to_vec(),
        vec![3; 5]
    );
}

fn panic_message(f: impl FnOnce()) -> String {
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("expected a panic");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn bad_weights_and_ranges_are_errors_that_say_what_is_wrong() {
    let mut g = Generator::new(0);
    let negative = Tensor::from_vec(vec![0.5f32, -0.1], &[2]);
    let message = panic_message(move || drop(negative.multinomial(1, true, &mut g)));
    assert!(
        message.contains("multinomial") && message.contains("negative"),
        "{message}"
    );

    let mut g = Generator::new(0);
    let zero_row = Tensor::from_vec(vec![1.0f32, 0.0, 0.0, 0.0], &[2, 2]);
    let message = panic_message(move || drop(zero_row.multinomial(1, true, &mut g)));
    assert!(message.contains("row 1 sum to 0"), "{message}");

    let mut g = Generator::new(0);
    let three = Tensor::from_vec(vec![1.0f32, 1.0, 1.0], &[3]);
    let message = panic_message(move || drop(three.multinomial(4, false, &mut g)));
    assert!(
        message.contains("without replacement") && message.contains("3 categories"),
        "{message}"
    );

    let mut g = Generator::new(0);
    let cube = Tensor::<f32>::ones(&[2, 2, 2]);
    let message = panic_message(move || drop(cube.multinomial(1, true, &mut g)));
    assert!(message.contains("[2, 2, 2]"), "{message}");

    let message = panic_message(|| drop(IndexTensor::randint(4, 4, &[2], &mut Generator::new(0))));
    assert!(
        message.contains("randint") && message.contains("below"),
        "{message}"
    );
}
