//! The computational graph as SVG without Graphviz: the DOT that
//! [`nabla::autograd::to_dot`] writes is read back into its vertices and
//! edges, laid out left to right by the `layout-rs` crate, and drawn with
//! the forward values in green and the gradients in red, as `dot -Tsvg`
//! draws the DOT.

use std::collections::HashMap;
use std::path::Path;

use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::format::{ClipHandle, RenderBackend};
use layout::core::geometry::Point;
use layout::core::style::StyleAttr;
use layout::std_shapes::shapes::{Arrow, Element, ShapeKind};
use layout::topo::layout::VisualGraph;

/// The size layout-rs reserves per character and per line of an edge's
/// label, in pixels: it gives every character a square of this side, so it
/// is smaller than the drawn font (whose characters are about 0.6 as wide as tall).
const LAYOUT_FONT: usize = 9;
/// The drawn font size, in pixels.
const TEXT_FONT: f64 = 13.0;
const VALUE_COLOUR: &str = "#1a7f37";
const GRAD_COLOUR: &str = "#cf222e";

/// A vertex of the DOT: a leaf (box) or an op (ellipse), with its label lines.
#[derive(Debug)]
struct Vertex {
    is_op: bool,
    lines: Vec<String>,
}

/// An edge of the DOT: the value that flows forward and the gradient back.
#[derive(Debug)]
struct Edge {
    from: usize,
    to: usize,
    value: String,
    grad: String,
}

/// The size of a vertex that holds `lines` in the drawn font, with a margin
/// (more for an ellipse, whose corners are cut off).
fn label_size(lines: &[String], ellipse: bool) -> Point {
    let chars = lines.iter().map(|l| l.chars().count()).max().unwrap_or(1) as f64;
    let (width, height) = (
        chars * TEXT_FONT * 0.6 + 16.0,
        lines.len() as f64 * TEXT_FONT * 1.25 + 10.0,
    );
    if ellipse {
        Point::new(width * 1.3, height * 1.25)
    } else {
        Point::new(width, height)
    }
}

/// Prints the SVG of `dot`, or writes it to `out`.
///
/// # Errors
/// When the graph cannot be read or the file cannot be written.
pub fn write(dot: &str, out: Option<&Path>) -> Result<(), String> {
    let svg = dot_to_svg(dot)?;
    match out {
        None => crate::output::write(format_args!("{svg}")),
        Some(path) => {
            std::fs::write(path, svg).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            crate::output::say!("wrote {}", path.display());
        }
    }
    Ok(())
}

/// The SVG picture of a graph written by `to_dot`.
///
/// # Errors
/// When the text is not the DOT that `to_dot` writes (a line it cannot read).
pub fn dot_to_svg(dot: &str) -> Result<String, String> {
    let (vertices, edges) = parse(dot)?;
    let mut graph = VisualGraph::new(Orientation::LeftToRight);
    let style = StyleAttr::new(
        Color::fast("black"),
        1,
        Some(Color::fast("white")),
        0,
        LAYOUT_FONT,
    );
    let mut colours = TextColours::default();
    let handles: Vec<_> = vertices
        .iter()
        .map(|v| {
            let text = v.lines.join("\n");
            // The last line of every vertex is its gradient; an op's second line its value.
            let mut line_colours = vec![None; v.lines.len()];
            if let Some(last) = line_colours.last_mut() {
                *last = Some(GRAD_COLOUR);
            }
            if v.is_op && v.lines.len() == 3 {
                line_colours[1] = Some(VALUE_COLOUR);
            }
            colours.by_text.insert(
                text.clone(),
                Label {
                    colours: line_colours,
                    is_edge: false,
                },
            );
            let shape = if v.is_op {
                ShapeKind::new_circle(&text)
            } else {
                ShapeKind::new_box(&text)
            };
            let size = label_size(&v.lines, v.is_op);
            graph.add_node(Element::create(
                shape,
                style.clone(),
                Orientation::LeftToRight,
                size,
            ))
        })
        .collect();
    for e in &edges {
        let text = format!("{}\n{}", e.value, e.grad);
        colours.by_text.insert(
            text.clone(),
            Label {
                colours: vec![Some(VALUE_COLOUR), Some(GRAD_COLOUR)],
                is_edge: true,
            },
        );
        let mut arrow = Arrow::simple(&text);
        arrow.look = style.clone();
        graph.add_edge(arrow, handles[e.from], handles[e.to]);
    }
    let mut writer = ColouredText {
        svg: SVGWriter::new(),
        colours,
        texts: String::new(),
    };
    graph.do_it(false, false, false, &mut writer);
    let svg = writer.svg.finalize();
    let end = svg.rfind("</svg>").ok_or("layout-rs wrote no closing </svg>")?;
    Ok(format!("{}{}{}", &svg[..end], writer.texts, &svg[end..]))
}

/// How to draw each label, by the label's text.
#[derive(Default)]
struct TextColours {
    by_text: HashMap<String, Label>,
}

/// The colour of each line of a label, and whether it is an edge's.
struct Label {
    colours: Vec<Option<&'static str>>,
    is_edge: bool,
}

/// layout-rs's SVG writer draws all text black in a serif font; this
/// backend passes the shapes through and draws the text itself, each line
/// in its colour.
struct ColouredText {
    svg: SVGWriter,
    colours: TextColours,
    texts: String,
}

impl RenderBackend for ColouredText {
    fn draw_rect(
        &mut self,
        xy: Point,
        size: Point,
        look: &StyleAttr,
        properties: Option<String>,
        clip: Option<ClipHandle>,
    ) {
        self.svg.draw_rect(xy, size, look, properties, clip);
    }

    fn draw_line(&mut self, start: Point, stop: Point, look: &StyleAttr, properties: Option<String>) {
        self.svg.draw_line(start, stop, look, properties);
    }

    fn draw_circle(&mut self, xy: Point, size: Point, look: &StyleAttr, properties: Option<String>) {
        self.svg.draw_circle(xy, size, look, properties);
    }

    fn draw_text(&mut self, xy: Point, text: &str, _look: &StyleAttr) {
        let lines: Vec<&str> = text.lines().collect();
        let label = self.colours.by_text.get(text);
        // An edge's label straddles its arrow: spread its two lines apart.
        let is_edge = label.is_some_and(|l| l.is_edge);
        let line_height = TEXT_FONT * if is_edge { 1.5 } else { 1.25 };
        let top = xy.y - line_height * (lines.len() as f64 - 1.0) / 2.0;
        self.texts.push_str(&format!(
            "<text text-anchor=\"middle\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"{TEXT_FONT}\">"
        ));
        for (i, line) in lines.iter().enumerate() {
            let fill = label
                .and_then(|l| l.colours.get(i).copied().flatten())
                .unwrap_or("black");
            // The baseline sits about 0.35 em below a line's middle (SVG
            // renderers disagree on dominant-baseline, so it is not used).
            self.texts.push_str(&format!(
                "<tspan x=\"{:.1}\" y=\"{:.1}\" fill=\"{fill}\">{}</tspan>",
                xy.x,
                top + i as f64 * line_height + 0.35 * TEXT_FONT,
                escape(line)
            ));
        }
        self.texts.push_str("</text>\n");
    }

    fn draw_arrow(
        &mut self,
        path: &[(Point, Point)],
        dashed: bool,
        head: (bool, bool),
        look: &StyleAttr,
        properties: Option<String>,
        text: &str,
    ) {
        self.svg.draw_arrow(path, dashed, head, look, properties, text);
    }

    fn create_clip(&mut self, xy: Point, size: Point, rounded_px: usize) -> ClipHandle {
        self.svg.create_clip(xy, size, rounded_px)
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Reads the vertices and edges back from `to_dot`'s lines:
/// `v0 [shape=box, label="x = -2\ngrad -4"];` and
/// `v1 -> v0 [label=<<font color="darkgreen">3</font><br/><font color="red">-4</font>>];`.
fn parse(dot: &str) -> Result<(Vec<Vertex>, Vec<Edge>), String> {
    let mut vertices: Vec<(usize, Vertex)> = Vec::new();
    let mut edges = Vec::new();
    let bad = |line: &str| format!("cannot read this line of the graph: {line:?}");
    let vertex_index = |name: &str, line: &str| -> Result<usize, String> {
        name.trim()
            .strip_prefix('v')
            .and_then(|i| i.parse().ok())
            .ok_or_else(|| bad(line))
    };
    for line in dot.lines().map(str::trim) {
        if let Some((from, rest)) = line.split_once(" -> ") {
            let (to, attributes) = rest.split_once(' ').ok_or_else(|| bad(line))?;
            let texts: Vec<&str> = attributes
                .split("</font>")
                .filter_map(|part| part.rsplit_once("\">").map(|(_, text)| text))
                .collect();
            let [value, grad] = texts[..] else {
                return Err(bad(line));
            };
            edges.push(Edge {
                from: vertex_index(from, line)?,
                to: vertex_index(to, line)?,
                value: value.to_string(),
                grad: grad.to_string(),
            });
        } else if line.starts_with('v') && line.contains("label=\"") {
            let (name, attributes) = line.split_once(' ').ok_or_else(|| bad(line))?;
            let label = attributes
                .split_once("label=\"")
                .and_then(|(_, rest)| rest.rsplit_once('"'))
                .map(|(label, _)| label)
                .ok_or_else(|| bad(line))?;
            vertices.push((
                vertex_index(name, line)?,
                Vertex {
                    is_op: attributes.contains("shape=ellipse"),
                    lines: label.split("\\n").map(str::to_string).collect(),
                },
            ));
        }
    }
    vertices.sort_by_key(|(i, _)| *i);
    if vertices.iter().enumerate().any(|(k, (i, _))| k != *i) {
        return Err("the graph's vertices are not numbered v0, v1, ...".into());
    }
    if let Some(e) = edges
        .iter()
        .find(|e| e.from >= vertices.len() || e.to >= vertices.len())
    {
        return Err(format!("an edge v{} -> v{} names a missing vertex", e.from, e.to));
    }
    Ok((vertices.into_iter().map(|(_, v)| v).collect(), edges))
}

#[cfg(test)]
mod tests {
    use super::*;

    const COURSE: &str = "digraph computation {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n  \
        v0 [shape=ellipse, label=\"Mul\\n= -12\\ngrad 1\"];\n  \
        v1 [shape=ellipse, label=\"Add\\n= 3\\ngrad -4\"];\n  \
        v2 [shape=box, label=\"z = -4\\ngrad 3\"];\n  \
        v3 [shape=box, label=\"x = -2\\ngrad -4\"];\n  \
        v4 [shape=box, label=\"y = 5\\ngrad -4\"];\n  \
        v1 -> v0 [label=<<font color=\"darkgreen\">3</font><br/><font color=\"red\">-4</font>>];\n  \
        v2 -> v0 [label=<<font color=\"darkgreen\">-4</font><br/><font color=\"red\">3</font>>];\n  \
        v3 -> v1 [label=<<font color=\"darkgreen\">-2</font><br/><font color=\"red\">-4</font>>];\n  \
        v4 -> v1 [label=<<font color=\"darkgreen\">5</font><br/><font color=\"red\">-4</font>>];\n}\n";

    #[test]
    fn reads_the_vertices_and_edges_of_to_dot() {
        let (vertices, edges) = parse(COURSE).unwrap();
        assert_eq!(vertices.len(), 5);
        assert!(vertices[0].is_op && !vertices[2].is_op);
        assert_eq!(vertices[3].lines, ["x = -2", "grad -4"]);
        assert_eq!(edges.len(), 4);
        assert_eq!((edges[0].from, edges[0].to), (1, 0));
        assert_eq!((edges[0].value.as_str(), edges[0].grad.as_str()), ("3", "-4"));
    }

    #[test]
    fn draws_every_label_with_values_green_and_gradients_red() {
        let svg = dot_to_svg(COURSE).unwrap();
        assert!(svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"));
        for text in ["x = -2", "y = 5", "z = -4", "Mul", "Add", "= -12"] {
            assert!(svg.contains(&format!(">{text}</tspan>")), "{text} missing");
        }
        assert!(svg.contains(&format!("fill=\"{GRAD_COLOUR}\">grad -4</tspan>")));
        assert!(svg.contains(&format!("fill=\"{VALUE_COLOUR}\">= 3</tspan>")));
        // Five shapes: two ellipses and three boxes.
        assert_eq!(svg.matches("<ellipse").count(), 2);
        assert_eq!(svg.matches("<rect").count(), 3);
    }

    #[test]
    fn a_line_it_cannot_read_is_an_error_naming_it() {
        let err = parse("digraph {\n  v0 -> v1 [label=\"x\"];\n}").unwrap_err();
        assert!(err.contains("v0 -> v1"), "{err}");
    }
}
