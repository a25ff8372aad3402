#!/usr/bin/env bash
# Strong scaling of the FDS inner step on this machine (issue: data-parallel FDS on Open MPI):
# 1 rank with 2 threads against 2 ranks with 1 thread each, LeNet and the CNN, K = 9, batch 128.
# Prints one JSON object: the CPU, both runs (tests/benchmarks/data_parallel_benchmark.cpp) and
# the speed-up of 2 ranks per model.
#   bash scripts/scaling_benchmark.sh [build/tests/benchmarks/data_parallel_benchmark]
set -euo pipefail
cd "$(dirname "$0")/.."
benchmark=${1:-build/tests/benchmarks/data_parallel_benchmark}
[[ -x $benchmark ]] || { echo "scaling_benchmark: $benchmark is not built (meson compile -C build)" >&2; exit 1; }
# as root in CI, and 2 ranks on however many cores there are
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
one=$(mpirun -np 1 --bind-to none "$benchmark" --threads 2 --tangents 9 --batch 128)
two=$(mpirun -np 2 --bind-to core "$benchmark" --threads 1 --tangents 9 --batch 128)
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
python3 - "$cpu" "$one" "$two" <<'PY'
import json, sys
cpu, one, two = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
speedup = {a["model"]: a["seconds_per_step"] / b["seconds_per_step"] for a, b in zip(one, two)}
print(json.dumps({"cpu": cpu, "one_rank_two_threads": one, "two_ranks_one_thread": two,
                  "two_ranks_speedup": speedup}, indent=1))
PY
