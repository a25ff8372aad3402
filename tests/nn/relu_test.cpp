#define BOOST_TEST_MODULE nn_relu
#include <boost/test/unit_test.hpp>

#include <fds/nn/relu.hpp>

#include "layer_check.hpp"

using namespace fds::nn;

BOOST_AUTO_TEST_CASE(relu_gradient_matches_central_difference) {
    testing::check_gradient_by_central_difference(relu(), {3, 2, 3, 3}, mode::training, 1);
}

BOOST_AUTO_TEST_CASE(relu_dual_tangents_match_central_difference_of_gradients) {
    testing::check_dual_tangents_by_central_difference(relu(), {3, 7}, mode::training, 2);
}

BOOST_AUTO_TEST_CASE(relu_matches_pytorch) { testing::check_pytorch_parity(relu(), "relu", mode::training); }
