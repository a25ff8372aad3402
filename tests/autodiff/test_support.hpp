// Shared checks of the autodiff tests: seeded random inputs, tangents against central finite
// differences, K tangents at once against K single-tangent runs, live prefixes against dense.
//
// A checked function is a generic lambda taking `const std::vector<T>&` and returning T, so the
// same code runs on plain xt::xarray<double> (for finite differences and for parity) and on
// dual_tensor<double>.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include <xtensor/xarray.hpp>

#include <fds/autodiff/autodiff.hpp>

namespace fds::autodiff::testing {
// The library's portable random_source, with whole arrays of draws.
class array_random_source : public autodiff::random_source {
 public:
    using autodiff::random_source::random_source;

    template <class Scalar = double>
    xt::xarray<Scalar> uniform_array(const std::vector<std::size_t>& shape, double lo, double hi) {
        xt::xarray<Scalar> result = xt::xarray<Scalar>::from_shape(shape);
        for (auto& entry : result) {
            entry = static_cast<Scalar>(uniform(lo, hi));
        }
        return result;
    }

    template <class Scalar = double>
    xt::xarray<Scalar> normal_array(const std::vector<std::size_t>& shape) {
        xt::xarray<Scalar> result = xt::xarray<Scalar>::from_shape(shape);
        for (auto& entry : result) {
            entry = static_cast<Scalar>(normal());
        }
        return result;
    }
};

inline std::vector<std::size_t> shape_of(const xt::xarray<double>& x) {
    return std::vector<std::size_t>(x.shape().begin(), x.shape().end());
}

// max |a - b| / max(max |b|, 1e-12): a max-norm relative error.
inline double relative_error(const xt::xarray<double>& a, const xt::xarray<double>& b) {
    if (a.shape() != b.shape()) {
        return 1e300;
    }
    double difference = 0.0;
    double scale = 1e-12;
    for (std::size_t i = 0; i < a.size(); ++i) {
        difference = std::max(difference, std::abs(a.data()[i] - b.data()[i]));
        scale = std::max(scale, std::abs(b.data()[i]));
    }
    return difference / scale;
}

inline bool exactly_equal(const xt::xarray<double>& a, const xt::xarray<double>& b) {
    return a.shape() == b.shape() && std::equal(a.begin(), a.end(), b.begin());
}

// One random direction per input per slot: directions[k][j].
inline std::vector<std::vector<xt::xarray<double>>> random_directions(const std::vector<xt::xarray<double>>& inputs,
                                                                      std::size_t slots, array_random_source& random) {
    std::vector<std::vector<xt::xarray<double>>> directions(slots);
    for (std::size_t k = 0; k < slots; ++k) {
        for (const auto& input : inputs) {
            directions[k].push_back(random.normal_array(shape_of(input)));
        }
    }
    return directions;
}

// Duals of the inputs, input j carrying directions[k][j] in slot k for k < live[j].
inline std::vector<dual_tensor<double>> seeded_inputs(const std::vector<xt::xarray<double>>& inputs,
                                                      const std::vector<std::vector<xt::xarray<double>>>& directions,
                                                      std::size_t tangent_count, const std::vector<std::size_t>& live) {
    std::vector<dual_tensor<double>> duals;
    for (std::size_t j = 0; j < inputs.size(); ++j) {
        dual_tensor<double> x(inputs[j], tangent_count);
        for (std::size_t k = 0; k < live[j]; ++k) {
            x.seed(k, directions[k][j]);
        }
        duals.push_back(std::move(x));
    }
    return duals;
}

struct derivative_check {
    double tangent_error = 0.0;  // worst relative error of a tangent vs central differences
    double value_error = 0.0;  // dual value vs the plain overloads
};

// Seeds `slots` random directions into every input and compares each tangent of f with
// (f(x + h d_k) - f(x - h d_k)) / 2h computed with the plain overloads.
template <class Function>
derivative_check check_against_central_differences(Function f, const std::vector<xt::xarray<double>>& inputs,
                                                   std::size_t slots, array_random_source& random, double step = 1e-6) {
    const auto directions = random_directions(inputs, slots, random);
    const auto duals = seeded_inputs(inputs, directions, slots, std::vector<std::size_t>(inputs.size(), slots));
    const dual_tensor<double> result = f(duals);
    derivative_check check;
    const xt::xarray<double> plain = f(inputs);
    check.value_error = relative_error(result.value(), plain);
    for (std::size_t k = 0; k < slots; ++k) {
        std::vector<xt::xarray<double>> forward;
        std::vector<xt::xarray<double>> backward;
        for (std::size_t j = 0; j < inputs.size(); ++j) {
            forward.push_back(inputs[j] + step * directions[k][j]);
            backward.push_back(inputs[j] - step * directions[k][j]);
        }
        const xt::xarray<double> plus = f(forward);
        const xt::xarray<double> minus = f(backward);
        const xt::xarray<double> difference = (plus - minus) / (2.0 * step);
        check.tangent_error = std::max(check.tangent_error, relative_error(tangent(result, k), difference));
    }
    return check;
}

// Worst relative difference, over slots, between f with `slots` tangents at once and a run
// with a single tangent (K = 1) seeded with that slot's directions; values must agree exactly
// (returns infinity otherwise). Elementwise work gives exactly 0; GEMM-based work may differ
// in the last bits, because BLAS accumulates rows in edge tiles in a different order and the
// slot stack moves a slot's rows relative to the tiles.
template <class Function>
double all_at_once_versus_one_at_a_time(Function f, const std::vector<xt::xarray<double>>& inputs, std::size_t slots,
                                        array_random_source& random) {
    const auto directions = random_directions(inputs, slots, random);
    const auto all = f(seeded_inputs(inputs, directions, slots, std::vector<std::size_t>(inputs.size(), slots)));
    double worst = 0.0;
    for (std::size_t k = 0; k < slots; ++k) {
        const auto single = f(seeded_inputs(inputs, {directions[k]}, 1, std::vector<std::size_t>(inputs.size(), 1)));
        if (!exactly_equal(all.value(), single.value())) {
            return std::numeric_limits<double>::infinity();
        }
        if (!exactly_equal(tangent(all, k), tangent(single, 0))) {
            worst = std::max(worst, std::max(relative_error(tangent(all, k), tangent(single, 0)), 1e-300));
        }
    }
    return worst;
}

// True when inputs with live prefixes `live` (others dead) give exactly the tangents of the
// same inputs stored densely (all K rows, dead ones zero), and the result's live count is
// the maximum of the inputs'.
template <class Function>
bool live_prefix_equals_dense(Function f, const std::vector<xt::xarray<double>>& inputs, std::size_t tangent_count,
                              const std::vector<std::size_t>& live, array_random_source& random) {
    const auto directions = random_directions(inputs, tangent_count, random);
    const auto sparse_inputs = seeded_inputs(inputs, directions, tangent_count, live);
    auto dense_inputs = sparse_inputs;
    for (auto& x : dense_inputs) {
        x.grow_live_tangents(tangent_count);
    }
    const auto sparse = f(sparse_inputs);
    const auto dense = f(dense_inputs);
    const std::size_t expected_live = *std::max_element(live.begin(), live.end());
    return sparse.live_tangents() == expected_live && dense.live_tangents() == tangent_count &&
           exactly_equal(tangents(sparse), tangents(dense)) && exactly_equal(sparse.value(), dense.value());
}
}  // namespace fds::autodiff::testing
