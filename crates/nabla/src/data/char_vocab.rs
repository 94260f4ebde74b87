//! [`CharVocab`]: the character vocabulary of a character-level language
//! model, as nanoGPT's `shakespeare_char` builds it.

use std::collections::HashMap;

use crate::error::{Error, Result};

/// A character vocabulary: ids `0..len()` for distinct characters.
///
/// [`CharVocab::from_text`] builds nanoGPT's vocabulary, the sorted set of
/// the text's characters (65 for tiny-shakespeare, `'\n'` first, then `' '`).
/// A checkpoint stores it as a JSON array of one-character strings in id
/// order ([`CharVocab::to_json`], the metadata key `nabla.vocab`).
///
/// ```
/// use nabla::data::CharVocab;
/// let vocab = CharVocab::from_text("hello world");
/// assert_eq!(vocab.chars(), [' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w']);
/// let ids = vocab.encode("low")?;
/// assert_eq!(ids, [4, 5, 7]);
/// assert_eq!(vocab.decode(&ids), "low");
/// assert!(vocab.encode("hi!").is_err()); // 'i' and '!' are not in it
/// let json = vocab.to_json();
/// assert_eq!(CharVocab::from_json(&json)?, vocab);
/// # Ok::<(), nabla::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CharVocab {
    chars: Vec<char>,
    ids: HashMap<char, usize>,
}

impl CharVocab {
    /// The sorted set of the characters of `text`.
    pub fn from_text(text: &str) -> CharVocab {
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        Self::from_distinct(chars)
    }

    /// The vocabulary whose id `i` is `chars[i]`.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] if a character appears twice.
    pub fn from_chars(chars: Vec<char>) -> Result<CharVocab> {
        let vocab = Self::from_distinct(chars);
        if vocab.ids.len() != vocab.chars.len() {
            let repeated = vocab
                .chars
                .iter()
                .enumerate()
                .find(|&(i, c)| vocab.ids[c] != i)
                .map(|(_, c)| *c)
                .unwrap_or_default();
            return Err(vocab_error(
                "nabla.vocab",
                format!("the character {repeated:?} appears twice"),
            ));
        }
        Ok(vocab)
    }

    fn from_distinct(chars: Vec<char>) -> CharVocab {
        let ids = chars.iter().enumerate().map(|(i, &c)| (c, i)).collect();
        CharVocab { chars, ids }
    }

    /// The vocabulary of a JSON array of one-character strings, in id order.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] (context `nabla.vocab`) if `json` is not
    /// such an array, an entry is not exactly one character, or a character
    /// appears twice.
    pub fn from_json(json: &str) -> Result<CharVocab> {
        let entries: Vec<String> = serde_json::from_str(json)
            .map_err(|e| vocab_error("nabla.vocab", format!("not a JSON array of strings: {e}")))?;
        let chars = entries
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                let mut it = entry.chars();
                match (it.next(), it.next()) {
                    (Some(c), None) => Ok(c),
                    _ => Err(vocab_error(
                        "nabla.vocab",
                        format!("entry {i} is {entry:?}, not exactly one character"),
                    )),
                }
            })
            .collect::<Result<Vec<char>>>()?;
        Self::from_chars(chars)
    }

    /// The JSON array of one-character strings, in id order.
    pub fn to_json(&self) -> String {
        let entries: Vec<String> = self.chars.iter().map(char::to_string).collect();
        serde_json::to_string(&entries).expect("a list of strings serializes")
    }

    /// The characters, in id order.
    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    /// The number of characters.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// True for the vocabulary of no characters.
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// The id of `c`, if it is in the vocabulary.
    pub fn id(&self, c: char) -> Option<usize> {
        self.ids.get(&c).copied()
    }

    /// The ids of the characters of `text`.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] (context `text`) naming the first character
    /// that is not in the vocabulary and its position.
    pub fn encode(&self, text: &str) -> Result<Vec<usize>> {
        text.chars()
            .enumerate()
            .map(|(position, c)| {
                self.id(c).ok_or_else(|| {
                    vocab_error(
                        "text",
                        format!(
                            "the character {c:?} (U+{:04X}) at position {position} is not in the \
                         {}-character vocabulary",
                            u32::from(c),
                            self.len()
                        ),
                    )
                })
            })
            .collect()
    }

    /// The text of `ids`.
    ///
    /// # Panics
    /// If an id is `len()` or more.
    pub fn decode(&self, ids: &[usize]) -> String {
        ids.iter()
            .map(|&id| {
                assert!(
                    id < self.len(),
                    "CharVocab::decode: id {id} is out of range for a vocabulary of {} characters",
                    self.len()
                );
                self.chars[id]
            })
            .collect()
    }
}

fn vocab_error(context: &str, message: String) -> Error {
    Error::InvalidSetting {
        context: context.into(),
        message,
    }
}
