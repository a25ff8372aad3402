#pragma once
// Every option of a hyper-training run. Names and defaults are those of the reference's
// command line (polo5/FDS main.py), so a user of the reference recognises each one; the
// defaults here are the reference's except where a comment says "ours" (README, "Defaults that
// differ from the reference", gives the measurements behind each).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fds {

struct hypertrain_settings {
    // What is learned, and into how many shared buckets each schedule is cut.
    bool learn_lr = true;
    bool learn_mom = true;
    bool learn_wd = true;
    std::size_t n_lrs = 7;
    std::size_t n_moms = 1;
    std::size_t n_wds = 1;

    // Data and model.
    std::string dataset = "CIFAR10";
    std::string datasets_path = "";  // "" = the dataset's default location
    std::string architecture = "WRN-16-1";
    std::string init_type = "xavier";  // normal|xavier|kaiming|orthogonal|zero|default
    double init_param = 1.0;
    double init_norm_weights = 1.0;  // initial BatchNorm gamma

    // Inner loop.
    std::vector<std::size_t> n_inner_epochs_per_outer_steps = {1, 10, 10, 10, 10, 10, 10, 10, 10, 10};
    // ours: a practitioner's default to refine (the reference starts every value at 0)
    double inner_lr_init = 0.05;
    double inner_mom_init = 0.9;
    double inner_wd_init = 5e-4;
    std::string inner_lr_init_shape = "cosine";  // ours: cosine (from inner_lr_init over the buckets) | constant
    std::size_t train_batch_size = 256;
    bool clamp_grads = true;
    double clamp_grads_range = 3.0;
    bool cutout = false;
    std::size_t cutout_length = 16;
    double cutout_prob = 1.0;
    std::string pruning_mode = "alternate";  // alternate|truncate
    double pruning_ratio = 0.0;

    // Outer loop.
    std::size_t val_batch_size = 500;
    double val_train_fraction = 0.05;
    bool val_train_overlap = false;
    // ours: inner runs per outer step, each its own batch order and initialization, whose
    // hypergradients and accuracies are averaged (1: the reference's single run)
    std::size_t hypergradient_runs = 1;
    bool fixed_validation_split = false;  // ours: one split for every outer step (the reference: a new one each)
    double lr_init_step_size = 0.1;
    double mom_init_step_size = 0.1;
    double wd_init_step_size = 3e-4;
    double lr_step_decay = 0.5;
    double mom_step_decay = 0.5;
    double wd_step_decay = 0.5;
    bool clamp_HZ = true;
    double clamp_HZ_range = 1.0;
    double converged_frac = 0.05;
    std::string outer_optimizer = "rprop";  // ours; rprop (ours) | sign (the reference's) | adam (ours)
    double rprop_step = 0.3;  // rprop: initial step, a fraction of each value (log scale)
    double rprop_growth = 1.2;  // rprop: step multiplier while a bucket's sign holds
    double rprop_max_step = 0.5;  // rprop: largest step (log scale: a factor of e^0.5)
    double adam_lr = 0.01;  // Adam step per hyperparameter type, in units of that type
    bool hyper_ranges = true;  // ours: keep lr >= 0, wd >= 0, 0 <= mom < 1 (the reference: none)
    // ours: an outer step whose inner run diverged, or whose validation accuracy fell below this
    // fraction of the best so far, goes back to the best values with smaller steps (0: never)
    double revert_below = 0.8;

    // Greedy alternatives (`fds hypertrain --method hd|greedy`, ours: greedy_hyper_training.hpp).
    std::string method = "fds";  // fds | hd (Baydin et al. 2018) | greedy (truncated-horizon FDS)
    std::size_t greedy_horizon = 50;  // greedy: inner steps per hypergradient and update
    double hd_lr_beta = 0.01;  // hd: lr <- lr (1 - beta cos(grad L, dtheta/dlr)), per step
    double hd_mom_beta = 0.01;  // hd: the same on 1 - momentum
    double hd_wd_beta = 0.01;  // hd: the same on weight decay

    // Retraining from scratch with the learned schedule on the whole training set.
    bool retrain_from_scratch = true;
    std::string retrain_schedule = "best";  // ours: best (highest validation accuracy) | final (the reference's)
    int retrain_n_epochs = 50;  // -1: the last entry of n_inner_epochs_per_outer_steps
    // ours: a retraining that diverges goes on to the method's next best schedule, up to this
    // many trainings in all (1: the reference's single retraining)
    std::size_t retrain_attempts = 3;

    // Black-box search (`fds search`, ours): the space is the schedules above (schedule_space.hpp).
    std::string search_method = "random";  // random | hyperband
    std::size_t search_trials = 20;  // random search: configurations tried
    double search_seconds_budget = 0.0;  // random search: no trial starts after this many seconds (0: none)
    std::size_t search_max_epochs = 0;  // epochs of a full-length trial, Hyperband's R (0: retrain_n_epochs)
    double search_eta = 3.0;  // Hyperband: keep 1 / eta of the configurations per rung
    double search_lr_min = 1e-3, search_lr_max = 1.0;  // log-uniform
    double search_mom_min = 0.0, search_mom_max = 0.99;  // uniform
    double search_wd_min = 1e-6, search_wd_max = 1e-2;  // log-uniform

    // Hypergradient noise (`fds noise`, ours: hypergradient_noise.hpp).
    std::size_t noise_runs = 12;  // runs, each its own data order and initialization
    std::size_t noise_steps = 100;  // inner steps of a run, one lr bucket each
    std::vector<std::size_t> noise_windows = {};  // sharing windows W (empty: 1, 2, 5, 10, 25, ... and T)

    std::uint64_t seed = 0;
    std::size_t threads = 0;  // 0 = all cores
};

}  // namespace fds
