//! `nabla graph`: the computational graph of an expression or of a model's
//! loss as Graphviz DOT, with every forward value and gradient (the course's
//! figures 2.3 to 2.6), or as SVG laid out by nabla itself (`--format svg`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use nabla::autograd::to_dot;
use nabla::nn::loss::{cross_entropy_with, Reduction};
use nabla::nn::{Layer, Module};
use nabla::{Generator, IndexTensor, Tensor};

use crate::models::ModelKind;
use crate::output::{self, say};

/// Arguments of `nabla graph`.
#[derive(clap::Args)]
pub struct Args {
    /// A course example: `course` is f = (x + y) * z at x = -2, y = 5, z = -4
    /// (figures 2.3-2.4); `neuron` is the sigmoid neuron of figure 2.6.
    #[arg(long, conflicts_with_all = ["expr", "model"])]
    example: Option<String>,
    /// An expression in the variables given with --var, with + - * / ^,
    /// parentheses and exp, log, sqrt, abs, sigmoid, tanh, relu.
    #[arg(long, conflicts_with = "model")]
    expr: Option<String>,
    /// A variable of --expr, as NAME=VALUE (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// The graph of this model's cross-entropy loss on one random input.
    #[arg(long)]
    model: Option<ModelKind>,
    /// Write the DOT here (and an SVG beside it if `dot` is installed)
    /// instead of printing it.
    #[arg(long)]
    out: Option<PathBuf>,
    /// dot (Graphviz's language) or svg (laid out by nabla, no Graphviz
    /// needed); default svg when --out ends in .svg, else dot.
    #[arg(long, value_enum)]
    format: Option<GraphFormat>,
}

/// What `nabla graph` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT.
    Dot,
    /// An SVG picture.
    Svg,
}

/// Builds the graph and writes it out.
pub fn run(args: Args) -> Result<(), String> {
    let dot = if let Some(model) = args.model {
        model_graph(model)?
    } else {
        let (expr, vars) = match args.example.as_deref() {
            Some("course") => (
                "(x + y) * z".to_string(),
                vec!["x=-2".into(), "y=5".into(), "z=-4".into()],
            ),
            Some("neuron") => (
                "1 / (1 + exp(-(w0 * x0 + w1 * x1 + w2)))".to_string(),
                ["w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            ),
            Some(other) => return Err(format!("unknown example {other:?} (expected course or neuron)")),
            None => (
                args.expr
                    .ok_or("give --example, --expr or --model (see nabla graph --help)")?,
                args.vars,
            ),
        };
        expression_graph(&expr, &vars)?
    };
    let out_is_svg = args
        .out
        .as_ref()
        .is_some_and(|p| p.extension().is_some_and(|e| e == "svg"));
    if args.format == Some(GraphFormat::Svg) || (args.format.is_none() && out_is_svg) {
        return crate::graph_svg::write(&dot, args.out.as_deref());
    }
    match args.out {
        None => output::write(format_args!("{dot}")),
        Some(path) => {
            std::fs::write(&path, &dot).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            say!("wrote {}", path.display());
            let svg = path.with_extension("svg");
            match Command::new("dot")
                .arg("-Tsvg")
                .arg(&path)
                .arg("-o")
                .arg(&svg)
                .status()
            {
                Ok(status) if status.success() => say!("wrote {}", svg.display()),
                Ok(status) => return Err(format!("dot failed on {} ({status})", path.display())),
                Err(_) => say!(
                    "(install Graphviz for an SVG: dot -Tsvg {} -o {})",
                    path.display(),
                    svg.display()
                ),
            }
        }
    }
    Ok(())
}

fn model_graph(kind: ModelKind) -> Result<String, String> {
    let input = kind.default_input();
    let model = kind.build(&input, 10, 0)?;
    let mut shape = vec![1];
    shape.extend(input);
    let x = Tensor::randn(&shape, &mut Generator::new(1));
    let loss = cross_entropy_with(
        &model.forward(&x),
        &IndexTensor::from_vec(vec![0], &[1]),
        None,
        None,
        Reduction::Mean,
    );
    let parameters = model.named_parameters();
    let mut names: Vec<(&str, &Tensor)> = parameters.iter().map(|(n, t)| (n.as_str(), t)).collect();
    names.push(("input", &x));
    Ok(to_dot(&loss, &names))
}

fn expression_graph(expr: &str, vars: &[String]) -> Result<String, String> {
    let mut values = BTreeMap::new();
    for var in vars {
        let (name, value) = var
            .split_once('=')
            .ok_or_else(|| format!("--var {var:?} is not NAME=VALUE"))?;
        let value: f64 = value
            .trim()
            .parse()
            .map_err(|_| format!("--var {var:?}: {value:?} is not a number"))?;
        values.insert(name.trim().to_string(), Tensor::scalar(value).requires_grad());
    }
    let mut parser = Parser {
        tokens: tokenize(expr)?,
        at: 0,
        values: &values,
    };
    let result = parser.expression()?;
    if parser.at != parser.tokens.len() {
        return Err(format!(
            "unexpected {:?} in the expression",
            parser.tokens[parser.at]
        ));
    }
    if !result.is_requires_grad() {
        return Err("the expression uses no variable, so it has no graph".into());
    }
    let names: Vec<(&str, &Tensor<f64>)> = values.iter().map(|(n, t)| (n.as_str(), t)).collect();
    Ok(to_dot(&result, &names))
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Number(f64),
    Name(String),
    Symbol(char),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            tokens.push(Token::Number(
                s.parse().map_err(|_| format!("{s:?} is not a number"))?,
            ));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token::Name(chars[start..i].iter().collect()));
        } else if "+-*/^()".contains(c) {
            tokens.push(Token::Symbol(c));
            i += 1;
        } else {
            return Err(format!("unexpected character {c:?} in the expression"));
        }
    }
    Ok(tokens)
}

/// A recursive-descent parser that evaluates as it parses, recording the graph.
struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    values: &'a BTreeMap<String, Tensor<f64>>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn eat(&mut self, symbol: char) -> bool {
        if self.peek() == Some(&Token::Symbol(symbol)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expression(&mut self) -> Result<Tensor<f64>, String> {
        let mut value = self.term()?;
        loop {
            if self.eat('+') {
                value = &value + &self.term()?;
            } else if self.eat('-') {
                value = &value - &self.term()?;
            } else {
                return Ok(value);
            }
        }
    }

    fn term(&mut self) -> Result<Tensor<f64>, String> {
        let mut value = self.power()?;
        loop {
            if self.eat('*') {
                value = &value * &self.power()?;
            } else if self.eat('/') {
                value = &value / &self.power()?;
            } else {
                return Ok(value);
            }
        }
    }

    fn power(&mut self) -> Result<Tensor<f64>, String> {
        let base = self.unary()?;
        if self.eat('^') {
            let exponent = self.power()?;
            return Ok(base.pow(&exponent));
        }
        Ok(base)
    }

    fn unary(&mut self) -> Result<Tensor<f64>, String> {
        if self.eat('-') {
            return Ok(-&self.unary()?);
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Tensor<f64>, String> {
        match self.tokens.get(self.at).cloned() {
            Some(Token::Number(v)) => {
                self.at += 1;
                Ok(Tensor::scalar(v))
            }
            Some(Token::Symbol('(')) => {
                self.at += 1;
                let value = self.expression()?;
                if !self.eat(')') {
                    return Err("missing ')' in the expression".into());
                }
                Ok(value)
            }
            Some(Token::Name(name)) => {
                self.at += 1;
                if self.eat('(') {
                    let argument = self.expression()?;
                    if !self.eat(')') {
                        return Err(format!("missing ')' after the argument of {name}"));
                    }
                    return match name.as_str() {
                        "exp" => Ok(argument.exp()),
                        "log" => Ok(argument.log()),
                        "sqrt" => Ok(argument.sqrt()),
                        "abs" => Ok(argument.abs()),
                        "sigmoid" => Ok(argument.sigmoid()),
                        "tanh" => Ok(argument.tanh()),
                        "relu" => Ok(argument.relu()),
                        other => Err(format!("unknown function {other:?}")),
                    };
                }
                self.values
                    .get(&name)
                    .cloned()
                    .ok_or_else(|| format!("variable {name:?} has no value (give --var {name}=VALUE)"))
            }
            Some(token) => Err(format!("unexpected {token:?} in the expression")),
            None => Err("the expression ends too early".into()),
        }
    }
}
