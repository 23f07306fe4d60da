#!/usr/bin/env python3
"""Computes, once, the rliable reference values our Swift aggregates are tested against.

Writes Tests/RunnerTests/Compare/Fixtures/rliable_reference.json from the score matrix in
Tests/RunnerTests/Compare/Fixtures/rliable_scores.json (human-normalized scores, runs x games).
If the score file is missing it is generated from a fixed NumPy seed and written first.

Needs: pip install rliable "pandas<3"   (rliable's dependency arch 7.2 does not import with pandas 3)

Point estimates come from rliable.metrics. The bootstrap CIs come from
rliable.library.get_interval_estimates / create_performance_profile (stratified bootstrap over runs,
percentile method, 95%). rliable draws its resampling indices from NumPy's global generator, so we
cannot reproduce them bit for bit in Swift; instead we record
  * the CIs with many replications (REF_REPS), close to the exact bootstrap CI, and
  * the Monte Carlo standard deviation of each CI bound at TEST_REPS replications, measured over
    MC_SEEDS independent seeds,
and the Swift test accepts a difference of a few Monte Carlo standard deviations.
"""
import json
import os
import sys

import numpy as np
import rliable
from rliable import library as rly
from rliable import metrics

try:
    from importlib.metadata import version
except ImportError:  # pragma: no cover
    version = None

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "Tests", "RunnerTests", "Compare", "Fixtures")
SCORES = os.path.join(FIXTURES, "rliable_scores.json")
OUT = os.path.join(FIXTURES, "rliable_reference.json")

REF_REPS = 100_000
TEST_REPS = 2_000
MC_SEEDS = 30
TAUS = [round(x, 10) for x in np.linspace(0.0, 2.0, 21)]


def make_scores():
    rng = np.random.RandomState(20211213)
    runs, games = 5, 12
    game_level = rng.lognormal(mean=-0.3, sigma=1.0, size=games) - 0.1
    noise = rng.normal(0.0, 0.25, size=(runs, games)) * np.maximum(game_level, 0.2)
    scores = np.round(game_level + noise, 6)
    names = ["game%02d" % i for i in range(games)]
    return {"games": names, "scores": scores.tolist(),
            "note": "human-normalized scores, rows = runs, columns = games; made by rliable_reference.py"}


def aggregates(x):
    return np.array([metrics.aggregate_median(x), metrics.aggregate_mean(x),
                     metrics.aggregate_iqm(x), metrics.aggregate_optimality_gap(x)])


def main():
    if not os.path.exists(SCORES):
        with open(SCORES, "w") as f:
            json.dump(make_scores(), f, indent=1)
            f.write("\n")
    with open(SCORES) as f:
        data = json.load(f)
    x = np.array(data["scores"], dtype=np.float64)
    names = ["median", "mean", "iqm", "optimality_gap"]

    point = aggregates(x)
    profile_point = rly.score_distributions(x, TAUS)

    def cis(reps, seed):
        np.random.seed(seed)
        _, ci = rly.get_interval_estimates({"a": x}, aggregates, reps=reps)
        np.random.seed(seed)
        _, pci = rly.create_performance_profile({"a": x}, TAUS, reps=reps)
        return ci["a"], pci["a"]

    ref_ci, ref_pci = cis(REF_REPS, 0)
    mc = [cis(TEST_REPS, 1000 + s) for s in range(MC_SEEDS)]
    mc_agg = np.array([m[0] for m in mc])       # seeds x 2 x 4
    mc_prof = np.array([m[1] for m in mc])      # seeds x 2 x taus

    out = {
        "rliable_version": version("rliable") if version else getattr(rliable, "__version__", "unknown"),
        "numpy_version": np.__version__,
        "scipy_version": __import__("scipy").__version__,
        "arch_version": version("arch") if version else "unknown",
        "method": "percentile", "confidence": 0.95,
        "reference_reps": REF_REPS, "test_reps": TEST_REPS, "mc_seeds": MC_SEEDS,
        "aggregates": {
            n: {"point": float(point[i]),
                "ci": [float(ref_ci[0][i]), float(ref_ci[1][i])],
                "mc_sd_at_test_reps": [float(mc_agg[:, 0, i].std(ddof=1)), float(mc_agg[:, 1, i].std(ddof=1))]}
            for i, n in enumerate(names)
        },
        "profile": {
            "taus": TAUS,
            "point": [float(v) for v in profile_point],
            "ci_lower": [float(v) for v in ref_pci[0]],
            "ci_upper": [float(v) for v in ref_pci[1]],
            "mc_sd_lower_at_test_reps": [float(v) for v in mc_prof[:, 0, :].std(axis=0, ddof=1)],
            "mc_sd_upper_at_test_reps": [float(v) for v in mc_prof[:, 1, :].std(axis=0, ddof=1)],
        },
        "per_game_means": [float(v) for v in x.mean(axis=0)],
    }
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", os.path.relpath(OUT), file=sys.stderr)


if __name__ == "__main__":
    main()
