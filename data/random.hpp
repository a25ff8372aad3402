#pragma once
// Portable random draws for the data pipeline.
//
// std::mt19937_64 produces the same sequence everywhere (the standard fixes its algorithm), but the
// std::*_distribution classes do not: each standard library maps engine output to numbers in its
// own way. So every draw the pipeline makes goes through the small functions below, written out so
// that a seed gives the same splits, batches and augmentations on any machine and compiler.

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace fds::data {

using random_engine = std::mt19937_64;

// Independent streams for independent purposes (validation split, epoch order, augmentation)
// are derived from one recorded seed by hashing the seed with the stream's coordinates.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream, std::uint64_t first = 0, std::uint64_t second = 0);

// Uniform integer in [0, bound), without modulo bias; bound > 0.
std::uint64_t uniform_below(random_engine& engine, std::uint64_t bound);

// Uniform real in [0, 1) with 53 random bits.
double uniform_unit(random_engine& engine);

// True with probability `probability` (always true for 1, always false for 0).
bool bernoulli(random_engine& engine, double probability);

// Fisher-Yates: every permutation equally likely.
void shuffle(std::vector<std::size_t>& values, random_engine& engine);

// `count` distinct values of [0, population) in the order drawn (partial Fisher-Yates).
std::vector<std::size_t> sample_without_replacement(std::size_t population, std::size_t count, random_engine& engine);

}  // namespace fds::data
