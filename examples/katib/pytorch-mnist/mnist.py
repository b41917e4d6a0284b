#!/usr/bin/python3
"""A stand-in for Katib's pytorch-mnist example trainer, for one host with
nothing downloaded: the same flags, a softmax classifier trained with SGD
and momentum (numpy) on the 8x8 handwritten digits that python3-sklearn
ships, and Katib's StdOut metrics: "loss=..." and "accuracy=..." after
each epoch, for the held-out digits.  sdflow's image map points
docker.io/kubeflowkatib/pytorch-mnist-cpu at it (/opt/pytorch-mnist)."""
import argparse

import numpy as np
from sklearn.datasets import load_digits

p = argparse.ArgumentParser(description="softmax regression on sklearn's digits (Katib mnist flags)")
p.add_argument("--epochs", type=int, default=1)
p.add_argument("--batch-size", type=int, default=64)
p.add_argument("--lr", type=float, default=0.01)
p.add_argument("--momentum", type=float, default=0.5)
p.add_argument("--seed", type=int, default=1)
a, _ = p.parse_known_args()  # the real trainer's other flags (--no-cuda, --log-interval...) mean nothing here

X, y = load_digits(return_X_y=True)
X = X / 16.0
rng = np.random.default_rng(a.seed)
order = rng.permutation(len(y))
X, y = X[order], y[order]
n_train = int(0.7 * len(y))
Xtr, ytr, Xte, yte = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
W = np.zeros((X.shape[1], 10))
b = np.zeros(10)
vW, vb = np.zeros_like(W), np.zeros_like(b)


def forward(x):
    z = x @ W + b
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


for epoch in range(1, a.epochs + 1):
    idx = rng.permutation(n_train)
    for start in range(0, n_train, a.batch_size):
        j = idx[start:start + a.batch_size]
        prob = forward(Xtr[j])
        prob[np.arange(len(j)), ytr[j]] -= 1
        gW, gb = Xtr[j].T @ prob / len(j), prob.mean(axis=0)
        vW = a.momentum * vW - a.lr * gW
        vb = a.momentum * vb - a.lr * gb
        W += vW
        b += vb
    prob = forward(Xte)
    loss = -np.log(prob[np.arange(len(yte)), yte] + 1e-12).mean()
    acc = (prob.argmax(axis=1) == yte).mean()
    print(f"epoch {epoch}: loss={loss:.4f} accuracy={acc:.4f}", flush=True)
