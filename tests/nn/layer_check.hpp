// Shared checks of the nn tests: run one layer forward and backward on plain or dual tensors,
// central finite differences in double, PyTorch fixtures.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <boost/test/unit_test.hpp>

#include <fds/autodiff/autodiff.hpp>

#include <fds/nn/layer.hpp>
#include <fds/nn/npy.hpp>
#include <fds/autodiff/random.hpp>

#ifndef FDS_NN_FIXTURES
#error "FDS_NN_FIXTURES must name the fixture directory"
#endif

namespace fds::nn::testing {

using autodiff::random_source;
using dual = autodiff::dual_tensor<double>;

template <class Tensor>
struct layer_pass {
    Tensor output;
    Tensor input_gradient;
    Tensor parameter_gradient;
};

// forward, then backward of <output, upstream>, for one layer
template <class Layer, class Tensor>
layer_pass<Tensor> run_layer(const Layer& layer, const Tensor& input, const Tensor& parameters, const Tensor& upstream,
                             mode run_mode, std::vector<scalar_of<Tensor>>& buffers) {
    typename Layer::template saved<Tensor> keep{};
    run_context<scalar_of<Tensor>> run;
    run.mode = run_mode;
    run.buffers = buffers.empty() ? nullptr : buffers.data();
    layer_pass<Tensor> pass;
    pass.output = layer.forward(input, parameter_view<Tensor>{parameters, 0}, keep, run);
    pass.parameter_gradient = zeros_like_kind(parameters, {parameters.size()});
    gradient_view<Tensor> gradient{pass.parameter_gradient, 0};
    pass.input_gradient = layer.backward(upstream, parameter_view<Tensor>{parameters, 0}, keep, gradient);
    return pass;
}

inline xt::xarray<double> random_array(const shape_type& shape, random_source& random, double scale = 1.0) {
    xt::xarray<double> array = xt::xarray<double>::from_shape(shape);
    for (auto& x : array) x = random.normal(0.0, scale);
    return array;
}

// max |a - b| <= tolerance * max |b| (relative to the largest expected entry; 1 if all are zero)
template <class A, class B>
void check_close(const A& actual, const B& expected, double tolerance, const std::string& what) {
    BOOST_REQUIRE_MESSAGE(actual.size() == expected.size(),
                          what << ": sizes " << actual.size() << " and " << expected.size());
    double scale = 0.0;
    double worst = 0.0;
    std::size_t worst_index = 0;
    auto a = actual.begin();
    auto b = expected.begin();
    for (std::size_t i = 0; i < actual.size(); ++i, ++a, ++b) {
        scale = std::max(scale, std::abs(static_cast<double>(*b)));
        const double difference = std::abs(static_cast<double>(*a) - static_cast<double>(*b));
        if (difference > worst || difference != difference) {
            worst = difference;
            worst_index = i;
        }
    }
    if (scale == 0.0) scale = 1.0;
    BOOST_CHECK_MESSAGE(worst <= tolerance * scale, what << ": largest difference " << worst << " at flat index "
                                                         << worst_index << " exceeds " << tolerance << " * " << scale);
}

// Plain gradients of f(x, p) = <layer(x, p), u> against central differences of f, every coordinate.
template <class Layer>
void check_gradient_by_central_difference(const Layer& layer, const shape_type& input_shape, mode run_mode,
                                          std::uint64_t seed, double input_scale = 1.0,
                                          std::vector<double> buffers = {}) {
    using plain = xt::xarray<double>;
    random_source random(seed);
    const shape_type sample(input_shape.begin() + 1, input_shape.end());
    std::size_t parameter_count = 0;
    for (const auto& spec : layer.parameters(sample)) parameter_count += spec.size();
    if (buffers.empty()) buffers = layer.buffers(sample);
    plain input = random_array(input_shape, random, input_scale);
    plain parameters = random_array({parameter_count}, random, 0.5);
    shape_type output_shape = layer.output_shape(sample);
    output_shape.insert(output_shape.begin(), input_shape[0]);
    const plain upstream = random_array(output_shape, random);

    auto buffers_copy = buffers;
    const auto pass = run_layer(layer, input, parameters, upstream, run_mode, buffers_copy);
    auto objective = [&](const plain& x, const plain& p) {
        auto scratch = buffers;
        typename Layer::template saved<plain> keep{};
        run_context<double> run;
        run.mode = run_mode;
        run.buffers = scratch.empty() ? nullptr : scratch.data();
        const plain y = layer.forward(x, parameter_view<plain>{p, 0}, keep, run);
        return xt::sum(y * upstream)();
    };
    const double step = 1e-6;
    plain numeric_input = xt::zeros<double>(input.shape());
    for (std::size_t i = 0; i < input.size(); ++i) {
        plain plus = input, minus = input;
        plus.data()[i] += step;
        minus.data()[i] -= step;
        numeric_input.data()[i] = (objective(plus, parameters) - objective(minus, parameters)) / (2 * step);
    }
    check_close(pass.input_gradient, numeric_input, 1e-6, "input gradient vs central difference");
    plain numeric_parameters = xt::zeros<double>({parameter_count});
    for (std::size_t i = 0; i < parameter_count; ++i) {
        plain plus = parameters, minus = parameters;
        plus.data()[i] += step;
        minus.data()[i] -= step;
        numeric_parameters.data()[i] = (objective(input, plus) - objective(input, minus)) / (2 * step);
    }
    check_close(pass.parameter_gradient, numeric_parameters, 1e-6, "parameter gradient vs central difference");
}

inline dual make_dual(const xt::xarray<double>& value, const std::vector<xt::xarray<double>>& directions,
                      std::size_t tangent_count) {
    shape_type block_shape(value.shape().begin(), value.shape().end());
    block_shape.insert(block_shape.begin(), directions.size());
    xt::xarray<double> block = xt::xarray<double>::from_shape(block_shape);
    for (std::size_t k = 0; k < directions.size(); ++k) {
        std::copy(directions[k].begin(), directions[k].end(), block.data() + k * value.size());
    }
    return dual(value, block, tangent_count);
}

// Dual forward and backward: the tangents of the output and of both gradients equal central
// differences of the plain forward and backward along each tangent direction (of the input, the
// parameters and the upstream gradient together). Two live tangents out of three slots.
template <class Layer>
void check_dual_tangents_by_central_difference(const Layer& layer, const shape_type& input_shape, mode run_mode,
                                               std::uint64_t seed, double input_scale = 1.0) {
    using plain = xt::xarray<double>;
    random_source random(seed);
    const shape_type sample(input_shape.begin() + 1, input_shape.end());
    std::size_t parameter_count = 0;
    for (const auto& spec : layer.parameters(sample)) parameter_count += spec.size();
    const auto initial_buffers = layer.buffers(sample);
    plain input = random_array(input_shape, random, input_scale);
    plain parameters = random_array({parameter_count}, random, 0.5);
    shape_type output_shape = layer.output_shape(sample);
    output_shape.insert(output_shape.begin(), input_shape[0]);
    const plain upstream = random_array(output_shape, random);
    const std::size_t live = 2;
    std::vector<plain> input_directions, parameter_directions, upstream_directions;
    for (std::size_t k = 0; k < live; ++k) {
        input_directions.push_back(random_array(input_shape, random));
        parameter_directions.push_back(random_array({parameter_count}, random));
        upstream_directions.push_back(random_array(output_shape, random));
    }
    std::vector<double> buffers = initial_buffers;
    const auto pass = run_layer(layer, make_dual(input, input_directions, live + 1),
                                make_dual(parameters, parameter_directions, live + 1),
                                make_dual(upstream, upstream_directions, live + 1), run_mode, buffers);
    const double step = 1e-5;
    for (std::size_t k = 0; k < live; ++k) {
        std::vector<double> scratch = initial_buffers;
        const auto plus = run_layer(layer, plain(input + step * input_directions[k]),
                                    plain(parameters + step * parameter_directions[k]),
                                    plain(upstream + step * upstream_directions[k]), run_mode, scratch);
        scratch = initial_buffers;
        const auto minus = run_layer(layer, plain(input - step * input_directions[k]),
                                     plain(parameters - step * parameter_directions[k]),
                                     plain(upstream - step * upstream_directions[k]), run_mode, scratch);
        const std::string slot = " tangent " + std::to_string(k);
        check_close(autodiff::tangent(pass.output, k), plain((plus.output - minus.output) / (2 * step)), 1e-6,
                    "output" + slot);
        check_close(autodiff::tangent(pass.input_gradient, k),
                    plain((plus.input_gradient - minus.input_gradient) / (2 * step)), 1e-6, "input gradient" + slot);
        check_close(autodiff::tangent(pass.parameter_gradient, k),
                    plain((plus.parameter_gradient - minus.parameter_gradient) / (2 * step)), 1e-6,
                    "parameter gradient" + slot);
    }
    // the dead slot stays exactly zero and the value equals the plain pass
    BOOST_CHECK(xt::all(xt::equal(autodiff::tangent(pass.parameter_gradient, live), 0.0)));
    std::vector<double> scratch = initial_buffers;
    const auto plain_pass = run_layer(layer, input, parameters, upstream, run_mode, scratch);
    check_close(autodiff::value(pass.input_gradient), plain_pass.input_gradient, 1e-12, "dual value vs plain");
}

template <class Scalar>
xt::xarray<Scalar> random_values(const shape_type& shape, random_source& random) {
    xt::xarray<Scalar> a = xt::xarray<Scalar>::from_shape(shape);
    for (auto& x : a) x = static_cast<Scalar>(random.normal());
    return a;
}

// A plain tensor, or a dual one with `tangents` random live slots.
template <class Tensor>
Tensor random_tensor(const shape_type& shape, std::size_t tangents, random_source& random) {
    using scalar = scalar_of<Tensor>;
    if constexpr (autodiff::is_dual_tensor_v<Tensor>) {
        shape_type block_shape{tangents};
        block_shape.insert(block_shape.end(), shape.begin(), shape.end());
        return Tensor(random_values<scalar>(shape, random), random_values<scalar>(block_shape, random), tangents);
    } else {
        (void)tangents;
        return random_values<scalar>(shape, random);
    }
}

template <class Tensor>
void check_identical(const Tensor& found, const Tensor& expected, const std::string& what) {
    BOOST_TEST_CONTEXT(what) {
        BOOST_TEST((autodiff::value(found) == autodiff::value(expected)));
        if constexpr (autodiff::is_dual_tensor_v<Tensor>) {
            BOOST_TEST((found.live_tangent_block() == expected.live_tangent_block()));
        }
    }
}

inline std::string fixture(const std::string& name) { return std::string(FDS_NN_FIXTURES) + "/" + name + ".npy"; }

// Parity with PyTorch (float32): forward output and both gradients of a layer on the fixture's
// input, parameters and upstream gradient.
template <class Layer>
void check_pytorch_parity(const Layer& layer, const std::string& name, mode run_mode, std::vector<float> buffers = {},
                          double tolerance = 1e-5) {
    using plain = xt::xarray<float>;
    const plain input = load_npy<float>(fixture(name + "_input"));
    const plain parameters = load_npy<float>(fixture(name + "_parameters"));
    const plain upstream = load_npy<float>(fixture(name + "_upstream"));
    if (buffers.empty()) {
        for (double b : layer.buffers(sample_shape(input))) buffers.push_back(static_cast<float>(b));
    }
    const auto pass = run_layer(layer, input, parameters, upstream, run_mode, buffers);
    BOOST_CHECK(std::equal(pass.output.shape().begin(), pass.output.shape().end(),
                           load_npy<float>(fixture(name + "_output")).shape().begin()));
    check_close(pass.output, load_npy<float>(fixture(name + "_output")), tolerance, name + " output vs PyTorch");
    check_close(pass.input_gradient, load_npy<float>(fixture(name + "_input_gradient")), tolerance,
                name + " input gradient vs PyTorch");
    check_close(pass.parameter_gradient, load_npy<float>(fixture(name + "_parameter_gradient")), tolerance,
                name + " parameter gradient vs PyTorch");
}

}  // namespace fds::nn::testing
