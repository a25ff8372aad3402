#include <fds/data/random.hpp>

#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

namespace fds::data {

namespace detail {

// splitmix64 finalizer (Steele, Lea, Flood 2014): a bijection of 64-bit words whose output bits
// each depend on all input bits, so nearby seeds give unrelated streams.
std::uint64_t mix(std::uint64_t value) {
    value += 0x9E3779B97F4A7C15ULL;
    value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9ULL;
    value = (value ^ (value >> 27)) * 0x94D049BB133111EBULL;
    return value ^ (value >> 31);
}

}  // namespace detail

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream, std::uint64_t first, std::uint64_t second) {
    std::uint64_t state = detail::mix(seed);
    state = detail::mix(state ^ stream);
    state = detail::mix(state ^ first);
    return detail::mix(state ^ second);
}

// Rejection sampling: accept only draws below the largest multiple of bound, then reduce.
std::uint64_t uniform_below(random_engine& engine, std::uint64_t bound) {
    if (bound == 0) {
        throw std::invalid_argument("uniform_below: the bound must be positive, found 0");
    }
    // 2^64 mod bound, computed without overflowing: (2^64 - bound) mod bound.
    const std::uint64_t rejected = (0 - bound) % bound;
    std::uint64_t draw = engine();
    while (draw < rejected) {
        draw = engine();
    }
    return draw % bound;
}

// The top 53 bits of one draw, scaled by 2^-53: exactly representable doubles in [0, 1).
double uniform_unit(random_engine& engine) { return static_cast<double>(engine() >> 11) * 0x1.0p-53; }

bool bernoulli(random_engine& engine, double probability) { return uniform_unit(engine) < probability; }

// Walk from the back, swapping each slot with a uniformly chosen slot at or before it.
void shuffle(std::vector<std::size_t>& values, random_engine& engine) {
    for (std::size_t position = values.size(); position > 1; --position) {
        const std::size_t chosen = uniform_below(engine, position);
        std::swap(values[position - 1], values[chosen]);
    }
}

// The first `count` steps of a forward Fisher-Yates shuffle of 0..population-1.
std::vector<std::size_t> sample_without_replacement(std::size_t population, std::size_t count, random_engine& engine) {
    if (count > population) {
        throw std::invalid_argument("sample_without_replacement: cannot draw " + std::to_string(count) +
                                    " distinct values out of " + std::to_string(population));
    }
    std::vector<std::size_t> pool(population);
    std::iota(pool.begin(), pool.end(), std::size_t{0});
    for (std::size_t position = 0; position < count; ++position) {
        const std::size_t chosen = position + uniform_below(engine, population - position);
        std::swap(pool[position], pool[chosen]);
    }
    pool.resize(count);
    return pool;
}

}  // namespace fds::data
