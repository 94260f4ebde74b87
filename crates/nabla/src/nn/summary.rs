//! Model summaries (sections 5.2.5-5.2.7 of the course): per layer, the
//! output shape, the parameter count, the receptive field and the
//! multiply-adds.

use std::fmt;

use super::{Geometry, Layer};
use crate::autograd::no_grad;
use crate::element::Float;
use crate::tensor::Tensor;

/// The receptive field of a layer's outputs on the model's input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceptiveField {
    /// `(h, w)` input pixels.
    Size(usize, usize),
    /// The whole input.
    Whole,
    /// Not known.
    Unknown,
}

impl fmt::Display for ReceptiveField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReceptiveField::Size(h, w) => write!(f, "{h}x{w}"),
            ReceptiveField::Whole => write!(f, "whole input"),
            ReceptiveField::Unknown => write!(f, "?"),
        }
    }
}

/// One row of a [`Summary`].
#[derive(Clone, Debug)]
pub struct LayerSummary {
    /// Hierarchical name (`conv1`, `features.0`).
    pub name: String,
    /// The layer's [`describe`](super::Summarize::describe) text.
    pub description: String,
    /// The output shape for the summary's input shape.
    pub output_shape: Vec<usize>,
    /// Parameter elements of this layer.
    pub parameters: usize,
    /// Receptive field of each output on the model's input.
    pub receptive_field: ReceptiveField,
    /// Multiply-adds of this layer for the summary's input shape.
    pub multiply_adds: usize,
}

/// What [`summary`] reports: one row per layer and the totals.
#[derive(Clone, Debug)]
pub struct Summary {
    /// The input shape the model was run on.
    pub input_shape: Vec<usize>,
    /// The layers in forward order.
    pub layers: Vec<LayerSummary>,
    /// All parameter elements.
    pub total_parameters: usize,
    /// Parameter elements that require a gradient.
    pub trainable_parameters: usize,
    /// All multiply-adds of one forward pass.
    pub total_multiply_adds: usize,
}

/// Receptive-field state along the layers: field size and jump (the input
/// distance between adjacent outputs), per axis.
#[derive(Clone, Copy)]
enum Field {
    Tracked {
        size: (usize, usize),
        jump: (usize, usize),
    },
    Whole,
    Unknown,
}

impl Field {
    /// The standard recurrence: r' = r + D (K - 1) j, j' = j S.
    fn through(self, geometry: Geometry) -> Field {
        match (self, geometry) {
            (Field::Unknown, _) | (_, Geometry::Unknown) => Field::Unknown,
            (Field::Whole, _) | (_, Geometry::Global) => Field::Whole,
            (f, Geometry::Elementwise) => f,
            (
                Field::Tracked { size, jump },
                Geometry::Window {
                    kernel,
                    stride,
                    dilation,
                    ..
                },
            ) => Field::Tracked {
                size: (
                    size.0 + dilation.0 * (kernel.0 - 1) * jump.0,
                    size.1 + dilation.1 * (kernel.1 - 1) * jump.1,
                ),
                jump: (jump.0 * stride.0, jump.1 * stride.1),
            },
        }
    }

    fn report(self) -> ReceptiveField {
        match self {
            Field::Tracked { size, .. } => ReceptiveField::Size(size.0, size.1),
            Field::Whole => ReceptiveField::Whole,
            Field::Unknown => ReceptiveField::Unknown,
        }
    }
}

fn walk<T: Float>(
    layer: &dyn Layer<T>,
    name: &str,
    x: Tensor<T>,
    field: &mut Field,
    rows: &mut Vec<LayerSummary>,
) -> Tensor<T> {
    if let Some(children) = layer.sequential_layers() {
        return children.into_iter().fold(x, |x, (child_name, child)| {
            let full = if name.is_empty() {
                child_name.to_string()
            } else {
                format!("{name}.{child_name}")
            };
            walk(child, &full, x, field, rows)
        });
    }
    let y = layer.forward(&x);
    *field = field.through(layer.geometry());
    rows.push(LayerSummary {
        name: name.to_string(),
        description: layer.describe(),
        output_shape: y.shape().to_vec(),
        parameters: layer.num_parameters(),
        receptive_field: field.report(),
        multiply_adds: layer.multiply_adds(x.shape(), y.shape()),
    });
    y
}

/// Runs `model` on zeros of `input_shape` (without recording) and reports,
/// per layer, the output shape, parameters, receptive field and
/// multiply-adds. Sequential containers are walked layer by layer; any other
/// module is one row.
///
/// For stacked stride-1 convolutions of size K the receptive field grows as
/// 1 + L (K - 1) (section 5.2.6); in general r grows by D (K - 1) times the
/// product of the strides before the layer.
///
/// ```
/// use nabla::nn::{summary, Conv2d, Relu, Sequential};
/// use nabla::Generator;
/// let mut g = Generator::new(0);
/// let model: Sequential = Sequential::new()
///     .add(Conv2d::new(1, 4, 3, &mut g))
///     .add(Relu)
///     .add(Conv2d::new(4, 4, 3, &mut g))
///     .add(Conv2d::new(4, 4, 3, &mut g));
/// let s = summary(&model, &[1, 1, 16, 16]);
/// assert_eq!(s.layers[3].receptive_field.to_string(), "7x7"); // 1 + 3 (3 - 1)
/// assert_eq!(s.layers[3].output_shape, vec![1, 4, 10, 10]);
/// println!("{s}");
/// ```
pub fn summary<T: Float>(model: &dyn Layer<T>, input_shape: &[usize]) -> Summary {
    let mut rows = Vec::new();
    let mut field = Field::Tracked {
        size: (1, 1),
        jump: (1, 1),
    };
    no_grad(|| walk(model, "", Tensor::zeros(input_shape), &mut field, &mut rows));
    Summary {
        input_shape: input_shape.to_vec(),
        total_parameters: model.num_parameters(),
        trainable_parameters: model.num_trainable_parameters(),
        total_multiply_adds: rows.iter().map(|r| r.multiply_adds).sum(),
        layers: rows,
    }
}

/// `1234567` as `1,234,567`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header = ["layer", "output shape", "params", "receptive field", "mult-adds"];
        let rows: Vec<[String; 5]> = self
            .layers
            .iter()
            .map(|l| {
                [
                    format!("{} {}", l.name, l.description),
                    format!("{:?}", l.output_shape),
                    thousands(l.parameters),
                    l.receptive_field.to_string(),
                    thousands(l.multiply_adds),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.len());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, cells: [&str; 5]| {
            writeln!(
                f,
                "{:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}  {:>w4$}",
                cells[0],
                cells[1],
                cells[2],
                cells[3],
                cells[4],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3],
                w4 = widths[4]
            )
        };
        writeln!(f, "input {:?}", self.input_shape)?;
        line(f, header)?;
        for row in &rows {
            line(f, [&row[0], &row[1], &row[2], &row[3], &row[4]])?;
        }
        write!(
            f,
            "total: {} parameters ({} trainable), {} multiply-adds",
            thousands(self.total_parameters),
            thousands(self.trainable_parameters),
            thousands(self.total_multiply_adds)
        )
    }
}
