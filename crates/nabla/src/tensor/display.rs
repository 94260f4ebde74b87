//! `Display` and `Debug` for tensors, formatted the way PyTorch prints them.

use std::fmt;

use super::Tensor;
use crate::element::Float;

/// How many elements a tensor may have before printing elides the middle.
const SUMMARIZE_ABOVE: usize = 1000;
/// Elements kept at each end of an elided dimension.
const EDGE_ITEMS: usize = 3;

#[derive(Clone, Copy)]
enum Style {
    /// Every value is a whole number: `1.`, `-3.`.
    Integral,
    /// Four decimals: `0.5000`.
    Fixed,
    /// Scientific with four decimals: `1.0000e+05`.
    Scientific,
}

fn choose_style(values: &[f64]) -> Style {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return Style::Fixed;
    }
    let abs_nonzero: Vec<f64> = finite.iter().map(|v| v.abs()).filter(|&v| v > 0.0).collect();
    let max = abs_nonzero.iter().copied().fold(0.0, f64::max);
    let min = abs_nonzero.iter().copied().fold(f64::INFINITY, f64::min);
    if finite.iter().all(|v| v.fract() == 0.0) {
        return if max > 1e8 {
            Style::Scientific
        } else {
            Style::Integral
        };
    }
    if max / min > 1000.0 || max > 1e8 || min < 1e-4 {
        Style::Scientific
    } else {
        Style::Fixed
    }
}

fn format_value(v: f64, style: Style) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    match style {
        Style::Integral => format!("{v:.0}."),
        Style::Fixed => format!("{v:.4}"),
        Style::Scientific => {
            let s = format!("{v:.4e}");
            let (mantissa, exponent) = s.split_once('e').expect("LowerExp writes an exponent");
            let exp: i32 = exponent.parse().expect("LowerExp writes an integer exponent");
            let sign = if exp < 0 { '-' } else { '+' };
            format!("{mantissa}e{sign}{:02}", exp.abs())
        }
    }
}

/// Indices kept along a dimension of size `n`; `None` marks the ellipsis.
fn kept_indices(n: usize, summarize: bool) -> Vec<Option<usize>> {
    if summarize && n > 2 * EDGE_ITEMS {
        (0..EDGE_ITEMS)
            .map(Some)
            .chain(std::iter::once(None))
            .chain((n - EDGE_ITEMS..n).map(Some))
            .collect()
    } else {
        (0..n).map(Some).collect()
    }
}

struct Printer<'a> {
    shape: &'a [usize],
    strings: &'a [String],
    width: usize,
    summarize: bool,
    indent: usize,
}

impl Printer<'_> {
    fn write(&self, out: &mut String, dim: usize, base: usize) {
        let row_size: usize = self.shape[dim + 1..].iter().product();
        out.push('[');
        let kept = kept_indices(self.shape[dim], self.summarize);
        let last_dim = dim + 1 == self.shape.len();
        for (pos, index) in kept.iter().enumerate() {
            if pos > 0 {
                if last_dim {
                    out.push_str(", ");
                } else {
                    out.push(',');
                    out.push_str(&"\n".repeat(self.shape.len() - dim - 1));
                    out.push_str(&" ".repeat(self.indent + dim + 1));
                }
            }
            match index {
                None => out.push_str("..."),
                Some(i) if last_dim => {
                    out.push_str(&format!("{:>w$}", self.strings[base + i], w = self.width))
                }
                Some(i) => self.write(out, dim + 1, base + i * row_size),
            }
        }
        out.push(']');
    }
}

/// The elements' `strings` (row-major, one per element of `shape`) in
/// nested brackets as PyTorch prints them, right-aligned to the widest,
/// with the middle of long dimensions elided; lines after the first are
/// indented by `indent`. A 0-dimensional shape prints its one element.
pub(super) fn nested_brackets(shape: &[usize], strings: &[String], indent: usize) -> String {
    if shape.is_empty() {
        return strings[0].clone();
    }
    let mut body = String::new();
    Printer {
        shape,
        strings,
        width: strings.iter().map(String::len).max().unwrap_or(0),
        summarize: strings.len() > SUMMARIZE_ABOVE,
        indent,
    }
    .write(&mut body, 0, 0);
    body
}

impl<T: Float> fmt::Display for Tensor<T> {
    /// Prints like PyTorch: `tensor([[1., 2.], [3., 4.]], requires_grad=true)`,
    /// with the shape, the element type when it is not `float32`, and the
    /// autograd state.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values: Vec<f64> = self.to_vec().iter().map(|v| v.as_f64()).collect();
        let style = choose_style(&values);
        let strings: Vec<String> = values.iter().map(|&v| format_value(v, style)).collect();
        let prefix = "tensor(";
        let body = nested_brackets(self.shape(), &strings, prefix.len());
        write!(f, "{prefix}{body}, shape={:?}", self.shape())?;
        if T::DTYPE != "float32" {
            write!(f, ", dtype={}", T::DTYPE)?;
        }
        if let Some(name) = self.grad_fn_name() {
            write!(f, ", grad_fn=<{name}Backward>")?;
        } else if self.is_requires_grad() {
            write!(f, ", requires_grad=true")?;
        }
        write!(f, ")")
    }
}

impl<T: Float> fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn prints_like_pytorch() {
        let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]);
        assert_eq!(
            x.to_string(),
            "tensor([[1., 2.],\n        [3., 4.]], shape=[2, 2])"
        );
        let y = Tensor::from_vec(vec![0.5f64, -1.25], &[2]).requires_grad();
        assert_eq!(
            y.to_string(),
            "tensor([ 0.5000, -1.2500], shape=[2], dtype=float64, requires_grad=true)"
        );
        let z = Tensor::from_vec(vec![1e-5f32, 1.0], &[2]);
        assert_eq!(z.to_string(), "tensor([1.0000e-05, 1.0000e+00], shape=[2])");
        assert_eq!(Tensor::scalar(3.0f32).to_string(), "tensor(3., shape=[])");
    }

    #[test]
    fn summarizes_large_tensors() {
        let x = Tensor::<f32>::arange(0.0, 2000.0, 1.0);
        assert_eq!(
            x.to_string(),
            "tensor([   0.,    1.,    2., ..., 1997., 1998., 1999.], shape=[2000])"
        );
    }

    #[test]
    fn three_dimensional_blocks_are_separated_by_a_blank_line() {
        let x = Tensor::<f32>::arange(0.0, 8.0, 1.0).reshape(&[2, 2, 2]);
        assert_eq!(
            x.to_string(),
            "tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]], shape=[2, 2, 2])"
        );
    }
}
