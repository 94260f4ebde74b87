//! [`TextCorpus`]: a UTF-8 text file as a character-level token stream,
//! with nanoGPT's 90%/10% split, and the bundled tiny-shakespeare.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::bundled::{data_dir, DATA_DIR_ENV};
use super::checksum::{verify_sha256, KnownFile, TINY_SHAKESPEARE};
use super::files::{format_error, io_error};
use super::{CharVocab, Split, TokenWindows};
use crate::error::Result;

/// A text file read as characters: its vocabulary (the sorted set of its
/// characters, [`CharVocab::from_text`]) and its token stream.
///
/// [`Split::Train`] is the first 90% of the characters and [`Split::Test`]
/// the last 10% (nanoGPT's `train` and `val`: `data[:int(n * 0.9)]` and
/// `data[int(n * 0.9):]`).
///
/// ```
/// use nabla::data::{Dataset, Split, TextCorpus};
/// let text = TextCorpus::tiny_shakespeare()?;
/// assert_eq!((text.len(), text.vocab().len()), (1_115_394, 65));
/// let first: Vec<usize> = text.tokens()[..14].iter().map(|&t| t as usize).collect();
/// assert_eq!(text.vocab().decode(&first), "First Citizen:");
/// assert_eq!(text.split(Split::Train).len(), 1_003_854);
/// assert_eq!(text.split(Split::Test).len(), 111_540);
/// let windows = text.windows(Split::Train, 64)?;
/// assert_eq!(windows.len(), 1_003_854 - 64);
/// # Ok::<(), nabla::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct TextCorpus {
    path: PathBuf,
    vocab: CharVocab,
    tokens: Arc<[u32]>,
}

impl TextCorpus {
    /// Reads the UTF-8 text file at `path`.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) naming the file if it cannot be read
    /// (missing, a directory); [`Error::Format`](crate::Error::Format) if it
    /// is empty or not UTF-8 (naming the byte offset of the first invalid
    /// byte).
    pub fn load(path: impl AsRef<Path>) -> Result<TextCorpus> {
        let path = path.as_ref();
        if path.is_dir() {
            return Err(io_error(
                path,
                io::Error::new(io::ErrorKind::InvalidInput, "is a directory, not a text file"),
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
        if bytes.is_empty() {
            return Err(format_error(
                path,
                "the file is empty: a language model needs text",
            ));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let offset = e.utf8_error().valid_up_to();
            format_error(
                path,
                format!(
                    "not UTF-8 text: the byte 0x{:02x} at offset {offset} does not continue a character",
                    e.as_bytes()[offset]
                ),
            )
        })?;
        let vocab = CharVocab::from_text(&text);
        let tokens = text
            .chars()
            .map(|c| {
                vocab
                    .id(c)
                    .expect("the vocabulary holds every character of its text") as u32
            })
            .collect();
        Ok(TextCorpus {
            path: path.to_path_buf(),
            vocab,
            tokens,
        })
    }

    /// Tiny-shakespeare, bundled in [`data_dir()`]`/tinyshakespeare/input.txt`
    /// (from karpathy/char-rnn; `SOURCES.md` beside it), after checking its
    /// SHA-256.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) naming the file if it is missing (set
    /// `NABLA_DATA_DIR`), [`Error::Checksum`](crate::Error::Checksum) if it
    /// is not the published file.
    pub fn tiny_shakespeare() -> Result<TextCorpus> {
        let file: KnownFile = TINY_SHAKESPEARE;
        let path = data_dir().join("tinyshakespeare").join(file.name);
        if !path.is_file() {
            return Err(io_error(
                &path,
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("the bundled tiny-shakespeare is missing (set {DATA_DIR_ENV} to a folder holding tinyshakespeare/)"),
                ),
            ));
        }
        verify_sha256(&path, file.sha256)?;
        Self::load(path)
    }

    /// The file the text came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The vocabulary: the sorted set of the text's characters.
    pub fn vocab(&self) -> &CharVocab {
        &self.vocab
    }

    /// The number of characters.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Always false: an empty file is refused by [`TextCorpus::load`].
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The whole token stream.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// The tokens of a split: the first 90% ([`Split::Train`]) or the last
    /// 10% ([`Split::Test`], nanoGPT's validation set).
    pub fn split(&self, split: Split) -> Arc<[u32]> {
        let train_len = self.tokens.len() * 9 / 10;
        match split {
            Split::Train => Arc::from(&self.tokens[..train_len]),
            Split::Test => Arc::from(&self.tokens[train_len..]),
        }
    }

    /// The windows of `block_size` tokens of a split, with their targets.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`](crate::Error::InvalidSetting) naming the
    /// file if the block size is 0 or the split has no more tokens than it.
    pub fn windows(&self, split: Split, block_size: usize) -> Result<TokenWindows> {
        let tokens = self.split(split);
        if block_size == 0 || tokens.len() <= block_size {
            return Err(crate::Error::InvalidSetting {
                context: self.path.display().to_string(),
                message: format!(
                    "a block size of {block_size} needs a positive size and a {} split of more than \
                     {block_size} characters; it has {}",
                    match split {
                        Split::Train => "training",
                        Split::Test => "validation",
                    },
                    tokens.len()
                ),
            });
        }
        Ok(TokenWindows::new(tokens, block_size))
    }
}
