//! An episode of a classic-control environment as an animated GIF.

use std::collections::HashMap;
use std::path::Path;

use nabla::rl::env::{Acrobot, CartPole, Env, Frame, MountainCar, Pendulum, TimeLimit};
use nabla::rl::Policy;
use nabla::Generator;

/// Plays one episode of `env_id` from `reset(seed)` with `policy` and
/// writes its frames (Gymnasium's `rgb_array` pictures, 600x400 or 500x500)
/// to `path`, one per step at the environment's own pace. Returns the
/// number of steps.
///
/// # Errors
/// A one-line message for an environment without pictures (FrozenLake) or
/// a file that cannot be written.
pub fn write_episode_gif(
    path: &Path,
    env_id: &str,
    policy: &dyn Policy,
    seed: u64,
    deterministic: bool,
) -> Result<usize, String> {
    // Frame delays in hundredths of a second: Gymnasium's render_fps.
    let (frames, delay) = match env_id {
        "CartPole-v1" => (
            play(
                TimeLimit::new(CartPole::new(), 500),
                CartPole::render_rgb,
                policy,
                seed,
                deterministic,
            )?,
            2,
        ),
        "Acrobot-v1" => (
            play(
                TimeLimit::new(Acrobot::new(), 500),
                Acrobot::render_rgb,
                policy,
                seed,
                deterministic,
            )?,
            7,
        ),
        "MountainCar-v0" => (
            play(
                TimeLimit::new(MountainCar::new(), 200),
                MountainCar::render_rgb,
                policy,
                seed,
                deterministic,
            )?,
            3,
        ),
        "Pendulum-v1" => (
            play(
                TimeLimit::new(Pendulum::new(), 200),
                Pendulum::render_rgb,
                policy,
                seed,
                deterministic,
            )?,
            3,
        ),
        other => {
            return Err(format!(
                "--gif: {other} has no pictures (the classic-control environments do)"
            ))
        }
    };
    write_gif(path, &frames, delay)?;
    Ok(frames.len() - 1)
}

/// The frames of one episode: the first state, then one per step.
fn play<E: Env>(
    mut env: TimeLimit<E>,
    render: fn(&E) -> Frame,
    policy: &dyn Policy,
    seed: u64,
    deterministic: bool,
) -> Result<Vec<Frame>, String> {
    let mut generator = Generator::new(seed);
    let mut observation = env.reset(Some(seed));
    let mut frames = vec![render(env.inner())];
    loop {
        let step = env
            .step(&policy.act(&observation, deterministic, &mut generator))
            .map_err(|e| e.to_string())?;
        frames.push(render(env.inner()));
        if step.done() {
            return Ok(frames);
        }
        observation = step.observation;
    }
}

/// Encodes RGB frames as a looping GIF with one exact palette when the
/// frames have at most 256 colours (the renderers draw flat shapes), else
/// with the `gif` crate's quantiser per frame.
fn write_gif(path: &Path, frames: &[Frame], delay_centiseconds: u16) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", path.display());
    let first = frames.first().ok_or_else(|| fail(&"no frames"))?;
    let size = |v: usize| u16::try_from(v).map_err(|_| fail(&"a frame is wider than 65,535 pixels"));
    let (width, height) = (size(first.width)?, size(first.height)?);
    let mut colours: HashMap<[u8; 3], u8> = HashMap::new();
    let mut palette = Vec::new();
    'scan: for frame in frames {
        for rgb in frame.pixels.chunks_exact(3) {
            let rgb = [rgb[0], rgb[1], rgb[2]];
            if !colours.contains_key(&rgb) {
                if colours.len() == 256 {
                    colours.clear();
                    break 'scan;
                }
                colours.insert(rgb, colours.len() as u8);
                palette.extend_from_slice(&rgb);
            }
        }
    }
    let mut bytes = Vec::new();
    {
        let mut encoder = gif::Encoder::new(&mut bytes, width, height, &palette).map_err(|e| fail(&e))?;
        encoder.set_repeat(gif::Repeat::Infinite).map_err(|e| fail(&e))?;
        for (i, frame) in frames.iter().enumerate() {
            let mut gif_frame = if colours.is_empty() {
                gif::Frame::from_rgb_speed(width, height, &frame.pixels, 10)
            } else {
                let indices: Vec<u8> = frame
                    .pixels
                    .chunks_exact(3)
                    .map(|p| colours[&[p[0], p[1], p[2]]])
                    .collect();
                gif::Frame::from_indexed_pixels(width, height, indices, None)
            };
            // The last frame lingers, so the loop's restart is visible.
            gif_frame.delay = if i + 1 == frames.len() {
                50
            } else {
                delay_centiseconds
            };
            encoder.write_frame(&gif_frame).map_err(|e| fail(&e))?;
        }
    }
    nabla::fs::write_atomic(path, |w| w.write_all(&bytes)).map_err(|e| e.to_string())
}
