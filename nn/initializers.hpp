// Initial parameters as the reference's models/helpers.py initialize(): conv and linear weights by
// the chosen scheme, biases zero, BatchNorm gamma = norm_weights (1) and beta 0. Draws come from
// one portable random_source over the parameters in order, so a seed fixes the weights everywhere.
//
//   xavier  (gain = param):  w ~ N(0, gain^2 * 2 / (fan_in + fan_out))        torch xavier_normal_
//   kaiming (a = param):     w ~ N(0, 2 / ((1 + a^2) fan_in))                  torch kaiming_normal_, fan_in
//   normal  (std = param):   w ~ N(0, param^2)
//   orthogonal (gain = param): w = gain Q, Q the orthonormal factor (R's diagonal > 0) of a
//                            rows x cols matrix of N(0, 1) draws, rows = out channels,
//                            cols = fan_in (of its transpose when rows < cols): torch orthogonal_
//   zero:                    w = 0
//   default: PyTorch's reset_parameters: w and b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))
//            (kaiming_uniform with a = sqrt(5)); the reference keeps those biases too.
// fan_in = in_channels * kernel area, fan_out = out_channels * kernel area (features for linear).
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include <fds/nn/layer.hpp>
#include <fds/autodiff/random.hpp>

namespace fds::nn {

struct initializer {
    std::string type = "xavier";  // xavier | kaiming | normal | orthogonal | zero | default
    double param = 1.0;
    double norm_weights = 1.0;  // BatchNorm gamma
};

// Throws std::invalid_argument naming the type and the valid ones when the type is unknown.
void check_initializer(const initializer& init);

// One flat vector holding every parameter of `specs` in order.
template <class Scalar>
xt::xarray<Scalar> initialize_parameters(const std::vector<parameter_spec>& specs, const initializer& init,
                                         std::uint64_t seed);

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline void check_initializer(const initializer& init) {
    static const char* valid[] = {"xavier", "kaiming", "normal", "orthogonal", "zero", "default"};
    for (const char* name : valid) {
        if (init.type == name) return;
    }
    throw std::invalid_argument("initializer: unknown type '" + init.type +
                                "', expected one of xavier, kaiming, normal, orthogonal, zero, default");
}

namespace detail {

// gain Q of a rows x cols matrix of normal draws (row-major, as torch draws them) into target:
// Gram-Schmidt, twice per column for orthogonality to rounding, on the tall orientation.
template <class Scalar>
void orthogonal_weights(Scalar* target, std::size_t rows, std::size_t cols, double gain,
                        autodiff::random_source& random) {
    std::vector<double> draws(rows * cols);
    for (double& draw : draws) draw = random.normal(0.0, 1.0);
    const bool transposed = rows < cols;
    const std::size_t height = transposed ? cols : rows, width = transposed ? rows : cols;
    // column j of the tall matrix, as a contiguous vector
    std::vector<std::vector<double>> columns(width, std::vector<double>(height));
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < cols; ++c) {
            if (transposed)
                columns[r][c] = draws[r * cols + c];
            else
                columns[c][r] = draws[r * cols + c];
        }
    for (std::size_t j = 0; j < width; ++j) {
        for (int pass = 0; pass < 2; ++pass)
            for (std::size_t i = 0; i < j; ++i) {
                double projection = 0.0;
                for (std::size_t k = 0; k < height; ++k) projection += columns[i][k] * columns[j][k];
                for (std::size_t k = 0; k < height; ++k) columns[j][k] -= projection * columns[i][k];
            }
        double norm = 0.0;
        for (double x : columns[j]) norm += x * x;
        norm = std::sqrt(norm);
        for (double& x : columns[j]) x /= norm;
    }
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < cols; ++c)
            target[r * cols + c] = static_cast<Scalar>(gain * (transposed ? columns[r][c] : columns[c][r]));
}

}  // namespace detail

template <class Scalar>
xt::xarray<Scalar> initialize_parameters(const std::vector<parameter_spec>& specs, const initializer& init,
                                         std::uint64_t seed) {
    check_initializer(init);
    std::size_t total = 0;
    for (const auto& spec : specs) total += spec.size();
    xt::xarray<Scalar> flat = xt::zeros<Scalar>({total});
    autodiff::random_source random(seed);
    Scalar* target = flat.data();
    for (const auto& spec : specs) {
        const std::size_t count = spec.size();
        const double fan_in = static_cast<double>(spec.fan_in);
        const double fan_out = static_cast<double>(spec.fan_out);
        if (spec.role == parameter_role::weight) {
            if (init.type == "xavier") {
                const double deviation = init.param * std::sqrt(2.0 / (fan_in + fan_out));
                for (std::size_t i = 0; i < count; ++i) target[i] = static_cast<Scalar>(random.normal(0.0, deviation));
            } else if (init.type == "kaiming") {
                const double deviation = std::sqrt(2.0 / (1.0 + init.param * init.param)) / std::sqrt(fan_in);
                for (std::size_t i = 0; i < count; ++i) target[i] = static_cast<Scalar>(random.normal(0.0, deviation));
            } else if (init.type == "normal") {
                for (std::size_t i = 0; i < count; ++i) target[i] = static_cast<Scalar>(random.normal(0.0, init.param));
            } else if (init.type == "orthogonal") {
                detail::orthogonal_weights(target, count / spec.fan_in, spec.fan_in, init.param, random);
            } else if (init.type == "default") {
                const double bound = 1.0 / std::sqrt(fan_in);
                for (std::size_t i = 0; i < count; ++i) target[i] = static_cast<Scalar>(random.uniform(-bound, bound));
            }
        } else if (spec.role == parameter_role::bias && init.type == "default") {
            const double bound = 1.0 / std::sqrt(fan_in);
            for (std::size_t i = 0; i < count; ++i) target[i] = static_cast<Scalar>(random.uniform(-bound, bound));
        } else if (spec.role == parameter_role::norm_scale) {
            for (std::size_t i = 0; i < count; ++i) target[i] = static_cast<Scalar>(init.norm_weights);
        }
        target += count;
    }
    return flat;
}

}  // namespace fds::nn
