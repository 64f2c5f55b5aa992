"""Learner throughput: one SAC update (critic + actor + temperature + Polyak) per call.

Same update, same sizes (state 30, action 7, batch 256, 2 critics of 2x256 with
LayerNorm, Adam), measured in one run, in interleaved rounds so that load from other
processes hits every variant alike:

- torch-loop: eager torch, one nn.Sequential per critic member, Python loop over members
- torch-fused: robot_rl SACAgent.update (batched (E, in, out) ensemble), eager
- torch-compile: the same agent with SACConfig.compile=True (--compile; ~30 s warm-up)
- jax-jit: a pure-JAX reference of the same update under jax.jit (baseline), if installed

With --ensemble N > 2 the agent takes the min over a random pair (RLPD), the references
over all N members; the difference in work is negligible next to the N forward passes.

Then the replay's bytes per transition against raw uint8 frame bytes (2 cameras 128x128).

    nice -n 10 .venv/bin/python benchmarks/bench_learner.py [--compile] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

STATE, ACT, BATCH, HIDDEN, ENSEMBLE = 30, 7, 256, 256, 2
GAMMA, TAU, LR = 0.99, 0.005, 3e-4


def make_batch(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "state": rng.normal(size=(BATCH, STATE)).astype(np.float32),
        "action": rng.uniform(-1, 1, (BATCH, ACT)).astype(np.float32),
        "reward": rng.normal(size=BATCH).astype(np.float32),
        "next_state": rng.normal(size=(BATCH, STATE)).astype(np.float32),
        "terminated": (rng.random(BATCH) < 0.05).astype(np.float32),
    }


# --- torch: per-member loop (the usual eager implementation) ---------------------------


def torch_loop_update(batch: dict[str, np.ndarray]) -> Callable[[], float]:
    import torch
    from torch import nn

    def mlp(i: int, o: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Linear(i, HIDDEN), nn.LayerNorm(HIDDEN), nn.ReLU(),
            nn.Linear(HIDDEN, HIDDEN), nn.LayerNorm(HIDDEN), nn.ReLU(),
            nn.Linear(HIDDEN, o),
        )  # fmt: skip

    critics = nn.ModuleList([mlp(STATE + ACT, 1) for _ in range(ENSEMBLE)])
    targets = nn.ModuleList([mlp(STATE + ACT, 1) for _ in range(ENSEMBLE)])
    targets.load_state_dict(critics.state_dict())
    actor = mlp(STATE, 2 * ACT)
    log_alpha = torch.tensor(np.log(0.01), requires_grad=True)
    c_opt = torch.optim.Adam(critics.parameters(), lr=LR)
    a_opt = torch.optim.Adam(actor.parameters(), lr=LR)
    t_opt = torch.optim.Adam([log_alpha], lr=LR)
    b = {k: torch.as_tensor(v) for k, v in batch.items()}

    def sample(s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, raw = actor(s).chunk(2, -1)
        log_std = -5 + 3.5 * (torch.tanh(raw) + 1)
        pre = mean + log_std.exp() * torch.randn_like(mean)
        logp = (-0.5 * ((pre - mean) / log_std.exp()) ** 2 - log_std - 0.9189385).sum(-1)
        logp = logp - (2 * (np.log(2) - pre - nn.functional.softplus(-2 * pre))).sum(-1)
        return torch.tanh(pre), logp

    def step() -> float:
        alpha = log_alpha.detach().exp()
        with torch.no_grad():
            na, nlp = sample(b["next_state"])
            x = torch.cat([b["next_state"], na], -1)
            nq = torch.stack([t(x).squeeze(-1) for t in targets]).min(0).values
            y = b["reward"] + GAMMA * (1 - b["terminated"]) * (nq - alpha * nlp)
        x = torch.cat([b["state"], b["action"]], -1)
        c_loss = torch.stack([(c(x).squeeze(-1) - y).pow(2).mean() for c in critics]).mean()
        c_opt.zero_grad()
        c_loss.backward()
        c_opt.step()
        a, lp = sample(b["state"])
        xa = torch.cat([b["state"], a], -1)
        q = torch.stack([c(xa).squeeze(-1) for c in critics]).mean(0)
        a_loss = (alpha * lp - q).mean()
        a_opt.zero_grad()
        a_loss.backward()
        a_opt.step()
        t_loss = (log_alpha.exp() * (-lp.detach() + 0.5 * ACT)).mean()
        t_opt.zero_grad()
        t_loss.backward()
        t_opt.step()
        with torch.no_grad():
            for t, c in zip(targets, critics, strict=True):
                torch._foreach_lerp_(list(t.parameters()), list(c.parameters()), TAU)
        return float(c_loss.detach())

    return step


# --- torch: the robot_rl agent ----------------------------------------------------------


def torch_agent_update(batch: dict[str, np.ndarray], compile_: bool) -> Callable[[], float]:
    from robot_rl.agents.config import CriticConfig, SACConfig
    from robot_rl.agents.sac import SACAgent
    from robot_rl.agents.types import Batch, ObsSpec

    critic = CriticConfig(ensemble_size=ENSEMBLE, subsample_size=2)
    agent = SACAgent(SACConfig(compile=compile_, critic=critic), ObsSpec(STATE), ACT)
    zeros = np.zeros(BATCH, bool)
    b = Batch(
        batch["state"], {}, batch["action"], batch["reward"], batch["next_state"], {},
        batch["terminated"].astype(bool), zeros, zeros,
    )  # fmt: skip
    return lambda: agent.update(b)["critic_loss"]


# --- JAX reference ---------------------------------------------------------------------


def jax_update(batch: dict[str, np.ndarray]) -> Callable[[], float]:
    import jax
    import jax.numpy as jnp

    def dense(key: Any, i: int, o: int) -> dict[str, Any]:
        bound = 1.0 / np.sqrt(i)
        kw, kb = jax.random.split(key)
        return {
            "w": jax.random.uniform(kw, (i, o), minval=-bound, maxval=bound),
            "b": jax.random.uniform(kb, (o,), minval=-bound, maxval=bound),
        }

    def init_mlp(key: Any, i: int, o: int) -> list[dict[str, Any]]:
        k = jax.random.split(key, 3)
        layers = [dense(k[0], i, HIDDEN), dense(k[1], HIDDEN, HIDDEN), dense(k[2], HIDDEN, o)]
        for layer in layers[:2]:
            layer.update(g=jnp.ones(HIDDEN), beta=jnp.zeros(HIDDEN))
        return layers

    def mlp(params: list[dict[str, Any]], x: Any) -> Any:
        for layer in params[:-1]:
            x = x @ layer["w"] + layer["b"]
            mu = x.mean(-1, keepdims=True)
            var = ((x - mu) ** 2).mean(-1, keepdims=True)
            x = jax.nn.relu((x - mu) / jnp.sqrt(var + 1e-5) * layer["g"] + layer["beta"])
        return x @ params[-1]["w"] + params[-1]["b"]

    ens = jax.vmap(mlp, in_axes=(0, None))  # stacked member parameters, one batched call

    def sample(ap: Any, s: Any, key: Any) -> tuple[Any, Any]:
        mean, raw = jnp.split(mlp(ap, s), 2, -1)
        log_std = -5 + 3.5 * (jnp.tanh(raw) + 1)
        pre = mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape)
        logp = (-0.5 * ((pre - mean) / jnp.exp(log_std)) ** 2 - log_std - 0.9189385).sum(-1)
        logp = logp - (2 * (jnp.log(2.0) - pre - jax.nn.softplus(-2 * pre))).sum(-1)
        return jnp.tanh(pre), logp

    def adam_init(p: Any) -> Any:
        z = jax.tree.map(jnp.zeros_like, p)
        return {"m": z, "v": z, "t": jnp.zeros(())}

    def adam(p: Any, g: Any, s: Any) -> tuple[Any, Any]:
        t = s["t"] + 1
        m = jax.tree.map(lambda m, g: 0.9 * m + 0.1 * g, s["m"], g)
        v = jax.tree.map(lambda v, g: 0.999 * v + 0.001 * g * g, s["v"], g)
        c1, c2 = 1 - 0.9**t, 1 - 0.999**t
        p = jax.tree.map(lambda p, m, v: p - LR * (m / c1) / (jnp.sqrt(v / c2) + 1e-8), p, m, v)
        return p, {"m": m, "v": v, "t": t}

    keys = jax.random.split(jax.random.PRNGKey(0), ENSEMBLE + 2)
    critic = jax.vmap(lambda k: init_mlp(k, STATE + ACT, 1))(keys[:ENSEMBLE])
    actor = init_mlp(keys[-2], STATE, 2 * ACT)
    state = {
        "critic": critic, "target": critic, "actor": actor, "log_alpha": jnp.log(0.01),
        "c_opt": adam_init(critic), "a_opt": adam_init(actor),
        "t_opt": adam_init(jnp.log(0.01)), "key": keys[-1],
    }  # fmt: skip
    b = {k: jnp.asarray(v) for k, v in batch.items()}

    @jax.jit
    def update(st: Any, b: Any) -> tuple[Any, Any]:
        key, k1, k2 = jax.random.split(st["key"], 3)
        alpha = jnp.exp(st["log_alpha"])
        na, nlp = sample(st["actor"], b["next_state"], k1)
        nq = ens(st["target"], jnp.concatenate([b["next_state"], na], -1))[..., 0].min(0)
        y = jax.lax.stop_gradient(b["reward"] + GAMMA * (1 - b["terminated"]) * (nq - alpha * nlp))

        def c_loss(cp: Any) -> Any:
            q = ens(cp, jnp.concatenate([b["state"], b["action"]], -1))[..., 0]
            return ((q - y) ** 2).mean()

        cl, cg = jax.value_and_grad(c_loss)(st["critic"])
        critic, c_opt = adam(st["critic"], cg, st["c_opt"])

        def a_loss(ap: Any) -> tuple[Any, Any]:
            a, lp = sample(ap, b["state"], k2)
            q = ens(critic, jnp.concatenate([b["state"], a], -1))[..., 0].mean(0)
            return (alpha * lp - q).mean(), lp

        (_, lp), ag = jax.value_and_grad(a_loss, has_aux=True)(st["actor"])
        actor, a_opt = adam(st["actor"], ag, st["a_opt"])
        ent = jax.lax.stop_gradient(-lp + 0.5 * ACT)
        tg = jax.grad(lambda la: (jnp.exp(la) * ent).mean())(st["log_alpha"])
        log_alpha, t_opt = adam(st["log_alpha"], tg, st["t_opt"])
        target = jax.tree.map(lambda t, c: t + TAU * (c - t), st["target"], critic)
        new = {
            "critic": critic, "target": target, "actor": actor, "log_alpha": log_alpha,
            "c_opt": c_opt, "a_opt": a_opt, "t_opt": t_opt, "key": key,
        }  # fmt: skip
        return new, cl

    holder = [state]

    def step() -> float:
        holder[0], loss = update(holder[0], b)
        return float(loss)  # blocks, like reading the torch agent's metrics

    return step


# --- runner ------------------------------------------------------------------------------


def measure(steps: dict[str, Callable[[], float]], n: int, rounds: int) -> dict[str, float]:
    rates: dict[str, list[float]] = {k: [] for k in steps}
    for _ in range(rounds):
        for name, fn in steps.items():
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            rates[name].append(n / (time.perf_counter() - t0))
    return {k: statistics.median(v) for k, v in rates.items()}


def replay_bytes() -> None:
    from robot_rl.agents.replay import ReplayBuffer
    from robot_rl.agents.types import ObsSpec

    spec = ObsSpec(20, ("front", "wrist"), (128, 128, 3))
    for length in (20, 100, 200):
        episodes = 10
        buf = ReplayBuffer(episodes * (length + 1), spec, 7)
        img = {c: np.zeros(spec.image_shape, np.uint8) for c in spec.cameras}
        for _ in range(episodes):
            for t in range(length):
                o = {"state": np.full(20, t, np.float32), "images": img}
                n = {"state": np.full(20, t + 1, np.float32), "images": img}
                buf.add(o, np.zeros(7), 0.0, n, False, t == length - 1)
        per = buf.nbytes / buf.num_transitions
        print(
            f"replay, episodes of {length:3d} steps: {per:9.0f} B/transition, raw frames "
            f"{spec.frame_bytes} B -> {per / spec.frame_bytes:.3f}x "
            f"(obs+next_obs pairs would be {2 * spec.frame_bytes} B, 2.000x)"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--compile", action="store_true", help="also time torch.compile")
    p.add_argument("--threads", type=int, default=1, help="intra-op threads for torch and XLA")
    p.add_argument("--updates", type=int, default=100, help="updates per timed round")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds; median reported")
    p.add_argument("--ensemble", type=int, default=2, help="critic members (RLPD: 10)")
    args = p.parse_args()
    global ENSEMBLE
    ENSEMBLE = args.ensemble
    if args.threads == 1:
        os.environ.setdefault(
            "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        )
    import torch

    torch.set_num_threads(args.threads)
    batch = make_batch()
    steps: dict[str, Callable[[], float]] = {
        "torch-loop": torch_loop_update(batch),
        "torch-fused": torch_agent_update(batch, False),
    }
    if args.compile:
        steps["torch-compile"] = torch_agent_update(batch, True)
    try:
        import jax

        steps["jax-jit"] = jax_update(batch)
        versions = f"torch {torch.__version__}, jax {jax.__version__}"
    except ImportError:
        versions = f"torch {torch.__version__}, jax not installed (no baseline)"
    print(f"{versions}; {args.threads} thread(s); {os.cpu_count()} cpus; python {sys.version[:6]}")
    print(
        f"state {STATE}, action {ACT}, batch {BATCH}, {ENSEMBLE} critics of 2x{HIDDEN} + LayerNorm"
    )
    for name, fn in steps.items():  # warm-up, compilation included
        t0 = time.perf_counter()
        for _ in range(5):
            fn()
        print(f"warm-up {name}: {time.perf_counter() - t0:.1f} s")
    rates = measure(steps, args.updates, args.rounds)
    base = rates.get("jax-jit")
    for name, rate in rates.items():
        ratio = f"{rate / base:.2f}x jax-jit" if base else "n/a"
        print(f"{name:14s} {rate:8.1f} updates/s   {ratio}")
    replay_bytes()


if __name__ == "__main__":
    main()
