#pragma once
// Random search (Bergstra & Bengio, JMLR 2012): `count` configurations drawn independently from
// the schedule space, each trained for the full `epochs`. The draws depend on the seed alone, so
// a resumed search asks for the same trials in the same order. With a time budget (seconds > 0)
// no trial starts once the finished trials' seconds reach it: random search given the wall time
// of another method.
//
//   auto result = fds::search::random_search(space, 20, 10.0, seed, runner);

#include <cstddef>
#include <cstdint>

#include <fds/data/random.hpp>
#include <fds/run_setup.hpp>
#include <fds/schedule_space.hpp>
#include <fds/search/search_result.hpp>
#include <fds/trial.hpp>

namespace fds::search {

search_result random_search(const schedule_space& space, std::size_t count, double epochs, std::uint64_t seed,
                            const trial_runner& run, double seconds_budget = 0.0);

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline search_result random_search(const schedule_space& space, std::size_t count, double epochs, std::uint64_t seed,
                                   const trial_runner& run, double seconds_budget) {
    data::random_engine engine(stream_seed(seed, seed_stream::search_configurations, 0));
    search_result result;
    double seconds = 0.0;
    for (std::size_t id = 0; id < count && !(seconds_budget > 0 && seconds >= seconds_budget); ++id) {
        search_trial trial;
        trial.request = {id, space.sample(engine), epochs, 0, 0};
        trial.outcome = run(trial.request);
        seconds += trial.outcome.seconds;
        result.trials.push_back(trial);
    }
    return result;
}

}  // namespace fds::search
