//! The element types of PyTorch storages: their sizes, their storage
//! classes' names in a pickle (`torch.FloatStorage`), their values as
//! numbers, and the safetensors dtype `nabla convert` writes them as.

use std::fmt;

use safetensors::Dtype;

/// The element type of a tensor in a PyTorch checkpoint, as PyTorch names
/// it (`torch.float32`, ...).
///
/// nabla computes in `f32` or `f64`: [`PthFile::decode`](super::PthFile::decode)
/// converts every type to the float type asked for (`float16` and
/// `bfloat16` to `f32` exactly; integers exactly up to 2^24 in `f32`, 2^53
/// in `f64`; booleans to 0 and 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PthDtype {
    /// `torch.float64` (`DoubleStorage`).
    F64,
    /// `torch.float32` (`FloatStorage`).
    F32,
    /// `torch.float16` (`HalfStorage`).
    F16,
    /// `torch.bfloat16` (`BFloat16Storage`).
    BF16,
    /// `torch.int64` (`LongStorage`): counters such as BatchNorm's
    /// `num_batches_tracked`.
    I64,
    /// `torch.int32` (`IntStorage`).
    I32,
    /// `torch.int16` (`ShortStorage`).
    I16,
    /// `torch.int8` (`CharStorage`).
    I8,
    /// `torch.uint8` (`ByteStorage`, and `UntypedStorage`'s bytes).
    U8,
    /// `torch.bool` (`BoolStorage`).
    Bool,
}

impl PthDtype {
    /// The type of a storage class of module `torch` (`FloatStorage`, ...).
    pub(crate) fn from_storage_class(name: &str) -> Option<Self> {
        Some(match name {
            "DoubleStorage" => Self::F64,
            "FloatStorage" => Self::F32,
            "HalfStorage" => Self::F16,
            "BFloat16Storage" => Self::BF16,
            "LongStorage" => Self::I64,
            "IntStorage" => Self::I32,
            "ShortStorage" => Self::I16,
            "CharStorage" => Self::I8,
            "ByteStorage" | "UntypedStorage" => Self::U8,
            "BoolStorage" => Self::Bool,
            _ => return None,
        })
    }

    /// The bytes of one element.
    pub fn size(self) -> usize {
        match self {
            Self::F64 | Self::I64 => 8,
            Self::F32 | Self::I32 => 4,
            Self::F16 | Self::BF16 | Self::I16 => 2,
            Self::I8 | Self::U8 | Self::Bool => 1,
        }
    }

    /// PyTorch's name: `float32`, `int64`, ...
    pub fn name(self) -> &'static str {
        match self {
            Self::F64 => "float64",
            Self::F32 => "float32",
            Self::F16 => "float16",
            Self::BF16 => "bfloat16",
            Self::I64 => "int64",
            Self::I32 => "int32",
            Self::I16 => "int16",
            Self::I8 => "int8",
            Self::U8 => "uint8",
            Self::Bool => "bool",
        }
    }

    /// Whether `nabla convert` widens it to `float32` (safetensors has
    /// `F16` and `BF16`, but nabla's reader takes `F32`, `F64` and `I64`).
    pub fn is_half(self) -> bool {
        matches!(self, Self::F16 | Self::BF16)
    }

    /// The dtype of this tensor in a safetensors file from `nabla convert`:
    /// the same type, half-precision floats widened to `F32`.
    pub(crate) fn safetensors(self) -> Dtype {
        match self {
            Self::F64 => Dtype::F64,
            Self::F32 | Self::F16 | Self::BF16 => Dtype::F32,
            Self::I64 => Dtype::I64,
            Self::I32 => Dtype::I32,
            Self::I16 => Dtype::I16,
            Self::I8 => Dtype::I8,
            Self::U8 => Dtype::U8,
            Self::Bool => Dtype::BOOL,
        }
    }

    /// The value of one element, its `size()` little-endian bytes.
    pub(crate) fn value(self, bytes: &[u8]) -> f64 {
        let array = |bytes: &[u8]| -> [u8; 8] {
            let mut out = [0; 8];
            out[..bytes.len()].copy_from_slice(bytes);
            out
        };
        let b = array(bytes);
        match self {
            Self::F64 => f64::from_le_bytes(b),
            Self::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
            Self::F16 => f16_to_f32(u16::from_le_bytes([b[0], b[1]])) as f64,
            Self::BF16 => bf16_to_f32(u16::from_le_bytes([b[0], b[1]])) as f64,
            Self::I64 => i64::from_le_bytes(b) as f64,
            Self::I32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
            Self::I16 => i16::from_le_bytes([b[0], b[1]]) as f64,
            Self::I8 => b[0] as i8 as f64,
            Self::U8 => b[0] as f64,
            Self::Bool => (b[0] != 0) as u8 as f64,
        }
    }

    /// `bytes` (contiguous little-endian elements) as `safetensors()`
    /// wants them: the same bytes, or half-precision floats widened.
    pub(crate) fn to_safetensors_bytes(self, bytes: Vec<u8>) -> Vec<u8> {
        let widen = |to_f32: fn(u16) -> f32| {
            bytes
                .chunks_exact(2)
                .flat_map(|c| to_f32(u16::from_le_bytes([c[0], c[1]])).to_le_bytes())
                .collect()
        };
        match self {
            Self::F16 => widen(f16_to_f32),
            Self::BF16 => widen(bf16_to_f32),
            _ => bytes,
        }
    }
}

impl fmt::Display for PthDtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An IEEE half-precision float as `f32` (exact: every `f16` is an `f32`).
pub(crate) fn f16_to_f32(bits: u16) -> f32 {
    let negative = bits & 0x8000 != 0;
    let exponent = u32::from((bits >> 10) & 0x1f);
    let mantissa = u32::from(bits & 0x3ff);
    let magnitude = match exponent {
        // Zero and the subnormals: mantissa x 2^-24 (exact in f32).
        0 => mantissa as f32 * f32::powi(2.0, -24),
        // Infinities and NaNs keep their payload's top bits.
        0x1f => f32::from_bits(0x7f80_0000 | (mantissa << 13)),
        // Normal numbers: rebias the exponent from 15 to 127.
        _ => f32::from_bits(((exponent + 112) << 23) | (mantissa << 13)),
    };
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// A bfloat16 as `f32`: its bits are the top half of an `f32`'s.
pub(crate) fn bf16_to_f32(bits: u16) -> f32 {
    f32::from_bits(u32::from(bits) << 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_values_widen_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x03ff), 1023.0 * 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x0400), 2f32.powi(-14));
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert_eq!(f16_to_f32(0xfc00), f32::NEG_INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        let negative_zero = f16_to_f32(0x8000);
        assert!(negative_zero == 0.0 && negative_zero.is_sign_negative());
        assert_eq!(bf16_to_f32(0x3f80), 1.0);
        assert_eq!(bf16_to_f32(0xc0a0), -5.0);
    }

    #[test]
    fn element_values_are_read_little_endian() {
        assert_eq!(PthDtype::I64.value(&(-3i64).to_le_bytes()), -3.0);
        assert_eq!(PthDtype::I8.value(&[0xff]), -1.0);
        assert_eq!(PthDtype::U8.value(&[0xff]), 255.0);
        assert_eq!(PthDtype::Bool.value(&[2]), 1.0);
        assert_eq!(PthDtype::F16.value(&[0x00, 0x3c]), 1.0);
        assert_eq!(
            PthDtype::BF16.to_safetensors_bytes(vec![0x80, 0x3f]),
            1.0f32.to_le_bytes()
        );
    }
}
