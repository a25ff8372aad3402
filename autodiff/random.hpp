// The project's one portable source of random numbers: initial weights (nn), validation splits,
// epoch orders and augmentations (data), search configurations (fds) and the tests' inputs.
//
// std::mt19937_64 produces the same sequence everywhere (the standard fixes its algorithm), but the
// std::*_distribution classes do not: each standard library maps engine output to numbers in its
// own way. So every draw is written out here, and a seed gives the same numbers on any machine and
// compiler. It lives at the bottom layer so that nn and data can share it; it needs only <random>.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace fds::autodiff {

class random_source {
 public:
    explicit random_source(std::uint64_t seed) : engine_(seed) {}

    // 64 random bits: the engine's next output
    std::uint64_t bits() { return engine_(); }

    // uniform on [0, 1) with 53 random bits (exactly representable doubles)
    double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
    // uniform on [low, high)
    double uniform(double low, double high) { return low + (high - low) * uniform(); }
    // uniform integer in [0, bound), without modulo bias; bound > 0
    std::uint64_t uniform_below(std::uint64_t bound);
    // true with probability `probability` (always for 1, never for 0)
    bool bernoulli(double probability) { return uniform() < probability; }

    // standard normal by the Box-Muller transform (both values of a pair are used)
    double normal();
    double normal(double mean, double standard_deviation) { return mean + standard_deviation * normal(); }

 private:
    std::mt19937_64 engine_;
    bool has_spare_ = false;
    double spare_ = 0.0;
};

// Independent streams for independent purposes (validation split, epoch order, augmentation) are
// derived from one recorded seed by hashing the seed with the stream's coordinates.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream, std::uint64_t first = 0, std::uint64_t second = 0);

// Fisher-Yates: every permutation equally likely.
void shuffle(std::vector<std::size_t>& values, random_source& random);

// `count` distinct values of [0, population) in the order drawn (partial Fisher-Yates).
std::vector<std::size_t> sample_without_replacement(std::size_t population, std::size_t count, random_source& random);

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

// Rejection sampling: accept only draws at or above 2^64 mod bound, so that every residue is
// equally likely, then reduce.
inline std::uint64_t random_source::uniform_below(std::uint64_t bound) {
    if (bound == 0) {
        throw std::invalid_argument("uniform_below: the bound must be positive, found 0");
    }
    // 2^64 mod bound, computed without overflowing: (2^64 - bound) mod bound.
    const std::uint64_t rejected = (0 - bound) % bound;
    std::uint64_t draw = engine_();
    while (draw < rejected) {
        draw = engine_();
    }
    return draw % bound;
}

// z0 = sqrt(-2 log u1) cos(2 pi u2), z1 = sqrt(-2 log u1) sin(2 pi u2) are independent N(0, 1)
inline double random_source::normal() {
    if (has_spare_) {
        has_spare_ = false;
        return spare_;
    }
    const double u1 = 1.0 - uniform();  // in (0, 1], so the log is finite
    const double u2 = uniform();
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 2.0 * 3.14159265358979323846 * u2;
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
}

namespace detail {
// splitmix64 finalizer (Steele, Lea, Flood 2014): a bijection of 64-bit words whose output bits
// each depend on all input bits, so nearby seeds give unrelated streams.
inline std::uint64_t mix(std::uint64_t value) {
    value += 0x9E3779B97F4A7C15ULL;
    value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9ULL;
    value = (value ^ (value >> 27)) * 0x94D049BB133111EBULL;
    return value ^ (value >> 31);
}
}  // namespace detail

inline std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream, std::uint64_t first, std::uint64_t second) {
    std::uint64_t state = detail::mix(seed);
    state = detail::mix(state ^ stream);
    state = detail::mix(state ^ first);
    return detail::mix(state ^ second);
}

// Walk from the back, swapping each slot with a uniformly chosen slot at or before it.
inline void shuffle(std::vector<std::size_t>& values, random_source& random) {
    for (std::size_t position = values.size(); position > 1; --position) {
        const std::size_t chosen = random.uniform_below(position);
        std::swap(values[position - 1], values[chosen]);
    }
}

// The first `count` steps of a forward Fisher-Yates shuffle of 0..population-1.
inline std::vector<std::size_t> sample_without_replacement(std::size_t population, std::size_t count,
                                                           random_source& random) {
    if (count > population) {
        throw std::invalid_argument("sample_without_replacement: cannot draw " + std::to_string(count) +
                                    " distinct values out of " + std::to_string(population));
    }
    std::vector<std::size_t> pool(population);
    std::iota(pool.begin(), pool.end(), std::size_t{0});
    for (std::size_t position = 0; position < count; ++position) {
        const std::size_t chosen = position + random.uniform_below(population - position);
        std::swap(pool[position], pool[chosen]);
    }
    pool.resize(count);
    return pool;
}

}  // namespace fds::autodiff
