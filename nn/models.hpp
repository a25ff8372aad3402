// The models of the reference (polo5/FDS models/) and two more, built from nn's layers with
// PyTorch's parameter order, so a flat parameter vector means the same in both libraries.
//
//   MLP:      flatten, [linear(width), relu] per hidden width (default 256, 256), linear(classes)
//   LeNet:    conv 6@5x5, relu, maxpool 2, conv 16@5x5, relu, maxpool 2, flatten,
//             fc 120, relu, fc 84, relu, fc classes          (the reference's; 28x28 or 32x32 input)
//   CNN:      3 x [conv3x3 (16, 32, 64 channels, no bias), batchnorm, relu], max-pool 2 after the
//             first two, global average pool, flatten, linear(classes)   (small, for CIFAR)
//   WRN-16-1: the reference's WideResNet, depth 16, widen factor 1: conv3x3 to 16 channels, three
//             groups of two pre-activation BasicBlocks (16/32/64 channels, strides 1/2/2, 1x1 conv
//             shortcut where channels change), final BN-ReLU, average pool 8, linear. No biases
//             in the convolutions.
// The sequential fuses conv-relu-pool and bn-relu as the layers are added (layer_fusion.hpp).
#pragma once

#include <string>
#include <vector>

#include <fds/nn/avg_pool2d.hpp>
#include <fds/nn/batch_norm2d.hpp>
#include <fds/nn/conv2d.hpp>
#include <fds/nn/flatten.hpp>
#include <fds/nn/linear.hpp>
#include <fds/nn/max_pool2d.hpp>
#include <fds/nn/model_names.hpp>
#include <fds/nn/network.hpp>
#include <fds/nn/relu.hpp>
#include <fds/nn/residual.hpp>

namespace fds::nn {

// architecture in {MLP, LeNet, CNN, WRN-16-1}; throws std::invalid_argument naming it and the valid names
template <class Scalar>
network<Scalar> make_model(const std::string& architecture, std::size_t channels, std::size_t height, std::size_t width,
                           std::size_t classes);

template <class Scalar>
network<Scalar> make_mlp(std::size_t channels, std::size_t height, std::size_t width, std::size_t classes,
                         const std::vector<std::size_t>& hidden_widths = {256, 256});
template <class Scalar>
network<Scalar> make_lenet(std::size_t channels, std::size_t size, std::size_t classes);
template <class Scalar>
network<Scalar> make_cnn(std::size_t channels, std::size_t size, std::size_t classes);
template <class Scalar>
network<Scalar> make_wide_resnet(std::size_t depth, std::size_t widen_factor, std::size_t channels,
                                 std::size_t classes);

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

template <class Scalar>
network<Scalar> make_mlp(std::size_t channels, std::size_t height, std::size_t width, std::size_t classes,
                         const std::vector<std::size_t>& hidden_widths) {
    network<Scalar> net({channels, height, width});
    net << flatten();
    std::size_t previous = channels * height * width;
    for (std::size_t hidden : hidden_widths) {
        net << linear(previous, hidden) << relu();
        previous = hidden;
    }
    net << linear(previous, classes);
    return net;
}

template <class Scalar>
network<Scalar> make_lenet(std::size_t channels, std::size_t size, std::size_t classes) {
    if (size != 28 && size != 32) {
        throw std::invalid_argument("LeNet: expected 28x28 or 32x32 images (as the reference), found " +
                                    std::to_string(size) + "x" + std::to_string(size));
    }
    const std::size_t hidden = size == 32 ? 16 * 5 * 5 : 16 * 4 * 4;
    network<Scalar> net({channels, size, size});
    net << conv2d(channels, 6, 5) << relu() << max_pool2d(2) << conv2d(6, 16, 5) << relu() << max_pool2d(2) << flatten()
        << linear(hidden, 120) << relu() << linear(120, 84) << relu() << linear(84, classes);
    return net;
}

template <class Scalar>
network<Scalar> make_cnn(std::size_t channels, std::size_t size, std::size_t classes) {
    network<Scalar> net({channels, size, size});
    net << conv2d(channels, 16, 3, 1, 1, false) << batch_norm2d(16) << relu() << max_pool2d(2)
        << conv2d(16, 32, 3, 1, 1, false) << batch_norm2d(32) << relu() << max_pool2d(2)
        << conv2d(32, 64, 3, 1, 1, false) << batch_norm2d(64) << relu() << global_avg_pool2d() << flatten()
        << linear(64, classes);
    return net;
}

namespace detail {

// The reference's BasicBlock (dropout 0). With equal channels: x + conv2(relu(bn2(conv1(relu(bn1(x)))))).
// Otherwise the activation relu(bn1(x)) feeds both the main branch and the 1x1 shortcut.
template <class Scalar>
void add_basic_block(sequential<Scalar>& target, std::size_t in_planes, std::size_t out_planes, std::size_t stride) {
    sequential<Scalar> main;
    if (in_planes == out_planes) {
        main << batch_norm2d(in_planes) << relu();
    } else {
        target << batch_norm2d(in_planes) << relu();
    }
    main << conv2d(in_planes, out_planes, 3, stride, 1, false) << batch_norm2d(out_planes) << relu()
         << conv2d(out_planes, out_planes, 3, 1, 1, false);
    sequential<Scalar> shortcut;
    if (in_planes != out_planes) shortcut << conv2d(in_planes, out_planes, 1, stride, 0, false);
    target << residual<Scalar>(std::move(main), std::move(shortcut));
}

}  // namespace detail

template <class Scalar>
network<Scalar> make_wide_resnet(std::size_t depth, std::size_t widen_factor, std::size_t channels,
                                 std::size_t classes) {
    if (depth < 10 || (depth - 4) % 6 != 0) {
        throw std::invalid_argument("WideResNet: depth must be 6n + 4 (10, 16, 22, ...), found " +
                                    std::to_string(depth));
    }
    const std::size_t blocks = (depth - 4) / 6;
    const std::size_t widths[4] = {16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor};
    const std::size_t strides[3] = {1, 2, 2};
    network<Scalar> net({channels, 32, 32});
    net << conv2d(channels, widths[0], 3, 1, 1, false);
    for (std::size_t group = 0; group < 3; ++group) {
        sequential<Scalar> blocks_of_group;
        for (std::size_t i = 0; i < blocks; ++i) {
            detail::add_basic_block(blocks_of_group, i == 0 ? widths[group] : widths[group + 1], widths[group + 1],
                                    i == 0 ? strides[group] : 1);
        }
        net << std::move(blocks_of_group);
    }
    net << batch_norm2d(widths[3]) << relu() << avg_pool2d(8) << flatten() << linear(widths[3], classes);
    return net;
}

template <class Scalar>
network<Scalar> make_model(const std::string& architecture, std::size_t channels, std::size_t height, std::size_t width,
                           std::size_t classes) {
    if (architecture == "MLP") return make_mlp<Scalar>(channels, height, width, classes);
    if (architecture == "LeNet" || architecture == "CNN" || architecture == "WRN-16-1") {
        if (height != width) {
            throw std::invalid_argument(architecture + ": expected square images, found " + std::to_string(height) +
                                        "x" + std::to_string(width));
        }
        if (architecture == "LeNet") return make_lenet<Scalar>(channels, height, classes);
        if (architecture == "CNN") return make_cnn<Scalar>(channels, height, classes);
        if (height != 32) {
            throw std::invalid_argument("WRN-16-1: expected 32x32 images, found " + std::to_string(height) + "x" +
                                        std::to_string(width));
        }
        return make_wide_resnet<Scalar>(16, 1, channels, classes);
    }
    std::string valid;
    for (const auto& name : model_names()) valid += (valid.empty() ? "" : ", ") + name;
    throw std::invalid_argument("make_model: unknown architecture '" + architecture + "', expected one of " + valid);
}

}  // namespace fds::nn
