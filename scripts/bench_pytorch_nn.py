#!/usr/bin/env python3
"""PyTorch side of the nn benchmarks and of the Fashion-MNIST accuracy check.

    /usr/bin/python3 scripts/bench_pytorch_nn.py steps [--repeats 5] [--threads 2]
        JSON timings, batch 256: a plain training step (forward, backward, SGD) of MLP and LeNet on
        28x28x1 and of the CNN and WRN-16-1 on 32x32x3, and the reference's way of getting K
        Hessian-times-tangent products (one gradient with create_graph plus one double-backward
        Hessian-vector product per tangent) for K in {1, 4, 9}.
    /usr/bin/python3 scripts/bench_pytorch_nn.py fashion-mnist [--seed 0]
        One epoch of plain SGD on LeNet (lr 0.1, momentum 0.9, batch 256, xavier init), prints
        the test accuracy; the C++ test nn/training_test states the figure it compares with.

Architectures mirror nn/models.hpp (and the reference polo5/FDS models/lenet.py, wresnet.py).
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as tnn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_nn_fixtures import build_model, initialize  # noqa: E402


def flat_parameters(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def functional_loss(model, flat, images, labels):
    """Loss of model with its parameters replaced by views of one flat vector (as the reference)."""
    shapes = [p.shape for p in model.parameters()]
    names = [n for n, _ in model.named_parameters()]
    tensors, offset = {}, 0
    for name, shape in zip(names, shapes):
        count = int(np.prod(shape))
        tensors[name] = flat[offset:offset + count].view(shape)
        offset += count
    output = torch.func.functional_call(model, tensors, (images,)) if hasattr(torch, "func") else \
        torch.nn.utils.stateless.functional_call(model, tensors, (images,))
    return F.cross_entropy(output, labels)


def time_it(function, repeats, budget_seconds=2.0):
    """Best of at least `repeats` runs, and of more while they fit in the budget: on a shared
    machine the minimum of a few runs of a 15 ms step is often a slowed one."""
    function()  # warm-up
    best = float("inf")
    runs, spent = 0, 0.0
    while runs < repeats or spent < budget_seconds:
        start = time.perf_counter()
        function()
        elapsed = time.perf_counter() - start
        best = min(best, elapsed)
        runs, spent = runs + 1, spent + elapsed
    return best


def bench_steps(arguments):
    torch.set_num_threads(arguments.threads)
    torch.manual_seed(0)
    results = []
    setups = [("MLP", 1, 28), ("LeNet", 1, 28), ("CNN", 3, 32), ("WRN-16-1", 3, 32)]
    for architecture, channels, size in setups:
        if architecture not in arguments.models.split(","):
            continue
        model = build_model(architecture, channels, size, 10)
        initialize(model, "xavier", 1.0)
        model.train()
        images = torch.randn(arguments.batch, channels, size, size)
        labels = torch.randint(0, 10, (arguments.batch,))
        flat = flat_parameters(model).requires_grad_(True)
        velocity = torch.zeros_like(flat)

        def plain_step():
            nonlocal velocity
            loss = functional_loss(model, flat, images, labels)
            gradient, = torch.autograd.grad(loss, flat)
            with torch.no_grad():
                velocity = 0.9 * velocity + gradient + 5e-4 * flat
                flat.sub_(0.1 * velocity)

        entry = {"model": architecture, "batch": arguments.batch, "threads": arguments.threads,
                 "parameters": int(flat.numel()),
                 "plain_step_seconds": time_it(plain_step, arguments.repeats)}
        for tangent_count in (1, 4, 9):
            directions = torch.randn(tangent_count, flat.numel())

            def reference_way():
                loss = functional_loss(model, flat, images, labels)
                gradient, = torch.autograd.grad(loss, flat, create_graph=True)
                for k in range(tangent_count):
                    torch.autograd.grad(gradient, flat, grad_outputs=directions[k], retain_graph=True)

            entry["reference_hvp_seconds_k%d" % tangent_count] = time_it(reference_way, arguments.repeats)
        results.append(entry)
        print(json.dumps(entry), file=sys.stderr)
    print(json.dumps({"benchmark": "pytorch_nn", "torch": torch.__version__, "results": results}, indent=1))


def read_idx(path):
    with gzip.open(path, "rb") as stream:
        data = stream.read()
    dimensions = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dimensions)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dimensions).reshape(shape)


def fashion_mnist_accuracy(arguments):
    torch.set_num_threads(arguments.threads)
    torch.manual_seed(arguments.seed)
    root = "/usr/share/datasets/fashion-mnist"
    def load(prefix):
        images = read_idx(os.path.join(root, prefix + "-images-idx3-ubyte.gz")).astype(np.float32) / 255.0
        labels = read_idx(os.path.join(root, prefix + "-labels-idx1-ubyte.gz")).astype(np.int64)
        images = (images - 0.1307) / 0.3081
        return torch.from_numpy(images[:, None]), torch.from_numpy(labels)
    train_images, train_labels = load("train")
    test_images, test_labels = load("t10k")
    model = build_model("LeNet", 1, 28, 10)
    initialize(model, "xavier", 1.0)
    flat = flat_parameters(model).requires_grad_(True)
    velocity = torch.zeros_like(flat)
    order = torch.randperm(train_images.shape[0])
    for start in range(0, train_images.shape[0], 256):
        index = order[start:start + 256]
        loss = functional_loss(model, flat, train_images[index], train_labels[index])
        gradient, = torch.autograd.grad(loss, flat)
        with torch.no_grad():
            velocity = 0.9 * velocity + gradient
            flat.sub_(0.1 * velocity)
    with torch.no_grad():
        shapes = [p.shape for p in model.parameters()]
        offset = 0
        for p in model.parameters():
            p.copy_(flat[offset:offset + p.numel()].view(p.shape))
            offset += p.numel()
        predictions = model(test_images).argmax(1)
        accuracy = float((predictions == test_labels).float().mean())
    print(json.dumps({"setup": "LeNet Fashion-MNIST 1 epoch lr 0.1 mom 0.9 batch 256 xavier",
                      "seed": arguments.seed, "test_accuracy": accuracy}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["steps", "fashion-mnist"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", default="MLP,LeNet,CNN,WRN-16-1")
    arguments = parser.parse_args()
    if arguments.what == "steps":
        bench_steps(arguments)
    else:
        fashion_mnist_accuracy(arguments)


if __name__ == "__main__":
    main()
