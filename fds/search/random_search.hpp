#pragma once
// Random search (Bergstra & Bengio, JMLR 2012): `count` configurations drawn independently from
// the schedule space, each trained for the full `epochs`. The draws depend on the seed alone, so
// a resumed search asks for the same trials in the same order. With a time budget (seconds > 0)
// no trial starts once the finished trials' seconds reach it: random search given the wall time
// of another method; the trials then go in waves of trials_at_once, and a wave starts only
// while the budget is not spent.
//
//   auto result = fds::search::random_search(space, 20, 10.0, seed, runner);

#include <cstddef>
#include <cstdint>

#include <fds/autodiff/random.hpp>
#include <fds/run_setup.hpp>
#include <fds/schedule_space.hpp>
#include <fds/search/search_result.hpp>
#include <fds/trial.hpp>

namespace fds::search {

search_result random_search(const schedule_space& space, std::size_t count, double epochs, std::uint64_t seed,
                            const trial_batch_runner& run, double seconds_budget = 0.0, std::size_t trials_at_once = 1);
inline search_result random_search(const schedule_space& space, std::size_t count, double epochs, std::uint64_t seed,
                                   const trial_runner& run, double seconds_budget = 0.0) {
    return random_search(space, count, epochs, seed, one_at_a_time(run), seconds_budget);
}

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline search_result random_search(const schedule_space& space, std::size_t count, double epochs, std::uint64_t seed,
                                   const trial_batch_runner& run, double seconds_budget, std::size_t trials_at_once) {
    autodiff::random_source random(stream_seed(seed, seed_stream::search_configurations, 0));
    const std::size_t wave =
        seconds_budget > 0 ? std::max<std::size_t>(1, trials_at_once) : std::max<std::size_t>(1, count);
    search_result result;
    double seconds = 0.0;
    for (std::size_t id = 0; id < count && !(seconds_budget > 0 && seconds >= seconds_budget);) {
        std::vector<trial_request> requests;
        for (; id < count && requests.size() < wave; ++id) requests.push_back({id, space.sample(random), epochs, 0, 0});
        const std::vector<trial_outcome> outcomes = run(requests);
        for (std::size_t i = 0; i < requests.size(); ++i) {
            seconds += outcomes[i].seconds;
            result.trials.push_back({requests[i], outcomes[i]});
        }
    }
    return result;
}

}  // namespace fds::search
