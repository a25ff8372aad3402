#define BOOST_TEST_MODULE nn_network
#include <boost/test/unit_test.hpp>

#include <fds/nn/models.hpp>

#include "network_check.hpp"

using namespace fds::nn;

namespace {
// a user-composed model: conv, a residual block with BatchNorm, pooling, linear head
network<double> small_resnet() {
    sequential<double> main;
    main << batch_norm2d(4) << relu() << conv2d(4, 4, 3, 1, 1, false);
    network<double> net({2, 6, 6});
    net << conv2d(2, 4, 3, 1, 1) << residual<double>(main) << max_pool2d(2) << flatten() << linear(36, 3);
    return net;
}
}  // namespace

BOOST_AUTO_TEST_CASE(network_counts_parameters_in_the_order_layers_were_added) {
    const auto net = small_resnet();
    // conv 4*2*9 + 4, BN 4 + 4, conv 4*4*9, linear 36*3 + 3
    BOOST_CHECK_EQUAL(net.parameter_count(), 72u + 4 + 8 + 144 + 108 + 3);
    BOOST_CHECK((net.output_shape() == shape_type{3}));
    BOOST_CHECK_EQUAL(net.buffers().size(), 8u);
    BOOST_CHECK(net.parameter_specs()[2].role == parameter_role::norm_scale);
}

BOOST_AUTO_TEST_CASE(network_gradient_and_hessian_tangents_match_central_difference) {
    auto net = small_resnet();
    const auto theta = net.initial_parameters({"xavier", 1.0}, 1);
    const auto batch = testing::random_batch(net, 4, 2);
    testing::check_network_gradient(net, theta, batch, 60);
    testing::check_network_hessian_tangents(net, theta, batch, 3);
}

BOOST_AUTO_TEST_CASE(training_mode_updates_running_statistics_and_evaluation_mode_uses_them) {
    auto net = small_resnet();
    const auto theta = net.initial_parameters({"xavier", 1.0}, 4);
    const auto batch = testing::random_batch(net, 6, 5);
    const xt::xarray<double> before = net.buffers();
    const auto training = net.evaluate(theta, batch.images, batch.labels, mode::training);
    BOOST_CHECK(net.buffers() != before);
    const auto frozen = net.buffers();
    const auto in_one_chunk = net.evaluate(theta, batch.images, batch.labels, mode::evaluation, 100);
    const auto in_chunks = net.evaluate(theta, batch.images, batch.labels, mode::evaluation, 4);
    BOOST_CHECK(net.buffers() == frozen);
    BOOST_CHECK_EQUAL(in_one_chunk.count, 6u);
    BOOST_CHECK_CLOSE(in_one_chunk.loss_sum, in_chunks.loss_sum, 1e-10);
    BOOST_CHECK_EQUAL(in_one_chunk.correct, in_chunks.correct);
    BOOST_CHECK_NE(in_one_chunk.loss_sum, training.loss_sum);
    // the training-mode loss equals loss_and_gradient's mean loss
    const auto step = net.loss_and_gradient(theta, batch.images, batch.labels);
    BOOST_CHECK_CLOSE(training.mean_loss(), step.loss(), 1e-10);
    net.reset_buffers();
    BOOST_CHECK(net.buffers() == before);
}

BOOST_AUTO_TEST_CASE(network_errors_name_expected_and_found_shapes) {
    auto net = small_resnet();
    BOOST_CHECK_THROW(net << linear(4, 2), std::invalid_argument);  // output is [3]
    const auto batch = testing::random_batch(net, 2, 6);
    try {
        net.loss_and_gradient(xt::xarray<double>(xt::zeros<double>({5})), batch.images, batch.labels);
        BOOST_FAIL("expected an exception");
    } catch (const std::invalid_argument& error) {
        BOOST_CHECK(std::string(error.what()).find("[5]") != std::string::npos);
    }
    const auto theta = net.initial_parameters({"xavier", 1.0}, 1);
    BOOST_CHECK_THROW(net.loss_and_gradient(theta, xt::xarray<double>(xt::zeros<double>({2, 2, 5, 6})), batch.labels),
                      std::invalid_argument);
    BOOST_CHECK_THROW(net.evaluate(theta, batch.images, xt::xarray<int>{0}, mode::evaluation), std::invalid_argument);
}
