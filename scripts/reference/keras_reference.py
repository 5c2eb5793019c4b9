#!/usr/bin/env python3
"""Trains the study's reproduced models in Keras 3 on TensorFlow: the write-ups' own stack.

Run by `npm run reference` (scripts/reference.ts), which writes the job file this script reads: the
profile's configuration, the split file notebook 02 wrote, the exact test indices the notebooks
evaluate on (exported from lib/src/study-data.ts, never re-derived here), and one entry per run with
the registry's layers, optimizer, learning rate, batch size, epochs, early stopping and augmentation.

    python keras_reference.py JOB.json

Every model is trained seeded (keras.utils.set_random_seed(seed) before it is built, deterministic
ops), with the validation images as Keras's validation data (early stopping watches them where the
registry says so), then evaluated on the test images. Each finished run is written at once into
<outDir>/results/<notebook>.json, in the study's results schema with backend "keras"; the file is
replaced atomically (temporary file, then rename), so an interrupted run leaves the files as they
were. Runs of the same notebook from an earlier call with the same profile, split, test images and
configuration are kept, so `--models` can fill a file a few models at a time.

Only numpy is needed for the data and job checks (tested without TensorFlow); tensorflow and keras
are imported when training starts.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import platform
import signal
import sys
import tempfile
import time
from datetime import datetime, timezone

import numpy as np

TRAIN_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
ARCHITECTURES = (
    "dense_shallow", "cnn32", "cnn64", "cnn_maxpool", "cnn_simple", "cnn_deep", "cnn_deeper", "dense_regularized", "cnn_augmented",
)


class JobError(Exception):
    """A problem with the job, the split or the data: printed as one line, exit code 2."""


# ---------------------------------------------------------------------------------------------
# Data: the IDX files and the split artefact, checked the way lib/src/data does.


def read_checksums(data_dir: str) -> dict[str, str]:
    path = os.path.join(data_dir, "SHA256SUMS")
    sums: dict[str, str] = {}
    try:
        with open(path, encoding="utf8") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    sums[parts[1].lstrip("*")] = parts[0].lower()
    except OSError as err:
        raise JobError(f"cannot read {path}: {err.strerror}") from err
    return sums


def read_idx(data_dir: str, name: str, sums: dict[str, str]) -> np.ndarray:
    """One gzipped IDX file, its SHA-256 checked against SHA256SUMS, as a uint8 array."""
    path = os.path.join(data_dir, name)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as err:
        raise JobError(f"cannot read {path}: {err.strerror}") from err
    digest = hashlib.sha256(raw).hexdigest()
    if sums.get(name) != digest:
        raise JobError(f"{path}: SHA-256 {digest} does not match SHA256SUMS ({sums.get(name)}); restore the file (data/fashion-mnist/README.md)")
    data = gzip.decompress(raw)
    magic = int.from_bytes(data[0:4], "big")
    if magic == 2051:
        n, rows, cols = (int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(3))
        arr = np.frombuffer(data, dtype=np.uint8, offset=16)
        if arr.size != n * rows * cols:
            raise JobError(f"{path}: {arr.size} pixels, the header says {n}×{rows}×{cols}")
        return arr.reshape(n, rows, cols)
    if magic == 2049:
        n = int.from_bytes(data[4:8], "big")
        arr = np.frombuffer(data, dtype=np.uint8, offset=8)
        if arr.size != n:
            raise JobError(f"{path}: {arr.size} labels, the header says {n}")
        return arr
    raise JobError(f"{path}: not an IDX image or label file (magic {magic})")


def split_id(split: dict) -> str:
    """The split's id as lib/src/data/split.ts computes it: SHA-256 of JSON.stringify([...]), 12 hex digits."""
    payload = [split["version"], split["seed"], split["trainIndices"], split["valIndices"], split["dataSha256"]]
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf8")).hexdigest()[:12]


def load_split(path: str, expected_id: str, sums: dict[str, str]) -> dict:
    """Reads notebook 02's split artefact and checks its id and that it refers to these data files."""
    try:
        with open(path, encoding="utf8") as f:
            split = json.load(f)
    except OSError as err:
        raise JobError(f"no split at {path} ({err.strerror}): run notebooks/02-preprocessing (or npm run reference, which writes it)") from err
    except ValueError as err:
        raise JobError(f"{path} is not valid JSON ({err}); delete it and re-run notebooks/02-preprocessing") from err
    if split.get("version") != 1 or split.get("id") != split_id(split):
        raise JobError(f"{path} is damaged or from another version (id mismatch); delete it and re-run notebooks/02-preprocessing")
    if split["id"] != expected_id:
        raise JobError(f"{path} holds split {split['id']}, the job expects {expected_id}: run npm run reference again")
    for name, sha in split["dataSha256"].items():
        if sums.get(name) != sha:
            raise JobError(f"{path} was made from a different {name} than the one in the data folder; re-run notebooks/02-preprocessing")
    return split


def indices_digest(indices) -> str:
    return hashlib.sha256(json.dumps(list(indices), separators=(",", ":")).encode("utf8")).hexdigest()[:12]


def study_arrays(job: dict) -> dict:
    """Train, validation and test images in [0, 1] as float32 [N, 28, 28, 1] and int labels, as the notebooks see them."""
    data_dir = job["dataDir"]
    sums = read_checksums(data_dir)
    split = load_split(job["splitFile"], job["splitId"], sums)
    train_x, train_y = (read_idx(data_dir, n, sums) for n in TRAIN_FILES)
    test_x, test_y = (read_idx(data_dir, n, sums) for n in TEST_FILES)
    test_idx = np.asarray(job["testIndices"], dtype=np.int64)
    if test_idx.size == 0 or test_idx.min() < 0 or test_idx.max() >= len(test_y):
        raise JobError("the job's test indices are outside the test set")

    def take(x, y, idx):
        idx = np.asarray(idx, dtype=np.int64)
        return (x[idx].astype(np.float32) / np.float32(255))[..., None], y[idx].astype(np.int32)

    out = {"split": split}
    out["train"] = take(train_x, train_y, split["trainIndices"])
    out["val"] = take(train_x, train_y, split["valIndices"])
    out["test"] = take(test_x, test_y, test_idx)
    return out


# ---------------------------------------------------------------------------------------------
# Augmentation: cnn_augmented's whole-pixel shifts and horizontal flips (lib/src/augment.ts), seeded.


def augment_batch(x: np.ndarray, rng: np.random.Generator, shift: int, flip: bool) -> np.ndarray:
    """Each image moved by (dx, dy), each uniform in {-shift … shift}, and mirrored with probability 0.5
    when `flip`; pixels moved in from outside are 0 (the black background)."""
    n, h, w = x.shape[0], x.shape[1], x.shape[2]
    d = rng.integers(-shift, shift + 1, size=(n, 2)) if shift > 0 else np.zeros((n, 2), dtype=np.int64)
    mirror = rng.random(n) < 0.5
    padded = np.pad(x, ((0, 0), (shift, shift), (shift, shift), (0, 0))) if shift > 0 else x
    out = np.empty_like(x)
    for i in range(n):
        dx, dy = int(d[i, 0]), int(d[i, 1])
        img = padded[i, shift - dy: shift - dy + h, shift - dx: shift - dx + w]
        out[i] = img[:, ::-1] if flip and mirror[i] else img
    return out


# ---------------------------------------------------------------------------------------------
# Results: the study's schema (lib/src/results.ts), written atomically.


def write_atomic(path: str, text: str) -> None:
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def comparable(existing: dict, key: dict) -> bool:
    """Whether a results file left by an earlier call was made under the same conditions (its runs are kept)."""
    return existing.get("reference") == key


def merge_results(existing: dict | None, header: dict, run_entry: dict) -> dict:
    """The notebook's results file with `run_entry` added or replaced; runs of other conditions are dropped."""
    models = []
    if existing is not None and comparable(existing, header["reference"]):
        models = [m for m in existing.get("models", []) if m.get("name") != run_entry["name"]]
    models.append(run_entry)
    order = {name: i for i, name in enumerate(header["runOrder"])}
    models.sort(key=lambda m: order.get(m["name"], len(order)))
    metrics = dict(header["rows"])
    for m in models:
        for k, v in m["metrics"].items():
            metrics[f"{m['name']}.{k}"] = v
    out = {k: v for k, v in header.items() if k not in ("rows", "runOrder")}
    out["metrics"] = metrics
    out["models"] = models
    return out


def history_metrics(history: dict, at: int, epochs_run: int, train_sec: float, test: tuple[float, float]) -> dict:
    m = {"epochs": epochs_run, "train_sec": train_sec}
    for ours, theirs in (("train_loss", "loss"), ("train_acc", "accuracy"), ("val_loss", "val_loss"), ("val_acc", "val_accuracy")):
        values = history.get(theirs, [])
        if at < len(values) and np.isfinite(values[at]):
            m[ours] = float(values[at])
    m["test_loss"], m["test_acc"] = float(test[0]), float(test[1])
    return m


# ---------------------------------------------------------------------------------------------
# Models: the registry's layers (lib/src/models.ts) in Keras.


def build_model(keras, arch: str, o: dict):
    L = keras.layers
    reg = (lambda use: keras.regularizers.L2(o["l2"]) if use and o["l2"] > 0 else None)
    f = int(o["filters"])

    def conv(n, l2=False):
        return L.Conv2D(n, 3, padding="valid", activation="relu", kernel_regularizer=reg(l2))

    def dense(n, act, l2=False):
        return L.Dense(n, activation=act, kernel_regularizer=reg(l2))

    if arch == "dense_shallow":
        body = [L.Flatten(), dense(128, "relu"), dense(10, "softmax")]
    elif arch in ("cnn32", "cnn64", "cnn_augmented"):
        body = [conv(f), L.Flatten(), dense(128, "relu"), dense(10, "softmax")]
    elif arch == "cnn_maxpool":
        body = [conv(f), L.MaxPooling2D(2, 2), L.Flatten(), dense(128, "relu"), dense(10, "softmax")]
    elif arch == "cnn_simple":
        body = [conv(f), L.MaxPooling2D(2, 2), conv(2 * f), L.MaxPooling2D(2, 2), L.Flatten(), dense(128, "relu"), dense(10, "softmax")]
    elif arch == "cnn_deep":
        body = [conv(f), L.MaxPooling2D(2, 2), conv(2 * f), L.MaxPooling2D(2, 2), conv(4 * f), L.Flatten(), dense(128, "relu"), dense(10, "softmax")]
    elif arch == "cnn_deeper":
        body = [conv(f), L.MaxPooling2D(2, 2), conv(2 * f), L.MaxPooling2D(2, 2), conv(4 * f), L.Flatten(),
                dense(256, "relu"), L.Dropout(o["dropout"]), dense(128, "relu"), L.Dropout(o["dropout"]), dense(10, "softmax")]
    elif arch == "dense_regularized":
        body = [L.Flatten(), dense(256, "relu", True), L.Dropout(o["dropout"]), dense(128, "relu", True), L.Dropout(o["dropout"]), dense(10, "softmax", True)]
    else:
        raise JobError(f"unknown architecture {arch!r}; known: {', '.join(ARCHITECTURES)}")
    model = keras.Sequential([keras.Input(shape=(28, 28, 1)), *body], name=arch)
    if o["optimizer"] == "adam":
        opt = keras.optimizers.Adam(learning_rate=o["learningRate"])
    elif o["optimizer"] == "rmsprop":
        opt = keras.optimizers.RMSprop(learning_rate=o["learningRate"])
    elif o["optimizer"] == "sgd":
        opt = keras.optimizers.SGD(learning_rate=o["learningRate"], momentum=o["momentum"])
    else:
        raise JobError(f"unknown optimizer {o['optimizer']!r}")
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train_run(keras, run: dict, arrays: dict, eval_batch: int) -> dict:
    """Trains one run and returns its results entry (name, params, trainSec, metrics)."""
    keras.utils.set_random_seed(int(run["seed"]))
    model = build_model(keras, run["model"], run["options"])
    params = int(model.count_params())
    if params != run["expectedParams"]:
        raise JobError(f"{run['name']}: the Keras model has {params} parameters, the registry's {run['expectedParams']}: the layers differ")
    scale = np.float32(run.get("inputScale", 1))
    (xt, yt), (xv, yv), (xs, ys) = arrays["train"], arrays["val"], arrays["test"]
    if scale != 1:
        xt, xv, xs = xt * scale, xv * scale, xs * scale
    callbacks = [ParentWatch(keras)]
    es = run.get("earlyStopping")
    if es:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=es["monitor"].replace("val_acc", "val_accuracy"), patience=es["patience"],
                                                       restore_best_weights=es.get("restoreBest", True), mode="auto"))
    aug = run.get("augment")
    batch, epochs = int(run["batchSize"]), int(run["epochs"])
    started = time.perf_counter()
    if aug:
        data = augmented_batches(keras, xt, yt, batch, int(aug.get("shift", 0)), bool(aug.get("flip", False)), int(run["seed"]))
        fit = model.fit(data, epochs=epochs, validation_data=(xv, yv), validation_batch_size=eval_batch, callbacks=callbacks, verbose=2)
    else:
        fit = model.fit(xt, yt, batch_size=batch, epochs=epochs, shuffle=True, validation_data=(xv, yv),
                        validation_batch_size=eval_batch, callbacks=callbacks, verbose=2)
    train_sec = time.perf_counter() - started
    history = fit.history
    epochs_run = len(history.get("loss", []))
    at = epochs_run - 1
    if es and callbacks[-1].best_weights is not None:
        at = int(callbacks[-1].best_epoch)
    loss, acc = model.evaluate(xs, ys, batch_size=eval_batch, verbose=0)
    metrics = history_metrics(history, at, epochs_run, train_sec, (loss, acc))
    print(f"{run['name']}: test accuracy {acc:.4f}, test loss {loss:.4f}, {train_sec:.0f} s of training ({epochs_run} epochs)", flush=True)
    return {"name": run["name"], "params": params, "trainSec": train_sec, "metrics": metrics}


def augmented_batches(keras, x, y, batch, shift, flip, seed):
    class AugmentedBatches(keras.utils.PyDataset):
        """Shuffled, augmented batches; each batch's draws depend only on (seed, epoch, batch), not on call order."""

        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self.epoch = 0
            self.order = np.random.default_rng([seed, 0]).permutation(len(x))

        def __len__(self):
            return (len(x) + batch - 1) // batch

        def __getitem__(self, i):
            idx = self.order[i * batch:(i + 1) * batch]
            rng = np.random.default_rng([seed, self.epoch, i, 1])
            return augment_batch(x[idx], rng, shift, flip), y[idx]

        def on_epoch_end(self):
            self.epoch += 1
            self.order = np.random.default_rng([seed, self.epoch]).permutation(len(x))

    return AugmentedBatches()


def ParentWatch(keras):  # noqa: N802 (a class made on demand: keras is imported late)
    parent = os.getppid()

    class Watch(keras.callbacks.Callback):
        """Stops when the process that started this one is gone (killed without passing the signal on)."""

        def on_train_batch_end(self, batch, logs=None):
            if os.getppid() != parent:
                raise KeyboardInterrupt("the parent process is gone")

    return Watch()


# ---------------------------------------------------------------------------------------------


def versions(tf, keras) -> dict:
    return {"tensorflow": tf.__version__, "keras": keras.__version__, "python": platform.python_version(), "numpy": np.__version__}


def read_job(path: str) -> dict:
    try:
        with open(path, encoding="utf8") as f:
            job = json.load(f)
    except (OSError, ValueError) as err:
        raise JobError(f"cannot read the job file {path}: {err}") from err
    if job.get("schema") != 1:
        raise JobError(f"{path}: job schema {job.get('schema')!r}, expected 1 (written by another version of scripts/reference.ts)")
    for run in job.get("runs", []):
        if run.get("model") not in ARCHITECTURES:
            raise JobError(f"{path}: run {run.get('name')!r} asks for architecture {run.get('model')!r}; known: {', '.join(ARCHITECTURES)}")
    return job


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: keras_reference.py JOB.json (written by npm run reference)", file=sys.stderr)
        return 2

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    current = None
    try:
        job = read_job(argv[0])
        arrays = study_arrays(job)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf  # noqa: E402 (late: the checks above need only numpy)
        import keras  # noqa: E402

        tf.config.experimental.enable_op_determinism()
        backend = {
            "name": "keras", "package": "keras", "gpu": False,
            "reason": f"Keras {keras.__version__} on TensorFlow {tf.__version__} (CPU), npm run reference",
            "versions": versions(tf, keras), "threads": os.cpu_count() or 1,
        }
        started = time.time()
        test_idx = job["testIndices"]
        cfg = job["config"]
        key = {"splitId": job["splitId"], "testIndices": indices_digest(test_idx),
               "settings": {k: cfg[k] for k in ("seed", "trainSize", "valSize", "testSize", "epochs", "batchSize", "learningRate")},
               "versions": backend["versions"]}
        print(f"Keras {keras.__version__}, TensorFlow {tf.__version__}, Python {platform.python_version()}: profile {job['profile']}, split {job['splitId']}, "
              f"{len(arrays['train'][1])} training, {len(arrays['val'][1])} validation, {len(arrays['test'][1])} test images", flush=True)
        for run in job["runs"]:
            current = run["name"]
            entry = train_run(keras, run, arrays, int(job.get("evalBatchSize", 512)))
            path = os.path.join(job["outDir"], "results", f"{run['notebook']}.json")
            existing = None
            if os.path.exists(path):
                try:
                    with open(path, encoding="utf8") as f:
                        existing = json.load(f)
                except ValueError:
                    existing = None
            header = {
                "schema": 1, "notebook": run["notebook"], "profile": job["profile"],
                "createdAt": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "durationSec": time.time() - started, "backend": backend, "config": cfg, "reference": key,
                "rows": {"rows.train": len(arrays["train"][1]), "rows.val": len(arrays["val"][1]), "rows.test": len(arrays["test"][1])},
                "runOrder": job.get("runOrder", []),
            }
            write_atomic(path, json.dumps(merge_results(existing, header, entry), indent=2) + "\n")
            print(f"results written to {path}", flush=True)
            current = None
        return 0
    except JobError as err:
        print(f"keras_reference: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        where = f" during {current}: its results were not written (finished runs were)" if current else ""
        print(f"keras_reference: interrupted{where}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
