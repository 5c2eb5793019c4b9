#!/usr/bin/env python3
"""The peers' side of `npm run bench`: Keras 3 (on TensorFlow) and PyTorch train the benchmark's
reference CNNs with Adam on random 28x28 images, one JSON line per call; also what each peer runs on
(versions, BLAS / kernel libraries) and the machine's native single-thread sgemm rate.

  bench_peers.py probe  --framework keras|torch
  bench_peers.py train  --framework keras|torch --model 1 --batch 32 --threads 1 --warmup 3 --steps 20
  bench_peers.py sgemm  [--n 1024] [--repeats 5]

scripts/bench.ts runs every call in its own process, pinned to its cores (taskset) and with
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed from the environment. The architectures mirror
scripts/bench.ts (model 1 = lib's cnn_maxpool, 2 = cnn64, 3 = the deep CNN); PyTorch's are NCHW.
"""
import argparse
import io
import json
import os
import resource
import sys
import time
from contextlib import redirect_stdout


def emit(obj):
    print("@@ " + json.dumps(obj))
    sys.stdout.flush()


def affinity():
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def threadpools():
    """threadpoolctl's view of the BLAS / OpenMP libraries loaded in this process, if it is installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    keep = ("user_api", "internal_api", "version", "architecture", "threading_layer", "num_threads", "prefix")
    return [{k: p.get(k) for k in keep if p.get(k) is not None} for p in threadpool_info()]


def numpy_blas():
    try:
        import numpy as np
    except ImportError:
        return None
    out = {"numpy": np.__version__}
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        out["blas"] = {k: blas.get(k) for k in ("name", "version", "openblas configuration") if blas.get(k)}
    except TypeError:  # numpy < 1.26: no mode="dicts"
        buf = io.StringIO()
        with redirect_stdout(buf):
            np.show_config()
        out["blas"] = buf.getvalue().strip()[:600]
    return out


# ---------------------------------------------------------------- Keras 3 on TensorFlow

def keras_setup(threads):
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras
    return tf, keras


def keras_model(keras, k):
    L = keras.layers
    init = lambda seed: keras.initializers.GlorotUniform(seed=seed)  # noqa: E731
    if k in (1, 2):
        layers = [keras.Input((28, 28, 1)), L.Conv2D(32 if k == 1 else 64, 3, activation="relu", kernel_initializer=init(1))]
        if k == 1:
            layers.append(L.MaxPooling2D(2))
        layers += [L.Flatten(), L.Dense(128, activation="relu", kernel_initializer=init(2)),
                   L.Dense(10, activation="softmax", kernel_initializer=init(3))]
    elif k == 3:
        conv = lambda f, s: L.Conv2D(f, 3, padding="same", activation="relu", kernel_initializer=init(s))  # noqa: E731
        layers = [keras.Input((28, 28, 1)), conv(32, 10), conv(32, 11), L.MaxPooling2D(2), conv(64, 12), conv(64, 13),
                  L.MaxPooling2D(2), L.Flatten(), L.Dense(256, activation="relu", kernel_initializer=init(14)),
                  L.Dropout(0.5, seed=3), L.Dense(10, activation="softmax", kernel_initializer=init(15))]
    else:
        raise SystemExit(f"unknown model {k}")
    m = keras.Sequential(layers)
    m.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def keras_probe():
    tf, keras = keras_setup(1)
    build = tf.sysconfig.get_build_info()
    m = keras_model(keras, 1)
    jit = getattr(m, "jit_compile", None)
    return {
        "framework": "keras", "python": sys.executable, "keras": keras.__version__, "tensorflow": tf.__version__,
        "kerasBackend": keras.backend.backend(), "jitCompile": jit,
        # TensorFlow's CPU kernels: Eigen's contractions, oneDNN (TF_ENABLE_ONEDNN_OPTS, on by default on x86 Linux)
        # and XLA's own CPU code for the compiled train step (jit_compile).
        "kernels": f"Eigen + oneDNN (TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset: on')})"
                   + (", XLA-compiled train step" if jit else ""),
        "build": {k: build.get(k) for k in ("cpu_compiler", "is_cuda_build") if k in build},
        "numpy": numpy_blas(), "threadpools": threadpools(), "affinity": affinity(),
    }


def keras_train(a):
    tf, keras = keras_setup(a.threads)
    import numpy as np
    keras.utils.set_random_seed(0)
    m = keras_model(keras, a.model)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((a.batch, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, a.batch).astype(np.float32)
    # train_on_batch returns the loss as numbers, so each step has finished when it returns (as tfjs's trainOnBatch).
    for _ in range(a.warmup):
        m.train_on_batch(x, y)
    t0 = time.perf_counter()
    for _ in range(a.steps):
        m.train_on_batch(x, y)
    return time.perf_counter() - t0, {"keras": keras.__version__, "tensorflow": tf.__version__, "jitCompile": getattr(m, "jit_compile", None)}


# ---------------------------------------------------------------- PyTorch

def torch_model(nn, k):
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


def torch_probe():
    import torch
    show = torch.__config__.show()
    pick = [ln.strip(" -") for ln in show.splitlines()
            if not ln.strip(" -").startswith("Build settings")
            and any(s in ln for s in ("Intel(R)", "oneDNN", "MKL", "OpenMP", "CPU capability"))]
    pick += [m for m in show.replace(",", " ").split() if m.startswith(("BLAS_INFO=", "LAPACK_INFO="))]
    return {
        "framework": "torch", "python": sys.executable, "torch": torch.__version__,
        "kernels": "; ".join(pick)[:800], "mkldnn": torch.backends.mkldnn.is_available(),
        "cpuCapability": torch.backends.cpu.get_cpu_capability() if hasattr(torch.backends, "cpu") else None,
        "numpy": numpy_blas(), "threadpools": threadpools(), "affinity": affinity(),
    }


def torch_train(a):
    import torch
    from torch import nn
    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(0)
    net = torch_model(nn, a.model)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(a.batch, 1, 28, 28)
    y = torch.randint(0, 10, (a.batch,))

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
    return time.perf_counter() - t0, {"torch": torch.__version__}


# ---------------------------------------------------------------- native sgemm, one thread

def sgemm(n, repeats):
    """Best of `repeats` n×n float32 products on one thread: numpy (its BLAS) and torch (if importable)."""
    out = {"n": n, "affinity": affinity()}
    try:
        import numpy as np
        try:
            from threadpoolctl import threadpool_limits
            limit = threadpool_limits(1)
        except ImportError:
            limit = None
        a = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
        b = np.random.default_rng(2).standard_normal((n, n), dtype=np.float32)
        a @ b
        best = min(_timed(lambda: a @ b) for _ in range(repeats))
        out["numpy"] = {"gflops": 2 * n ** 3 / best / 1e9, "blas": numpy_blas(), "threadpools": threadpools(),
                        "threadsLimited": limit is not None}
    except ImportError:
        out["numpy"] = None
    try:
        import torch
        torch.set_num_threads(1)
        a = torch.randn(n, n)
        b = torch.randn(n, n)
        torch.mm(a, b)
        best = min(_timed(lambda: torch.mm(a, b)) for _ in range(repeats))
        out["torch"] = {"gflops": 2 * n ** 3 / best / 1e9, "version": torch.__version__}
    except ImportError:
        out["torch"] = None
    return out


def _timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["probe", "train", "sgemm"])
    ap.add_argument("--framework", choices=["keras", "torch"])
    ap.add_argument("--model", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    if a.mode == "sgemm":
        return emit({"sgemm": sgemm(a.n, a.repeats)})
    if a.framework is None:
        raise SystemExit("--framework keras|torch is required")
    if a.mode == "probe":
        return emit({"probe": keras_probe() if a.framework == "keras" else torch_probe()})
    sec, versions = (keras_train if a.framework == "keras" else torch_train)(a)
    ms = sec * 1000 / a.steps
    emit({"row": {"model": a.model, "batch": a.batch, "threads": a.threads, "warmup": a.warmup, "steps": a.steps,
                  "msPerStep": ms, "samplesPerSec": a.batch * 1000 / ms,
                  "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "affinity": affinity(), **versions}})


if __name__ == "__main__":
    main()
