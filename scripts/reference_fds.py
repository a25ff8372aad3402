#!/usr/bin/python3
"""The reference algorithm's inner loop (DESIGN.md section 2) in PyTorch, for timing on this machine.

FDS as the reference implements it: one Z = d theta / d h and one C = d v / d h matrix per
hyperparameter type (lr, mom, wd), each live column's Hessian-vector product taken by one
double-backward autograd call, and the hand-derived recursion

    Z <- (1 - lr wd) Z - lr H Z - lr mom C - e_lr v_{t+1} - e_mom lr v_t - e_wd lr theta_t
    C <- mom C + H Z + wd Z + e_mom v_t + e_wd theta_t

followed by the SGD step v = mom v + g + wd theta, theta -= lr v. LeNet on Fashion-MNIST, batch
256, 7 lr + 1 mom + 1 wd buckets by default. Prints one JSON object: seconds per inner step.

    /usr/bin/python3 scripts/reference_fds.py --steps 35 --threads 2
"""
import argparse
import gzip
import json
import os
import sys
import time



def best_openblas_coretype():
    """Debian's OpenBLAS 0.3.21 falls back to slow kernels on AVX-512 Xeons it does not know
    (DESIGN.md section 7); name the right kernel there. Other CPUs keep OpenBLAS's own choice."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split() for line in f if line.startswith("flags")), [])
    except OSError:
        return None
    return "SkylakeX" if "avx512f" in flags and "GenuineIntel" in open("/proc/cpuinfo").read(4096) else None


# Give the reference its best settings; must be set before torch loads OpenBLAS.
if "OPENBLAS_CORETYPE" not in os.environ and best_openblas_coretype():
    os.environ["OPENBLAS_CORETYPE"] = best_openblas_coretype()

import numpy as np
import torch
import torch.nn.functional as F


def load_fashion_mnist_train(directory, count):
    with gzip.open(os.path.join(directory, "train-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)[:count]
    with gzip.open(os.path.join(directory, "train-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)[:count]
    x = (torch.from_numpy(images.astype(np.float32)) / 255.0 - 0.1307) / 0.3081
    return x, torch.from_numpy(labels.astype(np.int64))


# LeNet of the reference (conv 6@5x5, maxpool 2, conv 16@5x5, maxpool 2, fc 120, fc 84, fc 10)
# on one flat parameter vector, as the reference's forward_with_param.
LENET_SHAPES = [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (120, 256), (120,), (84, 120), (84,), (10, 84), (10,)]


def unflatten(flat):
    tensors, offset = [], 0
    for shape in LENET_SHAPES:
        size = int(np.prod(shape))
        tensors.append(flat[offset:offset + size].view(shape))
        offset += size
    return tensors


def lenet(x, flat):
    w1, b1, w2, b2, w3, b3, w4, b4, w5, b5 = unflatten(flat)
    x = F.max_pool2d(F.relu(F.conv2d(x, w1, b1)), 2)
    x = F.max_pool2d(F.relu(F.conv2d(x, w2, b2)), 2)
    x = torch.flatten(x, 1)
    x = F.relu(F.linear(x, w3, b3))
    x = F.relu(F.linear(x, w4, b4))
    return F.linear(x, w5, b5)


def initial_weights(generator):
    parts = []
    for shape in LENET_SHAPES:
        if len(shape) == 1:
            parts.append(torch.zeros(shape))
        else:  # xavier normal, gain 1
            fan_in = shape[1] * int(np.prod(shape[2:]))
            fan_out = shape[0] * int(np.prod(shape[2:]))
            std = (2.0 / (fan_in + fan_out)) ** 0.5
            parts.append(torch.randn(shape, generator=generator) * std)
    return torch.cat([p.flatten() for p in parts])


def inner_loop(x, y, steps, batch_size, counts, values, clamp_grads=3.0, clamp_hz=1.0, seed=0):
    """Runs `steps` inner steps with forward-mode Z tracking for every type; returns the timings."""
    generator = torch.Generator().manual_seed(seed)
    weights = initial_weights(generator).requires_grad_()
    velocity = torch.zeros_like(weights)
    P = weights.numel()
    Z = {k: torch.zeros(P, n) for k, n in counts.items()}
    C = {k: torch.zeros(P, n) for k, n in counts.items()}
    per_epoch = x.shape[0] // batch_size
    order = torch.randperm(x.shape[0], generator=generator)
    start = time.perf_counter()
    for t in range(steps):
        index = {k: (n * t) // steps for k, n in counts.items()}
        lr, mom, wd = (values[k][index[k]] for k in ("lr", "mom", "wd"))
        b = t % per_epoch
        batch = order[b * batch_size:(b + 1) * batch_size]
        loss = F.cross_entropy(lenet(x[batch], weights), y[batch])
        grads = torch.autograd.grad(loss, weights, create_graph=True)[0]
        grads = grads.clamp(-clamp_grads, clamp_grads)
        theta = weights.detach()
        g = grads.detach()
        for kind in ("lr", "mom", "wd"):
            j_active = index[kind]
            HZ = torch.zeros(P, counts[kind])
            for j in range(j_active + 1):  # live columns only
                HZ[:, j] = torch.autograd.grad(grads @ Z[kind][:, j], weights, retain_graph=True)[0]
            HZ.clamp_(-clamp_hz, clamp_hz)
            new_Z = (1 - lr * wd) * Z[kind] - lr * HZ - lr * mom * C[kind]
            new_C = mom * C[kind] + HZ + wd * Z[kind]
            if kind == "lr":
                new_Z[:, j_active] -= g + wd * theta + mom * velocity
            elif kind == "mom":
                new_Z[:, j_active] -= lr * velocity
                new_C[:, j_active] += velocity
            else:
                new_Z[:, j_active] -= lr * theta
                new_C[:, j_active] += theta
            Z[kind], C[kind] = new_Z, new_C
        velocity = mom * velocity + g + wd * theta
        weights = (theta - lr * velocity).requires_grad_()
    return time.perf_counter() - start, float(loss)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--steps", type=int, default=35, help="inner steps of the timed run")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--n-lrs", type=int, default=7)
    parser.add_argument("--n-moms", type=int, default=1)
    parser.add_argument("--n-wds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    x, y = load_fashion_mnist_train(args.data, max(args.batch_size * args.steps, args.batch_size))
    counts = {"lr": args.n_lrs, "mom": args.n_moms, "wd": args.n_wds}
    values = {"lr": [0.05] * args.n_lrs, "mom": [0.5] * args.n_moms, "wd": [1e-4] * args.n_wds}
    inner_loop(x, y, 2, args.batch_size, counts, values)  # warm-up
    seconds, loss = inner_loop(x, y, args.steps, args.batch_size, counts, values)
    json.dump({"implementation": "pytorch_reference_algorithm", "model": "LeNet", "dataset": "FashionMNIST",
               "batch_size": args.batch_size, "inner_steps": args.steps,
               "buckets": counts, "threads": args.threads, "torch_version": torch.__version__,
               "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
               "seconds_per_inner_step": seconds / args.steps, "final_train_loss": loss}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
