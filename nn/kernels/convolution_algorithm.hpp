// How each of a convolution's three products is computed: the one place that chooses.
//   columns   im2col into columns and one GEMM; the input gradient through col2im (any shape)
//   direct    register-tiled kernels straight from the images (direct_convolution.hpp)
//   winograd  F(2x2, 3x3) (winograd_convolution.hpp, winograd_weight_gradient.hpp)
// The input gradient W^T G is, with stride 1, itself a convolution: of the output gradient padded
// by K - 1 - padding with the weights flipped (input_gradient_convolution). Where that padding is
// at most the forward's (3x3 padded by 1) it costs the same arithmetic as W^T G and needs neither
// columns nor col2im; LeNet's unpadded 5x5 would take more than twice the arithmetic.
// Each product keeps every row of a stacked [W; dW_0; ...] bit for bit what it is alone, whatever
// the algorithm, so the choice never makes K tangents at once differ from K runs of one.
#pragma once

#include <cstddef>

#include <fds/nn/kernels/conv_shape.hpp>
#include <fds/nn/kernels/vector32.hpp>

namespace fds::nn::detail {

enum class convolution_product {
    forward,  // rows = W X
    weight_gradient,  // target += G X^T
    input_gradient,  // dL/dX = col2im(W^T G)
};

enum class convolution_algorithm { columns, direct, winograd };

// The convolution of the padded output gradient whose result is dL/dx for a chunk like c, with
// weight_rows rows of weights (its input channels).
inline conv_shape input_gradient_convolution(const conv_shape& c, std::size_t weight_rows) {
    // N, C, H, W, O, K, stride, padding, output height and width
    return conv_shape{{c.batch, weight_rows, c.out_height, c.out_width, c.channels, c.kernel, 1,
                       c.kernel - 1 - c.padding, c.height, c.width}};
}

template <class Scalar>
convolution_algorithm algorithm_for(convolution_product product, const conv_shape& s) {
    // the direct and Winograd kernels store output rows of whole SIMD vectors
    auto whole_vector_rows = [](const conv_shape& c) {
        return c.stride == 1 && c.out_width % vector32_lanes<Scalar> == 0;
    };
    // Winograd's tiles are 2x2 outputs of a 3x3 kernel
    auto winograd_tiles = [&](const conv_shape& c) {
        return whole_vector_rows(c) && c.kernel == 3 && c.out_height % 2 == 0;
    };
    switch (product) {
        case convolution_product::forward:
            if (winograd_tiles(s)) return convolution_algorithm::winograd;
            return whole_vector_rows(s) ? convolution_algorithm::direct : convolution_algorithm::columns;
        case convolution_product::weight_gradient:
            // the gradient's transform costs as much per channel and tile as the sums over 16
            // channels save: with fewer channels (the CNN's first layer) direct is faster
            if (winograd_tiles(s) && s.channels >= 16) return convolution_algorithm::winograd;
            return whole_vector_rows(s) ? convolution_algorithm::direct : convolution_algorithm::columns;
        case convolution_product::input_gradient: {
            const bool as_convolution = s.stride == 1 && s.kernel - 1 <= 2 * s.padding && s.padding <= s.kernel - 1 &&
                                        s.width % vector32_lanes<Scalar> == 0;
            if (!as_convolution) return convolution_algorithm::columns;
            return winograd_tiles(input_gradient_convolution(s, 1)) ? convolution_algorithm::winograd
                                                                    : convolution_algorithm::direct;
        }
    }
    return convolution_algorithm::columns;
}

}  // namespace fds::nn::detail
