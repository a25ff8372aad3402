#define BOOST_TEST_MODULE nn_max_pool2d
#include <boost/test/unit_test.hpp>

#include <fds/nn/max_pool2d.hpp>

#include "layer_check.hpp"

using namespace fds::nn;

BOOST_AUTO_TEST_CASE(max_pool2d_gradient_matches_central_difference) {
    testing::check_gradient_by_central_difference(max_pool2d(2), {2, 2, 4, 6}, mode::training, 1);
    testing::check_gradient_by_central_difference(max_pool2d(3, 2), {1, 2, 7, 5}, mode::training, 2);
}

BOOST_AUTO_TEST_CASE(max_pool2d_dual_tangents_match_central_difference_of_gradients) {
    testing::check_dual_tangents_by_central_difference(max_pool2d(2), {2, 2, 4, 6}, mode::training, 3);
}

BOOST_AUTO_TEST_CASE(max_pool2d_ties_go_to_the_first_maximum_as_pytorch) {
    testing::check_pytorch_parity(max_pool2d(2), "maxpool_ties", mode::training);
    xt::xarray<double> x = xt::ones<double>({1, 1, 2, 2});
    BOOST_CHECK_EQUAL(max_pool2d(2).winners(x)(0, 0, 0, 0), 0u);
}

BOOST_AUTO_TEST_CASE(max_pool2d_overlapping_windows_match_pytorch) {
    testing::check_pytorch_parity(max_pool2d(3, 2), "maxpool_k3_s2", mode::training);
}
