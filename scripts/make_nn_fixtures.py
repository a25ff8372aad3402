#!/usr/bin/env python3
"""Writes the PyTorch parity fixtures of tests/nn (run with Debian's /usr/bin/python3 + torch 1.13):

    /usr/bin/python3 scripts/make_nn_fixtures.py [output_dir, default tests/nn/fixtures]

For every layer: input, parameters (flat, in PyTorch's parameter order), a random upstream gradient,
the output, and the gradients of <output, upstream> with respect to the input and the parameters.
For LeNet and WRN-16-1: flat parameters, images, labels, logits, mean cross-entropy and its gradient.
Covers the conventions that differ between libraries: conv padding and stride, BatchNorm batch
variance (biased for normalization, unbiased for running statistics), max-pool ties (first maximum
wins) and cross-entropy mean reduction. Also writes parameter_counts.json for the model factory.
All float32, C order; labels int32.
"""
import json
import os
import sys
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# The architectures as nn/models.hpp builds them, with the state_dict names fds writes: the same
# modules a user loads a run's weights into.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
from load_fds_weights import ARCHITECTURES  # noqa: E402


def initialize(model, init_type, init_param):
    """The reference's initialize(): conv/linear weights by init_type, zero biases, BN gamma 1 beta 0."""
    for module in model.modules():
        name = module.__class__.__name__
        if name.startswith("Conv") or name == "Linear":
            if module.bias is not None:
                nn.init.constant_(module.bias, 0.0)
            if init_type == "xavier":
                nn.init.xavier_normal_(module.weight, gain=init_param)
            elif init_type == "kaiming":
                nn.init.kaiming_normal_(module.weight, a=init_param, mode="fan_in")
            elif init_type == "normal":
                nn.init.normal_(module.weight, 0.0, init_param)
        elif "Norm" in name:
            module.weight.data.fill_(1.0)
            module.bias.data.zero_()


# ----- fixture writing -----

def flat(tensors):
    return torch.cat([t.detach().reshape(-1) for t in tensors]).numpy().astype(np.float32)


def save(directory, name, array):
    array = np.array(array, order="C")  # (ascontiguousarray would turn 0-d into 1-d)
    if array.dtype.kind == "f":
        array = array.astype(np.float32)
    elif array.dtype.kind in "iu":
        array = array.astype(np.int32)
    np.save(os.path.join(directory, name + ".npy"), array)


def layer_fixture(directory, name, module, x, randomize_parameters=True):
    """Saves input, flat parameters, upstream gradient, output and both gradients of one layer."""
    generator = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    if randomize_parameters:
        with torch.no_grad():
            for p in module.parameters():
                p.copy_(torch.randn(p.shape, generator=generator) * 0.5 + (1.0 if p.dim() == 1 and "bn" in name else 0.0))
    x = x.clone().requires_grad_(True)
    output = module(x)
    upstream = torch.randn(output.shape, generator=generator)
    parameters = list(module.parameters())
    gradients = torch.autograd.grad((output * upstream).sum(), [x] + parameters)
    save(directory, name + "_input", x.detach().numpy())
    save(directory, name + "_parameters", flat(parameters) if parameters else np.zeros(0, np.float32))
    save(directory, name + "_upstream", upstream.numpy())
    save(directory, name + "_output", output.detach().numpy())
    save(directory, name + "_input_gradient", gradients[0].numpy())
    save(directory, name + "_parameter_gradient", flat(gradients[1:]) if parameters else np.zeros(0, np.float32))
    return module


def model_fixture(directory, name, model, images, labels):
    model.train()
    parameters = list(model.parameters())
    logits = model(images)
    loss = F.cross_entropy(logits, labels)  # mean over the batch
    gradients = torch.autograd.grad(loss, parameters)
    save(directory, name + "_parameters", flat(parameters))
    save(directory, name + "_images", images.numpy())
    save(directory, name + "_labels", labels.numpy())
    save(directory, name + "_logits", logits.detach().numpy())
    save(directory, name + "_loss", np.array(loss.item(), np.float32))
    save(directory, name + "_gradient", flat(gradients))


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "nn", "fixtures")
    os.makedirs(directory, exist_ok=True)
    torch.manual_seed(0)

    layer_fixture(directory, "linear", nn.Linear(5, 3), torch.randn(4, 5))
    layer_fixture(directory, "conv_stride2_pad1", nn.Conv2d(3, 4, 3, stride=2, padding=1), torch.randn(2, 3, 7, 6))
    layer_fixture(directory, "conv_nobias", nn.Conv2d(2, 3, (5, 5), bias=False), torch.randn(2, 2, 8, 9))
    layer_fixture(directory, "relu", nn.ReLU(), torch.randn(2, 3, 4, 4), False)
    # integers in {0, 1, 2}: most 2x2 windows hold tied maxima; the first in row-major order wins
    ties = torch.randint(0, 3, (2, 3, 6, 6)).float()
    layer_fixture(directory, "maxpool_ties", nn.MaxPool2d(2, 2), ties, False)
    layer_fixture(directory, "maxpool_k3_s2", nn.MaxPool2d(3, 2), torch.randn(2, 2, 7, 7), False)
    layer_fixture(directory, "avgpool", nn.AvgPool2d(2), torch.randn(2, 3, 6, 4), False)
    layer_fixture(directory, "global_avgpool", nn.AvgPool2d(8), torch.randn(2, 3, 8, 8), False)

    batchnorm = nn.BatchNorm2d(3)
    batchnorm.train()
    layer_fixture(directory, "bn_train", batchnorm, torch.randn(4, 3, 5, 5) * 2.0 + 1.0)
    # after one training-mode call from running stats (0, 1): mean 0.1*batch_mean,
    # var 0.9 + 0.1 * unbiased batch variance
    save(directory, "bn_train_running_mean", batchnorm.running_mean.numpy())
    save(directory, "bn_train_running_var", batchnorm.running_var.numpy())
    batchnorm.eval()
    layer_fixture(directory, "bn_eval", batchnorm, torch.randn(4, 3, 5, 5) * 2.0 + 1.0, False)

    logits = (torch.randn(6, 5) * 3.0).requires_grad_(True)
    labels = torch.tensor([0, 4, 2, 2, 1, 3])
    loss = F.cross_entropy(logits, labels)
    save(directory, "cross_entropy_logits", logits.detach().numpy())
    save(directory, "cross_entropy_labels", labels.numpy())
    save(directory, "cross_entropy_loss", np.array(loss.item(), np.float32))
    save(directory, "cross_entropy_gradient", torch.autograd.grad(loss, logits)[0].numpy())

    lenet = ARCHITECTURES["LeNet"](1, 28, 10)
    initialize(lenet, "xavier", 1.0)
    with torch.no_grad():  # non-zero biases so their gradients are exercised
        for p in lenet.parameters():
            if p.dim() == 1:
                p.copy_(torch.randn(p.shape) * 0.1)
    model_fixture(directory, "lenet", lenet, torch.randn(6, 1, 28, 28), torch.randint(0, 10, (6,)))

    wrn = ARCHITECTURES["WRN-16-1"](3, 32, 10)
    initialize(wrn, "xavier", 1.0)
    with torch.no_grad():
        for p in wrn.parameters():
            if p.dim() == 1:
                p.add_(torch.randn(p.shape) * 0.1)
    model_fixture(directory, "wrn_16_1", wrn, torch.randn(4, 3, 32, 32), torch.randint(0, 10, (4,)))

    counts = {}
    for architecture, channels, size in [("MLP", 1, 28), ("MLP", 3, 32), ("LeNet", 1, 28), ("LeNet", 3, 32),
                                         ("CNN", 3, 32), ("CNN", 1, 28), ("WRN-16-1", 3, 32)]:
        model = ARCHITECTURES[architecture](channels, size, 10)
        counts["%s_%dx%dx%d" % (architecture, channels, size, size)] = sum(p.numel() for p in model.parameters())
    with open(os.path.join(directory, "parameter_counts.json"), "w") as stream:
        json.dump(counts, stream, indent=1, sort_keys=True)
        stream.write("\n")
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
