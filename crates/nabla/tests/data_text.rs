//! Text for language models: the bundled tiny-shakespeare as nanoGPT's
//! `shakespeare_char` prepares it, text files and their errors, and the
//! character vocabulary.

use std::sync::Arc;

use nabla::data::{CharVocab, DataLoader, Dataset, LoaderConfig, Split, Stack, TextCorpus};
use nabla::Error;

#[test]
fn tiny_shakespeare_has_nanogpts_vocabulary_and_split() {
    let text = TextCorpus::tiny_shakespeare().unwrap();
    // nanoGPT's data/shakespeare_char/prepare.py: chars = sorted(list(set(data))).
    let expected = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    assert_eq!(text.vocab().chars().iter().collect::<String>(), expected);
    // n = 1,115,394; train = data[:int(n * 0.9)], val = data[int(n * 0.9):].
    let (train, val) = (text.split(Split::Train), text.split(Split::Test));
    assert_eq!((train.len(), val.len()), (1_003_854, 111_540));
    let val_start: Vec<usize> = val[..30].iter().map(|&t| t as usize).collect();
    assert_eq!(
        text.vocab().decode(&val_start),
        "?\n\nGREMIO:\nGood morrow, neighb"
    );
}

#[test]
fn windows_of_a_split_batch_into_shifted_targets() {
    let text = TextCorpus::tiny_shakespeare().unwrap();
    let windows = Arc::new(text.windows(Split::Test, 64).unwrap());
    assert_eq!(windows.len(), 111_540 - 64);
    let config = LoaderConfig {
        batch_size: 12,
        seed: 3,
        ..LoaderConfig::default()
    };
    let loader = DataLoader::collated(windows, Stack, config);
    let (x, y) = loader.epoch(0).next().unwrap();
    assert_eq!((x.shape(), y.shape()), (&[12, 64][..], &[12, 64][..]));
    let (x, y) = (x.to_vec(), y.to_vec());
    for row in 0..12 {
        assert_eq!(x[row * 64 + 1..row * 64 + 64], y[row * 64..row * 64 + 63]);
    }
}

#[test]
fn a_block_longer_than_the_split_is_an_error_naming_the_file() {
    let dir = tempdir("block");
    let path = dir.join("short.txt");
    std::fs::write(&path, "abcdefghijklmnopqrst").unwrap(); // 18 train, 2 validation characters
    let text = TextCorpus::load(&path).unwrap();
    assert_eq!(text.windows(Split::Train, 17).unwrap().len(), 1);
    let err = text.windows(Split::Test, 2).unwrap_err().to_string();
    assert!(
        err.contains("short.txt") && err.contains("validation split"),
        "{err}"
    );
    assert!(text.windows(Split::Train, 0).is_err());
}

#[test]
fn empty_non_utf8_and_directory_inputs_are_clear_errors() {
    let dir = tempdir("bad");
    let empty = dir.join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let err = TextCorpus::load(&empty).unwrap_err();
    assert!(matches!(err, Error::Format { .. }), "{err}");
    assert!(err.to_string().contains("empty.txt") && err.to_string().contains("empty"));

    let latin1 = dir.join("latin1.txt");
    std::fs::write(&latin1, b"caf\xe9 au lait").unwrap();
    let err = TextCorpus::load(&latin1).unwrap_err().to_string();
    assert!(
        err.contains("latin1.txt") && err.contains("not UTF-8") && err.contains("offset 3"),
        "{err}"
    );

    let err = TextCorpus::load(&dir).unwrap_err().to_string();
    assert!(err.contains("is a directory"), "{err}");

    let err = TextCorpus::load(dir.join("missing.txt")).unwrap_err().to_string();
    assert!(err.contains("missing.txt"), "{err}");
}

#[test]
fn a_text_files_vocabulary_is_its_sorted_characters_including_non_ascii() {
    let dir = tempdir("utf8");
    let path = dir.join("greek.txt");
    std::fs::write(&path, "βγα αβ\n").unwrap();
    let text = TextCorpus::load(&path).unwrap();
    assert_eq!(text.vocab().chars(), ['\n', ' ', 'α', 'β', 'γ']);
    assert_eq!(text.tokens(), [3, 4, 2, 1, 2, 3, 0]);
    assert_eq!(text.len(), 7, "characters, not bytes");
}

#[test]
fn encoding_names_the_character_outside_the_vocabulary() {
    let vocab = CharVocab::from_text("abc ");
    let err = vocab.encode("a cab é").unwrap_err().to_string();
    assert!(
        err.contains("'é'") && err.contains("U+00E9") && err.contains("position 6"),
        "{err}"
    );
    assert!(err.contains("4-character vocabulary"), "{err}");
}

#[test]
fn vocabulary_json_round_trips_and_rejects_bad_entries() {
    let vocab = CharVocab::from_text("to be, or not\n");
    let json = vocab.to_json();
    assert_eq!(json, r#"["\n"," ",",","b","e","n","o","r","t"]"#);
    assert_eq!(CharVocab::from_json(&json).unwrap(), vocab);
    for bad in [
        r#"["a","bc"]"#,
        r#"["a",""]"#,
        r#"["a","a"]"#,
        r#"{"a":1}"#,
        "not json",
    ] {
        let err = CharVocab::from_json(bad).unwrap_err().to_string();
        assert!(err.starts_with("nabla.vocab:"), "{bad}: {err}");
    }
    // Id order is kept as given, not re-sorted.
    let reversed = CharVocab::from_json(r#"["z","a"]"#).unwrap();
    assert_eq!(reversed.encode("az").unwrap(), [1, 0]);
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("nabla-data-text-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
