#define BOOST_TEST_MODULE nn_linear
#include <boost/test/unit_test.hpp>

#include <fds/nn/linear.hpp>

#include "layer_check.hpp"

using namespace fds::nn;

BOOST_AUTO_TEST_CASE(linear_gradients_match_central_difference) {
    testing::check_gradient_by_central_difference(linear(5, 3), {4, 5}, mode::training, 1);
    testing::check_gradient_by_central_difference(linear(4, 2, false), {3, 4}, mode::training, 2);
}

BOOST_AUTO_TEST_CASE(linear_dual_tangents_match_central_difference_of_gradients) {
    testing::check_dual_tangents_by_central_difference(linear(5, 3), {4, 5}, mode::training, 3);
}

BOOST_AUTO_TEST_CASE(linear_matches_pytorch) { testing::check_pytorch_parity(linear(5, 3), "linear", mode::training); }

BOOST_AUTO_TEST_CASE(linear_rejects_wrong_input_width) {
    BOOST_CHECK_THROW(linear(5, 3).output_shape({4}), std::invalid_argument);
    BOOST_CHECK_THROW(linear(5, 3).output_shape({5, 1}), std::invalid_argument);
    BOOST_CHECK_EQUAL(linear(5, 3).parameters({5})[0].fan_in, 5u);
}
