#define BOOST_TEST_MODULE nn_conv2d
#include <boost/test/unit_test.hpp>

#include <nn/conv2d.hpp>

#include "layer_check.hpp"

using namespace fds::nn;

BOOST_AUTO_TEST_CASE(conv2d_gradients_match_central_difference) {
  testing::check_gradient_by_central_difference(conv2d(2, 3, 3, 2, 1, true), {2, 2, 5, 6}, mode::training, 1);
  testing::check_gradient_by_central_difference(conv2d(1, 2, 2, 1, 0, false), {2, 1, 4, 4}, mode::training, 2);
}

BOOST_AUTO_TEST_CASE(conv2d_dual_tangents_match_central_difference_of_gradients) {
  testing::check_dual_tangents_by_central_difference(conv2d(2, 3, 3, 2, 1, true), {2, 2, 5, 6}, mode::training, 3);
}

BOOST_AUTO_TEST_CASE(conv2d_with_stride_and_padding_matches_pytorch) {
  testing::check_pytorch_parity(conv2d(3, 4, 3, 2, 1, true), "conv_stride2_pad1", mode::training);
}

BOOST_AUTO_TEST_CASE(conv2d_without_bias_matches_pytorch) {
  testing::check_pytorch_parity(conv2d(2, 3, 5, 1, 0, false), "conv_nobias", mode::training);
}

BOOST_AUTO_TEST_CASE(conv2d_output_shape_follows_pytorch_formula) {
  // floor((H + 2 padding - kernel) / stride) + 1
  BOOST_CHECK((conv2d(3, 4, 3, 2, 1).output_shape({3, 7, 6}) == shape_type{4, 4, 3}));
  BOOST_CHECK_THROW(conv2d(3, 4, 3).output_shape({2, 7, 6}), std::invalid_argument);
  BOOST_CHECK_THROW(conv2d(3, 4, 9).output_shape({3, 7, 6}), std::invalid_argument);
}
