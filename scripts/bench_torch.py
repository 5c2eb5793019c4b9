#!/usr/bin/env python3
"""PyTorch side of `npm run bench`: trains the benchmark's reference CNNs with Adam on random
28x28 images for a fixed number of batches and prints one JSON line per (model, batch size).

Usage: bench_torch.py --threads N --batch-sizes 32,128 --warmup 3 --steps 20 --models 1,2,3
The architectures mirror scripts/bench.ts (Keras layouts: NHWC there, NCHW here).
"""
import argparse
import json
import resource
import sys
import time

import torch
from torch import nn


def model(k):
    if k == 1:  # conv 3x3x32 -> maxpool 2 -> dense 128 -> dense 10
        return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(13 * 13 * 32, 128), nn.ReLU(), nn.Linear(128, 10))
    if k == 2:  # conv 3x3x64 -> dense 128 -> dense 10
        return nn.Sequential(nn.Conv2d(1, 64, 3), nn.ReLU(), nn.Flatten(),
                             nn.Linear(26 * 26 * 64, 128), nn.ReLU(), nn.Linear(128, 10))
    if k == 3:  # conv32-conv32-pool-conv64-conv64-pool-dense256-dropout-dense10, 3x3 "same"
        return nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(7 * 7 * 64, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10))
    raise SystemExit(f"unknown model {k}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-sizes", default="32,128")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--models", default="1,2,3")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    for k in [int(m) for m in a.models.split(",")]:
        for bs in [int(b) for b in a.batch_sizes.split(",")]:
            net = model(k)
            opt = torch.optim.Adam(net.parameters(), lr=1e-3)
            loss_fn = nn.CrossEntropyLoss()
            x = torch.randn(bs, 1, 28, 28)
            y = torch.randint(0, 10, (bs,))

            def step():
                opt.zero_grad()
                loss = loss_fn(net(x), y)
                loss.backward()
                opt.step()

            for _ in range(a.warmup):
                step()
            t0 = time.perf_counter()
            for _ in range(a.steps):
                step()
            ms = (time.perf_counter() - t0) * 1000 / a.steps
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(json.dumps({"model": k, "batch": bs, "threads": a.threads, "msPerStep": ms,
                              "samplesPerSec": bs * 1000 / ms, "peakRssMb": rss, "torch": torch.__version__}))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
