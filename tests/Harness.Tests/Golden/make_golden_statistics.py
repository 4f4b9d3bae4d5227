#!/usr/bin/python3
"""Reference values for tests/Harness.Tests/Experiments/StatisticsGoldenTests.cs (paired comparisons in comparisons.csv),
computed with Debian's python3-scipy 1.10 and numpy on fixed data.

Run with Debian's interpreter:  /usr/bin/python3 make_golden_statistics.py   (writes statistics.json here)

- Wilcoxon signed-rank, two-sided, zero_method="wilcox", no continuity correction: scipy.stats.wilcoxon with
  mode="exact" for the case without zeros or ties (n = 20) and mode="approx" for the cases with ties or zeros, or
  more than 50 differences (the harness's choice; scipy 1.10's "auto" would take the exact path with ties too).
- Paired bootstrap of the mean: 10,000 resamples whose indices come from the SplitMix64 stream documented in
  PairedBootstrap.cs (SHA-256 of "paired_bootstrap" XOR the first output for the seed, unbiased uniform draws), the
  2.5th/97.5th percentiles by numpy.percentile (linear). scipy.stats.bootstrap (percentile method, its own RNG) is
  stored too, as a plausibility check of the interval (it differs by Monte-Carlo error only).
"""
import hashlib
import json
import os

import numpy as np
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
MASK = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def stream(seed, name):
    h = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "little")
    _, first = splitmix64(seed)
    return h ^ first


def uniform(state, bound):
    threshold = ((1 << 64) - bound) % bound
    while True:
        state, r = splitmix64(state)
        if r >= threshold:
            return state, r % bound


def bootstrap_ci(d, seed, resamples=10_000):
    d = np.asarray(d, dtype=np.float64)
    n = len(d)
    state = stream(seed, "paired_bootstrap")
    means = np.empty(resamples)
    for b in range(resamples):
        idx = []
        for _ in range(n):
            state, k = uniform(state, n)
            idx.append(k)
        means[b] = d[idx].sum() / n
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


rng = np.random.default_rng(20261130)
cases = {
    # continuous, no zeros, no ties: the exact null distribution
    "exact_n20": (np.round(rng.normal(0.05, 0.2, 20), 6), "exact"),
    # a leaderboard-like 0/1 metric: many zeros and ties, normal approximation with tie correction
    "pointing_n80": (rng.integers(0, 2, 80).astype(float) - rng.integers(0, 2, 80).astype(float), "approx"),
    # rounded scores: ties among |d|, n ≤ 50, still the normal approximation
    "ties_n30": (np.round(rng.normal(-0.1, 0.3, 30), 1), "approx"),
    # more than 50 continuous differences: normal approximation
    "approx_n120": (np.round(rng.normal(0.02, 0.1, 120), 6), "approx"),
}
out = {}
for name, (d, mode) in cases.items():
    res = stats.wilcoxon(d, zero_method="wilcox", correction=False, alternative="two-sided", mode=mode)
    low, high = bootstrap_ci(d, seed=0)
    sp = stats.bootstrap((d,), np.mean, n_resamples=10_000, method="percentile", random_state=1, vectorized=False).confidence_interval
    out[name] = {
        "differences": [float(v) for v in d],
        "wilcoxon_statistic": float(res.statistic),
        "p_value": float(res.pvalue),
        "exact": mode == "exact",
        "ci95_low": low,
        "ci95_high": high,
        "scipy_bootstrap_low": float(sp.low),
        "scipy_bootstrap_high": float(sp.high),
        "mean": float(np.mean(d)),
    }
    print(name, out[name]["wilcoxon_statistic"], out[name]["p_value"], low, high, float(sp.low), float(sp.high))

with open(os.path.join(HERE, "statistics.json"), "w") as f:
    json.dump(out, f, indent=1)
