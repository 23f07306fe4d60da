#!/usr/bin/env python3
"""Check a Q-network weights file written by AtariArena against an independent numpy forward pass.

The file must load with ``load_state_dict`` (same names, same shapes) into the PyTorch module
``NatureQNetwork`` of Benchmarks/pytorch_reference.py (Mnih et al. 2015's layers named conv1,
conv2, conv3, then fc1 and fc2, or with a dueling head fc1_value, fc1_advantage, value and
advantage; its forward scales the uint8 input by 1/255):

    model = NatureQNetwork(actions, dueling)
    model.load_state_dict(safetensors.torch.load_file("weights.safetensors"))

This script needs only ``safetensors`` and ``numpy`` (pip install safetensors numpy). It reads the
file with safetensors' own reader, checks names, dtypes and shapes against that module's,
recomputes the Q-values of a uint8 observation array (.npy, [4,84,84] or [N,4,84,84]) with a
convolution written out in numpy (float64), and compares them with the expected Q-values (a JSON
list, or list of lists, as printed by ``arena weights q``) within a tolerance.

Usage: check_safetensors.py WEIGHTS --observation OBS.npy --expected Q.json [--tolerance 1e-4]
Exit status 0 when everything matches, 1 with a sentence on stderr otherwise.
"""
import argparse
import json
import sys

import numpy as np
from safetensors.numpy import load_file


def expected_shapes(actions, dueling):
    shapes = {
        "conv1.weight": (32, 4, 8, 8), "conv1.bias": (32,),
        "conv2.weight": (64, 32, 4, 4), "conv2.bias": (64,),
        "conv3.weight": (64, 64, 3, 3), "conv3.bias": (64,),
    }
    if dueling:
        shapes.update({
            "fc1_value.weight": (512, 3136), "fc1_value.bias": (512,),
            "fc1_advantage.weight": (512, 3136), "fc1_advantage.bias": (512,),
            "value.weight": (1, 512), "value.bias": (1,),
            "advantage.weight": (actions, 512), "advantage.bias": (actions,),
        })
    else:
        shapes.update({
            "fc1.weight": (512, 3136), "fc1.bias": (512,),
            "fc2.weight": (actions, 512), "fc2.bias": (actions,),
        })
    return shapes


def conv2d(x, weight, bias, stride):
    """Valid convolution, NCHW input, OIHW weight, by explicit patch extraction."""
    n, c, h, w = x.shape
    o, _, k, _ = weight.shape
    oh, ow = (h - k) // stride + 1, (w - k) // stride + 1
    out = np.empty((n, o, oh, ow), dtype=np.float64)
    wmat = weight.reshape(o, c * k * k)
    for y in range(oh):
        for xx in range(ow):
            patch = x[:, :, y * stride:y * stride + k, xx * stride:xx * stride + k].reshape(n, c * k * k)
            out[:, :, y, xx] = patch @ wmat.T + bias
    return out


def q_values(t, obs, dueling):
    relu = lambda z: np.maximum(z, 0.0)
    x = obs.astype(np.float64) / 255.0
    x = relu(conv2d(x, t["conv1.weight"], t["conv1.bias"], 4))
    x = relu(conv2d(x, t["conv2.weight"], t["conv2.bias"], 2))
    x = relu(conv2d(x, t["conv3.weight"], t["conv3.bias"], 1))
    x = x.reshape(x.shape[0], -1)  # torch.flatten(x, 1): c * 49 + y * 7 + x
    linear = lambda z, name: z @ t[name + ".weight"].T + t[name + ".bias"]
    if dueling:
        v = linear(relu(linear(x, "fc1_value")), "value")
        a = linear(relu(linear(x, "fc1_advantage")), "advantage")
        return v + a - a.mean(axis=1, keepdims=True)
    return linear(relu(linear(x, "fc1")), "fc2")


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights")
    parser.add_argument("--observation", required=True)
    parser.add_argument("--expected", required=True)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()

    floats = (np.float32, np.float16)  # F16: trained agents shipped at half size
    tensors = {k: v.astype(np.float64) if v.dtype in floats else v for k, v in load_file(args.weights).items()}
    dueling = "advantage.weight" in tensors
    head = "advantage.weight" if dueling else "fc2.weight"
    if head not in tensors:
        fail(f"{args.weights} has neither fc2.weight nor advantage.weight.")
    actions = tensors[head].shape[0]
    shapes = expected_shapes(actions, dueling)
    if set(tensors) != set(shapes):
        fail(f"{args.weights} has tensors {sorted(tensors)}, expected {sorted(shapes)}.")
    raw = load_file(args.weights)
    for name, shape in shapes.items():
        if raw[name].dtype not in floats:
            fail(f"{name} has dtype {raw[name].dtype}, expected float32 (or float16).")
        if tuple(raw[name].shape) != shape:
            fail(f"{name} has shape {tuple(raw[name].shape)}, expected {shape}.")

    obs = np.load(args.observation)
    if obs.dtype != np.uint8:
        fail(f"{args.observation} has dtype {obs.dtype}, expected uint8.")
    single = obs.ndim == 3
    if single:
        obs = obs[None]
    if obs.shape[1:] != (4, 84, 84):
        fail(f"{args.observation} has shape {obs.shape}, expected [N, 4, 84, 84].")
    q = q_values(tensors, obs, dueling)
    with open(args.expected) as f:
        expected = np.asarray(json.load(f), dtype=np.float64)
    if single:
        expected = expected[None]
    if expected.shape != q.shape:
        fail(f"expected Q-values have shape {expected.shape}, numpy computed {q.shape}.")
    diff = float(np.max(np.abs(q - expected)))
    if diff > args.tolerance:
        fail(f"Q-values differ by up to {diff:.3g} (tolerance {args.tolerance:g}): numpy {q.tolist()} vs expected {expected.tolist()}.")
    print(f"ok: {q.shape[0]} observation(s), {actions} actions, dueling {dueling}, max |diff| {diff:.3g}, "
          f"max |q| {float(np.max(np.abs(q))):.3g}")


if __name__ == "__main__":
    main()
