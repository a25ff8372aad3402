#define BOOST_TEST_MODULE nn_batch_norm2d_relu
#include <boost/test/unit_test.hpp>

#include <fds/nn/batch_norm2d_relu.hpp>
#include <fds/nn/relu.hpp>
#include <fds/nn/sequential.hpp>

#include "layer_check.hpp"

using namespace fds::nn;

BOOST_AUTO_TEST_CASE(batch_norm2d_relu_gradients_match_central_difference) {
    testing::check_gradient_by_central_difference(batch_norm2d_relu(3), {4, 3, 2, 3}, mode::training, 1, 2.0);
    testing::check_gradient_by_central_difference(batch_norm2d_relu(2), {3, 2, 2, 2}, mode::evaluation, 2, 1.0,
                                                  {0.5, -0.2, 2.0, 0.7});
}

// planes of 15 values: the masked channel sums' eight-lane vectors (one run of 8) and their tail (7)
BOOST_AUTO_TEST_CASE(batch_norm2d_relu_dual_tangents_match_central_difference_of_gradients) {
    testing::check_dual_tangents_by_central_difference(batch_norm2d_relu(3), {4, 3, 2, 3}, mode::training, 3, 2.0);
    testing::check_dual_tangents_by_central_difference(batch_norm2d_relu(2), {3, 2, 3, 5}, mode::training, 4, 2.0);
    testing::check_dual_tangents_by_central_difference(batch_norm2d_relu(2), {3, 2, 3, 5}, mode::evaluation, 5, 2.0);
}

BOOST_AUTO_TEST_CASE(batch_norm2d_relu_has_the_parameters_and_buffers_of_batch_norm2d) {
    const batch_norm2d_relu fused(4);
    const batch_norm2d alone(4);
    BOOST_TEST((fused.output_shape({4, 5, 6}) == shape_type{4, 5, 6}));
    BOOST_TEST(fused.parameters({4, 5, 6}).size() == alone.parameters({4, 5, 6}).size());
    for (std::size_t i = 0; i < alone.parameters({4, 5, 6}).size(); ++i) {
        BOOST_TEST(fused.parameters({4, 5, 6})[i].name == alone.parameters({4, 5, 6})[i].name);
        BOOST_TEST((fused.parameters({4, 5, 6})[i].shape == alone.parameters({4, 5, 6})[i].shape));
    }
    BOOST_TEST((fused.buffers({4, 5, 6}) == alone.buffers({4, 5, 6})));
    BOOST_CHECK_EXCEPTION(fused.output_shape({3, 5, 6}), std::invalid_argument, [](const std::invalid_argument& e) {
        return std::string(e.what()).find("batch_norm2d_relu: expected per-sample input [4, H, W]") == 0;
    });
}

namespace {

// The fused layer and batch_norm2d followed by relu on the same input, parameters, upstream
// gradient and running statistics: output, both gradients and the updated statistics equal bit
// for bit (both tangent slots live everywhere, so every masked term runs).
template <class Tensor>
void check_same_as_separate_layers(std::size_t channels, const shape_type& input_shape, mode run_mode,
                                   std::uint64_t seed) {
    using scalar = scalar_of<Tensor>;
    sequential<scalar> separate(layer_fusion::none);
    separate << batch_norm2d(channels) << relu();
    const batch_norm2d_relu fused(channels);
    shape_type parameter_shape{2 * channels};
    fds::autodiff::random_source random(seed);
    const auto input = testing::random_tensor<Tensor>(input_shape, 2, random);
    const auto parameters = testing::random_tensor<Tensor>(parameter_shape, 2, random);
    const auto upstream = testing::random_tensor<Tensor>(input_shape, 2, random);
    std::vector<scalar> separate_buffers(2 * channels), fused_buffers;
    for (std::size_t c = 0; c < channels; ++c) {
        separate_buffers[c] = static_cast<scalar>(0.1 * c);
        separate_buffers[channels + c] = static_cast<scalar>(1.0 + c);
    }
    fused_buffers = separate_buffers;
    const auto expected = testing::run_layer(separate, input, parameters, upstream, run_mode, separate_buffers);
    const auto found = testing::run_layer(fused, input, parameters, upstream, run_mode, fused_buffers);
    testing::check_identical(found.output, expected.output, "output");
    testing::check_identical(found.input_gradient, expected.input_gradient, "input gradient");
    testing::check_identical(found.parameter_gradient, expected.parameter_gradient, "parameter gradient");
    BOOST_TEST((fused_buffers == separate_buffers));
    // the relu did cut: some outputs are zero, some positive
    const auto& output = fds::autodiff::value(found.output);
    BOOST_TEST(std::count(output.begin(), output.end(), scalar(0)) > 0);
    BOOST_TEST(std::count_if(output.begin(), output.end(), [](scalar y) { return y > 0; }) > 0);
}

template <class Tensor>
void check_configurations() {
    for (const mode run_mode : {mode::training, mode::evaluation}) {
        check_same_as_separate_layers<Tensor>(3, {4, 3, 3, 5}, run_mode, 1);  // runs of 15: vectors and tails
        check_same_as_separate_layers<Tensor>(4, {5, 4, 16, 16}, run_mode, 2);
        check_same_as_separate_layers<Tensor>(2, {2, 2, 300, 300}, run_mode, 3);  // channels in groups of one
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(batch_norm2d_relu_equals_batch_norm2d_then_relu_bit_for_bit) {
    check_configurations<xt::xarray<double>>();
    check_configurations<fds::autodiff::dual_tensor<double>>();
    check_configurations<xt::xarray<float>>();
    check_configurations<fds::autodiff::dual_tensor<float>>();
}
