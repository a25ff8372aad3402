"""Load the model an fds run retrained (RUN_DIR/weights/) into PyTorch.

    python3 examples/load_fds_weights.py RUN_DIR                       # load, print the architecture
    python3 examples/load_fds_weights.py RUN_DIR IMAGES.npy LOGITS.npy  # and compare its logits

fds writes every parameter and BatchNorm buffer as RUN_DIR/weights/<state_dict name>.npy and lists
them in RUN_DIR/weights/state_dict.json; the modules below carry those names
(nn/torch_state_dict.hpp): LeNet and WRN-16-1 as the reference (polo5/FDS models/), the MLP and
the CNN as one nn.Sequential named `layers`. In Python code:

    model = load_fds_weights.load("runs/FashionMNIST_LeNet_S0")   # evaluation mode
    logits = model(images)                                         # images normalized as fds does
"""
import json
import pathlib
import sys

import numpy as np
import torch
import torch.nn as nn


class Layers(nn.Module):
    def __init__(self, *modules):
        super().__init__()
        self.layers = nn.Sequential(*modules)

    def forward(self, x):
        return self.layers(x)


def mlp(channels, size, classes):
    return Layers(nn.Flatten(), nn.Linear(channels * size * size, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                  nn.Linear(256, classes))


def lenet(channels, size, classes):
    hidden = 16 * 5 * 5 if size == 32 else 16 * 4 * 4
    return Layers(nn.Conv2d(channels, 6, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                  nn.MaxPool2d(2, 2), nn.Flatten(), nn.Linear(hidden, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                  nn.Linear(84, classes))


def cnn(channels, size, classes):
    return Layers(nn.Conv2d(channels, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                  nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                  nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes))


class BasicBlock(nn.Module):
    def __init__(self, in_planes, out_planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.conv2 = nn.Conv2d(out_planes, out_planes, 3, 1, 1, bias=False)
        self.equal = in_planes == out_planes
        self.convShortcut = None if self.equal else nn.Conv2d(in_planes, out_planes, 1, stride, 0, bias=False)

    def forward(self, x):
        activated = torch.relu(self.bn1(x))
        out = self.conv2(torch.relu(self.bn2(self.conv1(activated))))
        return (x if self.equal else self.convShortcut(activated)) + out


class NetworkBlock(nn.Module):
    def __init__(self, blocks, in_planes, out_planes, stride):
        super().__init__()
        self.layer = nn.Sequential(*[BasicBlock(in_planes if i == 0 else out_planes, out_planes, stride if i == 0 else 1)
                                     for i in range(blocks)])

    def forward(self, x):
        return self.layer(x)


class WideResNet(nn.Module):
    def __init__(self, channels, classes, depth=16, widen=1):
        super().__init__()
        widths = [16, 16 * widen, 32 * widen, 64 * widen]
        blocks = (depth - 4) // 6
        self.conv1 = nn.Conv2d(channels, widths[0], 3, 1, 1, bias=False)
        self.block1 = NetworkBlock(blocks, widths[0], widths[1], 1)
        self.block2 = NetworkBlock(blocks, widths[1], widths[2], 2)
        self.block3 = NetworkBlock(blocks, widths[2], widths[3], 2)
        self.final_bn = nn.BatchNorm2d(widths[3])
        self.fc = nn.Linear(widths[3], classes)

    def forward(self, x):
        out = self.block3(self.block2(self.block1(self.conv1(x))))
        out = nn.functional.avg_pool2d(torch.relu(self.final_bn(out)), 8)
        return self.fc(out.flatten(1))


ARCHITECTURES = {"MLP": mlp, "LeNet": lenet, "CNN": cnn,
                 "WRN-16-1": lambda channels, size, classes: WideResNet(channels, classes)}


def load(run_directory):
    """The retrained model of an fds run directory, in evaluation mode."""
    weights = pathlib.Path(run_directory) / "weights"
    listing = json.loads((weights / "state_dict.json").read_text())
    if listing.get("format") != "fds-weights" or listing.get("version") != 1:
        raise ValueError(f"{weights / 'state_dict.json'}: not an fds weights listing of version 1")
    channels, size, _ = listing["input_shape"]
    model = ARCHITECTURES[listing["architecture"]](channels, size, listing["classes"])
    state = {entry["name"]: torch.from_numpy(np.load(weights / entry["file"])) for entry in listing["entries"]}
    model.load_state_dict(state, strict=True)  # every name and shape must match
    return model.eval()


def main(arguments):
    if len(arguments) not in (1, 3):
        print(__doc__, file=sys.stderr)
        return 2
    model = load(arguments[0])
    if len(arguments) == 1:
        print(model)
        return 0
    images = torch.from_numpy(np.load(arguments[1]))
    expected = np.load(arguments[2])
    with torch.no_grad():
        logits = model(images).numpy()
    difference = float(np.max(np.abs(logits - expected)))
    agreement = float(np.mean(np.argmax(logits, 1) == np.argmax(expected, 1)))
    print(json.dumps({"max_abs_difference": difference, "argmax_agreement": agreement}))
    return 0 if difference <= 1e-4 * max(1.0, float(np.max(np.abs(expected)))) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
