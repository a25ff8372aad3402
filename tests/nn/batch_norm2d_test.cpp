#define BOOST_TEST_MODULE nn_batch_norm2d
#include <boost/test/unit_test.hpp>

#include <xtensor/xadapt.hpp>
#include <xtensor/xview.hpp>

#include <fds/nn/batch_norm2d.hpp>

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

namespace {

// channel c of a dual [N, C, H, W] (value and tangent rows) as a dual [N, 1, H, W]
testing::dual channel_of(const testing::dual& x, std::size_t c) {
    const xt::xarray<double> value = xt::view(x.value(), xt::all(), xt::range(c, c + 1));
    const xt::xarray<double> block = xt::view(x.live_tangent_block(), xt::all(), xt::all(), xt::range(c, c + 1));
    return testing::dual(value, block, x.tangent_count());
}

// entries [c] and [channels + c] of a flat dual (one channel's gamma and beta, or their gradients)
testing::dual gamma_beta_of(const testing::dual& flat, std::size_t channels, std::size_t c) {
    const auto& value = flat.value();
    const auto& block = flat.live_tangent_block();
    xt::xarray<double> pair_value = {value(c), value(channels + c)};
    xt::xarray<double> pair_block = xt::xarray<double>::from_shape({block.shape()[0], 2});
    for (std::size_t k = 0; k < block.shape()[0]; ++k) {
        pair_block(k, 0) = block(k, c);
        pair_block(k, 1) = block(k, channels + c);
    }
    return testing::dual(pair_value, pair_block, flat.tangent_count());
}

bool same_bits(const testing::dual& a, const testing::dual& b) {
    return a.value() == b.value() && a.live_tangent_block() == b.live_tangent_block();
}

}  // namespace

// Planes of 20000 doubles: a channel of 4 samples is 640 KB, so the kernels take channels in groups
// of 3 (group_channels) and the 5 channels are split over the threads and into groups. Each channel
// is computed alone too; every result must be the same to the last bit, as the per-channel
// arithmetic is independent of how channels are grouped or shared out.
BOOST_AUTO_TEST_CASE(batch_norm2d_channel_groups_and_threads_give_each_channel_the_bits_it_has_alone) {
    const std::size_t channels = 5;
    const shape_type shape{4, channels, 100, 200};
    fds::autodiff::random_source random(11);
    std::vector<xt::xarray<double>> input_directions, parameter_directions, upstream_directions;
    for (std::size_t k = 0; k < 2; ++k) {
        input_directions.push_back(testing::random_array(shape, random));
        parameter_directions.push_back(testing::random_array({2 * channels}, random));
        upstream_directions.push_back(testing::random_array(shape, random));
    }
    const auto input = testing::make_dual(testing::random_array(shape, random, 2.0), input_directions, 3);
    const auto parameters =
        testing::make_dual(testing::random_array({2 * channels}, random) + 1.0, parameter_directions, 3);
    const auto upstream = testing::make_dual(testing::random_array(shape, random), upstream_directions, 3);
    const batch_norm2d layer(channels);
    for (const mode run_mode : {mode::training, mode::evaluation}) {
        std::vector<double> buffers(2 * channels);
        for (std::size_t c = 0; c < channels; ++c) buffers[c] = 0.1 * c, buffers[channels + c] = 1.0 + c;
        auto all_buffers = buffers;
        const auto whole = testing::run_layer(layer, input, parameters, upstream, run_mode, all_buffers);
        for (std::size_t c = 0; c < channels; ++c) {
            std::vector<double> channel_buffers{buffers[c], buffers[channels + c]};
            const auto alone =
                testing::run_layer(batch_norm2d(1), channel_of(input, c), gamma_beta_of(parameters, channels, c),
                                   channel_of(upstream, c), run_mode, channel_buffers);
            BOOST_TEST(same_bits(channel_of(whole.output, c), alone.output), "output of channel " << c);
            BOOST_TEST(same_bits(channel_of(whole.input_gradient, c), alone.input_gradient),
                       "input gradient of channel " << c);
            BOOST_TEST(same_bits(gamma_beta_of(whole.parameter_gradient, channels, c), alone.parameter_gradient),
                       "gamma and beta gradients of channel " << c);
            BOOST_TEST(all_buffers[c] == channel_buffers[0]);
            BOOST_TEST(all_buffers[channels + c] == channel_buffers[1]);
        }
    }
}
