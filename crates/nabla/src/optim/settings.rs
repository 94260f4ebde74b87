//! Range checks of the optimizers' settings, shared by their `validate`
//! methods: each names the optimizer, the setting and its value.

use crate::error::{Error, Result};

fn invalid(optimizer: &str, message: String) -> Error {
    Error::InvalidSetting {
        context: optimizer.to_string(),
        message,
    }
}

/// `value` must be finite and at least 0.
pub(super) fn non_negative(optimizer: &str, name: &str, value: f64) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(invalid(
            optimizer,
            format!("invalid {name} {value}: it must be a finite number, at least 0"),
        ))
    }
}

/// `value` must be in `[0, 1)`.
pub(super) fn below_one(optimizer: &str, name: &str, value: f64) -> Result<()> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(invalid(
            optimizer,
            format!("invalid {name} {value}: it must be at least 0 and below 1"),
        ))
    }
}

/// `holds` must be true; otherwise `message` says why not.
pub(super) fn require(optimizer: &str, holds: bool, message: impl FnOnce() -> String) -> Result<()> {
    if holds {
        Ok(())
    } else {
        Err(invalid(optimizer, message()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_and_negative_values_are_refused_by_name() {
        assert!(non_negative("SGD", "momentum", 0.0).is_ok());
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let message = non_negative("SGD", "momentum", bad).unwrap_err().to_string();
            assert!(message.starts_with("SGD: invalid momentum"), "{message}");
        }
        assert!(below_one("Adam", "beta1", 0.9).is_ok());
        assert!(below_one("Adam", "beta1", 1.0).is_err());
        assert!(below_one("Adam", "beta1", f64::NAN).is_err());
    }
}
