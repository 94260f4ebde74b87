//! Parsers of the numeric command-line options: each checks the value's
//! range, so that nonsense is a one-line usage error naming the option
//! (clap puts the option's name before the message) before anything runs.

/// A count of at least 1 (epochs, batch size, examples).
pub fn count(text: &str) -> Result<usize, String> {
    let n: usize = integer(text)?;
    if n == 0 {
        return Err("it must be at least 1".to_string());
    }
    Ok(n)
}

/// A thread count from 1 to 1024: more threads than that only cost memory
/// (and asking the system for millions fails slowly).
pub fn threads(text: &str) -> Result<usize, String> {
    at_most(count(text)?, 1024)
}

/// Data-loading threads, from 0 (loading in the training thread) to 64.
pub fn workers(text: &str) -> Result<usize, String> {
    at_most(integer(text)?, 64)
}

/// A number of classes from 1 to 100,000 (the last layer is this wide).
pub fn classes(text: &str) -> Result<usize, String> {
    at_most(count(text)?, 100_000)
}

/// A batch for `nabla summary`, 1 to 1,024 (zeros of that batch go through the model).
pub fn summary_batch(text: &str) -> Result<usize, String> {
    at_most(count(text)?, 1_024)
}

/// Timed repetitions of a benchmark, 1 to 1,000.
pub fn repetitions(text: &str) -> Result<usize, String> {
    at_most(count(text)?, 1_000)
}

/// Validation batches per evaluation, 1 to 100,000.
pub fn eval_batches(text: &str) -> Result<usize, String> {
    at_most(count(text)?, 100_000)
}

/// A context length in characters, 1 to 65,536.
pub fn block_size(text: &str) -> Result<usize, String> {
    at_most(count(text)?, 65_536)
}

/// A number of layers or heads, 1 to 1,024.
pub fn layers(text: &str) -> Result<usize, String> {
    at_most(count(text)?, 1_024)
}

/// A layer's width in features, 1 to 65,536.
pub fn width(text: &str) -> Result<usize, String> {
    at_most(count(text)?, 65_536)
}

/// Importance samples per image, 1 to 100,000.
pub fn importance_samples(text: &str) -> Result<usize, String> {
    at_most(count(text)?, 100_000)
}

/// A number of steps from 0 to 100,000,000.
pub fn steps(text: &str) -> Result<usize, String> {
    at_most(integer(text)?, 100_000_000)
}

/// Digits to draw with `nabla sample`, 1 to 10,000.
pub fn sample_count(text: &str) -> Result<usize, String> {
    at_most(count(text)?, 10_000)
}

/// Characters to generate, 1 to 1,000,000.
pub fn tokens(text: &str) -> Result<usize, String> {
    at_most(count(text)?, 1_000_000)
}

/// A sampling temperature from 0 (greedy) to 100.
pub fn temperature(text: &str) -> Result<f64, String> {
    let x = non_negative(text)?;
    if x > 100.0 {
        return Err("it must be at most 100".to_string());
    }
    Ok(x)
}

/// A finite number above 0 (a learning rate).
pub fn positive(text: &str) -> Result<f64, String> {
    let x = finite(text)?;
    if x <= 0.0 {
        return Err("it must be above 0".to_string());
    }
    Ok(x)
}

/// A finite number of at least 0 (a weight decay).
pub fn non_negative(text: &str) -> Result<f64, String> {
    let x = finite(text)?;
    if x < 0.0 {
        return Err("it must be at least 0".to_string());
    }
    Ok(x)
}

/// A number in `[0, 1)` (a momentum).
pub fn below_one(text: &str) -> Result<f64, String> {
    let x = non_negative(text)?;
    if x >= 1.0 {
        return Err("it must be below 1".to_string());
    }
    Ok(x)
}

fn integer(text: &str) -> Result<usize, String> {
    if text.trim().starts_with('-') {
        return Err("it must not be negative".to_string());
    }
    text.trim().parse().map_err(|e: std::num::ParseIntError| {
        use std::num::IntErrorKind;
        match e.kind() {
            IntErrorKind::PosOverflow => format!("it must be at most {}", usize::MAX),
            _ => "it must be a whole number".to_string(),
        }
    })
}

fn at_most(n: usize, max: usize) -> Result<usize, String> {
    if n > max {
        return Err(format!("it must be at most {max}"));
    }
    Ok(n)
}

fn finite(text: &str) -> Result<f64, String> {
    let x: f64 = text
        .trim()
        .parse()
        .map_err(|_| "it must be a number".to_string())?;
    if !x.is_finite() {
        return Err("it must be a finite number".to_string());
    }
    Ok(x)
}

/// A gradient bucket in MiB, above 0 and at most 1,024.
pub fn bucket_mb(text: &str) -> Result<f64, String> {
    let mb: f64 = text.parse().map_err(|_| format!("{text:?} is not a number"))?;
    if !(mb > 0.0 && mb <= 1024.0) {
        return Err("it must be above 0 and at most 1024 (MiB)".to_string());
    }
    Ok(mb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(count("3"), Ok(3));
        assert!(count("0").is_err() && count("-1").is_err() && count("1.5").is_err());
        assert_eq!(workers("0"), Ok(0));
        assert!(threads("1025").is_err());
        assert_eq!(positive("1e-3"), Ok(1e-3));
        for bad in ["0", "-1", "nan", "inf", "1e400", "x"] {
            assert!(positive(bad).is_err(), "{bad}");
        }
        assert_eq!(non_negative("0"), Ok(0.0));
        assert!(below_one("1").is_err() && below_one("0.99").is_ok());
        assert_eq!(bucket_mb("0.5"), Ok(0.5));
        for bad in ["0", "2048", "nan", "x"] {
            assert!(bucket_mb(bad).is_err(), "{bad}");
        }
    }
}
