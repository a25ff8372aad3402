#!/usr/bin/env bash
# examples/optuna_fds.py on a few hundred real Fashion-MNIST images: Optuna runs 2 trials of
# `fds train --evaluate_on validation`, a finished trial re-run by hand gives the same validation
# accuracy (the same objective as fds search's trials), and `fds compare` first asks for the
# Optuna studies, then takes their numbers. Skipped (exit 77) where python3-optuna is missing.
#   optuna_fds_test.sh <fds program> <examples dir>
set -euo pipefail
fds=$(realpath "$1")
script=$(realpath "$2")/optuna_fds.py
python=
for candidate in /usr/bin/python3 python3; do
  if command -v "$candidate" > /dev/null && "$candidate" -c 'import optuna' 2> /dev/null; then
    python=$candidate
    break
  fi
done
if [[ -z "$python" ]]; then
  echo "optuna_fds_test: python3-optuna is not installed; skipped"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$python" - "$work/data" <<'PYTHON'
import gzip, os, struct, sys
source, target = "/usr/share/datasets/fashion-mnist", sys.argv[1]
os.makedirs(target)
for prefix, count in (("train", 600), ("t10k", 200)):
    for kind, header, item in (("images-idx3", 16, 784), ("labels-idx1", 8, 1)):
        content = gzip.open(f"{source}/{prefix}-{kind}-ubyte.gz").read()
        with open(f"{target}/{prefix}-{kind}-ubyte", "wb") as file:
            file.write(content[:4] + struct.pack(">I", count) + content[8:header] + content[header:header + count * item])
PYTHON
options=(--dataset FashionMNIST --datasets_path "$work/data" --architecture MLP --train_batch_size 64
         --val_batch_size 100 --val_train_fraction 0.2 --retrain_n_epochs 2 --n_inner_epochs_per_outer_steps 1 1)

"$python" "$script" --fds "$fds" --out "$work/study" --trials 2 -- "${options[@]}" > "$work/summary.out"
"$python" - "$work/study" "$fds" <<'PYTHON'
import json, subprocess, sys
study, fds = sys.argv[1], sys.argv[2]
summary = json.load(open(f"{study}/summary.json"))
assert summary["status"] == "finished" and summary["method"] == "optuna", summary
assert summary["trials"] == 2, summary
assert 0 < summary["retrain_test_acc"] <= 1, summary
trials = [json.loads(line) for line in open(f"{study}/trials.jsonl")]
assert [t["trial"] for t in trials] == [0, 1], trials
finished = [t for t in trials if not t.get("pruned")]
assert finished, "no trial finished"
trial = finished[0]
assert len(trial["schedule"]["lr"]) == 7, trial
# the objective is fds search's trial: re-running it gives the same held-out accuracy, bit for bit
rerun = subprocess.run([fds, "train", "--config", f"{study}/config.json", "--schedule",
                        f"{study}/trials/trial_{trial['trial']}.schedule.json", "--evaluate_on", "validation",
                        "--trial_id", str(trial["trial"]), "--json"], capture_output=True, text=True, check=True)
assert json.loads(rerun.stdout)["val_acc"] == trial["val_acc"], (rerun.stdout, trial)
print("optuna_fds_test: the study finished and its trials repeat exactly")
PYTHON

# fds compare asks for the studies first, then reads them beside its own methods
if "$fds" compare --methods hand,optuna --seeds 1 --out "$work/compare" "${options[@]}" 2> "$work/compare.err"; then
  echo "optuna_fds_test: fds compare ran without the Optuna study" >&2
  exit 1
fi
grep -q "optuna_fds.py --compare $work/compare --seeds 1" "$work/compare.err" \
  || { echo "optuna_fds_test: unexpected message: $(cat "$work/compare.err")" >&2; exit 1; }
"$python" "$script" --fds "$fds" --compare "$work/compare" --seeds 1 --trials 2 > /dev/null
"$fds" compare --methods hand,optuna --seeds 1 --out "$work/compare" "${options[@]}" --json > "$work/compare.json" 2> /dev/null
"$python" - "$work/compare.json" <<'PYTHON'
import json, sys
comparison = json.load(open(sys.argv[1]))
rows = {row["method"]: row for row in comparison["table"]}
assert set(rows) == {"hand", "optuna"}, rows
assert 0 < rows["optuna"]["final_test_acc_mean"] <= 1, rows["optuna"]
print("optuna_fds_test: fds compare took the Optuna study's numbers")
PYTHON
