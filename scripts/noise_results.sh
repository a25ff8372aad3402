#!/usr/bin/env bash
# The hypergradient-noise measurements behind the README's "Sharing and hypergradient noise":
# `fds noise` on the embedded default (Fashion-MNIST, MLP) and on the paper's Figure 2 setup
# moved to Fashion-MNIST (LeNet, cosine from lr 0.01, momentum 0.9), copied to docs/results/.
# Each run resumes where it stopped. Usage: bash scripts/noise_results.sh [mlp] [lenet]
# (THREADS=1 for both at once on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
fds=build/fds/cli/fds
threads=${THREADS:-0}
for name in "${@:-mlp lenet}"; do
  for setup in $name; do
    case $setup in
      mlp)   "$fds" noise --threads "$threads" --out runs/noise/mlp ;;
      lenet) "$fds" noise --threads "$threads" --out runs/noise/lenet --dataset FashionMNIST --architecture LeNet \
               --inner_lr_init 0.01 ;;
      *) echo "noise_results.sh: unknown setup '$setup' (mlp, lenet)" >&2; exit 2 ;;
    esac
    for file in noise.json noise.png; do cp "runs/noise/$setup/$file" "docs/results/noise_$setup.${file#noise.}"; done
  done
done
