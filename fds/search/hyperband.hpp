#pragma once
// Hyperband (Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, JMLR 2018), with epochs as the
// resource. With R the epochs of a full-length trial and eta the halving rate:
//
//     s_max = floor(log_eta R),  B = (s_max + 1) R
//     for s = s_max, ..., 0:                                          (one bracket each)
//         n = ceil(B / R * eta^s / (s + 1)),  r = R eta^-s
//         draw n configurations; for i = 0, ..., s (the rungs):
//             train each for r_i = r eta^i epochs (from scratch), keep the best n_{i+1}
//             of them by validation accuracy, n_i = floor(n eta^-i)
//
// Each bracket draws its configurations from its own stream of the seed, so a resumed search
// asks for the same trials in the same order (the survivors depend only on earlier outcomes).
//
//   auto result = fds::search::hyperband(space, 81, 3, seed, runner);

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include <fds/autodiff/random.hpp>
#include <fds/run_setup.hpp>
#include <fds/schedule_space.hpp>
#include <fds/search/search_result.hpp>
#include <fds/trial.hpp>

namespace fds::search {

struct hyperband_rung {
    std::size_t configurations;
    double epochs;
};

struct hyperband_bracket {
    std::size_t s;
    std::vector<hyperband_rung> rungs;
};

// The brackets for R = max_epochs and eta, s = s_max first. Throws std::invalid_argument unless
// max_epochs > 0 and eta > 1.
std::vector<hyperband_bracket> hyperband_brackets(double max_epochs, double eta);

// Each rung's trials go to `run` at once.
search_result hyperband(const schedule_space& space, double max_epochs, double eta, std::uint64_t seed,
                        const trial_batch_runner& run);
inline search_result hyperband(const schedule_space& space, double max_epochs, double eta, std::uint64_t seed,
                               const trial_runner& run) {
    return hyperband(space, max_epochs, eta, seed, one_at_a_time(run));
}

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline std::vector<hyperband_bracket> hyperband_brackets(double max_epochs, double eta) {
    if (!(max_epochs > 0) || !(eta > 1))
        throw std::invalid_argument("hyperband: expected max epochs > 0 and eta > 1, found " +
                                    std::to_string(max_epochs) + " and " + std::to_string(eta));
    // tolerances absorb the rounding of eta^s (5/3 * 9 must give 15, not 16)
    const double tolerance = 1e-9;
    std::size_t s_max = 0;
    while (std::pow(eta, static_cast<double>(s_max + 1)) <= max_epochs * (1 + tolerance)) ++s_max;
    std::vector<hyperband_bracket> brackets;
    for (std::size_t s = s_max + 1; s-- > 0;) {
        const double scale = std::pow(eta, static_cast<double>(s));
        const auto n = static_cast<std::size_t>(
            std::ceil(static_cast<double>(s_max + 1) / static_cast<double>(s + 1) * scale - tolerance));
        hyperband_bracket bracket{s, {}};
        for (std::size_t i = 0; i <= s; ++i) {
            const double shrink = std::pow(eta, static_cast<double>(i));
            const auto count = static_cast<std::size_t>(std::floor(static_cast<double>(n) / shrink + tolerance));
            bracket.rungs.push_back({count, max_epochs * shrink / scale});
        }
        brackets.push_back(bracket);
    }
    return brackets;
}

inline search_result hyperband(const schedule_space& space, double max_epochs, double eta, std::uint64_t seed,
                               const trial_batch_runner& run) {
    search_result result;
    std::size_t next_id = 0;
    for (const hyperband_bracket& bracket : hyperband_brackets(max_epochs, eta)) {
        autodiff::random_source random(stream_seed(seed, seed_stream::search_configurations, bracket.s + 1));
        std::vector<hyper_values> configurations;
        for (std::size_t c = 0; c < bracket.rungs.front().configurations; ++c)
            configurations.push_back(space.sample(random));
        std::vector<std::size_t> alive(configurations.size());
        std::iota(alive.begin(), alive.end(), 0);
        for (std::size_t i = 0; i < bracket.rungs.size(); ++i) {
            std::vector<trial_request> requests;
            for (std::size_t c : alive)
                requests.push_back({next_id++, configurations[c], bracket.rungs[i].epochs, bracket.s, i});
            const std::vector<trial_outcome> outcomes = run(requests);
            std::vector<double> scores;
            for (std::size_t k = 0; k < requests.size(); ++k) {
                scores.push_back(outcomes[k].val_acc);
                result.trials.push_back({requests[k], outcomes[k]});
            }
            if (i + 1 == bracket.rungs.size()) break;
            // the best n_{i+1} go on; stable, so ties keep the earlier configuration
            std::vector<std::size_t> order(alive.size());
            std::iota(order.begin(), order.end(), 0);
            std::stable_sort(order.begin(), order.end(),
                             [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
            std::vector<std::size_t> survivors;
            for (std::size_t k = 0; k < std::min(bracket.rungs[i + 1].configurations, order.size()); ++k)
                survivors.push_back(alive[order[k]]);
            alive = survivors;
        }
    }
    return result;
}

}  // namespace fds::search
