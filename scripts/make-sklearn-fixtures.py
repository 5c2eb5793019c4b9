#!/usr/bin/env python3
"""Writes test/fixtures/sklearn/*.json: fixed label sets and scikit-learn's metrics for them.

The TypeScript metrics (lib/src/metrics.ts) are tested against these values, so scikit-learn
is the independent oracle. Regenerate with Debian's python3-sklearn (1.2):
    /usr/bin/python3 scripts/make-sklearn-fixtures.py
"""
import json
import os
import warnings

import numpy as np
import sklearn
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, precision_recall_fscore_support

warnings.filterwarnings("ignore")  # zero-division warnings are part of what is tested
OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "sklearn")
NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def case(name, y_true, y_pred, labels=None, target_names=None):
    y_true = [int(v) for v in y_true]
    y_pred = [int(v) for v in y_pred]
    labels = labels if labels is not None else list(range(10))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    data = {
        "sklearn": sklearn.__version__,
        "name": name,
        "numClasses": len(labels),
        "classNames": target_names,
        "yTrue": y_true,
        "yPred": y_pred,
        "confusionMatrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "precision": p.tolist(),
        "recall": r.tolist(),
        "f1": f.tolist(),
        "support": s.tolist(),
        "accuracy": accuracy_score(y_true, y_pred),
        "macro": list(precision_recall_fscore_support(y_true, y_pred, labels=labels, average="macro", zero_division=0)[:3]),
        "weighted": list(precision_recall_fscore_support(y_true, y_pred, labels=labels, average="weighted", zero_division=0)[:3]),
        "report2": classification_report(y_true, y_pred, labels=labels, target_names=target_names, digits=2, zero_division=0),
        "report4": classification_report(y_true, y_pred, labels=labels, target_names=target_names, digits=4, zero_division=0),
    }
    with open(os.path.join(OUT, f"{name}.json"), "w") as fh:
        json.dump(data, fh, indent=1)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261122)
    # 1. Fashion-MNIST-like: 90% right, Shirt mostly confused with T-shirt, Pullover, Coat.
    y = rng.integers(0, 10, 2000)
    pred = y.copy()
    for i in range(len(y)):
        u = rng.random()
        if y[i] == 6 and u < 0.3:
            pred[i] = rng.choice([0, 2, 4])
        elif u < 0.08:
            pred[i] = rng.integers(0, 10)
    case("fashion_like", y, pred, target_names=NAMES)
    # 2. Some classes never predicted (precision 0/0).
    y = rng.integers(0, 10, 300)
    pred = np.where(np.isin(y, [3, 7]), 0, y)
    pred[::11] = rng.integers(0, 3, len(pred[::11]))
    case("never_predicted", y, pred, target_names=NAMES)
    # 3. A class absent from y_true (recall 0/0) but predicted.
    y = rng.integers(0, 9, 200)
    pred = y.copy()
    pred[::7] = 9
    case("absent_class", y, pred, target_names=NAMES)
    # 4. Three classes, numeric names, small.
    case("small_numeric", [0, 1, 2, 2, 1, 0, 2, 2], [0, 2, 2, 2, 1, 1, 0, 2], labels=[0, 1, 2], target_names=None)


if __name__ == "__main__":
    main()
