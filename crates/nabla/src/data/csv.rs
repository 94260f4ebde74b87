//! Tabular data from a CSV file of numbers, gzipped or not (recognised by
//! the gzip magic bytes): each row one example, one column the class label,
//! the others the features.
//!
//! Checked as read, each an [`Error::Format`] naming
//! the file and the line: a cell that is not a finite number (or is empty),
//! a row with another number of fields than the first (a ragged row), a
//! label that is not a non-negative integer or is out of range, a label
//! column that does not exist, a file without data rows, corrupt gzip data.
//!
//! Features are kept as `f32`, unscaled: normalising them is the job of a
//! transform.
//!
//! ```
//! use nabla::data::{CsvDataset, LabeledDataset, LabelColumn};
//! let path = std::env::temp_dir().join(format!("nabla_doc_{}.csv", std::process::id()));
//! std::fs::write(&path, "x,y,class\n0.5,1,0\n2,-3.25,2\n").unwrap();
//! let data = CsvDataset::load(&path, LabelColumn::Last, true)?;
//! assert_eq!((data.len(), data.example_shape(), data.num_classes()), (2, vec![2], 3));
//! let mut x = [0.0; 2];
//! data.read_example(1, &mut x);
//! assert_eq!((x, data.label(1)), ([2.0, -3.25], 2));
//! # std::fs::remove_file(&path).unwrap();
//! # Ok::<(), nabla::Error>(())
//! ```

use std::path::Path;

use super::files::{format_error, MaybeGz};
use super::LabeledDataset;
use crate::error::{Error, Result};

/// Which column holds the class label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelColumn {
    /// The column at this index (0-based).
    Index(usize),
    /// The last column.
    Last,
    /// The column with this header name (the file must have a header).
    Name(String),
}

impl From<usize> for LabelColumn {
    fn from(index: usize) -> Self {
        LabelColumn::Index(index)
    }
}

impl From<&str> for LabelColumn {
    fn from(name: &str) -> Self {
        LabelColumn::Name(name.to_string())
    }
}

/// Examples from a numeric CSV file: `[features]` vectors of `f32` and
/// class labels in `0..num_classes()`.
#[derive(Clone, Debug)]
pub struct CsvDataset {
    features: Vec<f32>,
    labels: Vec<usize>,
    num_features: usize,
    num_classes: usize,
    feature_names: Option<Vec<String>>,
}

impl CsvDataset {
    /// Reads `path` (comma-separated, gzipped or not). With `has_header`
    /// the first line names the columns; the number of classes is the
    /// largest label + 1.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read; [`Error::Format`] naming
    /// the file (and the line) for anything listed in the [module
    /// docs](self).
    pub fn load(
        path: impl AsRef<Path>,
        label_column: impl Into<LabelColumn>,
        has_header: bool,
    ) -> Result<Self> {
        Self::read(path.as_ref(), label_column.into(), has_header, None)
    }

    /// As [`load`](Self::load), with a known number of classes: a label
    /// outside `0..num_classes` is an error.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    pub fn load_with_classes(
        path: impl AsRef<Path>,
        label_column: impl Into<LabelColumn>,
        has_header: bool,
        num_classes: usize,
    ) -> Result<Self> {
        Self::read(path.as_ref(), label_column.into(), has_header, Some(num_classes))
    }

    fn read(
        path: &Path,
        label_column: LabelColumn,
        has_header: bool,
        num_classes: Option<usize>,
    ) -> Result<Self> {
        if let (LabelColumn::Name(name), false) = (&label_column, has_header) {
            return Err(format_error(
                path,
                format!("label column {name:?} is given by name but the file is read without a header"),
            ));
        }
        let mut file = MaybeGz::open(path)?;
        let csv_error = |file: &MaybeGz, e: ::csv::Error| -> Error {
            let line = e
                .position()
                .map(|p| format!("line {}: ", p.line()))
                .unwrap_or_default();
            if !e.is_io_error() {
                return format_error(path, format!("{line}{e}"));
            }
            match e.into_kind() {
                ::csv::ErrorKind::Io(io) => match file.read_error(io) {
                    Error::Format { path, message } => Error::Format {
                        path,
                        message: format!("{line}{message}"),
                    },
                    other => other,
                },
                kind => format_error(path, format!("{line}{kind:?}")),
            }
        };
        let mut header: Option<Vec<String>> = None;
        let mut width: Option<usize> = None;
        let mut rows: Vec<(u64, Vec<f32>)> = Vec::new();
        {
            let mut reader = ::csv::ReaderBuilder::new()
                .has_headers(has_header)
                .flexible(true)
                .trim(::csv::Trim::All)
                .from_reader(file.reader());
            if has_header {
                let names = match reader.byte_headers() {
                    Ok(h) => h
                        .iter()
                        .map(|f| String::from_utf8_lossy(f).into_owned())
                        .collect::<Vec<_>>(),
                    Err(e) => {
                        drop(reader);
                        return Err(csv_error(&file, e));
                    }
                };
                if !names.is_empty() {
                    width = Some(names.len());
                    header = Some(names);
                }
            }
            let mut record = ::csv::ByteRecord::new();
            loop {
                match reader.read_byte_record(&mut record) {
                    Ok(false) => break,
                    Ok(true) => {}
                    Err(e) => {
                        drop(reader);
                        return Err(csv_error(&file, e));
                    }
                }
                let line = record.position().map_or(0, |p| p.line());
                let expected = *width.get_or_insert(record.len());
                if record.len() != expected {
                    let what = if header.is_some() {
                        "the header"
                    } else {
                        "the first row"
                    };
                    return Err(format_error(
                        path,
                        format!(
                            "line {line}: ragged row of {} fields, {what} has {expected}",
                            record.len()
                        ),
                    ));
                }
                let mut values = Vec::with_capacity(record.len());
                for (column, cell) in record.iter().enumerate() {
                    values.push(parse_cell(path, line, column, cell)?);
                }
                rows.push((line, values));
            }
        }
        if rows.is_empty() {
            return Err(format_error(path, "no data rows"));
        }
        let width = width.unwrap_or(0);
        if width < 2 {
            return Err(format_error(
                path,
                format!("rows have {width} field(s): a label column and at least one feature are needed"),
            ));
        }
        let label_index = match &label_column {
            LabelColumn::Index(i) if *i < width => *i,
            LabelColumn::Index(i) => {
                return Err(format_error(
                    path,
                    format!("label column {i} is out of range: rows have {width} fields"),
                ))
            }
            LabelColumn::Last => width - 1,
            LabelColumn::Name(name) => match &header {
                Some(h) => h.iter().position(|n| n == name).ok_or_else(|| {
                    format_error(path, format!("no column named {name:?} in the header {h:?}"))
                })?,
                None => {
                    return Err(format_error(
                        path,
                        format!("no header to find column {name:?} in"),
                    ))
                }
            },
        };
        let num_features = width - 1;
        let mut features = Vec::with_capacity(rows.len() * num_features);
        let mut labels = Vec::with_capacity(rows.len());
        for (line, values) in &rows {
            let raw = values[label_index];
            if raw < 0.0 || raw.fract() != 0.0 || raw > u32::MAX as f32 {
                return Err(format_error(
                    path,
                    format!(
                        "line {line}, column {}: label {raw} is not a non-negative integer",
                        label_index + 1
                    ),
                ));
            }
            let label = raw as usize;
            if let Some(n) = num_classes {
                if label >= n {
                    return Err(format_error(
                        path,
                        format!(
                            "line {line}, column {}: label {label} is out of range 0..{n}",
                            label_index + 1
                        ),
                    ));
                }
            }
            labels.push(label);
            features.extend(
                values
                    .iter()
                    .enumerate()
                    .filter(|&(c, _)| c != label_index)
                    .map(|(_, &v)| v),
            );
        }
        let num_classes = num_classes.unwrap_or_else(|| labels.iter().max().map_or(0, |m| m + 1));
        let feature_names = header.map(|h| {
            h.into_iter()
                .enumerate()
                .filter(|&(c, _)| c != label_index)
                .map(|(_, n)| n)
                .collect()
        });
        Ok(CsvDataset {
            features,
            labels,
            num_features,
            num_classes,
            feature_names,
        })
    }

    /// All features, `[N, features]` row-major.
    pub fn features(&self) -> &[f32] {
        &self.features
    }

    /// All labels, by example.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// The feature columns' header names, if the file has a header.
    pub fn feature_names(&self) -> Option<&[String]> {
        self.feature_names.as_deref()
    }
}

fn parse_cell(path: &Path, line: u64, column: usize, cell: &[u8]) -> Result<f32> {
    let bad = |why: &str| {
        format_error(
            path,
            format!(
                "line {line}, column {}: {:?} {why}",
                column + 1,
                String::from_utf8_lossy(cell)
            ),
        )
    };
    if cell.is_empty() {
        return Err(format_error(
            path,
            format!("line {line}, column {}: empty cell", column + 1),
        ));
    }
    let text = std::str::from_utf8(cell).map_err(|_| bad("is not a number"))?;
    let value: f32 = text.parse().map_err(|_| bad("is not a number"))?;
    if !value.is_finite() {
        return Err(bad("is not a finite number"));
    }
    Ok(value)
}

impl LabeledDataset for CsvDataset {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn example_shape(&self) -> Vec<usize> {
        vec![self.num_features]
    }

    fn num_classes(&self) -> usize {
        self.num_classes
    }

    fn label(&self, index: usize) -> usize {
        self.labels[index]
    }

    fn read_example(&self, index: usize, out: &mut [f32]) {
        let n = self.num_features;
        out.copy_from_slice(&self.features[index * n..(index + 1) * n]);
    }
}
