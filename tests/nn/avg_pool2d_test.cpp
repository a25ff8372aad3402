#define BOOST_TEST_MODULE nn_avg_pool2d
#include <boost/test/unit_test.hpp>

#include <fds/nn/avg_pool2d.hpp>

#include "layer_check.hpp"

using namespace fds::nn;

BOOST_AUTO_TEST_CASE(avg_pool2d_gradient_matches_central_difference) {
    testing::check_gradient_by_central_difference(avg_pool2d(2), {2, 2, 4, 6}, mode::training, 1);
    testing::check_gradient_by_central_difference(avg_pool2d(3, 2), {1, 2, 7, 5}, mode::training, 2);
    testing::check_gradient_by_central_difference(global_avg_pool2d(), {2, 3, 4, 4}, mode::training, 3);
}

BOOST_AUTO_TEST_CASE(avg_pool2d_dual_tangents_match_central_difference_of_gradients) {
    testing::check_dual_tangents_by_central_difference(avg_pool2d(2), {2, 2, 4, 6}, mode::training, 4);
}

BOOST_AUTO_TEST_CASE(avg_pool2d_matches_pytorch) {
    testing::check_pytorch_parity(avg_pool2d(2), "avgpool", mode::training);
    testing::check_pytorch_parity(avg_pool2d(8), "global_avgpool", mode::training);
    testing::check_pytorch_parity(global_avg_pool2d(), "global_avgpool", mode::training);
}
