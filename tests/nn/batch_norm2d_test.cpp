#define BOOST_TEST_MODULE nn_batch_norm2d
#include <boost/test/unit_test.hpp>

#include <xtensor/xadapt.hpp>
#include <xtensor/xview.hpp>

#include <nn/batch_norm2d.hpp>

#include "layer_check.hpp"

using namespace fds::nn;

BOOST_AUTO_TEST_CASE(batch_norm2d_training_gradients_match_central_difference) {
  testing::check_gradient_by_central_difference(batch_norm2d(3), {4, 3, 2, 3}, mode::training, 1, 2.0);
}

BOOST_AUTO_TEST_CASE(batch_norm2d_evaluation_gradients_match_central_difference) {
  testing::check_gradient_by_central_difference(batch_norm2d(2), {3, 2, 2, 2}, mode::evaluation, 2, 1.0,
                                                {0.5, -0.2, 2.0, 0.7});
}

BOOST_AUTO_TEST_CASE(batch_norm2d_dual_tangents_match_central_difference_of_gradients) {
  testing::check_dual_tangents_by_central_difference(batch_norm2d(3), {4, 3, 2, 3}, mode::training, 3, 2.0);
  testing::check_dual_tangents_by_central_difference(batch_norm2d(3), {4, 3, 2, 3}, mode::evaluation, 4, 2.0);
}

// planes of 15 values: the channel sums' eight-lane vectors (one run of 8) and their tail (7)
BOOST_AUTO_TEST_CASE(batch_norm2d_vectorized_sums_match_central_difference) {
  testing::check_gradient_by_central_difference(batch_norm2d(2), {3, 2, 3, 5}, mode::training, 5, 2.0);
  testing::check_dual_tangents_by_central_difference(batch_norm2d(2), {3, 2, 3, 5}, mode::training, 6, 2.0);
  testing::check_dual_tangents_by_central_difference(batch_norm2d(2), {3, 2, 3, 5}, mode::evaluation, 7, 2.0);
}

BOOST_AUTO_TEST_CASE(batch_norm2d_uses_biased_batch_variance_and_unbiased_running_variance_as_pytorch) {
  const batch_norm2d layer(3);
  std::vector<float> buffers{0, 0, 0, 1, 1, 1};
  testing::check_pytorch_parity(layer, "bn_train", mode::training, buffers);
  // the parity run above works on a copy; run once more to read the updated running statistics
  const auto input = load_npy<float>(testing::fixture("bn_train_input"));
  const auto parameters = load_npy<float>(testing::fixture("bn_train_parameters"));
  const auto upstream = load_npy<float>(testing::fixture("bn_train_upstream"));
  testing::run_layer(layer, input, parameters, upstream, mode::training, buffers);
  const xt::xarray<float> running(xt::adapt(buffers, {6}));
  testing::check_close(xt::xarray<float>(xt::view(running, xt::range(0, 3))),
                       load_npy<float>(testing::fixture("bn_train_running_mean")), 1e-6, "running mean");
  testing::check_close(xt::xarray<float>(xt::view(running, xt::range(3, 6))),
                       load_npy<float>(testing::fixture("bn_train_running_var")), 1e-6, "running variance");
}

BOOST_AUTO_TEST_CASE(batch_norm2d_evaluation_mode_uses_running_statistics_as_pytorch) {
  std::vector<float> buffers;
  const auto mean = load_npy<float>(testing::fixture("bn_train_running_mean"));
  const auto variance = load_npy<float>(testing::fixture("bn_train_running_var"));
  buffers.insert(buffers.end(), mean.begin(), mean.end());
  buffers.insert(buffers.end(), variance.begin(), variance.end());
  testing::check_pytorch_parity(batch_norm2d(3), "bn_eval", mode::evaluation, buffers);
}
