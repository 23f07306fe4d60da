#!/usr/bin/env python3
"""Record what gymnasium's Atari pipeline observes, for Tests/EnvironmentTests/GymnasiumParityTests.swift.

Run once, commit the output; the Swift test only reads it. Needs, in a private virtual environment:

    pip install ale-py==0.12.1 gymnasium opencv-python-headless numpy

For each game it plays one episode of seeded random actions through

    gymnasium.make("ALE/<Game>-v5", frameskip=1, repeat_action_probability=0.0)
    + AtariPreprocessing(noop_max=0, frame_skip=4, screen_size=84, grayscale_obs=True,
                         terminal_on_life_loss=False, scale_obs=False)

the pipeline most DQN code on Atari uses (CleanRL, SB3 and gymnasium's own examples differ from it
only in wrappers around it), and writes Tests/EnvironmentTests/Fixtures/gymnasium_<game>.json:
the actions, then per agent step the summed reward, the terminated flag and the first 16 hex
digits of the SHA-256 of the 84x84 observation; the reset observation's hash comes first.

The Swift test replays the actions through AtariEnvironment (no no-op starts, no FIRE on reset,
sticky actions off) and must observe the same pixels and rewards at every step.
"""
import argparse
import hashlib
import json
import pathlib

import ale_py
import cv2
import gymnasium as gym
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "EnvironmentTests" / "Fixtures"


def digest(obs):
    return hashlib.sha256(np.ascontiguousarray(obs, dtype=np.uint8).tobytes()).hexdigest()[:16]


def record(game, env_id, seed, max_steps):
    gym.register_envs(ale_py)
    env = gym.make(env_id, frameskip=1, repeat_action_probability=0.0)
    env = gym.wrappers.AtariPreprocessing(env, noop_max=0, frame_skip=4, screen_size=84,
                                          terminal_on_life_loss=False, grayscale_obs=True,
                                          scale_obs=False)
    obs, _ = env.reset(seed=seed)
    n = env.action_space.n
    rng = np.random.default_rng(seed)
    actions, rewards, terminated, hashes = [], [], [], [digest(obs)]
    for _ in range(max_steps):
        a = int(rng.integers(0, n))
        obs, r, term, trunc, _ = env.step(a)
        actions.append(a)
        rewards.append(float(r))
        terminated.append(bool(term))
        hashes.append(digest(obs))
        if term or trunc:
            break
    env.close()
    return {
        "game": game,
        "env_id": env_id,
        "settings": {"frameskip": 1, "repeat_action_probability": 0.0, "noop_max": 0, "frame_skip": 4,
                     "screen_size": 84, "grayscale_obs": True, "terminal_on_life_loss": False},
        "seed": seed,
        "versions": {"ale_py": ale_py.__version__, "gymnasium": gym.__version__,
                     "opencv": cv2.__version__, "numpy": np.__version__},
        "action_count": int(n),
        "actions": actions,
        "rewards": rewards,
        "terminated": terminated,
        "observation_sha256_16": hashes,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-steps", type=int, default=3000)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    # Breakout's seed is one whose random episode scores (4 points): with most seeds random play
    # there scores nothing, and the rewards would go unchecked.
    for game, env_id, seed in [("pong", "ALE/Pong-v5", 2015), ("breakout", "ALE/Breakout-v5", 2024)]:
        data = record(game, env_id, seed, args.max_steps)
        path = OUT / f"gymnasium_{game}.json"
        path.write_text(json.dumps(data, separators=(",", ":")) + "\n")
        print(f"{path.relative_to(ROOT)}: {len(data['actions'])} steps, return {sum(data['rewards'])}, "
              f"terminated {data['terminated'][-1]}")


if __name__ == "__main__":
    main()
