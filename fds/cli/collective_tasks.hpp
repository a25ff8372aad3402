#pragma once
// How rank 0 and the workers of an mpirun launch (process_group.hpp) work together. Rank 0 runs
// the command; before each piece of work that all ranks share it announces the piece as a task
// (one broadcast of JSON with the settings and rank 0's state), and every worker does its part
// from that state, touching no file:
//   - an outer step of hyper-training: the workers restore rank 0's trainer checkpoint and run
//     the step with it, data-parallel (hyper_trainer::distribute_over);
//   - a retraining: the same schedule and resume point, data-parallel;
//   - one black-box trial, data-parallel;
//   - a wave of black-box trials: trial i on rank i mod N, each on one rank, the outcomes
//     summed back to every rank.
// So a resumed run, or one with another N, needs nothing but rank 0's directory. With one
// process every function here does only its own share.

#include <cstddef>
#include <ostream>
#include <vector>

#include <fds/data/dataset.hpp>
#include <fds/hyper_trainer.hpp>
#include <fds/hypertrain_settings.hpp>
#include <fds/retrain.hpp>
#include <fds/trial.hpp>

namespace fds::cli {

// Rank 0: the workers join the trainer's next outer step.
void announce_outer_step(const hyper_trainer& trainer);
// Rank 0: the workers join the retraining of `schedule` (from `resume` when given).
void announce_retraining(const hypertrain_settings& settings, const hyper_values& schedule,
                         const retrain_checkpoint<float>* resume);
// Rank 0: the workers join one black-box trial, data-parallel (`fds train --evaluate_on validation`).
void announce_trial(const hypertrain_settings& settings, const trial_request& request);
// Rank 0: runs the trials over all ranks, one trial per rank at a time; the outcomes in order.
std::vector<trial_outcome> run_trials_on_all_ranks(const hypertrain_settings& settings, const data::dataset& dataset,
                                                   const std::vector<trial_request>& requests);
// Rank 0, when the command has ended with `exit_code`: the workers end with it. After a failure
// in the middle of a task the whole job is aborted instead (the workers may be inside it).
void release_workers(int exit_code);

// A worker: serves rank 0's tasks until released; returns the exit code to end with. A task that
// fails aborts the job with its error on `errors`.
int serve_as_worker(std::ostream& errors);

}  // namespace fds::cli
