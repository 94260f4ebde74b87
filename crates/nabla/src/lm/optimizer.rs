//! The optimizer of nanoGPT: AdamW with weight decay on matrices only.

use super::LanguageModel;
use crate::error::Result;
use crate::optim::{AdamW, AdamWConfig, ParamGroups};

/// AdamW as nanoGPT's `configure_optimizers` sets it up: `config` (its
/// weight decay included) for the parameters of two or more dimensions
/// (weight matrices and embeddings), and the same without weight decay for
/// the others (biases, LayerNorm weights). nanoGPT's values are
/// `AdamWConfig::new(1e-3).betas(0.9, 0.99).weight_decay(0.1)`.
///
/// ```
/// use nabla::lm::{nanogpt_adamw, LanguageModel};
/// use nabla::nn::zoo::CharGptConfig;
/// use nabla::optim::{AdamWConfig, Optimizer};
/// use nabla::Generator;
/// let model = LanguageModel::gpt(&CharGptConfig::new(65), &mut Generator::new(0));
/// let optimizer = nanogpt_adamw(&model, AdamWConfig::new(1e-3).betas(0.9, 0.99).weight_decay(0.1))?;
/// assert_eq!(optimizer.parameters().len(), model.module().parameters().len());
/// # Ok::<(), nabla::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidSetting`](crate::Error::InvalidSetting) for a setting
/// out of range, as [`AdamW::try_new`].
pub fn nanogpt_adamw(model: &LanguageModel, config: AdamWConfig) -> Result<ParamGroups> {
    let (decay, no_decay): (Vec<_>, Vec<_>) = model
        .module()
        .parameters()
        .into_iter()
        .partition(|p| p.ndim() >= 2);
    Ok(ParamGroups::new(vec![
        Box::new(AdamW::try_new(decay, config)?),
        Box::new(AdamW::try_new(no_decay, config.weight_decay(0.0))?),
    ]))
}
