#define BOOST_TEST_MODULE nn_sequential
#include <boost/test/unit_test.hpp>

#include <fds/nn/batch_norm2d.hpp>
#include <fds/nn/conv2d.hpp>
#include <fds/nn/linear.hpp>
#include <fds/nn/max_pool2d.hpp>
#include <fds/nn/relu.hpp>
#include <fds/nn/sequential.hpp>

#include "layer_check.hpp"

using namespace fds::nn;

namespace {
sequential<double> block() {
    sequential<double> layers;
    layers << conv2d(2, 3, 3, 1, 1, false) << batch_norm2d(3) << relu() << conv2d(3, 2, 1);
    return layers;
}

// The identity, counting whether its input came as an rvalue (free to keep) or as the caller's.
struct forward_probe : layer_defaults {
    std::size_t* consumed;
    std::size_t* copied;
    template <class Tensor>
    struct saved {
        Tensor input;
    };
    template <class Tensor, class Input>
    Tensor forward(Input&& input, const parameter_view<Tensor>&, saved<Tensor>& keep, run_context<double>&) const {
        ++*(std::is_rvalue_reference_v<Input&&> ? consumed : copied);
        keep.input = std::forward<Input>(input);
        return Tensor(keep.input);
    }
    template <class Tensor>
    Tensor backward(const Tensor& g, const parameter_view<Tensor>&, const saved<Tensor>&,
                    gradient_view<Tensor>&) const {
        return g;
    }
};
}  // namespace

BOOST_AUTO_TEST_CASE(sequential_hands_every_activation_after_the_first_as_an_rvalue) {
    std::size_t consumed = 0, copied = 0;
    sequential<double> layers;
    layers << forward_probe{{}, &consumed, &copied} << relu() << forward_probe{{}, &consumed, &copied}
           << forward_probe{{}, &consumed, &copied};
    const xt::xarray<double> input = {{1.0, -2.0}, {3.0, 4.0}};
    const xt::xarray<double> parameters = xt::zeros<double>({0});
    run_context<double> run;
    typename sequential<double>::saved<xt::xarray<double>> nothing;
    const xt::xarray<double> output =
        layers.forward(input, parameter_view<xt::xarray<double>>{parameters, 0}, nothing, run);
    BOOST_CHECK_EQUAL(copied, 1u);  // the first layer reads the caller's input
    BOOST_CHECK_EQUAL(consumed, 2u);  // the others take the activation before them
    BOOST_CHECK((output == xt::xarray<double>{{1.0, 0.0}, {3.0, 4.0}}));
}

BOOST_AUTO_TEST_CASE(layers_that_keep_their_input_move_an_rvalue_and_copy_the_callers) {
    const linear dense(2, 3);
    const xt::xarray<double> parameters = xt::ones<double>({9});
    const parameter_view<xt::xarray<double>> view{parameters, 0};
    run_context<double> run;
    xt::xarray<double> input = {{1.0, -2.0}, {3.0, 4.0}};
    const double* values = input.data();
    linear::saved<xt::xarray<double>> copied, moved;
    dense.forward(input, view, copied, run);
    BOOST_CHECK(copied.input.data() != values);
    BOOST_CHECK((copied.input == input));
    dense.forward(std::move(input), view, moved, run);
    BOOST_CHECK(moved.input.data() == values);  // the same buffer, taken over

    const conv2d convolution(1, 1, 1);
    fds::autodiff::dual_tensor<double> image(xt::ones<double>({1, 1, 2, 2}), 2);
    image.seed(0, xt::ones<double>({1, 1, 2, 2}));
    const double* image_values = image.value().data();
    const xt::xarray<double> kernel = xt::ones<double>({2});
    const fds::autodiff::dual_tensor<double> dual_kernel(kernel, 2);
    run_context<double> dual_run;
    conv2d::saved<fds::autodiff::dual_tensor<double>> kept;
    convolution.forward(std::move(image), parameter_view<fds::autodiff::dual_tensor<double>>{dual_kernel, 0}, kept,
                        dual_run);
    BOOST_CHECK(kept.input.value().data() == image_values);
}

BOOST_AUTO_TEST_CASE(sequential_lays_out_children_parameters_and_buffers_in_order) {
    const auto layers = block();
    const auto specs = layers.parameters({2, 4, 4});
    BOOST_REQUIRE_EQUAL(specs.size(), 5u);
    BOOST_CHECK((specs[0].shape == shape_type{3, 2, 3, 3}));
    BOOST_CHECK(specs[1].role == parameter_role::norm_scale);
    BOOST_CHECK((specs[3].shape == shape_type{2, 3, 1, 1}));
    BOOST_CHECK((layers.buffers({2, 4, 4}) == std::vector<double>{0, 0, 0, 1, 1, 1}));
    BOOST_CHECK((layers.output_shape({2, 4, 4}) == shape_type{2, 4, 4}));
}

BOOST_AUTO_TEST_CASE(sequential_gradients_match_central_difference) {
    testing::check_gradient_by_central_difference(block(), {3, 2, 4, 4}, mode::training, 1);
}

BOOST_AUTO_TEST_CASE(sequential_dual_tangents_match_central_difference_of_gradients) {
    testing::check_dual_tangents_by_central_difference(block(), {3, 2, 4, 4}, mode::training, 2);
}

BOOST_AUTO_TEST_CASE(sequential_copies_are_independent) {
    auto original = block();
    auto copy = original;
    original << linear(2, 2);
    BOOST_CHECK_EQUAL(copy.layer_count(), 3u);  // batch norm and relu fused
    BOOST_CHECK_EQUAL(original.layer_count(), 4u);
}

// Fusion replaces the pairs of layer_fusion.hpp and nothing else; layer_fusion::none keeps all.
BOOST_AUTO_TEST_CASE(sequential_fuses_batch_norm_relu_and_conv_relu_pool_only) {
    auto count = [](layer_fusion fusion, auto build) {
        sequential<double> layers(fusion);
        build(layers);
        return layers.layer_count();
    };
    auto norm_relu = [](sequential<double>& s) { s << batch_norm2d(2) << relu(); };
    auto conv_relu_pool = [](sequential<double>& s) { s << conv2d(1, 2, 3) << relu() << max_pool2d(2); };
    auto conv_pool = [](sequential<double>& s) { s << conv2d(1, 2, 3) << max_pool2d(2); };
    auto relu_norm = [](sequential<double>& s) { s << relu() << batch_norm2d(2); };
    auto twice = [](sequential<double>& s) { s << batch_norm2d(2) << relu() << relu(); };
    BOOST_TEST(count(layer_fusion::pairs, norm_relu) == 1u);
    BOOST_TEST(count(layer_fusion::none, norm_relu) == 2u);
    BOOST_TEST(count(layer_fusion::pairs, conv_relu_pool) == 2u);
    BOOST_TEST(count(layer_fusion::none, conv_relu_pool) == 3u);
    BOOST_TEST(count(layer_fusion::pairs, conv_pool) == 2u);
    BOOST_TEST(count(layer_fusion::pairs, relu_norm) == 2u);
    BOOST_TEST(count(layer_fusion::pairs, twice) == 2u);  // a fused batch norm takes no second relu
    const sequential<double> unfused(layer_fusion::none);
    sequential<double> copy(unfused);
    copy << batch_norm2d(2) << relu();
    BOOST_TEST(copy.layer_count() == 2u);  // copies keep the choice
}
