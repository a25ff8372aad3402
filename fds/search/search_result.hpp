#pragma once
// What a black-box search leaves: every trial it ran, in order, and which one won.

#include <cstddef>
#include <stdexcept>
#include <vector>

#include <fds/trial.hpp>

namespace fds::search {

struct search_trial {
    trial_request request;
    trial_outcome outcome;
};

struct search_result {
    std::vector<search_trial> trials;
    // The winner: the highest validation accuracy among the trials of full length (the most
    // epochs any trial had), the earliest on ties. Throws std::logic_error when there are none.
    const search_trial& best() const;
};

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline const search_trial& search_result::best() const {
    if (trials.empty()) throw std::logic_error("search_result::best: no trials");
    double longest = 0.0;
    for (const search_trial& trial : trials) longest = trial.request.epochs > longest ? trial.request.epochs : longest;
    const search_trial* winner = nullptr;
    for (const search_trial& trial : trials)
        if (trial.request.epochs == longest && (!winner || trial.outcome.val_acc > winner->outcome.val_acc))
            winner = &trial;
    return *winner;
}

}  // namespace fds::search
