//! The char-GPT against nanoGPT's model in PyTorch: a checkpoint written by
//! PyTorch (nanoGPT's names, `lm_head.weight` beside the tied
//! `transformer.wte.weight`, nabla's metadata) and one converted from
//! nanoGPT's `ckpt.pt` by `scripts/export_nanogpt.py` load, and give
//! PyTorch's logits, loss and gradient of every parameter, with and without
//! biases.
//! Also: the key/value cache gives the logits of recomputation, generation
//! follows nanoGPT's cropped context, the frozen model's next-character
//! logits equal the whole forward pass's on any number of threads, an f64 finite-difference check of
//! every parameter, and the errors of bad checkpoints.
//!
//! Fixtures: `scripts/make_char_gpt_fixtures.py`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use nabla::autograd::no_grad;
use nabla::checkpoint::{load_metadata, load_tensors, save_tensors};
use nabla::data::CharVocab;
use nabla::lm::{generate, load_language_model, save_language_model, LanguageModel, NextCharacter, Sampling};
use nabla::nn::loss::cross_entropy;
use nabla::nn::zoo::{char_gpt, CharGpt, CharGptConfig};
use nabla::nn::Module;
use nabla::train::Step;
use nabla::{Error, Generator, IndexTensor, Tensor};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn ids_of(t: &Tensor) -> IndexTensor {
    IndexTensor::from_vec(t.to_vec().iter().map(|&v| v as usize).collect(), t.shape())
}

fn assert_close(name: &str, got: &[f32], want: &[f32], atol: f32) {
    assert_eq!(got.len(), want.len(), "{name}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= atol + 1e-4 * w.abs(),
            "{name}[{i}]: nabla {g}, PyTorch {w}"
        );
    }
}

fn check_against_pytorch(case: &str) {
    let (mut model, vocab) = load_language_model(fixture(&format!("char_{case}.safetensors"))).unwrap();
    assert_eq!((model.kind(), vocab.len()), ("char-gpt", 11));
    let io: HashMap<String, Tensor> = load_tensors(fixture(&format!("char_{case}_io.safetensors")))
        .unwrap()
        .into_iter()
        .collect();
    let batch = (ids_of(&io["ids"]), ids_of(&io["targets"]));
    let logits = model.forward(&batch.0);
    assert_eq!(logits.shape(), io["logits"].shape());
    assert_close("logits", &logits.to_vec(), &io["logits"].to_vec(), 1e-5);

    let out = NextCharacter.train_step(&mut model, &batch);
    assert_close("loss", &[out.loss.item()], &[io["loss"].item()], 1e-6);
    out.loss.backward();
    let mut checked = 0;
    for (name, parameter) in model.module().named_parameters() {
        let want = &io[&format!("grad.{name}")];
        assert_close(&name, &parameter.grad().unwrap().to_vec(), &want.to_vec(), 1e-6);
        checked += 1;
    }
    let grads_in_fixture = io.keys().filter(|k| k.starts_with("grad.")).count();
    assert_eq!(
        checked, grads_in_fixture,
        "every PyTorch parameter is a nabla parameter"
    );
}

#[test]
fn logits_loss_and_gradients_match_nanogpt_without_biases() {
    check_against_pytorch("gpt_nobias");
}

#[test]
fn logits_loss_and_gradients_match_nanogpt_with_biases() {
    check_against_pytorch("gpt_bias");
}

fn small_config() -> CharGptConfig {
    CharGptConfig {
        block_size: 8,
        n_layer: 2,
        n_head: 2,
        n_embd: 8,
        ..CharGptConfig::new(7)
    }
}

#[test]
fn the_kv_cache_gives_the_logits_of_recomputing_the_sequence() {
    let model: CharGpt = char_gpt(&small_config(), &mut Generator::new(3));
    let ids: Vec<usize> = vec![1, 4, 2, 6, 0, 3, 5, 2, 1, 0, 6, 4, 3, 3, 2, 1];
    let ids = IndexTensor::from_vec(ids, &[2, 8]);
    let whole = model.forward(&ids);
    let mut cache = model.new_cache();
    let mut parts = Vec::new();
    for (start, len) in [(0, 3), (3, 1), (4, 1), (5, 3)] {
        parts.push(model.forward_cached(&ids.narrow(1, start, len), &mut cache));
        assert_eq!(cache.len(), start + len);
    }
    let cached = Tensor::cat(&parts, 1);
    assert_close("cached logits", &cached.to_vec(), &whole.to_vec(), 1e-5);
}

#[test]
fn the_frozen_model_gives_the_last_positions_logits() {
    // Biases on, two sequences, and a cached prefix: the frozen products,
    // the bias after them and the last block's single query each show.
    let config = CharGptConfig {
        bias: true,
        ..small_config()
    };
    let model: CharGpt = char_gpt(&config, &mut Generator::new(4));
    for p in model.parameters() {
        // Non-zero biases, so that a missing one changes the logits.
        p.copy_from(&Tensor::randn(p.shape(), &mut Generator::new(p.numel() as u64)).mul_scalar(0.3));
    }
    let ids = IndexTensor::from_vec(vec![1, 4, 2, 6, 0, 3, 5, 2, 1, 0, 6, 4], &[2, 6]);
    let whole = model.forward(&ids);
    let frozen = model.freeze();
    let mut cache = frozen.new_cache();
    let first = frozen.next_logits(&ids.narrow(1, 0, 2), &mut cache);
    assert_close("after 2", &first.to_vec(), &whole.select(1, 1).to_vec(), 1e-5);
    let next = frozen.next_logits(&ids.narrow(1, 2, 4), &mut cache);
    assert_eq!((next.shape(), cache.len()), (&[2, 7][..], 6));
    assert_close("after 6", &next.to_vec(), &whole.select(1, 5).to_vec(), 1e-5);
}

#[test]
fn the_frozen_model_gives_the_same_logits_on_any_number_of_threads() {
    // Sixty new rows (three sequences of 20 after a 5-position prefix) are
    // split over the threads in shares of equal cost, one of which ends
    // inside a sequence; in f64, so that a wrong key, position or share
    // shows far above rounding.
    let config = CharGptConfig {
        block_size: 32,
        n_layer: 2,
        n_head: 4,
        n_embd: 16,
        bias: true,
        ..CharGptConfig::new(7)
    };
    let model: CharGpt<f64> = char_gpt(&config, &mut Generator::new(9));
    for p in model.parameters() {
        p.copy_from(&Tensor::randn(p.shape(), &mut Generator::new(p.numel() as u64)).mul_scalar(0.3));
    }
    let ids = IndexTensor::from_vec((0..75).map(|i| (i * 5 + i / 7) % 7).collect(), &[3, 25]);
    let want = model.forward(&ids).select(1, 24).to_vec();
    for threads in [1, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let got = pool.install(|| {
            let frozen = model.freeze();
            let mut cache = frozen.new_cache();
            frozen.next_logits(&ids.narrow(1, 0, 5), &mut cache);
            frozen.next_logits(&ids.narrow(1, 5, 20), &mut cache).to_vec()
        });
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - w).abs() < 1e-12,
                "{threads} threads, logit {i}: {g} against {w}"
            );
        }
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload
            .downcast::<&str>()
            .map(|m| m.to_string())
            .unwrap_or_default(),
    }
}

#[test]
fn a_frozen_cache_keeps_its_batch_size_and_its_model() {
    let model: CharGpt = char_gpt(&small_config(), &mut Generator::new(1));
    let frozen = model.freeze();
    let mut cache = frozen.new_cache();
    frozen.next_logits(&IndexTensor::from_vec(vec![1, 2], &[2, 1]), &mut cache);
    let more = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        frozen.next_logits(&IndexTensor::from_vec(vec![1, 2, 3], &[3, 1]), &mut cache)
    }));
    let message = panic_message(more.unwrap_err());
    assert!(message.contains("3 sequences for a cache of 2"), "{message}");
    let other: CharGpt = char_gpt(
        &CharGptConfig {
            n_layer: 1,
            ..small_config()
        },
        &mut Generator::new(1),
    );
    let other_frozen = other.freeze();
    let mut other_cache = other_frozen.new_cache();
    let mismatched = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        frozen.next_logits(&IndexTensor::from_vec(vec![1], &[1, 1]), &mut other_cache)
    }));
    let message = panic_message(mismatched.unwrap_err());
    assert!(message.contains("a cache made for another model"), "{message}");
    // Cleared, a cache starts again at position 0 with its buffer.
    cache.clear();
    let ids = IndexTensor::from_vec(vec![3, 1, 4, 0, 2, 5], &[2, 3]);
    let again = frozen.next_logits(&ids, &mut cache);
    assert_eq!(cache.len(), 3);
    assert_close(
        "after clear",
        &again.to_vec(),
        &model.forward(&ids).select(1, 2).to_vec(),
        1e-5,
    );
}

#[test]
#[should_panic(expected = "a cache of 2 layers for a model of 1")]
fn a_cache_of_another_depth_is_refused() {
    let deeper: CharGpt = char_gpt(&small_config(), &mut Generator::new(1));
    let shallow: CharGpt = char_gpt(
        &CharGptConfig {
            n_layer: 1,
            ..small_config()
        },
        &mut Generator::new(1),
    );
    let ids = IndexTensor::from_vec(vec![1, 2], &[1, 2]);
    shallow.forward_cached(&ids, &mut deeper.new_cache());
}

#[test]
fn greedy_generation_follows_nanogpts_cropped_context() {
    // nanoGPT's generate: at each step the logits of the last position of
    // the last block_size characters. 30 new characters with a block of 8
    // cross the window's end many times.
    let config = small_config();
    let model = LanguageModel::gpt(&config, &mut Generator::new(5));
    let LanguageModel::Gpt(gpt) = &model else {
        unreachable!()
    };
    let prompt = [1, 2, 3];
    let greedy = Sampling {
        temperature: 0.0,
        top_k: None,
    };
    let generated = generate(&model, &prompt, 30, greedy, &mut Generator::new(0), |_| {});
    let mut context = prompt.to_vec();
    no_grad(|| {
        for &id in &generated {
            let window = &context[context.len().saturating_sub(config.block_size)..];
            let logits = gpt.forward(&IndexTensor::from_vec(window.to_vec(), &[1, window.len()]));
            let last = logits.select(1, window.len() - 1).to_vec();
            assert_eq!(id, greedy.choose(&last, &mut Generator::new(0)));
            context.push(id);
        }
    });
}

#[test]
fn sampling_is_seeded_and_top_k_keeps_the_k_most_likely() {
    let model = LanguageModel::gpt(&small_config(), &mut Generator::new(6));
    let sampling = Sampling {
        temperature: 1.0,
        top_k: Some(3),
    };
    let run = |seed| generate(&model, &[0], 40, sampling, &mut Generator::new(seed), |_| {});
    assert_eq!(run(9), run(9));
    assert_ne!(run(9), run(10));
    let logits = [0.5f32, 3.0, -1.0, 2.0, 2.5, -4.0];
    let mut g = Generator::new(1);
    let drawn: Vec<usize> = (0..200).map(|_| sampling.choose(&logits, &mut g)).collect();
    assert!(drawn.iter().all(|id| [1, 3, 4].contains(id)), "{drawn:?}");
    assert!([1, 3, 4].iter().all(|k| drawn.contains(k)));
}

#[test]
fn every_parameter_gradient_matches_finite_differences_in_f64() {
    let config = CharGptConfig {
        block_size: 4,
        n_layer: 2,
        n_head: 2,
        n_embd: 4,
        bias: true,
        ..CharGptConfig::new(5)
    };
    let model: CharGpt<f64> = char_gpt(&config, &mut Generator::new(7));
    let ids = IndexTensor::from_vec(vec![0, 3, 1, 4, 2, 2, 0, 1], &[2, 4]);
    let targets = IndexTensor::from_vec(vec![3, 1, 4, 0, 2, 0, 1, 3], &[8]);
    let loss = || cross_entropy(&model.forward(&ids).reshape(&[8, 5]), &targets);
    loss().backward();
    let h = 1e-6;
    for (name, p) in model.named_parameters() {
        let analytic = p.grad().unwrap().to_vec();
        let values = p.to_vec();
        // A few entries of each parameter, spread over it.
        for i in (0..values.len()).step_by(values.len().div_ceil(3)) {
            let at = |delta: f64| {
                let mut v = values.clone();
                v[i] += delta;
                p.copy_from(&Tensor::from_vec(v, p.shape()));
                let l = no_grad(|| loss().item());
                p.copy_from(&Tensor::from_vec(values.clone(), p.shape()));
                l
            };
            let numeric = (at(h) - at(-h)) / (2.0 * h);
            assert!(
                (numeric - analytic[i]).abs() <= 1e-7 + 1e-5 * numeric.abs(),
                "{name}[{i}]: backward {}, finite differences {numeric}",
                analytic[i]
            );
        }
    }
}

#[test]
fn a_saved_gpt_stores_the_tied_weight_once_and_loads_back() {
    let (model, vocab) = load_language_model(fixture("char_gpt_bias.safetensors")).unwrap();
    let path = temp("roundtrip.safetensors");
    save_language_model(&model, &vocab, &path).unwrap();
    let names: Vec<String> = load_tensors::<f32>(&path)
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(!names.contains(&"lm_head.weight".to_string()));
    let meta = load_metadata(&path).unwrap();
    assert_eq!(meta["nabla.model"], "char-gpt");
    let config: serde_json::Value = serde_json::from_str(&meta["nabla.config"]).unwrap();
    assert_eq!(
        config,
        serde_json::json!({"vocab_size": 11, "block_size": 8, "n_layer": 2, "n_head": 2, "n_embd": 16, "bias": true})
    );
    let (loaded, loaded_vocab) = load_language_model(&path).unwrap();
    assert_eq!(loaded_vocab, vocab);
    let ids = IndexTensor::from_vec(vec![1, 2, 3, 4], &[1, 4]);
    assert_eq!(loaded.forward(&ids).to_vec(), model.forward(&ids).to_vec());
}

/// The fixture's tensors and metadata, changed by `edit`, written to a new file.
fn edited_checkpoint(
    name: &str,
    edit: impl FnOnce(&mut Vec<(String, Tensor)>, &mut HashMap<String, String>),
) -> PathBuf {
    let source = fixture("char_gpt_bias.safetensors");
    let mut tensors = load_tensors::<f32>(&source).unwrap();
    let mut meta = load_metadata(&source).unwrap();
    edit(&mut tensors, &mut meta);
    let path = temp(name);
    save_tensors(&path, &tensors, Some(meta)).unwrap();
    path
}

fn load_error(path: &Path) -> String {
    match load_language_model(path) {
        Ok(_) => panic!("{} loaded", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_checkpoints_are_errors_that_name_the_problem() {
    let no_vocab = edited_checkpoint("no_vocab.safetensors", |_, m| {
        m.remove("nabla.vocab");
    });
    let err = load_error(&no_vocab);
    assert!(
        err.contains("no_vocab.safetensors") && err.contains("\"nabla.vocab\""),
        "{err}"
    );

    let bad_heads = edited_checkpoint("bad_heads.safetensors", |_, m| {
        m.insert(
            "nabla.config".into(),
            r#"{"vocab_size": 11, "block_size": 8, "n_layer": 2, "n_head": 3, "n_embd": 16, "bias": true}"#
                .into(),
        );
    });
    let err = load_error(&bad_heads);
    assert!(
        err.contains("n_embd = 16 is not a multiple of n_head = 3"),
        "{err}"
    );

    let missing_field = edited_checkpoint("missing_field.safetensors", |_, m| {
        m.insert(
            "nabla.config".into(),
            r#"{"vocab_size": 11, "block_size": 8}"#.into(),
        );
    });
    let err = load_error(&missing_field);
    assert!(err.contains("nabla.config") && err.contains("n_layer"), "{err}");

    let wrong_block = edited_checkpoint("wrong_block.safetensors", |_, m| {
        let config = m["nabla.config"].replace("\"block_size\": 8", "\"block_size\": 16");
        m.insert("nabla.config".into(), config);
    });
    let err = load_error(&wrong_block);
    assert!(
        err.contains("transformer.wpe.weight") && err.contains("[16, 16]"),
        "{err}"
    );

    let short_vocab = edited_checkpoint("short_vocab.safetensors", |_, m| {
        m.insert("nabla.vocab".into(), r#"["a","b"]"#.into());
    });
    let err = load_error(&short_vocab);
    assert!(
        err.contains("nabla.vocab has 2 characters") && err.contains("vocab_size = 11"),
        "{err}"
    );

    let exported: Vec<String> = load_tensors::<f32>(fixture("char_gpt_nobias.safetensors"))
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(!exported
        .iter()
        .any(|n| n == "lm_head.weight" || n.ends_with(".attn.bias")));

    let unknown = edited_checkpoint("unknown.safetensors", |_, m| {
        m.insert("nabla.model".into(), "char-rwkv".into());
    });
    assert!(load_error(&unknown).contains("\"char-rwkv\""));

    let untied = edited_checkpoint("untied.safetensors", |t, _| {
        let head = t.iter_mut().find(|(n, _)| n == "lm_head.weight").unwrap();
        head.1 = head.1.mul_scalar(2.0);
    });
    assert!(load_error(&untied).contains("lm_head.weight differs from transformer.wte.weight"));

    let without_head = edited_checkpoint("without_head.safetensors", |t, _| {
        t.retain(|(n, _)| n != "lm_head.weight");
    });
    assert!(
        load_language_model(&without_head).is_ok(),
        "only transformer.wte.weight is enough"
    );

    let missing = edited_checkpoint("missing.safetensors", |t, _| {
        t.retain(|(n, _)| n != "transformer.h.1.mlp.c_fc.weight");
    });
    let err = load_error(&missing);
    assert!(matches!(
        load_language_model(&missing),
        Err(Error::MissingTensor { .. })
    ));
    assert!(err.contains("transformer.h.1.mlp.c_fc.weight"), "{err}");
}

#[test]
#[should_panic(expected = "CharGpt: 9 positions exceed the block size of 8")]
fn a_sequence_longer_than_the_block_is_refused() {
    let model: CharGpt = char_gpt(&small_config(), &mut Generator::new(0));
    model.forward(&IndexTensor::from_vec(vec![0; 9], &[1, 9]));
}

#[test]
fn an_out_of_vocabulary_prompt_character_is_named() {
    let vocab = CharVocab::from_json(r#"["\n"," ","!","a","b"]"#).unwrap();
    let err = vocab.encode("ab c").unwrap_err().to_string();
    assert!(err.contains("'c'") && err.contains("position 3"), "{err}");
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nabla-char-gpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}
