#!/usr/bin/env python3
"""The PyTorch reference for `arena bench agent`, measured on the same machine in the same session.

Times what `arena bench agent` times, with PyTorch on the CPU: one full DQN update at batch 32
(target forward without gradients, online forward, Huber loss on Q(s, a), backward, centered
RMSProp step) and the Q-values of one observation. Prints one JSON object.

    python Benchmarks/pytorch_reference.py [--threads 2] [--dueling] [--double] [--updates 60] [--acts 400]

PyTorch is not a dependency of the project: install it in a virtual environment of its own
(`python3 -m venv /tmp/torch && /tmp/torch/bin/pip install torch`) and run this with that Python.
"""

import argparse
import json
import platform
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class NatureQNetwork(nn.Module):
    """Mnih et al. 2015's network; with `dueling`, Wang et al. 2016's head."""

    def __init__(self, actions: int, dueling: bool):
        super().__init__()
        self.dueling = dueling
        self.conv1 = nn.Conv2d(4, 32, 8, stride=4)
        self.conv2 = nn.Conv2d(32, 64, 4, stride=2)
        self.conv3 = nn.Conv2d(64, 64, 3, stride=1)
        if dueling:
            self.fc1_value = nn.Linear(3136, 512)
            self.fc1_advantage = nn.Linear(3136, 512)
            self.value = nn.Linear(512, 1)
            self.advantage = nn.Linear(512, actions)
        else:
            self.fc1 = nn.Linear(3136, 512)
            self.fc2 = nn.Linear(512, actions)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float() / 255.0
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.relu(self.conv3(x)).flatten(1)
        if self.dueling:
            v = self.value(F.relu(self.fc1_value(x)))
            a = self.advantage(F.relu(self.fc1_advantage(x)))
            return v + a - a.mean(dim=1, keepdim=True)
        return self.fc2(F.relu(self.fc1(x)))


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--actions", type=int, default=6)
    parser.add_argument("--dueling", action="store_true")
    parser.add_argument("--double", action="store_true")
    parser.add_argument("--updates", type=int, default=60)
    parser.add_argument("--acts", type=int, default=400)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    online = NatureQNetwork(args.actions, args.dueling)
    target = NatureQNetwork(args.actions, args.dueling)
    target.load_state_dict(online.state_dict())
    optimizer = torch.optim.RMSprop(online.parameters(), lr=2.5e-4, alpha=0.95, eps=0.01, centered=True)

    g = torch.Generator().manual_seed(2)
    n = 32
    obs = torch.randint(0, 256, (n, 4, 84, 84), dtype=torch.uint8, generator=g)
    next_obs = torch.randint(0, 256, (n, 4, 84, 84), dtype=torch.uint8, generator=g)
    actions = torch.randint(0, args.actions, (n,), generator=g)
    rewards = torch.randint(-1, 2, (n,), generator=g).float()
    discounts = torch.full((n,), 0.99)

    def update() -> None:
        with torch.no_grad():
            next_q = target(next_obs)
            if args.double:
                chosen = online(next_obs).argmax(dim=1, keepdim=True)
            else:
                chosen = next_q.argmax(dim=1, keepdim=True)
            y = rewards + discounts * next_q.gather(1, chosen).squeeze(1)
        q = online(obs).gather(1, actions.unsqueeze(1)).squeeze(1)
        loss = F.smooth_l1_loss(q, y)
        optimizer.zero_grad(set_to_none=False)
        loss.backward()
        optimizer.step()

    for _ in range(5):
        update()
    times = []
    for _ in range(args.updates):
        t = time.perf_counter()
        update()
        times.append(time.perf_counter() - t)

    one = obs[:1].clone()
    with torch.no_grad():
        for _ in range(20):
            online(one).argmax()
        act_times = []
        for _ in range(args.acts):
            t = time.perf_counter()
            online(one).argmax().item()
            act_times.append(time.perf_counter() - t)

    print(json.dumps({
        "cpu": cpu_model(),
        "torch": torch.__version__,
        "threads": args.threads,
        "dueling": args.dueling,
        "double_dqn": args.double,
        "update_ms": round(statistics.median(times) * 1e3, 3),
        "update_ms_min": round(min(times) * 1e3, 3),
        "act_us": round(statistics.median(act_times) * 1e6, 1),
    }, sort_keys=True))


if __name__ == "__main__":
    main()
