#!/usr/bin/env python3
"""`mpirun -np N fds hypertrain|search|train|compare` against the program run without mpirun, on real
Fashion-MNIST (its first 2,000 training and 1,000 test images): the same hypergradients (to float
reordering), the same history and trials, one run directory; a resumed run with another N; and a
rank killed with SIGKILL, which must end the job with an error and leave a resumable directory.

Environment: FDS_PROGRAM (the built fds), MPIRUN (Open MPI's mpirun). Prints one JSON line of
the measured differences."""

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PROGRAM = os.environ["FDS_PROGRAM"]
MPIRUN = os.environ["MPIRUN"]
SOURCE = "/usr/share/datasets/fashion-mnist"
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAILED: " + message, file=sys.stderr)


def write_subset(directory, train_count, test_count):
    """The first images of Debian's Fashion-MNIST as uncompressed IDX files."""
    os.makedirs(directory)
    for prefix, count in (("train", train_count), ("t10k", test_count)):
        with gzip.open(os.path.join(SOURCE, prefix + "-images-idx3-ubyte.gz")) as source:
            header = source.read(16)
            pixels = source.read(count * 28 * 28)
        with open(os.path.join(directory, prefix + "-images-idx3-ubyte"), "wb") as target:
            target.write(header[:4] + count.to_bytes(4, "big") + header[8:] + pixels)
        with gzip.open(os.path.join(SOURCE, prefix + "-labels-idx1-ubyte.gz")) as source:
            header = source.read(8)
            labels = source.read(count)
        with open(os.path.join(directory, prefix + "-labels-idx1-ubyte"), "wb") as target:
            target.write(header[:4] + count.to_bytes(4, "big") + labels)


def command(ranks, arguments):
    if ranks == 0:
        return [PROGRAM] + arguments
    return [MPIRUN, "-np", str(ranks), PROGRAM] + arguments


def run(ranks, arguments, log):
    with open(log, "w") as output:
        code = subprocess.call(command(ranks, arguments), stdout=output, stderr=subprocess.STDOUT)
    if code != 0:
        print(open(log).read(), file=sys.stderr)
    return code


def history(directory):
    with open(os.path.join(directory, "history.jsonl")) as lines:
        return [json.loads(line) for line in lines]


def relative_difference(a, b):
    scale = max(abs(x) for x in b) or 1.0
    return max(abs(x - y) for x, y in zip(a, b)) / scale


def files_of(directory):
    return sorted(os.path.relpath(os.path.join(root, name), directory)
                  for root, _, names in os.walk(directory) for name in names)


def main():
    scratch = tempfile.mkdtemp(prefix="fds_mpi_program_test_")
    os.chdir(scratch)  # the ranks' working directory: nothing may appear here but the runs
    data = os.path.join(scratch, "data")
    write_subset(data, 2000, 1000)
    base = ["--dataset", "FashionMNIST", "--datasets_path", data, "--architecture", "MLP",
            "--train_batch_size", "128", "--n_lrs", "3", "--threads", "1"]
    hypertrain = ["hypertrain"] + base + ["--n_inner_epochs_per_outer_steps", "1", "1",
                                          "--retrain_n_epochs", "1"]
    measured = {}

    # the same run alone and on 1, 2 and 3 ranks
    check(run(0, hypertrain + ["--out", "alone"], "alone.log") == 0, "fds hypertrain without mpirun failed")
    expected = history("alone")
    for ranks in (1, 2, 3):
        out = "ranks%d" % ranks
        check(run(ranks, hypertrain + ["--out", out], out + ".log") == 0, "mpirun -np %d fds hypertrain failed" % ranks)
        actual = history(out)
        check(len(actual) == len(expected), "np %d: %d outer steps, expected %d" % (ranks, len(actual), len(expected)))
        check(files_of(out) == files_of("alone"), "np %d: run directory holds %s, expected %s"
              % (ranks, files_of(out), files_of("alone")))
        # the outer steps differ by float reordering only: their hypergradients are far from 0
        # on this data, so every sign-based update moves as alone
        difference = max(relative_difference(a["hypergrad"][t], e["hypergrad"][t])
                         for a, e in zip(actual, expected) for t in ("lr", "mom", "wd"))
        measured["np%d_hypergradient_relative_difference" % ranks] = difference
        check(difference <= (0.0 if ranks == 1 else 1e-4), "np %d: hypergradients differ by %g" % (ranks, difference))
        for a, e in zip(actual, expected):
            check(a["outer_step"] == e["outer_step"] and a["inner_steps"] == e["inner_steps"],
                  "np %d: outer step %d differs in its steps" % (ranks, e["outer_step"]))
            check(max(relative_difference(a[t], e[t]) for t in ("lr", "mom", "wd")) <= 1e-6,
                  "np %d: outer step %d used other schedules" % (ranks, e["outer_step"]))
            check(abs(a["val_acc"] - e["val_acc"]) <= 0.01,
                  "np %d: validation accuracy %g, expected %g" % (ranks, a["val_acc"], e["val_acc"]))
        if ranks == 1:
            check(actual == [dict(e, seconds=a["seconds"]) for a, e in zip(actual, expected)],
                  "np 1: the history differs from the run without mpirun")
    leftovers = sorted(set(os.listdir(".")) - {"data", "alone", "ranks1", "ranks2", "ranks3"} -
                       {name for name in os.listdir(".") if name.endswith(".log")})
    check(not leftovers, "files outside the run directories: %s" % leftovers)

    # stopped on 2 ranks, resumed on 3: the first step is the 2-rank run's, the run finishes
    check(run(2, hypertrain + ["--out", "resumed", "--stop_after_outer_steps", "1"], "resumed.log") == 0,
          "mpirun -np 2 with --stop_after_outer_steps failed")
    check(run(3, hypertrain + ["--out", "resumed"], "resumed2.log") == 0, "the resume on 3 ranks failed")
    resumed = history("resumed")
    check(len(resumed) == 2, "the resumed run has %d outer steps" % len(resumed))
    check(dict(resumed[0], seconds=0) == dict(history("ranks2")[0], seconds=0),
          "the resumed run's first outer step differs from the 2-rank run's")
    check(json.load(open("resumed/summary.json"))["status"] == "finished", "the resumed run did not finish")

    # black-box search: trials spread over the ranks, the same trials as alone
    search = ["search"] + base + ["--search_method", "random", "--search_trials", "3", "--search_max_epochs", "1",
                                  "--retrain_n_epochs", "1"]
    check(run(0, search + ["--out", "search_alone"], "search_alone.log") == 0, "fds search failed")
    check(run(2, search + ["--out", "search_ranks2"], "search_ranks2.log") == 0, "mpirun -np 2 fds search failed")

    def trials(directory):
        with open(os.path.join(directory, "trials.jsonl")) as lines:
            return sorted((json.loads(line) for line in lines), key=lambda trial: trial["trial"])

    alone_trials, shared_trials = trials("search_alone"), trials("search_ranks2")
    check([dict(t, seconds=0) for t in alone_trials] == [dict(t, seconds=0) for t in shared_trials],
          "the 2-rank search's trials differ from the search alone")

    # plain training, tested and as one black-box trial, each batch shared by the ranks
    for evaluate_on in ("test", "validation"):
        train = ["train"] + base + ["--lr_schedule", "cosine", "--lr", "0.05", "--retrain_n_epochs", "2",
                                    "--evaluate_on", evaluate_on, "--json"]
        reports = []
        for ranks in (0, 2):
            log = "train_%s_%d.log" % (evaluate_on, ranks)
            with open(log, "w") as errors:
                result = subprocess.run(command(ranks, train), stdout=subprocess.PIPE, stderr=errors, text=True)
            check(result.returncode == 0, "fds train --evaluate_on %s on %d ranks failed" % (evaluate_on, ranks))
            reports.append(json.loads(result.stdout) if result.returncode == 0 else {})
        key = "test_acc" if evaluate_on == "test" else "val_acc"
        if all(key in report for report in reports):
            measured["train_%s_accuracy_difference" % evaluate_on] = abs(reports[0][key] - reports[1][key])
            check(abs(reports[0][key] - reports[1][key]) <= 0.01,
                  "fds train --evaluate_on %s: %g alone, %g on 2 ranks" % (evaluate_on, reports[0][key], reports[1][key]))

    # fds compare runs its methods' commands in-process, each distributed as above
    compare = ["compare"] + base + ["--n_inner_epochs_per_outer_steps", "1", "--retrain_n_epochs", "1",
                                    "--search_trials", "2", "--search_max_epochs", "1",
                                    "--methods", "hand,fds,random", "--seeds", "1", "--out", "compare_ranks2"]
    check(run(2, compare, "compare.log") == 0, "mpirun -np 2 fds compare failed")
    if os.path.exists("compare_ranks2/compare.json"):
        setup = json.load(open("compare_ranks2/compare.json"))["setup"]
        check(setup["cpu"].endswith("2 MPI ranks"), "compare.json does not say it ran on 2 ranks: " + setup["cpu"])

    # the greedy methods run on rank 0 alone and end the job cleanly
    check(run(2, ["hypertrain"] + base + ["--method", "hd", "--n_inner_epochs_per_outer_steps", "1",
                                          "--retrain_from_scratch", "false", "--out", "hd_ranks2"], "hd.log") == 0,
          "mpirun -np 2 fds hypertrain --method hd failed")

    # a rank killed with SIGKILL in the middle of an outer step
    long_run = ["hypertrain"] + base + ["--n_inner_epochs_per_outer_steps", "1", "30", "30",
                                        "--retrain_n_epochs", "1", "--out", "killed"]
    with open("killed.log", "w") as output:
        job = subprocess.Popen(command(2, long_run), stdout=output, stderr=subprocess.STDOUT)
    victim = None
    deadline = time.time() + 120
    while victim is None and time.time() < deadline and job.poll() is None:
        if os.path.exists("killed/history.jsonl") and os.path.getsize("killed/history.jsonl") > 0:
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    environment = open("/proc/%s/environ" % pid, "rb").read().split(b"\0")
                except OSError:
                    continue
                try:
                    ours = os.readlink("/proc/%s/cwd" % pid) == scratch
                except OSError:
                    continue
                if ours and b"OMPI_COMM_WORLD_RANK=1" in environment:
                    victim = int(pid)
        time.sleep(0.2)
    check(victim is not None, "rank 1 of the job was not found")
    if victim is not None:
        time.sleep(1.0)  # into the next outer step
        os.kill(victim, signal.SIGKILL)
        try:
            code = job.wait(timeout=120)
        except subprocess.TimeoutExpired:
            job.kill()
            code = None
        log = open("killed.log").read()
        measured["killed_job_exit_code"] = code
        check(code is not None and code != 0, "the job did not end after a rank was killed (exit %s)" % code)
        check("signal 9" in log or "Killed" in log, "mpirun's output does not say that a rank was killed:\n" + log)
        done = len(history("killed"))
        check(run(0, long_run, "killed_resume.log") == 0, "the killed run does not resume")
        final = history("killed")
        check([record["outer_step"] for record in final] == [0, 1, 2],
              "the resumed run's outer steps are %s" % [record["outer_step"] for record in final])
        check("resuming" in open("killed_resume.log").read(), "the re-run did not resume the directory")
        measured["outer_steps_before_the_kill"] = done
    else:
        job.kill()
        job.wait()

    print(json.dumps(measured))
    if not failures:
        shutil.rmtree(scratch)
    else:
        print("kept " + scratch, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
