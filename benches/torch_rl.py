"""DQN and PPO on CartPole-v1 in PyTorch + Gymnasium, with the algorithms,
hyper-parameters and loop of nabla's `nabla::rl` (the RL Baselines3 Zoo's
tuned settings; see crates/nabla/src/rl/dqn.rs and ppo.rs), for the
side-by-side wall times of `nabla rl` and for the two `nabla bench` rows
(one DQN update, one PPO epoch).

    pip install torch gymnasium
    python benches/torch_rl.py dqn [seed] [threads]   # full 50k-step run
    python benches/torch_rl.py ppo [seed] [threads]   # full 100k-step run
    python benches/torch_rl.py bench [threads]        # the two bench rows
"""

import sys
import time

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def mlp(sizes, activation, ortho_last_gain=None):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(a, b)
        if ortho_last_gain is not None:
            gain = ortho_last_gain if i == len(sizes) - 2 else np.sqrt(2)
            nn.init.orthogonal_(linear.weight, gain)
            nn.init.constant_(linear.bias, 0.0)
        layers.append(linear)
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


# ---------------------------------------------------------------- DQN

DQN = dict(total_steps=50_000, lr=2.3e-3, buffer_size=100_000, learning_starts=1000, batch_size=64,
           gamma=0.99, target_update_interval=10, train_frequency=256, gradient_steps=128,
           exploration_fraction=0.16, start_epsilon=1.0, end_epsilon=0.04, max_grad_norm=10.0,
           hidden=[256, 256])


class Replay:
    def __init__(self, capacity, dim):
        self.obs = np.zeros((capacity, dim), np.float32)
        self.next_obs = np.zeros((capacity, dim), np.float32)
        self.actions = np.zeros(capacity, np.int64)
        self.rewards = np.zeros(capacity, np.float32)
        self.terminated = np.zeros(capacity, np.float32)
        self.capacity, self.size, self.pos = capacity, 0, 0

    def push(self, o, a, r, o2, term):
        i = self.pos
        self.obs[i], self.actions[i], self.rewards[i], self.next_obs[i], self.terminated[i] = o, a, r, o2, term
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, n, rng):
        idx = rng.integers(0, self.size, n)
        t = torch.from_numpy
        return t(self.obs[idx]), t(self.actions[idx]), t(self.rewards[idx]), t(self.next_obs[idx]), t(self.terminated[idx])


def dqn_update(q, target, optimizer, batch, c):
    obs, actions, rewards, next_obs, terminated = batch
    with torch.no_grad():
        next_value = target(next_obs).max(dim=1).values
        td_target = rewards + (1 - terminated) * c["gamma"] * next_value
    predicted = q(obs).gather(1, actions.unsqueeze(1)).squeeze(1)
    loss = F.smooth_l1_loss(predicted, td_target)
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(q.parameters(), c["max_grad_norm"])
    optimizer.step()
    return loss.item()


def train_dqn(seed, c=DQN):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    env = gym.make("CartPole-v1")
    q, target = mlp([4, *c["hidden"], 2], nn.ReLU), mlp([4, *c["hidden"], 2], nn.ReLU)
    target.load_state_dict(q.state_dict())
    optimizer = torch.optim.Adam(q.parameters(), lr=c["lr"])
    buffer = Replay(c["buffer_size"], 4)
    decay = int(c["exploration_fraction"] * c["total_steps"])
    obs, _ = env.reset(seed=seed)
    for step in range(1, c["total_steps"] + 1):
        eps = c["end_epsilon"] if step - 1 >= decay else \
            c["start_epsilon"] + (c["end_epsilon"] - c["start_epsilon"]) * (step - 1) / decay
        if rng.random() < eps:
            action = int(rng.integers(2))
        else:
            with torch.no_grad():
                action = int(q(torch.from_numpy(obs).unsqueeze(0)).argmax(1).item())
        next_obs, reward, terminated, truncated, _ = env.step(action)
        buffer.push(obs, action, reward, next_obs, terminated)
        obs = env.reset()[0] if terminated or truncated else next_obs
        if step > c["learning_starts"] and step % c["train_frequency"] == 0:
            for _ in range(c["gradient_steps"]):
                dqn_update(q, target, optimizer, buffer.sample(c["batch_size"], rng), c)
        if step % c["target_update_interval"] == 0:
            target.load_state_dict(q.state_dict())
    return lambda o: int(q(torch.from_numpy(o).unsqueeze(0)).argmax(1).item())


# ---------------------------------------------------------------- PPO

PPO = dict(total_steps=100_000, num_envs=8, num_steps=32, lr=1e-3, gamma=0.98, gae_lambda=0.8,
           minibatch_size=256, update_epochs=20, clip_coef=0.2, vf_coef=0.5, max_grad_norm=0.5)


class ActorCritic(nn.Module):
    def __init__(self):
        super().__init__()
        self.critic = mlp([4, 64, 64, 1], nn.Tanh, ortho_last_gain=1.0)
        self.actor = mlp([4, 64, 64, 2], nn.Tanh, ortho_last_gain=0.01)

    def value(self, x):
        return self.critic(x).squeeze(-1)

    def dist(self, x):
        return torch.distributions.Categorical(logits=self.actor(x))


def ppo_epoch(model, optimizer, b, order, clip, c):
    for start in range(0, len(order), c["minibatch_size"]):
        idx = order[start:start + c["minibatch_size"]]
        adv = b["adv"][idx]
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        d = model.dist(b["obs"][idx])
        log_ratio = d.log_prob(b["actions"][idx]) - b["logp"][idx]
        ratio = log_ratio.exp()
        pg = torch.max(-adv * ratio, -adv * ratio.clamp(1 - clip, 1 + clip)).mean()
        v_loss = F.mse_loss(model.value(b["obs"][idx]), b["returns"][idx])
        loss = pg + c["vf_coef"] * v_loss
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), c["max_grad_norm"])
        optimizer.step()


def train_ppo(seed, c=PPO):
    torch.manual_seed(seed)
    n, T = c["num_envs"], c["num_steps"]
    envs = gym.vector.SyncVectorEnv([lambda: gym.make("CartPole-v1") for _ in range(n)],
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    model = ActorCritic()
    optimizer = torch.optim.Adam(model.parameters(), lr=c["lr"], eps=1e-5)
    obs, _ = envs.reset(seed=seed)
    iterations = -(-c["total_steps"] // (n * T))
    for it in range(iterations):
        remaining = 1 - it / iterations
        optimizer.param_groups[0]["lr"] = c["lr"] * remaining
        clip = c["clip_coef"] * remaining
        buf = {k: [] for k in ("obs", "actions", "logp", "values", "rewards", "ends")}
        for _ in range(T):
            x = torch.from_numpy(obs)
            with torch.no_grad():
                d = model.dist(x)
                a = d.sample()
                logp, v = d.log_prob(a), model.value(x)
            next_obs, r, term, trunc, info = envs.step(a.numpy())
            r = r.astype(np.float64)
            for i in np.nonzero(trunc & ~term)[0]:
                with torch.no_grad():
                    final = torch.from_numpy(info["final_obs"][i]).unsqueeze(0)
                    r[i] += c["gamma"] * model.value(final).item()
            for k, val in (("obs", x), ("actions", a), ("logp", logp), ("values", v),
                           ("rewards", torch.from_numpy(r)), ("ends", torch.from_numpy(term | trunc))):
                buf[k].append(val)
            obs = next_obs
        with torch.no_grad():
            next_v = model.value(torch.from_numpy(obs)).double()
        values = torch.stack(buf["values"]).double()
        rewards, ends = torch.stack(buf["rewards"]), torch.stack(buf["ends"]).double()
        adv = torch.zeros_like(rewards)
        last = torch.zeros(n, dtype=torch.float64)
        for t in reversed(range(T)):
            nv = next_v if t == T - 1 else values[t + 1]
            live = 1 - ends[t]
            delta = rewards[t] + c["gamma"] * nv * live - values[t]
            last = delta + c["gamma"] * c["gae_lambda"] * live * last
            adv[t] = last
        b = {"obs": torch.cat(buf["obs"]), "actions": torch.cat(buf["actions"]), "logp": torch.cat(buf["logp"]),
             "adv": adv.flatten().float(), "returns": (adv + values).flatten().float()}
        for _ in range(c["update_epochs"]):
            ppo_epoch(model, optimizer, b, torch.randperm(n * T), clip, c)
    return lambda o: int(model.actor(torch.from_numpy(o).unsqueeze(0)).argmax(1).item())


def evaluate(act, episodes=100, seed=1000):
    env = gym.make("CartPole-v1")
    returns = []
    with torch.no_grad():
        for e in range(episodes):
            obs, _ = env.reset(seed=seed + e)
            total, done = 0.0, False
            while not done:
                obs, r, term, trunc, _ = env.step(act(obs))
                total += r
                done = term or trunc
            returns.append(total)
    return np.mean(returns), np.std(returns)


def median_seconds(warmup, repetitions, f):
    for _ in range(warmup):
        f()
    times = []
    for _ in range(repetitions):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def bench_rows(repetitions=7):
    """The `nabla bench` rows as a dict: DQN updates per second (batch 64,
    [256, 256]) and PPO epochs per second (8 minibatches of 256 from a
    rollout of 2048 transitions)."""
    torch.manual_seed(0)
    q, target = mlp([4, 256, 256, 2], nn.ReLU), mlp([4, 256, 256, 2], nn.ReLU)
    optimizer = torch.optim.Adam(q.parameters(), lr=2.3e-3)
    g = torch.Generator().manual_seed(0)
    batch = (torch.randn(64, 4, generator=g), torch.randint(0, 2, (64,), generator=g), torch.ones(64),
             torch.randn(64, 4, generator=g), torch.zeros(64))
    dqn = median_seconds(20, repetitions * 40, lambda: dqn_update(q, target, optimizer, batch, DQN))
    model = ActorCritic()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-5)
    n = 2048
    b = {"obs": torch.randn(n, 4, generator=g), "actions": torch.randint(0, 2, (n,), generator=g),
         "logp": torch.full((n,), -0.69), "adv": torch.randn(n, generator=g), "returns": torch.randn(n, generator=g)}
    ppo = median_seconds(2, repetitions * 2, lambda: ppo_epoch(model, optimizer, b, torch.randperm(n), 0.2, PPO))
    return {"dqn_update_per_s": 1 / dqn, "ppo_epoch_per_s": 1 / ppo}


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "bench"
    if what == "bench":
        torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
        for key, value in bench_rows().items():
            print(f"{key} {value:.1f}")
    else:
        seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
        torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
        start = time.perf_counter()
        act = train_dqn(seed) if what == "dqn" else train_ppo(seed)
        seconds = time.perf_counter() - start
        mean, std = evaluate(act)
        print(f"{what} seed {seed}: train {seconds:.1f}s eval mean {mean:.1f} std {std:.1f}")
