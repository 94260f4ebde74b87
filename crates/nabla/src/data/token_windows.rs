//! [`TokenWindows`]: every window of a token stream with its next-token
//! targets, the data set of a language model.

use std::sync::Arc;

use super::Dataset;

/// The windows of `block_size` consecutive tokens of a stream, each with
/// its targets, the same window shifted by one token: item `i` is
/// `(tokens[i..i + block_size], tokens[i + 1..i + block_size + 1])`.
///
/// There are `tokens.len() - block_size` of them, the offsets nanoGPT's
/// `get_batch` draws from (`torch.randint(len(data) - block_size, ...)`);
/// a shuffled [`DataLoader`](super::DataLoader) over them visits each once
/// per epoch instead of drawing with replacement. [`Stack`](super::Stack)
/// collates a batch into two `[B, block_size]` index tensors.
///
/// ```
/// use std::sync::Arc;
/// use nabla::data::{Dataset, TokenWindows};
/// let windows = TokenWindows::new(Arc::from(vec![5u32, 6, 7, 8, 9]), 3);
/// assert_eq!(windows.len(), 2);
/// assert_eq!(windows.get(1), (vec![6, 7, 8], vec![7, 8, 9]));
/// ```
#[derive(Clone, Debug)]
pub struct TokenWindows {
    tokens: Arc<[u32]>,
    block_size: usize,
}

impl TokenWindows {
    /// The windows of `block_size` tokens of `tokens`.
    ///
    /// # Panics
    /// If `block_size` is 0 or the stream has `block_size` tokens or fewer
    /// (no window has a full target).
    pub fn new(tokens: Arc<[u32]>, block_size: usize) -> TokenWindows {
        assert!(
            block_size > 0 && tokens.len() > block_size,
            "TokenWindows::new: a block of {block_size} tokens needs a positive size and a stream of \
             at least {} tokens, got {}",
            block_size + 1,
            tokens.len()
        );
        TokenWindows { tokens, block_size }
    }

    /// The number of tokens in a window.
    pub fn block_size(&self) -> usize {
        self.block_size
    }

    /// The whole token stream.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }
}

impl Dataset for TokenWindows {
    type Item = (Vec<usize>, Vec<usize>);

    fn len(&self) -> usize {
        self.tokens.len() - self.block_size
    }

    fn get(&self, index: usize) -> (Vec<usize>, Vec<usize>) {
        let ids = |range: std::ops::Range<usize>| self.tokens[range].iter().map(|&t| t as usize).collect();
        (
            ids(index..index + self.block_size),
            ids(index + 1..index + self.block_size + 1),
        )
    }
}
