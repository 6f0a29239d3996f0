#!/usr/bin/env python3
"""Writes the large-rows family of docs/results.md: six synthetic regression
sets of 20,000 to 45,000 rows and 5 to 32 inputs, the shapes where the
development family (167 to 15,000 rows) leaves a gap. Each is a numeric CSV
without a header, the target last, as in ../shared/datasets/uci-dev. The
sets are fixed by the seed below, so a rerun writes the same files.

Usage: docs/large-family.py DIR   (needs numpy)

Each member imitates a trait of real tabular data, not any one data set:
  l-friedman    40,000 x 10: Friedman's first function of 5 inputs, 5 inputs
                of no use, noise of sd 1
  l-teacher     30,000 x 20: a random ReLU network of 16 units (the
                method's own model class), noise a tenth of its sd
  l-factors     45,000 x 32: inputs driven by 6 hidden factors (strongly
                correlated), a nonlinear target of three of them
  l-skewed      25,000 x 8: lognormal inputs, 50 rows with an input 20 to 40
                sds out, noise that grows with the signal
  l-discrete    20,000 x 6: integer and binary inputs (an hour, a weekday,
                a flag, a category code) beside two continuous ones, a
                count target
  l-smooth      35,000 x 5: a nearly linear, smooth target with little noise
"""
import os
import sys

import numpy as np


def friedman(rng):
    x = rng.uniform(size=(40000, 10))
    y = 10 * np.sin(np.pi * x[:, 0] * x[:, 1]) + 20 * (x[:, 2] - 0.5) ** 2 + 10 * x[:, 3] + 5 * x[:, 4]
    return x, y + rng.normal(size=len(y))


def teacher(rng):
    x = rng.normal(size=(30000, 20))
    w = rng.normal(size=(21, 16))
    beta = rng.normal(size=16)
    f = np.maximum(np.c_[np.ones(len(x)), x] @ w, 0) @ beta
    return x, f + 0.1 * f.std() * rng.normal(size=len(f))


def factors(rng):
    z = rng.normal(size=(45000, 6))
    x = z @ rng.normal(size=(6, 32)) + 0.3 * rng.normal(size=(45000, 32))
    y = np.tanh(z[:, 0]) * z[:, 1] + np.abs(z[:, 2]) + 0.5 * z[:, 0] ** 2
    return x, y + 0.2 * rng.normal(size=len(y))


def skewed(rng):
    x = rng.lognormal(sigma=0.8, size=(25000, 8))
    f = np.log1p(x[:, 0] * x[:, 1]) + np.sqrt(x[:, 2]) - 0.3 * x[:, 3] + np.minimum(x[:, 4], 2)
    y = f + 0.1 * np.abs(f) * rng.normal(size=len(f))
    rows = rng.choice(len(x), 50, replace=False)
    cols = rng.integers(0, 8, size=50)
    x[rows, cols] = x[:, cols].mean(0) + rng.uniform(20, 40, size=50) * x[:, cols].std(0)
    return x, y


def discrete(rng):
    n = 20000
    hour = rng.integers(0, 24, n)
    day = rng.integers(0, 7, n)
    flag = rng.integers(0, 2, n)
    code = rng.integers(1, 5, n)
    temp = rng.uniform(-5, 35, n)
    hum = rng.uniform(0.2, 1, n)
    peak = np.exp(-((hour - 8) ** 2) / 4) + np.exp(-((hour - 18) ** 2) / 6)
    rate = np.exp(1 + 2 * peak * (1 - 0.7 * (day >= 5)) + 0.04 * temp - 0.8 * hum ** 2 - 0.3 * (code - 1) + 0.2 * flag)
    x = np.c_[hour, day, flag, code, temp, hum]
    return x, rng.poisson(rate).astype(float)


def smooth(rng):
    x = rng.uniform(-1, 1, size=(35000, 5))
    y = 3 * x[:, 0] - 2 * x[:, 1] + x[:, 2] + 0.5 * x[:, 0] * x[:, 3] + 0.3 * np.sin(3 * x[:, 4])
    return x, y + 0.05 * rng.normal(size=len(y))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: docs/large-family.py DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for i, (name, gen) in enumerate([("l-friedman", friedman), ("l-teacher", teacher), ("l-factors", factors),
                                     ("l-skewed", skewed), ("l-discrete", discrete), ("l-smooth", smooth)]):
        x, y = gen(np.random.default_rng(5000 + i))
        np.savetxt(os.path.join(out, name + ".csv"), np.c_[x, y], delimiter=",", fmt="%.6g")


if __name__ == "__main__":
    main()
