#define BOOST_TEST_MODULE nn_models
#include <boost/test/unit_test.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include <fds/nn/models.hpp>

#include "network_check.hpp"

using namespace fds::nn;

BOOST_AUTO_TEST_CASE(parameter_counts_equal_pytorch) {
    std::ifstream stream(std::string(FDS_NN_FIXTURES) + "/parameter_counts.json");
    const auto counts = nlohmann::json::parse(stream);
    const std::vector<std::tuple<std::string, std::size_t, std::size_t>> setups{
        {"MLP", 1, 28}, {"MLP", 3, 32}, {"LeNet", 1, 28},   {"LeNet", 3, 32},
        {"CNN", 3, 32}, {"CNN", 1, 28}, {"WRN-16-1", 3, 32}};
    for (const auto& [name, channels, size] : setups) {
        const std::string key =
            name + "_" + std::to_string(channels) + "x" + std::to_string(size) + "x" + std::to_string(size);
        BOOST_TEST_CONTEXT(key) {
            BOOST_CHECK_EQUAL(make_model<float>(name, channels, size, size, 10).parameter_count(),
                              counts.at(key).get<std::size_t>());
        }
    }
}

BOOST_AUTO_TEST_CASE(make_model_rejects_unknown_names_listing_the_valid_ones) {
    try {
        make_model<float>("ResNet-50", 3, 32, 32, 10);
        BOOST_FAIL("expected an exception");
    } catch (const std::invalid_argument& error) {
        const std::string message = error.what();
        BOOST_CHECK(message.find("ResNet-50") != std::string::npos && message.find("WRN-16-1") != std::string::npos);
    }
    BOOST_CHECK_THROW(make_model<float>("LeNet", 1, 30, 30, 10), std::invalid_argument);
    BOOST_CHECK_THROW(make_model<float>("WRN-16-1", 3, 28, 28, 10), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(mlp_gradient_and_hessian_tangents_match_central_difference) {
    auto net = make_mlp<double>(1, 5, 5, 4, {6, 5});
    const auto theta = net.initial_parameters({"xavier", 1.0}, 1);
    const auto batch = testing::random_batch(net, 5, 2);
    testing::check_network_gradient(net, theta, batch, 40);
    testing::check_network_hessian_tangents(net, theta, batch, 3);
}

BOOST_AUTO_TEST_CASE(lenet_gradient_and_hessian_tangents_match_central_difference) {
    auto net = make_lenet<double>(1, 28, 10);
    auto theta = net.initial_parameters({"xavier", 1.0}, 4);
    theta += 0.01;  // non-zero biases
    const auto batch = testing::random_batch(net, 3, 5);
    testing::check_network_gradient(net, theta, batch, 30);
    testing::check_network_hessian_tangents(net, theta, batch, 6);
}

BOOST_AUTO_TEST_CASE(cnn_gradient_and_hessian_tangents_match_central_difference) {
    auto net = make_cnn<double>(3, 8, 10);
    auto theta = net.initial_parameters({"kaiming", 0.0}, 7);
    const auto batch = testing::random_batch(net, 4, 8);
    testing::check_network_gradient(net, theta, batch, 30);
    testing::check_network_hessian_tangents(net, theta, batch, 9);
}

BOOST_AUTO_TEST_CASE(wide_resnet_gradient_and_hessian_tangents_match_central_difference) {
    auto net = make_wide_resnet<double>(16, 1, 3, 10);
    auto theta = net.initial_parameters({"xavier", 1.0}, 10);
    const auto batch = testing::random_batch(net, 2, 11);
    testing::check_network_gradient(net, theta, batch, 30);
    testing::check_network_hessian_tangents(net, theta, batch, 12);
}

namespace {
void check_model_parity(network<float> net, const std::string& name, double tolerance) {
    const auto parameters = load_npy<float>(testing::fixture(name + "_parameters"));
    const auto images = load_npy<float>(testing::fixture(name + "_images"));
    const xt::xarray<int> labels = load_npy<std::int32_t>(testing::fixture(name + "_labels"));
    BOOST_REQUIRE_EQUAL(parameters.size(), net.parameter_count());
    const xt::xarray<float> logits = net.forward(parameters, images, mode::training, false);
    testing::check_close(logits, load_npy<float>(testing::fixture(name + "_logits")), tolerance, name + " logits");
    const auto result = net.loss_and_gradient(parameters, images, labels);
    BOOST_CHECK_CLOSE(result.loss(), load_npy<float>(testing::fixture(name + "_loss"))(), tolerance * 100);
    testing::check_close(result.gradient, load_npy<float>(testing::fixture(name + "_gradient")), tolerance,
                         name + " gradient");
}
}  // namespace

BOOST_AUTO_TEST_CASE(lenet_forward_and_gradient_match_pytorch) {
    check_model_parity(make_lenet<float>(1, 28, 10), "lenet", 1e-5);
}

BOOST_AUTO_TEST_CASE(wide_resnet_forward_and_gradient_match_pytorch) {
    check_model_parity(make_wide_resnet<float>(16, 1, 3, 10), "wrn_16_1", 1e-5);
}

namespace {
// LeNet, the CNN and WRN-16-1 exactly as stated, no layers fused: each relu its own layer, relu
// before max-pool (the models' sequentials fuse both, layer_fusion.hpp)
network<double> lenet_relu_then_pool() {
    network<double> net({1, 28, 28}, layer_fusion::none);
    net << conv2d(1, 6, 5) << relu() << max_pool2d(2) << conv2d(6, 16, 5) << relu() << max_pool2d(2) << flatten()
        << linear(16 * 4 * 4, 120) << relu() << linear(120, 84) << relu() << linear(84, 10);
    return net;
}

network<double> cnn_relu_then_pool() {
    network<double> net({3, 32, 32}, layer_fusion::none);
    net << conv2d(3, 16, 3, 1, 1, false) << batch_norm2d(16) << relu() << max_pool2d(2)
        << conv2d(16, 32, 3, 1, 1, false) << batch_norm2d(32) << relu() << max_pool2d(2)
        << conv2d(32, 64, 3, 1, 1, false) << batch_norm2d(64) << relu() << global_avg_pool2d() << flatten()
        << linear(64, 10);
    return net;
}

// The reference's BasicBlock as its layers read (bn1, relu1, conv1, bn2, relu2, conv2, shortcut)
void add_stated_basic_block(sequential<double>& target, std::size_t in_planes, std::size_t out_planes,
                            std::size_t stride) {
    sequential<double> main(layer_fusion::none), shortcut(layer_fusion::none);
    (in_planes == out_planes ? main : target) << batch_norm2d(in_planes) << relu();
    main << conv2d(in_planes, out_planes, 3, stride, 1, false) << batch_norm2d(out_planes) << relu()
         << conv2d(out_planes, out_planes, 3, 1, 1, false);
    if (in_planes != out_planes) shortcut << conv2d(in_planes, out_planes, 1, stride, 0, false);
    target << residual<double>(std::move(main), std::move(shortcut));
}

network<double> wide_resnet_16_1_as_stated() {
    network<double> net({3, 32, 32}, layer_fusion::none);
    net << conv2d(3, 16, 3, 1, 1, false);
    const std::size_t widths[4] = {16, 16, 32, 64}, strides[3] = {1, 2, 2};
    for (std::size_t group = 0; group < 3; ++group) {
        sequential<double> blocks(layer_fusion::none);
        add_stated_basic_block(blocks, widths[group], widths[group + 1], strides[group]);
        add_stated_basic_block(blocks, widths[group + 1], widths[group + 1], 1);
        net << std::move(blocks);
    }
    net << batch_norm2d(64) << relu() << avg_pool2d(8) << flatten() << linear(64, 10);
    return net;
}

// Same loss, gradient and Hessian tangents, bit for bit, from both orders.
void check_same_network(network<double> stated, network<double> computed) {
    BOOST_REQUIRE_EQUAL(stated.parameter_count(), computed.parameter_count());
    const auto parameters = computed.initial_parameters({"xavier", 1.0}, 3);
    const auto batch = testing::random_batch(computed, 6, 4);
    fds::autodiff::random_source random(5);
    xt::xarray<double> directions = xt::xarray<double>::from_shape({2, parameters.size()});
    for (auto& x : directions) x = random.normal();
    const fds::autodiff::dual_tensor<double> dual_parameters(parameters, directions, 2);
    const auto expected = stated.loss_and_gradient(dual_parameters, batch.images, batch.labels);
    const auto found = computed.loss_and_gradient(dual_parameters, batch.images, batch.labels);
    BOOST_TEST((found.loss.value() == expected.loss.value()));
    BOOST_TEST((found.gradient.value() == expected.gradient.value()));
    BOOST_TEST((found.gradient.live_tangent_block() == expected.gradient.live_tangent_block()));
}
}  // namespace

BOOST_AUTO_TEST_CASE(fused_layers_give_the_stated_architectures_results_bit_for_bit) {
    check_same_network(lenet_relu_then_pool(), make_lenet<double>(1, 28, 10));
    check_same_network(cnn_relu_then_pool(), make_cnn<double>(3, 32, 10));
}

BOOST_AUTO_TEST_CASE(fused_batch_norm_and_relu_give_the_stated_wide_resnets_results_bit_for_bit) {
    check_same_network(wide_resnet_16_1_as_stated(), make_wide_resnet<double>(16, 1, 3, 10));
}
