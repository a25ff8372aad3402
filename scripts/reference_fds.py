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

With --fixture DIR it instead writes the end-to-end parity fixtures of tests/fds/reference_parity_test:
for LeNet and a BatchNorm CNN, in double, the initial weights, the batches and the hypergradients
this recursion gives (clamps and pruning on and off), which the library must reproduce.

    /usr/bin/python3 scripts/reference_fds.py --fixture tests/fds/fixtures
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


# The library's CNN (nn/models.hpp) on one channel: 3 x [conv3x3 without bias, batch norm, relu],
# max-pool 2 after the first two, global average pool, linear.
CNN_SHAPES = [(16, 1, 3, 3), (16,), (16,), (32, 16, 3, 3), (32,), (32,), (64, 32, 3, 3), (64,), (64,), (10, 64), (10,)]


def unflatten(flat, shapes=LENET_SHAPES):
    tensors, offset = [], 0
    for shape in shapes:
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


def cnn(x, flat):
    w1, g1, b1, w2, g2, b2, w3, g3, b3, w4, b4 = unflatten(flat, CNN_SHAPES)
    def block(x, w, gamma, beta):  # batch statistics, as in training
        return F.relu(F.batch_norm(F.conv2d(x, w, padding=1), None, None, gamma, beta, training=True, eps=1e-5))
    x = F.max_pool2d(block(x, w1, g1, b1), 2)
    x = F.max_pool2d(block(x, w2, g2, b2), 2)
    x = block(x, w3, g3, b3).mean(dim=(2, 3))
    return F.linear(x, w4, b4)


def initial_weights(generator, shapes=LENET_SHAPES, dtype=torch.float32):
    parts = []
    for shape in shapes:
        if len(shape) == 1:
            parts.append(torch.zeros(shape))
        else:  # xavier normal, gain 1
            fan_in = shape[1] * int(np.prod(shape[2:]))
            fan_out = shape[0] * int(np.prod(shape[2:]))
            std = (2.0 / (fan_in + fan_out)) ** 0.5
            parts.append(torch.randn(shape, generator=generator, dtype=dtype) * std)
    return torch.cat([p.flatten() for p in parts]).to(dtype)


def pruned_step(mode, ratio, t, steps, buckets):
    """The reference's to_prune (fds/pruning.hpp states the edge cases it leaves open)."""
    if ratio == 0 or steps // buckets == 0:
        return False
    width = steps // buckets
    i = t % width
    if mode == "truncate":
        return i < ratio * width
    if ratio >= 1:
        return True
    return i % int(1 / (1 - ratio)) != 0 if ratio >= 0.5 else i % int(1 / ratio) == 0


def reference_inner_loop(model, weights, batch_at, steps, counts, values, clamp_grads=3.0, clamp_hz=1.0,
                         pruning=("alternate", 0.0), exact_clamp_derivative=False):
    """`steps` inner steps with forward-mode Z tracking for every type. Returns the final weights,
    Z per type and the last training loss. clamp_grads or clamp_hz None: no clamp. The reference
    takes H D Z for the Hessian term of clamped gradients (D: 1 where the gradient was not
    clamped); exact_clamp_derivative takes D H Z, the derivative of the clamped step itself."""
    weights = weights.clone().requires_grad_()
    velocity = torch.zeros_like(weights)
    P = weights.numel()
    Z = {k: torch.zeros(P, n, dtype=weights.dtype) for k, n in counts.items()}
    C = {k: torch.zeros(P, n, dtype=weights.dtype) for k, n in counts.items()}
    for t in range(steps):
        index = {k: (n * t) // steps for k, n in counts.items()}
        lr, mom, wd = (values[k][index[k]] for k in ("lr", "mom", "wd"))
        x, y = batch_at(t)
        loss = F.cross_entropy(model(x, weights), y)
        raw = torch.autograd.grad(loss, weights, create_graph=True)[0]
        grads = raw if clamp_grads is None else raw.clamp(-clamp_grads, clamp_grads)
        kept = None if clamp_grads is None else (raw.detach().abs() <= clamp_grads).to(weights.dtype)
        theta = weights.detach()
        g = grads.detach()
        for kind in ("lr", "mom", "wd"):
            if pruned_step(pruning[0], pruning[1], t, steps, counts[kind]):
                continue
            j_active = index[kind]
            HZ = torch.zeros(P, counts[kind], dtype=weights.dtype)
            for j in range(j_active + 1):  # live columns only
                if exact_clamp_derivative and kept is not None:
                    HZ[:, j] = kept * torch.autograd.grad(raw @ Z[kind][:, j], weights, retain_graph=True)[0]
                else:
                    HZ[:, j] = torch.autograd.grad(grads @ Z[kind][:, j], weights, retain_graph=True)[0]
            if clamp_hz is not None:
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
    return weights.detach(), Z, float(loss)


def inner_loop(x, y, steps, batch_size, counts, values, seed=0):
    """The timed run: LeNet in float32 with the reference's clamps; returns seconds and the last loss."""
    generator = torch.Generator().manual_seed(seed)
    weights = initial_weights(generator)
    per_epoch = x.shape[0] // batch_size
    order = torch.randperm(x.shape[0], generator=generator)
    def batch_at(t):
        batch = order[(t % per_epoch) * batch_size:(t % per_epoch + 1) * batch_size]
        return x[batch], y[batch]
    start = time.perf_counter()
    _, _, loss = reference_inner_loop(lenet, weights, batch_at, steps, counts, values)
    return time.perf_counter() - start, loss


def write_fixtures(directory):
    """Parity fixtures in double: per model the inputs as .npy and, per case, the hypergradients
    dL_val / dh_j = grad L_val(theta_T) . Z_j of every bucket (fixture.json)."""
    torch.set_default_dtype(torch.float64)
    steps, batch = 6, 8
    counts = {"lr": 3, "mom": 2, "wd": 2}
    values = {"lr": [0.08, 0.05, 0.02], "mom": [0.5, 0.8], "wd": [1e-3, 3e-3]}
    cases = [{"name": "plain", "clamp_grads": None, "clamp_HZ": None, "pruning": ["alternate", 0.0]},
             {"name": "clamped", "clamp_grads": 0.01, "clamp_HZ": 0.05, "pruning": ["alternate", 0.0]},
             {"name": "pruned_alternate", "clamp_grads": None, "clamp_HZ": None, "pruning": ["alternate", 0.5]},
             {"name": "pruned_truncate_clamped", "clamp_grads": 0.01, "clamp_HZ": 0.05, "pruning": ["truncate", 0.5]}]
    for name, model, shapes, image in (("lenet", lenet, LENET_SHAPES, (1, 28, 28)), ("cnn", cnn, CNN_SHAPES, (1, 8, 8))):
        generator = torch.Generator().manual_seed(2021)
        weights = initial_weights(generator, shapes, torch.float64)
        # float32 inputs, as the library's batches are; the arithmetic is in double
        images = torch.randn((steps + 1, batch) + image, generator=generator, dtype=torch.float32)
        labels = torch.randint(0, 10, (steps + 1, batch), generator=generator)
        out = os.path.join(directory, "reference_fds_" + name)
        os.makedirs(out, exist_ok=True)
        np.save(os.path.join(out, "initial.npy"), weights.numpy())
        np.save(os.path.join(out, "images.npy"), images.numpy())  # [steps + 1, B, ...]: the last is validation
        np.save(os.path.join(out, "labels.npy"), labels.numpy().astype(np.int32))
        def batch_at(t):
            return images[t].double(), labels[t]
        results = []
        for case in cases:
            final, Z, _ = reference_inner_loop(model, weights, batch_at, steps, counts, values, case["clamp_grads"],
                                               case["clamp_HZ"], tuple(case["pruning"]), exact_clamp_derivative=True)
            final.requires_grad_()
            validation = F.cross_entropy(model(images[steps].double(), final), labels[steps])
            gradient = torch.autograd.grad(validation, final)[0]
            results.append({**case, "hypergradients": {k: (gradient @ Z[k]).tolist() for k in counts}})
        with open(os.path.join(out, "fixture.json"), "w") as file:
            json.dump({"model": name, "image": list(image), "steps": steps, "batch": batch, "buckets": counts,
                       "values": values, "torch_version": torch.__version__, "cases": results}, file, indent=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--steps", type=int, default=35, help="inner steps of the timed run")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--n-lrs", type=int, default=7)
    parser.add_argument("--n-moms", type=int, default=1)
    parser.add_argument("--n-wds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fixture", metavar="DIR", help="write the parity fixtures into DIR instead of timing")
    args = parser.parse_args()
    if args.fixture:
        torch.set_num_threads(args.threads)
        write_fixtures(args.fixture)
        return

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
