#!/usr/bin/env python3
"""The PyTorch reference for `cargo xtask bench`: the same two workloads as
crates/core/src/workloads.rs, on the same bytes, on the same machine.

- training: 64-32-10 MLP (ReLU), Adam lr 0.01, batch 64, 20 epochs over the 1,437 training images
- PGD-40: untargeted, eps 0.1, step 0.01, over the 360 test images at once, against a trained model
- poisoning grade: what Track B's grader does for one artefact, the exercises' recipe (Adam lr 0.01,
  batch 32, 20 epochs) trained on the clean and on a backdoored training set (36 images stamped
  with a 2x2 corner and relabelled 0), then both evaluated on the clean and the triggered test set
- membership grade: what Track C's loss-threshold grader does, the overfit target (Adam lr 0.01,
  batch 32, 200 epochs over 100 training images), then its loss on 200 known and challenge records
- inversion: Track C's reference model inversion, 10 classes x 500 gradient steps from the average
  digit with an L2 pull towards it
- shadow-model grade: what Track C's shadow-model grader does for the reference attack, the target
  (Adam lr 0.01, batch 32, 100 epochs over 250 of a 500-image pool) and 8 shadows of the same
  recipe, each on a random half of the pool, then every model's logit-scaled confidence on the pool

Prints one JSON line. Needs torch (installed only for the benchmark; the lab never uses it).
"""
import gzip, json, pathlib, statistics, sys, time

import torch
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parent.parent
rows = [list(map(float, l.split(","))) for l in gzip.decompress((ROOT / "assets/digits/digits.csv.gz").read_bytes()).decode().split("\n") if l.strip()]
data = torch.tensor(rows, dtype=torch.float32)
x, y = data[:, :64] / 16.0, data[:, 64].long()
xtr, ytr, xte, yte = x[:1437], y[:1437], x[1437:], y[1437:]
torch.manual_seed(1)


def train(xtr=xtr, ytr=ytr, batch=64, epochs=20):
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
        with torch.no_grad():  # the lab also evaluates test accuracy every epoch
            (model(xte).argmax(1) == yte).float().mean()
    return model


def pgd(model):
    loss_fn = nn.CrossEntropyLoss()
    adv = xte.clone()
    for _ in range(40):
        adv.requires_grad_(True)
        loss = loss_fn(model(adv), yte)
        (grad,) = torch.autograd.grad(loss, adv)
        adv = torch.min(torch.max(adv.detach() + 0.01 * grad.sign(), xte - 0.1), xte + 0.1).clamp(0, 1)
    return (model(adv).argmax(1) == yte).float().mean().item()


CORNER = [0, 1, 8, 9]
poisons = torch.nonzero(ytr != 0).flatten()[::36][:36]
xpo, ypo = xtr.clone(), ytr.clone()
xpo[poisons.unsqueeze(1), torch.tensor(CORNER)] = 1.0
ypo[poisons] = 0
triggered = xte[yte != 0].clone()
triggered[:, CORNER] = 1.0


def poison_grade():
    figures = []
    for data, labels in [(xtr, ytr), (xpo, ypo)]:
        model = train(data, labels, batch=32)
        with torch.no_grad():
            figures.append(((model(xte).argmax(1) == yte).float().mean().item(),
                            (model(triggered).argmax(1) == 0).float().mean().item()))
    return figures


MEMBERS, OTHERS = torch.randperm(1437, generator=torch.Generator().manual_seed(1))[:200].split(100)


def membership_grade():
    model = train(xtr[MEMBERS], ytr[MEMBERS], batch=32, epochs=200)
    with torch.no_grad():
        records = torch.cat([MEMBERS, OTHERS])
        return nn.functional.cross_entropy(model(xtr[records]), ytr[records], reduction="none")


POOL = torch.randperm(1437, generator=torch.Generator().manual_seed(2))[:500]


def shadow_grade():
    halves = [POOL[:250]] + [POOL[torch.randperm(500)[:250]] for _ in range(8)]
    stats = []
    for half in halves:
        model = train(xtr[half], ytr[half], batch=32, epochs=100)
        with torch.no_grad():
            logits = model(xtr[POOL])
            own = logits.gather(1, ytr[POOL][:, None])[:, 0]
            others = logits.scatter(1, ytr[POOL][:, None], float("-inf")).logsumexp(1)
            stats.append(own - others)
    return torch.stack(stats)


def inversion(model):
    # Track C's reference inversion: the average digit as start, 500 steps of 0.05 on the sum of
    # the 10 classes' cross-entropies, L2 weight 0.05 towards the start, pixels kept in [0, 1].
    start = xtr.mean(0).repeat(10, 1)
    x, goal = start.clone(), torch.arange(10)
    for _ in range(500):
        x.requires_grad_(True)
        loss = nn.functional.cross_entropy(model(x), goal, reduction="sum")
        (g,) = torch.autograd.grad(loss, x)
        with torch.no_grad():
            x = (x - 0.05 * (g + 2 * 0.05 * (x - start))).clamp(0, 1)
    return x


def median_ms(fn, runs=7):
    fn()
    fn()  # two untimed warm-up runs, as the lab's benchmarks do
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1e3)
    return statistics.median(samples)


model = train()
print(json.dumps({
    "torch_version": torch.__version__,
    "torch_threads": torch.get_num_threads(),
    "torch_train_ms": round(median_ms(train), 1),
    "torch_pgd_ms": round(median_ms(lambda: pgd(model)), 1),
    "torch_poison_grade_ms": round(median_ms(poison_grade, runs=5), 1),
    "torch_membership_grade_ms": round(median_ms(membership_grade, runs=5), 1),
    "torch_shadow_grade_ms": round(median_ms(shadow_grade, runs=3), 1),
    "torch_inversion_ms": round(median_ms(lambda: inversion(model)), 1),
}))
