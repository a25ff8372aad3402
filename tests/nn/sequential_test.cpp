#define BOOST_TEST_MODULE nn_sequential
#include <boost/test/unit_test.hpp>

#include <nn/batch_norm2d.hpp>
#include <nn/conv2d.hpp>
#include <nn/linear.hpp>
#include <nn/relu.hpp>
#include <nn/sequential.hpp>

#include "layer_check.hpp"

using namespace fds::nn;

namespace {
sequential<double> block() {
  sequential<double> layers;
  layers << conv2d(2, 3, 3, 1, 1, false) << batch_norm2d(3) << relu() << conv2d(3, 2, 1);
  return layers;
}
}  // namespace

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
  BOOST_CHECK_EQUAL(copy.layer_count(), 4u);
  BOOST_CHECK_EQUAL(original.layer_count(), 5u);
}
