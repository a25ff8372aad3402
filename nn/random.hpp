// The portable random numbers of nn: the same seed gives the same initial weights on every machine.
// std::mt19937_64 is specified bit for bit by the standard, std::*_distribution are not, so the
// uniform and normal draws are written here.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

namespace fds::nn {

class random_source {
 public:
    explicit random_source(std::uint64_t seed);

    // uniform on [0, 1) with 53 random bits
    double uniform();
    // uniform on [low, high)
    double uniform(double low, double high);
    // standard normal by the Box-Muller transform (both values of a pair are used)
    double normal();
    double normal(double mean, double standard_deviation);

 private:
    std::mt19937_64 engine_;
    bool has_spare_ = false;
    double spare_ = 0.0;
};

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline random_source::random_source(std::uint64_t seed) : engine_(seed) {}

inline double random_source::uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

inline double random_source::uniform(double low, double high) { return low + (high - low) * uniform(); }

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

inline double random_source::normal(double mean, double standard_deviation) {
    return mean + standard_deviation * normal();
}

}  // namespace fds::nn
