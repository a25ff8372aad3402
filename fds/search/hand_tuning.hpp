#pragma once
// The hand-tuned baseline as a practitioner runs it, and as the paper's: cosine annealing with
// momentum 0.9 and weight decay 5e-4, lr0 in {0.01, 0.03, 0.1}, each trained for the full
// length and scored on the validation split like any black-box trial; the best one is kept.
// A trial's schedule has one bucket per step of its run (total_steps), so the cosine is exact.
//
//   auto result = fds::search::hand_tuning(total_steps, 10.0, runner);

#include <cstddef>
#include <vector>

#include <fds/hand_schedule.hpp>
#include <fds/search/search_result.hpp>
#include <fds/trial.hpp>

namespace fds::search {

const std::vector<hand_schedule>& hand_tuned_candidates();

search_result hand_tuning(std::size_t total_steps, double epochs, const trial_batch_runner& run);
inline search_result hand_tuning(std::size_t total_steps, double epochs, const trial_runner& run) {
    return hand_tuning(total_steps, epochs, one_at_a_time(run));
}

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline const std::vector<hand_schedule>& hand_tuned_candidates() {
    static const std::vector<hand_schedule> candidates = {
        {"cosine", 0.01, 0.9, 5e-4}, {"cosine", 0.03, 0.9, 5e-4}, {"cosine", 0.1, 0.9, 5e-4}};
    return candidates;
}

inline search_result hand_tuning(std::size_t total_steps, double epochs, const trial_batch_runner& run) {
    std::vector<trial_request> requests;
    for (std::size_t id = 0; id < hand_tuned_candidates().size(); ++id)
        requests.push_back({id, hand_schedule_values(hand_tuned_candidates()[id], total_steps), epochs, 0, 0});
    const std::vector<trial_outcome> outcomes = run(requests);
    search_result result;
    for (std::size_t i = 0; i < requests.size(); ++i) result.trials.push_back({requests[i], outcomes[i]});
    return result;
}

}  // namespace fds::search
