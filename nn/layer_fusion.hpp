// Layers that run faster as one, fused by sequential as they are added, so that models state their
// architectures as the papers do and still get the fused passes:
//   batch_norm2d, relu        -> batch_norm2d_relu: the relu computed in batch norm's passes
//   conv2d, relu, max_pool2d  -> conv2d_max_pool2d, relu: pooled in the convolution's chunks,
//                                before the relu (relu is monotone: the same window winners and
//                                values), on a quarter of the values
// Each gives the same parameters, buffers, results and tangents bit for bit as the layers it
// replaces (tests/nn/models_test.cpp, tests/nn/sequential_test.cpp).
#pragma once

#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include <fds/nn/any_layer.hpp>
#include <fds/nn/batch_norm2d_relu.hpp>
#include <fds/nn/conv2d.hpp>
#include <fds/nn/conv2d_max_pool2d.hpp>
#include <fds/nn/max_pool2d.hpp>
#include <fds/nn/relu.hpp>

namespace fds::nn {

enum class layer_fusion {
    pairs,  // fuse the layers above
    none,  // keep every layer as added
};

namespace detail {

template <class Scalar, class Layer>
std::unique_ptr<any_layer<Scalar>> hold(Layer layer) {
    return std::make_unique<layer_holder<Layer, Scalar>>(std::move(layer));
}

// The layer `from_end` places before the end of `layers` (1: the last) when it is a Layer, else null.
template <class Layer, class Scalar>
const Layer* held_as(const std::vector<std::unique_ptr<any_layer<Scalar>>>& layers, std::size_t from_end) {
    if (layers.size() < from_end) return nullptr;
    const auto* holder = dynamic_cast<const layer_holder<Layer, Scalar>*>(layers[layers.size() - from_end].get());
    return holder ? &holder->layer() : nullptr;
}

// Appends `layer` to `layers`, fused with the layers before it where a rule above applies.
template <class Scalar, class Layer>
void append_fused(std::vector<std::unique_ptr<any_layer<Scalar>>>& layers, Layer layer) {
    if constexpr (std::is_same_v<Layer, relu>) {
        if (const batch_norm2d* norm = held_as<batch_norm2d>(layers, 1)) {
            layers.back() = hold<Scalar>(batch_norm2d_relu(*norm));
            return;
        }
    }
    if constexpr (std::is_same_v<Layer, max_pool2d>) {
        const conv2d* convolution = held_as<conv2d>(layers, 2);
        if (convolution != nullptr && held_as<relu>(layers, 1) != nullptr) {
            layers[layers.size() - 2] = hold<Scalar>(conv2d_max_pool2d(*convolution, std::move(layer)));
            return;
        }
    }
    layers.push_back(hold<Scalar>(std::move(layer)));
}

}  // namespace detail

}  // namespace fds::nn
