//! `FrozenLake-v1`: walk across a frozen lake from the start to the goal
//! without falling into a hole, on ice that may be slippery, to
//! Gymnasium's `toy_text/frozen_lake.py`.

use super::{Action, Env, EpisodePhase, Space, Step, TabularModel, Transition};
use crate::error::{Error, Result};
use crate::tensor::Generator;

/// Gymnasium's `"4x4"` map: `S` start, `F` frozen, `H` hole, `G` goal.
pub const MAP_4X4: [&str; 4] = ["SFFF", "FHFH", "FFFH", "HFFG"];

/// Gymnasium's `"8x8"` map.
pub const MAP_8X8: [&str; 8] = [
    "SFFFFFFF", "FFFFFFFF", "FFFHFFFF", "FFFFFHFF", "FFFHFFFF", "FHHFFFHF", "FHFFHFHF", "FFFHFFFG",
];

/// Action 0 moves left, 1 down, 2 right, 3 up.
const LEFT: usize = 0;
const DOWN: usize = 1;
const RIGHT: usize = 2;
const UP: usize = 3;
const NUM_ACTIONS: usize = 4;

/// Gymnasium's default `success_rate` of a slippery lake.
const SUCCESS_RATE: f64 = 1.0 / 3.0;

/// A frozen lake: the state is the agent's cell `row * ncol + col`, its
/// observation `vec![state as f32]` in the space `Discrete(nrow * ncol)`.
///
/// Actions 0..4 move left, down, right, up (a move into the edge stays
/// put). On a slippery lake the agent moves in the intended direction with
/// probability 1/3 and in each perpendicular one with probability 1/3
/// (Gymnasium's `success_rate` 1/3 and `fail_rate (1 - 1/3) / 2`, so two
/// of the three differ from 1/3 in the last bit, as in Gymnasium). Reaching
/// the goal gives reward 1, everything else 0; the episode terminates in a
/// hole or at the goal. The transition table is Gymnasium's `P` entry for
/// entry (the three outcomes in the order `a - 1, a, a + 1` modulo 4, not
/// merged when two land on one cell; a hole or the goal loops to itself
/// with reward 0), which [`TabularModel`] exposes for planning. A step
/// samples an outcome as Gymnasium's `categorical_sample`.
///
/// [`make`](super::make) builds `"FrozenLake-v1"` (4x4, slippery, 100 steps,
/// solved at 0.70) and `"FrozenLake8x8-v1"` (200 steps, 0.85); a lake with
/// another map has the id `"FrozenLake-v1"` (Gymnasium's, given a `desc`)
/// and no reward threshold. The
/// non-slippery lake is [`FrozenLake::new`] with `slippery = false`, with
/// the same limit through [`FrozenLake::max_episode_steps`].
///
/// ```
/// use nabla::rl::env::{Action, Env, FrozenLake, TabularModel, TimeLimit, MAP_4X4};
/// let lake = FrozenLake::new(&MAP_4X4, false).unwrap();
/// assert_eq!(lake.transitions(14, 2)[0].reward, 1.0); // right from 14 reaches the goal
/// let limit = lake.max_episode_steps();
/// let mut env = TimeLimit::new(lake, limit);
/// env.reset(Some(0));
/// let mut ret = 0.0;
/// for a in [1, 1, 2, 1, 2, 2] {
///     // down, down, right, down, right, right
///     ret += env.step(&Action::Discrete(a)).unwrap().reward;
/// }
/// assert_eq!(ret, 1.0);
/// ```
#[derive(Clone, Debug)]
pub struct FrozenLake {
    desc: Vec<Vec<u8>>,
    slippery: bool,
    /// `P[s][a]` at `s * 4 + a`.
    table: Vec<Vec<Transition>>,
    /// Gymnasium's `initial_state_distrib`: uniform over the `S` cells.
    initial: Vec<f64>,
    state: usize,
    /// The action of the last step (none since the reset), for
    /// [`FrozenLake::render_text`].
    last_action: Option<usize>,
    generator: Generator,
    phase: EpisodePhase,
}

impl FrozenLake {
    /// A lake with the map `desc` (rows of `S`, `F`, `H`, `G`, all of one
    /// length, at least one `S`), slippery or not.
    pub fn new(desc: &[&str], slippery: bool) -> Result<Self> {
        let bad = |message: String| Error::InvalidSetting {
            context: "FrozenLake".into(),
            message,
        };
        let ncol = desc.first().map_or(0, |row| row.len());
        if ncol == 0 {
            return Err(bad("the map is empty".into()));
        }
        if let Some(row) = desc.iter().find(|row| row.len() != ncol) {
            return Err(bad(format!(
                "row {row:?} is not {ncol} cells long like the first"
            )));
        }
        if let Some(c) = desc
            .iter()
            .flat_map(|row| row.chars())
            .find(|c| !"SFHG".contains(*c))
        {
            return Err(bad(format!(
                "cell {c:?} is none of S (start), F (frozen), H (hole), G (goal)"
            )));
        }
        let desc: Vec<Vec<u8>> = desc.iter().map(|row| row.as_bytes().to_vec()).collect();
        let starts = desc.iter().flatten().filter(|&&c| c == b'S').count();
        if starts == 0 {
            return Err(bad("the map has no start cell S".into()));
        }
        let initial = desc
            .iter()
            .flatten()
            .map(|&c| f64::from(u8::from(c == b'S')) / starts as f64)
            .collect();
        let table = build_table(&desc, slippery);
        Ok(FrozenLake {
            desc,
            slippery,
            table,
            initial,
            state: 0,
            last_action: None,
            generator: Generator::new(0),
            phase: EpisodePhase::BeforeReset,
        })
    }

    /// Gymnasium's 4x4 lake ([`MAP_4X4`]).
    pub fn four_by_four(slippery: bool) -> Self {
        Self::new(&MAP_4X4, slippery).expect("a valid built-in map")
    }

    /// Gymnasium's 8x8 lake ([`MAP_8X8`]).
    pub fn eight_by_eight(slippery: bool) -> Self {
        Self::new(&MAP_8X8, slippery).expect("a valid built-in map")
    }

    /// Whether moves may slip sideways.
    pub fn is_slippery(&self) -> bool {
        self.slippery
    }

    /// The number of rows and of columns.
    pub fn shape(&self) -> (usize, usize) {
        (self.desc.len(), self.desc[0].len())
    }

    /// The letter of cell `state` (`b'S'`, `b'F'`, `b'H'` or `b'G'`).
    pub fn cell(&self, state: usize) -> u8 {
        let ncol = self.desc[0].len();
        self.desc[state / ncol][state % ncol]
    }

    /// Gymnasium's registered episode limit: 200 steps for the 8x8 map, 100
    /// for any other.
    pub fn max_episode_steps(&self) -> usize {
        if self.is_eight_by_eight() {
            200
        } else {
            100
        }
    }

    /// The agent's cell.
    pub fn state(&self) -> usize {
        self.state
    }

    /// Starts an episode with the agent on cell `state` (for tests).
    pub fn set_state(&mut self, state: usize) -> Result<()> {
        if state >= self.num_states() {
            return Err(Error::InvalidSetting {
                context: self.id().into(),
                message: format!("state {state} is not one of the {} cells", self.num_states()),
            });
        }
        self.state = state;
        self.last_action = None;
        self.phase = EpisodePhase::Running;
        Ok(())
    }

    /// The lake as text, as Gymnasium's `render_mode="ansi"`: a line with
    /// the last action in parentheses (empty after a reset), then the map,
    /// the agent's cell on a red background (ANSI escape `ESC[41m`).
    ///
    /// ```
    /// use nabla::rl::env::{Action, Env, FrozenLake};
    /// let mut lake = FrozenLake::four_by_four(false);
    /// lake.reset(Some(0));
    /// lake.step(&Action::Discrete(2)).unwrap();
    /// assert_eq!(lake.render_text(), "  (Right)\nS\x1b[41mF\x1b[0mFF\nFHFH\nFFFH\nHFFG\n");
    /// ```
    pub fn render_text(&self) -> String {
        let ncol = self.desc[0].len();
        let mut text = match self.last_action {
            Some(a) => format!("  ({})\n", ["Left", "Down", "Right", "Up"][a]),
            None => "\n".to_string(),
        };
        for (s, &letter) in self.desc.iter().flatten().enumerate() {
            let letter = char::from(letter);
            if s == self.state {
                text.push_str(&format!("\x1b[41m{letter}\x1b[0m"));
            } else {
                text.push(letter);
            }
            if s % ncol == ncol - 1 {
                text.push('\n');
            }
        }
        text
    }

    fn is_eight_by_eight(&self) -> bool {
        self.desc
            .iter()
            .map(|row| row.as_slice())
            .eq(MAP_8X8.iter().map(|row| row.as_bytes()))
    }

    fn is_four_by_four(&self) -> bool {
        self.desc
            .iter()
            .map(|row| row.as_slice())
            .eq(MAP_4X4.iter().map(|row| row.as_bytes()))
    }
}

/// Gymnasium's `P` table, `P[s][a]` at `s * 4 + a`.
fn build_table(desc: &[Vec<u8>], slippery: bool) -> Vec<Vec<Transition>> {
    let (nrow, ncol) = (desc.len(), desc[0].len());
    let fail_rate = (1.0 - SUCCESS_RATE) / 2.0;
    let outcome = |probability: f64, row: usize, col: usize, action: usize| {
        let (row, col) = match action {
            LEFT => (row, col.saturating_sub(1)),
            DOWN => ((row + 1).min(nrow - 1), col),
            RIGHT => (row, (col + 1).min(ncol - 1)),
            UP => (row.saturating_sub(1), col),
            _ => (row, col),
        };
        let letter = desc[row][col];
        Transition {
            probability,
            next_state: row * ncol + col,
            reward: if letter == b'G' { 1.0 } else { 0.0 },
            terminated: letter == b'G' || letter == b'H',
        }
    };
    let mut table = Vec::with_capacity(nrow * ncol * NUM_ACTIONS);
    for (row, letters) in desc.iter().enumerate() {
        for (col, &letter) in letters.iter().enumerate() {
            let s = row * ncol + col;
            for a in 0..NUM_ACTIONS {
                let entries = if matches!(letter, b'G' | b'H') {
                    vec![Transition {
                        probability: 1.0,
                        next_state: s,
                        reward: 0.0,
                        terminated: true,
                    }]
                } else if slippery {
                    [(a + 3) % 4, a, (a + 1) % 4]
                        .iter()
                        .map(|&b| outcome(if b == a { SUCCESS_RATE } else { fail_rate }, row, col, b))
                        .collect()
                } else {
                    vec![outcome(1.0, row, col, a)]
                };
                table.push(entries);
            }
        }
    }
    table
}

/// The first index whose cumulative probability exceeds `u`, or 0 when none
/// does (numpy's `argmax` of an all-false array), as Gymnasium's
/// `categorical_sample`.
fn categorical_sample(probabilities: impl Iterator<Item = f64>, u: f64) -> usize {
    let mut cumulative = 0.0;
    for (i, p) in probabilities.enumerate() {
        cumulative += p;
        if cumulative > u {
            return i;
        }
    }
    0
}

impl TabularModel for FrozenLake {
    fn num_states(&self) -> usize {
        self.initial.len()
    }

    fn num_actions(&self) -> usize {
        NUM_ACTIONS
    }

    fn transitions(&self, state: usize, action: usize) -> &[Transition] {
        &self.table[state * NUM_ACTIONS + action]
    }
}

impl Env for FrozenLake {
    fn id(&self) -> &'static str {
        if self.is_eight_by_eight() {
            "FrozenLake8x8-v1"
        } else {
            "FrozenLake-v1"
        }
    }

    fn observation_space(&self) -> Space {
        Space::Discrete(self.num_states())
    }

    fn action_space(&self) -> Space {
        Space::Discrete(NUM_ACTIONS)
    }

    fn reward_threshold(&self) -> Option<f64> {
        if self.is_four_by_four() {
            Some(0.70)
        } else if self.is_eight_by_eight() {
            Some(0.85)
        } else {
            None
        }
    }

    fn reset(&mut self, seed: Option<u64>) -> Vec<f32> {
        if let Some(seed) = seed {
            self.generator = Generator::new(seed);
        }
        self.state = categorical_sample(self.initial.iter().copied(), self.generator.uniform());
        self.last_action = None;
        self.phase = EpisodePhase::Running;
        vec![self.state as f32]
    }

    fn step(&mut self, action: &Action) -> Result<Step> {
        self.phase.check_running(self.id())?;
        self.action_space().check(action, self.id())?;
        let Action::Discrete(a) = *action else {
            unreachable!("checked against a discrete space")
        };
        let u = self.generator.uniform();
        let outcomes = &self.table[self.state * NUM_ACTIONS + a];
        let i = categorical_sample(outcomes.iter().map(|t| t.probability), u);
        let outcome = outcomes[i];
        self.state = outcome.next_state;
        self.last_action = Some(a);
        self.phase = EpisodePhase::after_step(outcome.terminated);
        Ok(Step {
            observation: vec![self.state as f32],
            reward: outcome.reward,
            terminated: outcome.terminated,
            truncated: false,
        })
    }
}
