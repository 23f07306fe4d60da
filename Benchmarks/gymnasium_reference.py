#!/usr/bin/env python3
"""The Python references `arena bench env` is compared against, measured in the same session.

Runs in a private virtual environment (.cache/bench-venv, created on first use with ale-py
0.12.1, gymnasium and opencv-python-headless from PyPI): nothing here is imported by the arena.

  gymnasium_reference.py [--steps N]

Prints one JSON object:
  raw_frames_per_s           ale_py.ALEInterface, frame skip 1, sticky 0.25, random actions (Pong)
  preprocessed_steps_per_s   gymnasium ALE/Pong-v5 (frameskip=1) + AtariPreprocessing + 4-frame stack
  vector_steps_per_s         ale_py.vector_env.AtariVectorEnv, 8 envs, 2 threads
"""
import json
import sys
import time


def main():
    steps = int(sys.argv[sys.argv.index("--steps") + 1]) if "--steps" in sys.argv else 10000
    import numpy as np
    import gymnasium as gym
    import ale_py
    from ale_py import ALEInterface, LoggerMode, roms

    ALEInterface.setLoggerMode(LoggerMode.Error)
    gym.register_envs(ale_py)
    out = {"ale_py": ale_py.__version__, "gymnasium": gym.__version__, "steps": steps}

    ale = ALEInterface()
    ale.setInt("random_seed", 123)
    ale.setFloat("repeat_action_probability", 0.25)
    ale.loadROM(roms.get_rom_path("pong"))
    actions = ale.getMinimalActionSet()
    picks = np.random.default_rng(0).integers(0, len(actions), 4 * steps)
    t = time.perf_counter()
    for a in picks:
        ale.act(actions[a])
        if ale.game_over():
            ale.reset_game()
    out["raw_frames_per_s"] = len(picks) / (time.perf_counter() - t)

    env = gym.make("ALE/Pong-v5", frameskip=1, repeat_action_probability=0.0)
    env = gym.wrappers.AtariPreprocessing(env, frame_skip=4, noop_max=30)
    env = gym.wrappers.FrameStackObservation(env, 4)
    env.reset(seed=0)
    env.action_space.seed(0)
    t = time.perf_counter()
    for _ in range(steps):
        _, _, term, trunc, _ = env.step(env.action_space.sample())
        if term or trunc:
            env.reset()
    out["preprocessed_steps_per_s"] = steps / (time.perf_counter() - t)

    try:
        from ale_py.vector_env import AtariVectorEnv
        venv = AtariVectorEnv(game="pong", num_envs=8, num_threads=2)
        venv.reset(seed=0)
        rounds = max(1, steps // 8)
        t = time.perf_counter()
        for _ in range(rounds):
            venv.step(np.random.randint(0, venv.single_action_space.n, 8))
        out["vector_steps_per_s"] = rounds * 8 / (time.perf_counter() - t)
    except Exception as e:  # the vector env is optional in some wheels
        out["vector_error"] = str(e)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
