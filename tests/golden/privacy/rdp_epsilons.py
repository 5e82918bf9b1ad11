#!/usr/bin/env python3
"""Regenerate rdp_epsilons.json: ε of DP-SGD from Google's `dp-accounting` package, the independent
implementation the lab's Rényi-DP accountant (`crates/core/src/accountant.rs`) is checked against.

Each row is a Poisson-sampled Gaussian mechanism (sampling rate q = batch / n, noise multiplier σ)
composed over `steps` = ceil(epochs · n / batch) steps, and the ε the package's `RdpAccountant`
reports at `delta`, with the order that gave it. The lab never depends on the package; only this
script does.

Usage (needs pip and access to the Python package registry):
    python3 -m venv /tmp/dp && /tmp/dp/bin/pip install dp-accounting==0.6.0
    /tmp/dp/bin/python tests/golden/privacy/rdp_epsilons.py
"""
import importlib.metadata, json, math, pathlib
from absl import logging
from dp_accounting import dp_event, rdp

# The package warns for every order whose series does not converge (it then leaves that order
# out, as the lab does); the warnings are not news.
logging.set_verbosity(logging.ERROR)

VERSION = importlib.metadata.version("dp-accounting")
assert VERSION == "0.6.0", VERSION

CASES = [
    # (n, batch, sigma, epochs, delta): the two published settings first.
    (60000, 256, 1.1, 60, 1e-5),
    (1437, 64, 1.0, 20, 1e-5),
]
for n in (1437, 500):
    for batch in (32, 64, 128):
        for sigma in (0.6, 0.8, 1.0, 1.5, 3.0):
            for epochs in (1, 10, 40):
                CASES.append((n, batch, sigma, epochs, 1e-5))
# A looser delta, a single step, sampling rate 1 (the whole data set every step), huge noise.
CASES += [
    (1437, 64, 1.0, 20, 1e-3),
    (200, 20, 1.2, 0.1, 1e-5),
    (1437, 1437, 1.0, 1, 1e-5),
    (1437, 1437, 5.0, 30, 1e-5),
    (1437, 64, 100.0, 20, 1e-5),
    (60000, 256, 0.5, 1, 1e-5),
]

rows = []
for n, batch, sigma, epochs, delta in CASES:
    q = batch / n
    steps = int(math.ceil(epochs * n / batch))
    accountant = rdp.RdpAccountant()
    accountant.compose(
        dp_event.SelfComposedDpEvent(
            dp_event.PoissonSampledDpEvent(q, dp_event.GaussianDpEvent(sigma)), steps
        )
    )
    epsilon, order = accountant.get_epsilon_and_optimal_order(delta)
    rows.append({"n": n, "batch": batch, "sigma": sigma, "epochs": epochs, "steps": steps,
                 "q": q, "delta": delta, "epsilon": epsilon, "order": order})

out = pathlib.Path(__file__).with_suffix(".json")
out.write_text(json.dumps({
    "comment": "ε of the Poisson-sampled Gaussian mechanism from dp-accounting 0.6.0's RdpAccountant "
               "(default orders, the conversion of Canonne, Kamath and Steinke 2020, Prop. 12); "
               "made by rdp_epsilons.py",
    "rows": rows,
}, indent=1) + "\n")
print("wrote", out, len(rows), "rows")
