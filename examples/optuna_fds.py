#!/usr/bin/env python3
"""Optuna drives `fds train` as a black-box objective over the schedules FDS learns.

Each trial draws n_lrs learning rates and n_wds weight decays log-uniformly and n_moms momenta
uniformly from the search ranges fds resolves (search_lr_min/max, search_mom_min/max,
search_wd_min/max; a type that is not learned keeps its inner_X_init value), exactly the space of
`fds search`. A trial is `fds train --evaluate_on validation`: trained on the training part of the
validation split and scored on the held-out part, as fds search's trials are. Its per-epoch
validation accuracy goes to Optuna's pruner, which stops unpromising trials early. The best
schedule is then retrained on the whole training set (`fds train`) for its test accuracy.

The output directory has the layout of an `fds search` run (config.json, trials.jsonl,
summary.json), so `fds compare --methods ...,optuna` reads it:

  python3 examples/optuna_fds.py --out runs/optuna [--trials N] -- [fds options ...]
  python3 examples/optuna_fds.py --compare DIR [--seeds N]     # fills DIR/runs/optuna_S<seed>

Needs Debian's python3-optuna (bash scripts/setup.sh --optuna). Every random choice comes from the
seed in the resolved config (Optuna's sampler and the trials' weights and batch order).
"""

import argparse
import json
import os
import subprocess
import sys
import time

try:
    import optuna
except ImportError:
    sys.exit("optuna_fds: python3-optuna is not installed (bash scripts/setup.sh --optuna installs it)")

DEFAULT_FDS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "fds", "cli", "fds")


def resolved_config(fds, options):
    """The settings fds search would use with these options (fds search --print_config)."""
    done = subprocess.run([fds, "search", "--print_config", *options], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"optuna_fds: fds rejected the options (exit {done.returncode}): {done.stderr.strip()}")
    return json.loads(done.stdout)


def suggest_schedule(trial, settings):
    """One schedule from the space of fds/schedule_space.hpp."""
    def bucket_values(kind, count, log):
        if not settings[f"learn_{kind}"]:
            return [settings[f"inner_{kind}_init"]] * count
        low, high = settings[f"search_{kind}_min"], settings[f"search_{kind}_max"]
        return [trial.suggest_float(f"{kind}_{i}", low, high, log=log) for i in range(count)]
    return {"lr": bucket_values("lr", settings["n_lrs"], True),
            "mom": bucket_values("mom", settings["n_moms"], False),
            "wd": bucket_values("wd", settings["n_wds"], True)}


def append_line(path, record):
    with open(path, "a") as file:
        file.write(json.dumps(record) + "\n")
        file.flush()
        os.fsync(file.fileno())


def read_epochs(path, seen):
    """Epoch records appended to path since the first `seen` ones (whole lines only)."""
    if not os.path.exists(path):
        return []
    with open(path) as file:
        lines = file.read().split("\n")[:-1]
    return [json.loads(line) for line in lines[seen:]]


class Objective:
    def __init__(self, fds, config_file, settings, directory):
        self.fds, self.config_file, self.settings, self.directory = fds, config_file, settings, directory
        self.trials_file = os.path.join(directory, "trials.jsonl")
        self.started = time.monotonic()
        self.epochs_trained = 0.0

    def __call__(self, trial):
        schedule = suggest_schedule(trial, self.settings)
        stem = os.path.join(self.directory, "trials", f"trial_{trial.number}")
        with open(stem + ".schedule.json", "w") as file:
            json.dump(schedule, file)
        epoch_log = stem + ".epochs.jsonl"
        if os.path.exists(epoch_log):
            os.remove(epoch_log)
        command = [self.fds, "train", "--config", self.config_file, "--schedule", stem + ".schedule.json",
                   "--evaluate_on", "validation", "--trial_id", str(trial.number), "--epoch_log", epoch_log, "--json"]
        with open(stem + ".log", "w") as log:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
            epochs, pruned = [], False
            while True:
                finished = process.poll() is not None
                for record in read_epochs(epoch_log, len(epochs)):
                    epochs.append(record)
                    trial.report(record["val_acc"], record["epoch"])
                    if trial.should_prune():
                        pruned = True
                        break
                if pruned or finished:
                    break
                time.sleep(0.05)
            if pruned:
                process.terminate()
            output, _ = process.communicate()
        self.epochs_trained += len(epochs)
        record = {"trial": trial.number, "schedule": schedule, "epochs": float(len(epochs)),
                  "seconds": time.monotonic() - self.started}
        if pruned:
            append_line(self.trials_file, {**record, "pruned": True, "val_acc": epochs[-1]["val_acc"]})
            raise optuna.TrialPruned()
        if process.returncode != 0:
            raise RuntimeError(f"fds train failed (exit {process.returncode}); see {stem}.log")
        result = json.loads(output)
        record.update({"epochs": float(self.settings["retrain_n_epochs"]), "val_acc": result["val_acc"],
                       "test_acc": result["test_acc"], "diverged": result["diverged"]})
        append_line(self.trials_file, record)
        return result["val_acc"]


def run_study(fds, options, directory, trials):
    os.makedirs(os.path.join(directory, "trials"), exist_ok=True)
    summary_file = os.path.join(directory, "summary.json")
    if os.path.exists(summary_file):
        print(f"optuna_fds: {directory} is finished (summary.json); nothing to do", file=sys.stderr)
        return json.load(open(summary_file))
    config = resolved_config(fds, options)
    config_file = os.path.join(directory, "config.json")
    with open(config_file, "w") as file:
        json.dump(config, file, indent=2)
    settings = config["settings"]
    trials = trials or settings["search_trials"]
    trials_file = os.path.join(directory, "trials.jsonl")
    if os.path.exists(trials_file):
        os.remove(trials_file)  # an unfinished study starts again: Optuna's state is in memory only

    sampler = optuna.samplers.TPESampler(seed=config["seed"])
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    objective = Objective(fds, config_file, settings, directory)
    timeout = settings.get("search_seconds_budget") or None
    study.optimize(objective, n_trials=trials, timeout=timeout)
    search_seconds = time.monotonic() - objective.started

    best = study.best_trial
    best_schedule = os.path.join(directory, "trials", f"trial_{best.number}.schedule.json")
    retrained = subprocess.run([fds, "train", "--config", config_file, "--schedule", best_schedule, "--json"],
                               capture_output=True, text=True)
    if retrained.returncode != 0:
        sys.exit(f"optuna_fds: retraining the best schedule failed: {retrained.stderr.strip()}")
    retrain = json.loads(retrained.stdout)
    summary = {"program": "optuna_fds.py", "method": "optuna", "status": "finished", "seed": config["seed"],
               "best_trial": best.number, "best_val_acc": best.value, "best": json.load(open(best_schedule)),
               "trials": len(study.trials),
               "pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials),
               "search_seconds": search_seconds,
               "trainings": objective.epochs_trained / settings["retrain_n_epochs"],
               "retrain_test_acc": retrain["test_acc"], "retrain_seconds": retrain["seconds"]}
    with open(summary_file + ".tmp", "w") as file:
        json.dump(summary, file, indent=2)
    os.replace(summary_file + ".tmp", summary_file)
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fds", default=DEFAULT_FDS, help="the fds program [default: this checkout's build]")
    parser.add_argument("--out", help="the study's directory (the layout of an fds search run)")
    parser.add_argument("--trials", type=int, default=0, help="number of trials [default: search_trials]")
    parser.add_argument("--compare", metavar="DIR", help="an fds compare directory: study each of its seeds "
                        "with its config.json into DIR/runs/optuna_S<seed>")
    parser.add_argument("--seeds", type=int, default=3, help="with --compare: seeds from the config's seed on")
    parser.add_argument("fds_options", nargs="*", help="options for fds (after --), e.g. --dataset FashionMNIST")
    arguments = parser.parse_args()
    if not os.access(arguments.fds, os.X_OK):
        sys.exit(f"optuna_fds: no fds program at {arguments.fds} (build it with bash scripts/setup.sh, or give --fds)")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if arguments.compare:
        config_file = os.path.join(arguments.compare, "config.json")
        if not os.path.exists(config_file):
            sys.exit(f"optuna_fds: {config_file} not found: start the comparison with fds compare --out "
                     f"{arguments.compare} first")
        first_seed = json.load(open(config_file))["seed"]
        for seed in range(first_seed, first_seed + arguments.seeds):
            directory = os.path.join(arguments.compare, "runs", f"optuna_S{seed}")
            options = ["--config", config_file, "--seed", str(seed), *arguments.fds_options]
            summary = run_study(arguments.fds, options, directory, arguments.trials)
            print(f"optuna_S{seed}: best validation accuracy {100 * summary['best_val_acc']:.2f}%, "
                  f"test accuracy after retraining {100 * summary['retrain_test_acc']:.2f}%")
        return
    if not arguments.out:
        parser.error("give --out DIR (or --compare DIR)")
    summary = run_study(arguments.fds, arguments.fds_options, arguments.out, arguments.trials)
    json.dump(summary, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
