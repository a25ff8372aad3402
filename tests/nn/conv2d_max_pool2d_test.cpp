#define BOOST_TEST_MODULE nn_conv2d_max_pool2d
#include <boost/test/unit_test.hpp>

#include <fds/nn/conv2d_max_pool2d.hpp>
#include <fds/nn/sequential.hpp>

#include "layer_check.hpp"

using namespace fds::nn;

BOOST_AUTO_TEST_CASE(conv2d_max_pool2d_gradients_match_central_difference) {
    testing::check_gradient_by_central_difference(conv2d_max_pool2d(conv2d(2, 3, 3, 1, 1, true), 2), {2, 2, 6, 6},
                                                  mode::training, 1);
    testing::check_gradient_by_central_difference(conv2d_max_pool2d(conv2d(1, 2, 2, 2, 1, false), 3, 2), {2, 1, 9, 8},
                                                  mode::training, 2);
}

BOOST_AUTO_TEST_CASE(conv2d_max_pool2d_dual_tangents_match_central_difference_of_gradients) {
    testing::check_dual_tangents_by_central_difference(conv2d_max_pool2d(conv2d(2, 3, 3, 1, 1, true), 2), {2, 2, 6, 6},
                                                       mode::training, 3);
}

BOOST_AUTO_TEST_CASE(conv2d_max_pool2d_shapes_and_parameters_are_those_of_the_two_layers) {
    const conv2d_max_pool2d fused(conv2d(3, 4, 5), 2);
    BOOST_TEST((fused.output_shape({3, 28, 28}) == shape_type{4, 12, 12}));
    BOOST_TEST(fused.parameters({3, 28, 28}).size() == 2u);
    BOOST_TEST(fused.parameters({3, 28, 28})[0].size() == 4u * 3 * 5 * 5);
    BOOST_CHECK_THROW(fused.output_shape({3, 4, 4}), std::invalid_argument);
}

namespace {

using dual = fds::autodiff::dual_tensor<double>;

// The fused layer and conv2d followed by max_pool2d, on the same input, parameters and upstream
// gradient: output, input gradient and parameter gradient equal bit for bit.
template <class Tensor>
void check_same_as_separate_layers(const conv2d& convolution, const max_pool2d& pool, const shape_type& input_shape,
                                   std::uint64_t seed) {
    using scalar = scalar_of<Tensor>;
    sequential<scalar> separate(layer_fusion::none);
    separate << convolution << pool;
    const conv2d_max_pool2d fused(convolution, pool);
    const shape_type sample(input_shape.begin() + 1, input_shape.end());
    std::size_t parameter_count = 0;
    for (const auto& spec : fused.parameters(sample)) parameter_count += spec.size();
    shape_type output_shape = fused.output_shape(sample);
    output_shape.insert(output_shape.begin(), input_shape[0]);
    BOOST_TEST((separate.output_shape(sample) == fused.output_shape(sample)));

    fds::autodiff::random_source random(seed);
    const auto input = testing::random_tensor<Tensor>(input_shape, 2, random);
    const auto parameters = testing::random_tensor<Tensor>({parameter_count}, 2, random);
    const auto upstream = testing::random_tensor<Tensor>(output_shape, 2, random);
    std::vector<scalar> no_buffers;
    const auto expected = testing::run_layer(separate, input, parameters, upstream, mode::training, no_buffers);
    const auto found = testing::run_layer(fused, input, parameters, upstream, mode::training, no_buffers);
    testing::check_identical(found.output, expected.output, "output");
    testing::check_identical(found.input_gradient, expected.input_gradient, "input gradient");
    testing::check_identical(found.parameter_gradient, expected.parameter_gradient, "parameter gradient");
}

template <class Tensor>
void check_configurations() {
    // LeNet's stages; padding, stride and no bias; overlapping windows; odd sizes (floor mode)
    check_same_as_separate_layers<Tensor>(conv2d(1, 6, 5), max_pool2d(2), {5, 1, 28, 28}, 1);
    check_same_as_separate_layers<Tensor>(conv2d(6, 16, 5), max_pool2d(2), {5, 6, 12, 12}, 2);
    check_same_as_separate_layers<Tensor>(conv2d(3, 4, 3, 2, 1, false), max_pool2d(2), {3, 3, 11, 9}, 3);
    check_same_as_separate_layers<Tensor>(conv2d(2, 3, 3, 1, 1, true), max_pool2d(3, 2), {4, 2, 9, 10}, 4);
}

}  // namespace

BOOST_AUTO_TEST_CASE(conv2d_max_pool2d_equals_conv2d_then_max_pool2d_bit_for_bit) {
    check_configurations<xt::xarray<double>>();
    check_configurations<dual>();
    check_configurations<xt::xarray<float>>();
    check_configurations<fds::autodiff::dual_tensor<float>>();
}

// Ties: equal maxima inside a window (here a zero input) go to the first position, as in
// max_pool2d and PyTorch, including where the bias makes every entry of a plane equal.
BOOST_AUTO_TEST_CASE(conv2d_max_pool2d_ties_go_to_the_first_maximum) {
    const conv2d_max_pool2d fused(conv2d(1, 1, 1), 2);
    const xt::xarray<double> input = xt::zeros<double>({1, 1, 4, 4});
    const xt::xarray<double> parameters{2.0, 0.5};  // weight, bias
    const xt::xarray<double> upstream = xt::ones<double>({1, 1, 2, 2});
    std::vector<double> no_buffers;
    const auto pass = testing::run_layer(fused, input, parameters, upstream, mode::training, no_buffers);
    BOOST_TEST((pass.output == xt::xarray<double>(0.5 * xt::ones<double>({1, 1, 2, 2}))));
    const xt::xarray<double> expected_gradient{{{{1, 0, 1, 0}, {0, 0, 0, 0}, {1, 0, 1, 0}, {0, 0, 0, 0}}}};
    BOOST_TEST((pass.input_gradient == expected_gradient * 2.0));
}

// Many chunks on two threads: the kernels with the pooled output policy equal the plain
// convolution kernels followed by max-pool, bit for bit.
BOOST_AUTO_TEST_CASE(pooled_convolution_kernels_in_many_chunks_equal_convolution_then_pool) {
    const std::size_t threads = fds::autodiff::thread_count();
    fds::autodiff::set_thread_count(2);
    detail::conv_shape shape{{9, 2, 8, 7, 3, 3, 1, 1, 8, 7}};
    shape.chunk_bytes = 2 * shape.patch() * shape.positions() * sizeof(double);  // 5 chunks
    fds::autodiff::random_source random(7);
    const dual x = testing::random_tensor<dual>({9, 2, 8, 7}, 2, random);
    const dual weight = testing::random_tensor<dual>({3, 18}, 2, random);
    const dual bias = testing::random_tensor<dual>({3}, 2, random);
    const dual g = testing::random_tensor<dual>({9, 3, 4, 3}, 2, random);
    const max_pool2d pool(2);

    std::vector<std::uint32_t> winners(9 * 3 * 4 * 3);
    const detail::max_pooled_output<double> pooled{2, 2, 4, 3, winners.data()};
    const dual found = detail::conv_forward(x, weight, &bias, shape, pooled);
    dual weight_gradient, bias_gradient, input_gradient;
    detail::conv_backward(g, x, weight, true, true, shape, weight_gradient, bias_gradient, input_gradient, pooled);

    const dual convolution = detail::conv_forward(x, weight, &bias, shape);
    max_pool2d::saved<dual> keep;
    run_context<double> run;
    const dual no_parameters_at_all;
    parameter_view<dual> none{no_parameters_at_all, 0};
    const dual expected = pool.forward(convolution, none, keep, run);
    dual no_gradient;
    gradient_view<dual> no_parameters{no_gradient, 0};
    const dual output_gradient = pool.backward(g, none, keep, no_parameters);
    dual expected_weight_gradient, expected_bias_gradient, expected_input_gradient;
    detail::conv_backward(output_gradient, x, weight, true, true, shape, expected_weight_gradient,
                          expected_bias_gradient, expected_input_gradient);
    fds::autodiff::set_thread_count(threads);

    testing::check_identical(found, expected, "output");
    testing::check_identical(weight_gradient, expected_weight_gradient, "weight gradient");
    testing::check_identical(bias_gradient, expected_bias_gradient, "bias gradient");
    testing::check_identical(input_gradient, expected_input_gradient, "input gradient");
}
