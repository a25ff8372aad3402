#!/usr/bin/env bash
# The comparisons behind the README's Results: every method on four setups, three seeds each.
# Each `fds compare` resumes where it stopped; run them one after another or side by side
# (THREADS=1 for two at once on 2 cores). Usage: bash scripts/compare_results.sh [setup ...]
# with setups mlp lenet cifar_mlp cifar_cnn (default: all). CIFAR_DIR points at the CIFAR-10
# binary files (default ../shared/data/cifar-10-subset).
set -euo pipefail
cd "$(dirname "$0")/.."
fds=build/fds/cli/fds
threads=${THREADS:-0}
cifar=${CIFAR_DIR:-../shared/data/cifar-10-subset}
methods=hand,hd,greedy,fds,random,hyperband
common=(--seeds 3 --threads "$threads")
for setup in "${@:-mlp lenet cifar_mlp cifar_cnn}"; do
  for name in $setup; do
    case $name in
      mlp)       "$fds" compare --methods "$methods,random_at_fds_time" "${common[@]}" --out runs/compare/mlp ;;
      lenet)     "$fds" compare --methods "$methods" "${common[@]}" --out runs/compare/lenet \
                   --dataset FashionMNIST --architecture LeNet --n_inner_epochs_per_outer_steps 1 2 2 2 2 2 \
                   --retrain_n_epochs 10 ;;
      cifar_mlp) "$fds" compare --methods "$methods,random_at_fds_time" "${common[@]}" --out runs/compare/cifar_mlp \
                   --dataset CIFAR10 --datasets_path "$cifar" --architecture MLP --train_batch_size 128 \
                   --n_inner_epochs_per_outer_steps 5 5 5 5 --retrain_n_epochs 5 ;;
      cifar_cnn) "$fds" compare --methods "$methods" "${common[@]}" --out runs/compare/cifar_cnn \
                   --dataset CIFAR10 --datasets_path "$cifar" --architecture CNN --train_batch_size 128 \
                   --n_inner_epochs_per_outer_steps 3 3 3 --retrain_n_epochs 3 ;;
      *) echo "compare_results.sh: unknown setup '$name' (mlp, lenet, cifar_mlp, cifar_cnn)" >&2; exit 2 ;;
    esac
  done
done
