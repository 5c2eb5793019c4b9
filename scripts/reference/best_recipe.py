#!/usr/bin/env python3
"""A Keras stand-in of notebook 10's final training of `best`, for trying recipe and layer changes fast.

docs/best-model.md ("The recipe and the layers, measured on Keras") was measured with it. It trains the
layers of `best` as Keras builds them (3×3 convolutions without bias, batch norm with Keras's defaults,
which the library's FastBatchNorm follows, ReLU, 2×2 max pooling; dropout, a 128-unit dense layer, dropout,
10 outputs) the way notebook 10 trains its winner: random left-right flips, Adam with a per-epoch cosine
decay to `--min-factor` of the rate, on all 60,000 training images, and prints the test accuracy (single
pass, the 10,000 test images) after every epoch and a final JSON line with the configuration, the result
and the versions that produced it.

    python scripts/reference/best_recipe.py [--epochs 21] [--layers best|deeper3|deeper23|nopool3]
        [--dropout 0.25] [--ema 0.999] [--erase 0.5] [--threads 1] [--seed 1] [--data data/fashion-mnist]

It needs TensorFlow 2.21 and Keras 3 (`npm run bench -- --setup-peers` makes a venv with both) and says so
when they are missing. It is a stand-in, not the study: its numbers differ from the notebook's by the
run-to-run spread (±0.1–0.2 points), so compare changes with each other, not with the baseline.
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import platform
import sys
import time

LAYERS = {
    "best": "the registry's best: [conv → BN → relu → pool] × 3 (32, 64, 128 filters)",
    "nopool3": "best without the third pool (7×7×128 into the dense layer)",
    "deeper3": "best with a second 3×3 convolution in the third block",
    "deeper23": "best with a second 3×3 convolution in the second and third blocks",
}


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Keras stand-in of notebook 10's final training of `best`.")
    p.add_argument("--epochs", type=int, default=21)
    p.add_argument("--layers", choices=sorted(LAYERS), default="best")
    p.add_argument("--filters", type=int, default=32, help="filters of the first block (doubled per block)")
    p.add_argument("--dropout", type=float, default=0.25)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--min-factor", type=float, default=0.01, help="the cosine decay's last rate, as a fraction of the first")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--ema", type=float, default=0.0, help="also evaluate an exponential moving average of the weights with this decay")
    p.add_argument("--erase", type=float, default=0.0, help="random erasing: probability per image (2–25%% of the image, aspect 0.3–3.3)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "fashion-mnist"))
    a = p.parse_args(argv)
    for name in ("epochs", "filters", "batch", "threads"):
        if getattr(a, name) < 1:
            p.error(f"--{name} must be a positive integer, got {getattr(a, name)}")
    if not 0 <= a.dropout < 1 or not 0 <= a.erase <= 1 or not 0 <= a.ema < 1 or not 0 < a.min_factor <= 1:
        p.error("--dropout must be in [0, 1), --erase in [0, 1], --ema in [0, 1), --min-factor in (0, 1]")
    return a


def read_idx(path: str, offset: int):
    import numpy as np

    try:
        with gzip.open(path) as f:
            return np.frombuffer(f.read(), np.uint8, offset=offset)
    except FileNotFoundError:
        sys.exit(f"best_recipe: {path} not found: pass --data with the folder of the Fashion-MNIST IDX files")


def main(argv: list[str]) -> int:
    a = parse(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(a.threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    missing = "it needs numpy, TensorFlow 2.21 and Keras 3 (npm run bench -- --setup-peers makes a venv with them)"
    try:
        import numpy as np
    except ImportError:
        sys.exit(f"best_recipe: numpy is not installed: {missing}")
    # The data first: a wrong folder is reported before TensorFlow takes seconds to load.
    x_train = read_idx(os.path.join(a.data, "train-images-idx3-ubyte.gz"), 16).reshape(-1, 28, 28, 1).astype(np.float32) / 255
    y_train = read_idx(os.path.join(a.data, "train-labels-idx1-ubyte.gz"), 8).astype(np.int64)
    x_test = read_idx(os.path.join(a.data, "t10k-images-idx3-ubyte.gz"), 16).reshape(-1, 28, 28, 1).astype(np.float32) / 255
    y_test = read_idx(os.path.join(a.data, "t10k-labels-idx1-ubyte.gz"), 8).astype(np.int64)
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        sys.exit(f"best_recipe: images and labels in {a.data} do not match in number: re-copy the Fashion-MNIST IDX files")
    try:
        import keras
        import tensorflow as tf
        from keras import layers
    except ImportError as e:
        sys.exit(f"best_recipe: {e.name} is not installed: {missing}")
    tf.config.threading.set_intra_op_parallelism_threads(a.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(a.seed)
    rng = np.random.default_rng(a.seed)

    def conv(x, filters):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        return layers.ReLU()(layers.BatchNormalization(momentum=0.99, epsilon=1e-3)(x))

    f = a.filters
    inputs = keras.Input((28, 28, 1))
    x = layers.MaxPooling2D()(conv(inputs, f))
    x = conv(x, 2 * f)
    if a.layers == "deeper23":
        x = conv(x, 2 * f)
    x = layers.MaxPooling2D()(x)
    x = conv(x, 4 * f)
    if a.layers in ("deeper3", "deeper23"):
        x = conv(x, 4 * f)
    if a.layers != "nopool3":
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(layers.Dropout(a.dropout)(x))
    x = layers.Dropout(a.dropout)(layers.Dense(128, activation="relu")(x))
    model = keras.Model(inputs, layers.Dense(10)(x))
    macs = sum(
        (l.output.shape[1] * l.output.shape[2] * l.output.shape[3] * math.prod(l.kernel.shape[:3])) if isinstance(l, layers.Conv2D)
        else math.prod(l.kernel.shape) if isinstance(l, layers.Dense) else 0
        for l in model.layers
    )
    print(f"{a.layers}: {LAYERS[a.layers]}; {macs / 1e6:.2f} M multiply-adds per image forward, {model.count_params():,} parameters", flush=True)
    model.compile(keras.optimizers.Adam(a.learning_rate), keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])

    def rate(epoch: int) -> float:
        t = epoch / max(1, a.epochs - 1)
        return a.learning_rate * (a.min_factor + (1 - a.min_factor) * 0.5 * (1 + math.cos(math.pi * t)))

    class Averaged(keras.callbacks.Callback):
        """Keeps an exponential moving average of the weights, updated after every batch."""

        def __init__(self) -> None:
            super().__init__()
            self.shadow = None

        def on_train_batch_end(self, batch, logs=None):
            if self.shadow is None:
                self.shadow = [tf.Variable(w.value) for w in self.model.weights]
            else:
                for s, w in zip(self.shadow, self.model.weights):
                    s.assign(a.ema * s + (1 - a.ema) * w.value)

    averaged = Averaged() if a.ema > 0 else None

    def augment(x):
        x = x.copy()
        flip = rng.random(len(x)) < 0.5
        x[flip] = x[flip, :, ::-1]
        for i in np.nonzero(rng.random(len(x)) < a.erase)[0] if a.erase > 0 else []:
            area = rng.uniform(0.02, 0.25) * 28 * 28
            aspect = math.exp(rng.uniform(math.log(0.3), math.log(3.3)))
            h, w = int(round(math.sqrt(area * aspect))), int(round(math.sqrt(area / aspect)))
            if h < 28 and w < 28:
                top, left = rng.integers(0, 28 - h + 1), rng.integers(0, 28 - w + 1)
                x[i, top:top + h, left:left + w] = 0
        return x

    def test_accuracy() -> float:
        return float(np.mean(np.argmax(model.predict(x_test, batch_size=1000, verbose=0), 1) == y_test))

    started = time.time()
    try:
        for epoch in range(a.epochs):
            model.optimizer.learning_rate.assign(rate(epoch))
            h = model.fit(augment(x_train), y_train, batch_size=a.batch, epochs=1, shuffle=True, verbose=0, callbacks=[averaged] if averaged else [])
            print(f"epoch {epoch + 1}/{a.epochs}: loss {h.history['loss'][0]:.4f}, train accuracy {h.history['accuracy'][0]:.4f}, "
                  f"test accuracy {test_accuracy():.4f} ({time.time() - started:.0f} s)", flush=True)
    except KeyboardInterrupt:
        print(f"interrupted after {time.time() - started:.0f} s: no result", file=sys.stderr)
        return 130
    result = {"test_acc": test_accuracy()}
    if averaged:
        for s, w in zip(averaged.shadow, model.weights):
            w.assign(s)
        result["test_acc_averaged"] = test_accuracy()
    config = {k: v for k, v in vars(a).items() if k != "data"}
    versions = {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__, "machine": platform.machine()}
    print(json.dumps({"config": config, "result": result, "train_sec": round(time.time() - started, 1), "versions": versions}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
