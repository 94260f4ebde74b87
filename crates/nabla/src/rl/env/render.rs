//! [`Frame`]: RGB pictures of environments, drawn as Gymnasium's pygame
//! renderers draw them (same sizes, scales, shapes and colours), by a small
//! rasteriser: filled polygons and circles as SDL_gfx (pygame's `gfxdraw`)
//! fills them, and lines, without the anti-aliased outlines.

use std::f64::consts::PI;

use super::cartpole::{LENGTH, X_THRESHOLD};
use super::mountain_car::GOAL_POSITION;
use super::{Acrobot, CartPole, MountainCar, Pendulum};

type Rgb = [u8; 3];

const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];

/// An RGB image, row-major from the top-left pixel, 3 bytes a pixel
/// (`pixels.len() == width * height * 3`), as Gymnasium's `rgb_array`
/// render of shape `[height, width, 3]`.
///
/// ```
/// use nabla::rl::env::{CartPole, Frame};
/// let mut env = CartPole::new();
/// env.set_state([0.0, 0.0, 0.0, 0.0]);
/// let frame: Frame = env.render_rgb();
/// assert_eq!((frame.width, frame.height), (600, 400));
/// // The cart is black around (300, 300), the pole above it brown.
/// assert_eq!(frame.pixel(300, 305), [0, 0, 0]);
/// assert_eq!(frame.pixel(300, 200), [202, 152, 101]);
/// assert_eq!(frame.pixel(20, 20), [255, 255, 255]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    /// Pixels per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `height * width * 3` bytes, RGB.
    pub pixels: Vec<u8>,
}

impl Frame {
    /// A `width` x `height` frame filled with `color`.
    pub fn new(width: usize, height: usize, color: [u8; 3]) -> Self {
        Frame {
            width,
            height,
            pixels: color.repeat(width * height),
        }
    }

    /// The colour at column `x`, row `y` (from the top).
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }

    /// Sets one pixel; coordinates outside the frame are clipped away.
    fn put(&mut self, x: i64, y: i64, color: Rgb) {
        if (0..self.width as i64).contains(&x) && (0..self.height as i64).contains(&y) {
            let i = (y as usize * self.width + x as usize) * 3;
            self.pixels[i..i + 3].copy_from_slice(&color);
        }
    }

    /// Fills the polygon `points` as SDL_gfx's `filledPolygon` (behind
    /// pygame's `gfxdraw.filled_polygon`) does: the vertices truncated to
    /// whole pixels, each row from the top vertex to the bottom one filled
    /// between pairs of edge crossings computed in 16.16 fixed point.
    fn fill_polygon(&mut self, points: &[(f64, f64)], color: Rgb) {
        let vertices: Vec<(i64, i64)> = points.iter().map(|&(x, y)| (x as i64, y as i64)).collect();
        let min_y = vertices.iter().map(|v| v.1).min().unwrap_or(0);
        let max_y = vertices.iter().map(|v| v.1).max().unwrap_or(-1);
        let mut crossings = Vec::with_capacity(vertices.len());
        for y in min_y..=max_y {
            crossings.clear();
            for (i, &end) in vertices.iter().enumerate() {
                let start = vertices[(i + vertices.len() - 1) % vertices.len()];
                let ((x1, y1), (x2, y2)) = match start.1.cmp(&end.1) {
                    std::cmp::Ordering::Less => (start, end),
                    std::cmp::Ordering::Greater => (end, start),
                    std::cmp::Ordering::Equal => continue,
                };
                if (y >= y1 && y < y2) || (y == max_y && y > y1 && y <= y2) {
                    crossings.push((65536 * (y - y1)) / (y2 - y1) * (x2 - x1) + 65536 * x1);
                }
            }
            crossings.sort_unstable();
            for pair in crossings.chunks_exact(2) {
                let round = |v: i64| (v >> 16) + ((v & 32768) >> 15);
                self.hline(round(pair[0] + 1), round(pair[1] - 1), y, color);
            }
        }
    }

    /// The pixels `x0..=x1` of row `y`.
    fn hline(&mut self, x0: i64, x1: i64, y: i64, color: Rgb) {
        for x in x0.min(x1)..=x0.max(x1) {
            self.put(x, y, color);
        }
    }

    /// Fills the disc of radius `r` around the pixel `(cx, cy)` as SDL_gfx's
    /// `filledCircle` (midpoint circle, one span per row).
    fn fill_circle(&mut self, x: i64, y: i64, r: i64, color: Rgb) {
        let (mut cx, mut cy) = (0, r);
        let (mut ocx, mut ocy) = (i64::MIN, i64::MIN);
        let (mut df, mut d_e, mut d_se) = (1 - r, 3, 5 - 2 * r);
        loop {
            if ocy != cy {
                self.hline(x - cx, x + cx, y + cy, color);
                self.hline(x - cx, x + cx, y - cy, color);
                ocy = cy;
            }
            if ocx != cx {
                if cx != cy {
                    self.hline(x - cy, x + cy, y - cx, color);
                    self.hline(x - cy, x + cy, y + cx, color);
                }
                ocx = cx;
            }
            if df < 0 {
                df += d_e;
                d_e += 2;
                d_se += 2;
            } else {
                df += d_se;
                d_e += 2;
                d_se += 4;
                cy -= 1;
            }
            cx += 1;
            if cx > cy {
                break;
            }
        }
    }

    /// A one-pixel line from `(x0, y0)` to `(x1, y1)` (Bresenham's).
    fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), color: Rgb) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        loop {
            self.put(x, y, color);
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// Turns the frame upside down: Gymnasium draws with y up and flips the
    /// surface before returning it.
    fn flip_vertical(&mut self) {
        let row = self.width * 3;
        for y in 0..self.height / 2 {
            let (top, bottom) = self.pixels.split_at_mut((self.height - 1 - y) * row);
            top[y * row..(y + 1) * row].swap_with_slice(&mut bottom[..row]);
        }
    }
}

/// `(x, y)` rotated by `angle` radians counter-clockwise and moved by
/// `offset`, as pygame's `Vector2(x, y).rotate_rad(angle) + offset`.
fn rotate(points: &[(f64, f64)], angle: f64, offset: (f64, f64)) -> Vec<(f64, f64)> {
    let (sin, cos) = angle.sin_cos();
    points
        .iter()
        .map(|&(x, y)| (x * cos - y * sin + offset.0, x * sin + y * cos + offset.1))
        .collect()
}

/// The corners `(l, b), (l, t), (r, t), (r, b)` of a rectangle.
fn rectangle(l: f64, r: f64, t: f64, b: f64) -> [(f64, f64); 4] {
    [(l, b), (l, t), (r, t), (r, b)]
}

impl CartPole {
    /// The state as Gymnasium's `render_mode="rgb_array"` draws it, 600 x
    /// 400: the track (a black line 100 pixels from the bottom), the cart
    /// (a black 50 x 30 box centred on it, at `x * 125 + 300` since the
    /// 4.8-wide world spans 600 pixels), the pole (a brown 10-pixel-wide
    /// bar 125 pixels long, tilted by theta) and its axle (a blue-grey
    /// circle).
    pub fn render_rgb(&self) -> Frame {
        let (width, height) = (600, 400);
        let scale = width as f64 / (X_THRESHOLD * 2.0);
        let (pole_width, pole_length) = (10.0, scale * (2.0 * LENGTH));
        let (cart_width, cart_height) = (50.0, 30.0);
        let [x, _, theta, _] = self.state();
        let mut frame = Frame::new(width, height, WHITE);
        let axle_offset = cart_height / 4.0;
        let cart_x = x * scale + width as f64 / 2.0;
        let cart_y = 100.0;
        let cart = rectangle(
            -cart_width / 2.0,
            cart_width / 2.0,
            cart_height / 2.0,
            -cart_height / 2.0,
        );
        frame.fill_polygon(&rotate(&cart, 0.0, (cart_x, cart_y)), BLACK);
        let pole = rectangle(
            -pole_width / 2.0,
            pole_width / 2.0,
            pole_length - pole_width / 2.0,
            -pole_width / 2.0,
        );
        frame.fill_polygon(
            &rotate(&pole, -theta, (cart_x, cart_y + axle_offset)),
            [202, 152, 101],
        );
        let axle = (cart_x as i64, (cart_y + axle_offset) as i64);
        frame.fill_circle(axle.0, axle.1, (pole_width / 2.0) as i64, [129, 132, 203]);
        frame.line((0, cart_y as i64), (width as i64, cart_y as i64), BLACK);
        frame.flip_vertical();
        frame
    }
}

impl Acrobot {
    /// The state as Gymnasium draws it, 500 x 500: the target line (black)
    /// one link length above the pivot, the two links (teal bars) and the
    /// joints (yellow circles), 2.2 world units on each side of the pivot.
    pub fn render_rgb(&self) -> Frame {
        let dim = 500;
        let [theta1, theta2, _, _] = self.state();
        let scale = dim as f64 / (2.2 * 2.0);
        let offset = dim as f64 / 2.0;
        let mut frame = Frame::new(dim, dim, WHITE);
        let line_y = (scale + offset) as i64;
        frame.line(
            ((-2.2 * scale + offset) as i64, line_y),
            ((2.2 * scale + offset) as i64, line_y),
            BLACK,
        );
        // Gymnasium's p1 with its coordinates swapped (`[:, ::-1]`).
        let joint = (theta1.sin() * scale, -theta1.cos() * scale);
        let links = [
            ((0.0, 0.0), theta1 - PI / 2.0),
            (joint, theta1 + theta2 - PI / 2.0),
        ];
        for ((x, y), angle) in links {
            let (x, y) = (x + offset, y + offset);
            let bar = rectangle(0.0, scale, 0.1 * scale, -0.1 * scale);
            frame.fill_polygon(&rotate(&bar, angle, (x, y)), [0, 204, 204]);
            frame.fill_circle(x as i64, y as i64, (0.1 * scale) as i64, [204, 204, 0]);
        }
        frame.flip_vertical();
        frame
    }
}

impl MountainCar {
    /// The state as Gymnasium draws it, 600 x 400: the track `sin(3 x)`
    /// (black), the car (a black 40 x 20 box tilted along the slope, two
    /// grey wheels) and the flag (a black pole, a yellow triangle) at the
    /// goal.
    pub fn render_rgb(&self) -> Frame {
        let (width, height) = (600, 400);
        let (min_position, max_position) = (-1.2, 0.6);
        let scale = width as f64 / (max_position - min_position);
        let track_height = |x: f64| (3.0 * x).sin() * 0.45 + 0.55;
        let mut frame = Frame::new(width, height, WHITE);
        let track: Vec<(i64, i64)> = (0..100)
            .map(|i| {
                let x = min_position + (max_position - min_position) * i as f64 / 99.0;
                (
                    ((x - min_position) * scale) as i64,
                    (track_height(x) * scale) as i64,
                )
            })
            .collect();
        for pair in track.windows(2) {
            frame.line(pair[0], pair[1], BLACK);
        }
        let position = self.state()[0];
        let (car_width, car_height, clearance) = (40.0, 20.0, 10.0);
        let tilt = (3.0 * position).cos();
        let base = (
            (position - min_position) * scale,
            clearance + track_height(position) * scale,
        );
        let body = rectangle(-car_width / 2.0, car_width / 2.0, car_height, 0.0);
        frame.fill_polygon(&rotate(&body, tilt, base), BLACK);
        for wheel in rotate(&[(car_width / 4.0, 0.0), (-car_width / 4.0, 0.0)], tilt, base) {
            frame.fill_circle(
                wheel.0 as i64,
                wheel.1 as i64,
                (car_height / 2.5) as i64,
                [128, 128, 128],
            );
        }
        let flag_x = ((GOAL_POSITION - min_position) * scale) as i64;
        let flag_y1 = (track_height(GOAL_POSITION) * scale) as i64;
        let flag_y2 = flag_y1 + 50;
        frame.line((flag_x, flag_y1), (flag_x, flag_y2), BLACK);
        let (fx, fy) = (flag_x as f64, flag_y2 as f64);
        frame.fill_polygon(&[(fx, fy), (fx, fy - 10.0), (fx + 25.0, fy - 5.0)], [204, 204, 0]);
        frame.flip_vertical();
        frame
    }
}

impl Pendulum {
    /// The state as Gymnasium draws it, 500 x 500: the rod (a red bar with
    /// rounded ends) from the centre, and the black pivot. Gymnasium also
    /// draws an arrow image scaled by the last torque, which is left out.
    pub fn render_rgb(&self) -> Frame {
        let dim = 500;
        let scale = dim as f64 / (2.2 * 2.0);
        let offset = (dim / 2) as f64;
        let (rod_length, rod_width) = (scale, 0.2 * scale);
        let red = [204, 77, 77];
        let theta = self.state()[0];
        let mut frame = Frame::new(dim, dim, WHITE);
        let rod = rectangle(0.0, rod_length, rod_width / 2.0, -rod_width / 2.0);
        frame.fill_polygon(&rotate(&rod, theta + PI / 2.0, (offset, offset)), red);
        let centre = offset as i64;
        frame.fill_circle(centre, centre, (rod_width / 2.0) as i64, red);
        let end = rotate(&[(rod_length, 0.0)], theta + PI / 2.0, (offset, offset))[0];
        frame.fill_circle(end.0 as i64, end.1 as i64, (rod_width / 2.0) as i64, red);
        frame.fill_circle(centre, centre, (0.05 * scale) as i64, BLACK);
        frame.flip_vertical();
        frame
    }
}
