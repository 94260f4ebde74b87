"""Golden trajectories and transition tables of Gymnasium's environments
for `crates/nabla/tests/rl_env_golden.rs`.

Writes `crates/nabla/tests/fixtures/rl_envs.json`:
- `trajectories`: for CartPole-v1, Acrobot-v1, MountainCar-v0 and
  Pendulum-v1 (made with `gymnasium.make`, so with their time limits), a few
  episodes each from `reset(seed=k)` under a fixed action sequence (seeded
  random actions, or a simple policy's actions recorded as they were taken,
  to reach termination or the time limit): the initial internal state
  (`env.unwrapped.state`), then per step the action, the internal state, the
  observation (float32, written as the shortest decimal that reads back to
  the same float32), the reward and the terminated / truncated flags.
- `frozen_lake`: the full `P` table of FrozenLake-v1 for the 4x4 and 8x8
  maps, slippery and not, and (not slippery) its `ansi` render after a few
  moves.
- `frames`: for a few states of each classic control environment, what
  Gymnasium's `rgb_array` render draws in each of its solid colours: the
  number of pixels of exactly that colour and their bounding box (whole
  frames would be megabytes; the edges are anti-aliased blends that a
  renderer without anti-aliasing does not reproduce anyway).

Run with gymnasium 1.4, numpy 2 and pygame (`pip install
"gymnasium[classic-control]"`): `python scripts/make_rl_env_fixtures.py`.
"""

import json
from pathlib import Path

import gymnasium as gym
import numpy as np

OUT = Path(__file__).resolve().parent.parent / "crates/nabla/tests/fixtures/rl_envs.json"


def f32(x):
    """The shortest decimal that reads back as the float32 `x`."""
    return float(repr(np.float32(x)).removeprefix("np.float32(").removesuffix(")"))


def random_discrete(n):
    def choose(rng, _observation):
        return int(rng.integers(n))

    return choose


def cartpole_balance(rng, obs):
    # Pushes towards the side the pole falls to, with 10% random pushes.
    if rng.random() < 0.1:
        return int(rng.integers(2))
    return int(3.0 * obs[2] + obs[3] > 0.0)


def acrobot_pump(_rng, obs):
    # Torque along the links' swing: pumps energy until the tip rises.
    return 2 if obs[4] + obs[5] > 0.0 else 0


def mountain_car_pump(_rng, obs):
    return 2 if obs[1] > 0.0 else 0


def pendulum_random(rng, _obs):
    # Torques beyond the action space's [-2, 2], which Gymnasium clips.
    return np.array([rng.uniform(-3.0, 3.0)], dtype=np.float32)


def pendulum_pump(_rng, obs):
    return np.array([2.0 if obs[2] >= 0.0 else -2.0], dtype=np.float32)


# (id, reset seed, policy, most steps)
EPISODES = [
    ("CartPole-v1", 0, random_discrete(2), 500),
    ("CartPole-v1", 1, cartpole_balance, 500),
    ("CartPole-v1", 2, random_discrete(2), 500),
    ("Acrobot-v1", 0, random_discrete(3), 500),
    ("Acrobot-v1", 1, acrobot_pump, 500),
    ("MountainCar-v0", 0, random_discrete(3), 200),
    ("MountainCar-v0", 1, mountain_car_pump, 200),
    ("MountainCar-v0", 2, lambda _rng, _obs: 0, 200),
    ("Pendulum-v1", 0, pendulum_random, 200),
    ("Pendulum-v1", 1, pendulum_pump, 120),
]


def state_of(env):
    return [float(v) for v in env.unwrapped.state]


def episode(env_id, seed, policy, most_steps):
    env = gym.make(env_id)
    rng = np.random.default_rng(1000 + seed)
    obs, _ = env.reset(seed=seed)
    record = {
        "env": env_id,
        "seed": seed,
        "initial_state": state_of(env),
        "actions": [],
        "states": [],
        "observations": [],
        "rewards": [],
        "terminated": [],
        "truncated": [],
    }
    for _ in range(most_steps):
        action = policy(rng, obs)
        obs, reward, terminated, truncated, _ = env.step(action)
        record["actions"].append(float(action[0]) if isinstance(action, np.ndarray) else action)
        record["states"].append(state_of(env))
        record["observations"].append([f32(v) for v in obs])
        record["rewards"].append(float(reward))
        record["terminated"].append(int(terminated))
        record["truncated"].append(int(truncated))
        if terminated or truncated:
            break
    return record


def frozen_lake_table(map_name, slippery):
    env = gym.make("FrozenLake-v1", map_name=map_name, is_slippery=slippery, render_mode="ansi").unwrapped
    table = [
        [[[float(p), int(s), float(r), int(t)] for p, s, r, t in env.P[s][a]] for a in range(4)]
        for s in range(env.observation_space.n)
    ]
    # The ansi render after a reset and after each of a few non-slipping moves.
    texts = []
    if not slippery:
        env.reset(seed=0)
        texts.append({"actions": [], "text": env.render()})
        actions = []
        for action in [0, 1, 1, 2, 2, 3]:
            env.step(action)
            actions.append(action)
            texts.append({"actions": list(actions), "text": env.render()})
    return {"map": map_name, "slippery": slippery, "P": table, "texts": texts}


# (id, state, solid colours to measure): MountainCar's grey wheels are left
# out, since the anti-aliased track blends into greys of the same value.
FRAMES = [
    ("CartPole-v1", [1.0, 0.0, 0.2, 0.0], [(0, 0, 0), (202, 152, 101), (129, 132, 203)]),
    ("CartPole-v1", [-1.7, 0.0, -0.9, 0.0], [(0, 0, 0), (202, 152, 101), (129, 132, 203)]),
    ("Acrobot-v1", [1.0, 0.5, 0.0, 0.0], [(0, 0, 0), (0, 204, 204), (204, 204, 0)]),
    ("Acrobot-v1", [-2.8, 1.9, 0.0, 0.0], [(0, 0, 0), (0, 204, 204), (204, 204, 0)]),
    ("MountainCar-v0", [-0.9, 0.0], [(204, 204, 0)]),
    ("Pendulum-v1", [0.7, 0.0], [(204, 77, 77), (0, 0, 0)]),
    ("Pendulum-v1", [-2.5, 0.0], [(204, 77, 77), (0, 0, 0)]),
]


def frame_colours(env_id, state, colours):
    env = gym.make(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    env.unwrapped.state = np.array(state)
    frame = env.render()
    measured = []
    for colour in colours:
        ys, xs = np.nonzero(np.all(frame == colour, axis=2))
        box = [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]
        measured.append({"rgb": list(colour), "count": len(xs), "box": box})
    return {"env": env_id, "state": state, "height": frame.shape[0], "width": frame.shape[1], "colours": measured}


def main():
    trajectories = [episode(*e) for e in EPISODES]
    for t in trajectories:
        end = "terminated" if t["terminated"][-1] else "truncated" if t["truncated"][-1] else "cut"
        print(f"{t['env']} seed {t['seed']}: {len(t['actions'])} steps, {end}")
    lakes = [frozen_lake_table(m, s) for m in ["4x4", "8x8"] for s in [True, False]]
    frames = [frame_colours(*f) for f in FRAMES]
    OUT.write_text(
        json.dumps(
            {
                "gymnasium": gym.__version__,
                "numpy": np.__version__,
                "trajectories": trajectories,
                "frozen_lake": lakes,
                "frames": frames,
            },
            separators=(",", ":"),
        )
    )
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
