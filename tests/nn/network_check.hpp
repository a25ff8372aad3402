// Whole-network derivative checks shared by network_test and models_test (double).
#pragma once

#include <xtensor/xnorm.hpp>

#include <fds/nn/network.hpp>

#include "layer_check.hpp"

namespace fds::nn::testing {

struct network_batch {
    xt::xarray<double> images;
    xt::xarray<int> labels;
};

inline network_batch random_batch(const network<double>& net, std::size_t count, std::uint64_t seed) {
    random_source random(seed);
    shape_type shape = net.input_shape();
    shape.insert(shape.begin(), count);
    network_batch batch{random_array(shape, random), xt::xarray<int>::from_shape({count})};
    const std::size_t classes = net.output_shape()[0];
    for (std::size_t n = 0; n < count; ++n) batch.labels(n) = static_cast<int>(n % classes);
    return batch;
}

// Gradient of the mean cross-entropy against central differences on `coordinates` parameters
// spread over the whole vector (every layer is hit when coordinates >= the layer count).
inline void check_network_gradient(network<double>& net, const xt::xarray<double>& parameters,
                                   const network_batch& batch, std::size_t coordinates) {
    const auto result = net.loss_and_gradient(parameters, batch.images, batch.labels);
    const std::size_t count = parameters.size();
    const double step = 1e-6;
    double worst = 0.0, scale = 1e-3;
    for (std::size_t c = 0; c < coordinates; ++c) {
        const std::size_t i = (c * count) / coordinates + (c * 7919) % std::max<std::size_t>(1, count / coordinates);
        xt::xarray<double> plus = parameters, minus = parameters;
        plus(i) += step;
        minus(i) -= step;
        const double numeric = (net.loss_and_gradient(plus, batch.images, batch.labels).loss() -
                                net.loss_and_gradient(minus, batch.images, batch.labels).loss()) /
                               (2 * step);
        worst = std::max(worst, std::abs(numeric - result.gradient(i)));
        scale = std::max(scale, std::abs(numeric));
    }
    BOOST_CHECK_MESSAGE(worst <= 1e-5 * scale,
                        "gradient vs central difference: worst " << worst << ", scale " << scale);
}

// Dual parameters with two live tangents Z_k: the gradient's tangents are H Z_k, compared with
// (grad(theta + h Z_k) - grad(theta - h Z_k)) / 2h; the loss tangent is grad . Z_k.
// h is small (1e-7) because the gradient jumps where a ReLU or max-pool input crosses a kink: in
// WRN-16-1 a step of 1e-5 along a random direction already crosses some, and each crossing adds
// jump / 2h to the difference quotient.
inline void check_network_hessian_tangents(network<double>& net, const xt::xarray<double>& parameters,
                                           const network_batch& batch, std::uint64_t seed) {
    random_source random(seed);
    std::vector<xt::xarray<double>> directions{random_array({parameters.size()}, random, 0.1),
                                               random_array({parameters.size()}, random, 0.1)};
    const auto dual_result = net.loss_and_gradient(make_dual(parameters, directions, 3), batch.images, batch.labels);
    const auto plain_result = net.loss_and_gradient(parameters, batch.images, batch.labels);
    check_close(autodiff::value(dual_result.gradient), plain_result.gradient, 1e-12, "dual value vs plain gradient");
    const double step = 1e-7;
    for (std::size_t k = 0; k < 2; ++k) {
        const auto plus =
            net.loss_and_gradient(xt::xarray<double>(parameters + step * directions[k]), batch.images, batch.labels);
        const auto minus =
            net.loss_and_gradient(xt::xarray<double>(parameters - step * directions[k]), batch.images, batch.labels);
        const xt::xarray<double> numeric = (plus.gradient - minus.gradient) / (2 * step);
        const xt::xarray<double> analytic = autodiff::tangent(dual_result.gradient, k);
        const double error = xt::norm_l2(xt::xarray<double>(analytic - numeric))();
        const double size = xt::norm_l2(numeric)();
        BOOST_CHECK_MESSAGE(error <= 1e-5 * size, "H Z tangent " << k << ": |error| " << error << " vs |HZ| " << size);
        BOOST_CHECK_CLOSE(autodiff::tangent(dual_result.loss, k)(), xt::sum(plain_result.gradient * directions[k])(),
                          1e-6);
    }
}

}  // namespace fds::nn::testing
