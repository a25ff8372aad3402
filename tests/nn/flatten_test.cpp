#define BOOST_TEST_MODULE nn_flatten
#include <boost/test/unit_test.hpp>

#include <fds/nn/flatten.hpp>

#include "layer_check.hpp"

using namespace fds::nn;

BOOST_AUTO_TEST_CASE(flatten_gradient_matches_central_difference) {
    testing::check_gradient_by_central_difference(flatten(), {2, 3, 2, 2}, mode::training, 1);
    testing::check_dual_tangents_by_central_difference(flatten(), {2, 3, 2, 2}, mode::training, 2);
}

BOOST_AUTO_TEST_CASE(flatten_keeps_row_major_order) {
    xt::xarray<double> x = xt::arange<double>(24.0);
    x.reshape({2, 3, 2, 2});
    std::vector<double> buffers;
    const auto pass = testing::run_layer(flatten(), x, xt::xarray<double>(xt::zeros<double>({0})),
                                         xt::xarray<double>(xt::ones<double>({2, 12})), mode::training, buffers);
    BOOST_CHECK((shape_type(pass.output.shape().begin(), pass.output.shape().end()) == shape_type{2, 12}));
    BOOST_CHECK_EQUAL(pass.output(1, 0), 12.0);
    BOOST_CHECK_EQUAL(pass.input_gradient.dimension(), 4u);
}
