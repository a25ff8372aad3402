// The input gradient dL/dx = W^T g as a convolution where convolution_algorithm.hpp chooses so:
// with stride 1, dL/dx[c, y, x] = sum_(m, ky, kx) w[m, c, ky, kx] g[m, y + padding - ky, x + padding - kx]
// is the convolution of g padded by KH - 1 - padding with the weights flipped in both directions
// and their two channel axes swapped, computed by the direct or the Winograd kernels.
#pragma once

#include <cstddef>
#include <vector>

#include <fds/nn/kernels/conv_layout.hpp>
#include <fds/nn/kernels/conv_shape.hpp>
#include <fds/nn/kernels/convolution_algorithm.hpp>
#include <fds/nn/kernels/direct_convolution.hpp>
#include <fds/nn/kernels/winograd_convolution.hpp>

namespace fds::nn::detail {

// the padded gradient images `padded_gradient` needs for `weight_rows` rows of a chunk like c
inline std::size_t padded_gradient_size(const conv_shape& c, std::size_t weight_rows) {
    const std::size_t border = 2 * (c.kernel - 1 - c.padding);
    return c.batch * weight_rows * (c.out_height + border) * (c.out_width + border);
}

// The weights of an input gradient as direct_input_gradient uses them: w [weight_rows, C, K, K]
// flipped in both directions with the two channel axes swapped, [C, weight_rows, K, K], and
// their Winograd transform where that applies. Made once per layer call, for all its chunks.
template <class Scalar>
struct flipped_weights {
    std::size_t rows = 0;  // weight_rows
    std::vector<Scalar> values;
    winograd_filters<Scalar> winograd;
};

// w [weight_rows, c.channels, K, K] prepared for direct_input_gradient on chunks like c
template <class Scalar>
flipped_weights<Scalar> flip_weights(const Scalar* w, std::size_t weight_rows, const conv_shape& c) {
    const std::size_t kernel_area = c.kernel * c.kernel;
    flipped_weights<Scalar> f{weight_rows, std::vector<Scalar>(c.channels * weight_rows * kernel_area), {}};
    for (std::size_t m = 0; m < weight_rows; ++m) {
        for (std::size_t channel = 0; channel < c.channels; ++channel) {
            const Scalar* source = w + (m * c.channels + channel) * kernel_area;
            Scalar* flipped_kernel = f.values.data() + (channel * weight_rows + m) * kernel_area;
            for (std::size_t i = 0; i < kernel_area; ++i) flipped_kernel[i] = source[kernel_area - 1 - i];
        }
    }
    if (algorithm_for<Scalar>(convolution_product::input_gradient, c) == convolution_algorithm::winograd) {
        f.winograd = transform_filters(f.values.data(), c.channels, weight_rows);
    }
    return f;
}

// target [batch, C, H, W] = dL/dx for rows g [weight_rows, columns] of output gradients (channel m
// of image n at m * columns + n * positions) and weights w [weight_rows, C * KH * KW] prepared by
// flip_weights; padded_gradient holds padded_gradient_size(c, weight_rows) entries
template <class Scalar>
void direct_input_gradient(const flipped_weights<Scalar>& w, const Scalar* g, const conv_shape& c,
                           Scalar* padded_gradient, Scalar* target) {
    const conv_shape gradient = input_gradient_convolution(c, w.rows);
    const conv_shape unpadded = padded_images(g, gradient, c.positions(), c.columns(), padded_gradient);
    if (algorithm_for<Scalar>(convolution_product::input_gradient, c) == convolution_algorithm::winograd) {
        winograd_convolve(w.winograd, padded_gradient, unpadded, false, target, c.height * c.width, c.input_image());
        return;
    }
    direct_convolve(w.values.data(), c.channels, padded_gradient, unpadded, false, target, c.height * c.width,
                    c.input_image());
}

// The input gradients [W; dW_k]^T [dG_k; G] of one chunk for every tangent k (the dual backward
// of dual_convolution.hpp) where they run by Winograd's algorithm: G, the same in all of them, is
// padded and transformed once per chunk instead of once per k (winograd_input_pair, part 1);
// each k pads and transforms only its dG_k (part 0).
template <class Scalar>
class shared_gradient_input_gradients {
 public:
    // g: the rows of G (row m at g + m * c.columns()); padded_gradient holds
    // padded_gradient_size(c, rows) entries and is this object's until it is gone
    shared_gradient_input_gradients(const Scalar* g, std::size_t rows, const conv_shape& c, Scalar* padded_gradient)
        : c_(c), padded_gradient_(padded_gradient), gradient_(input_gradient_convolution(c, rows)),
          unpadded_(padded_images(g, gradient_, c.positions(), c.columns(), padded_gradient)),
          parts_(unpadded_, c.input_image()) {
        parts_.transform(1, padded_gradient_);
    }

    // target [batch, C, H, W] = dL/dx for weights [W; dW_k] prepared by flip_weights (2 rows
    // blocks) and the rows of dG_k (as g's)
    void compute(const flipped_weights<Scalar>& w, const Scalar* tangent_rows, Scalar* target) {
        padded_images(tangent_rows, gradient_, c_.positions(), c_.columns(), padded_gradient_);
        parts_.transform(0, padded_gradient_);
        parts_.multiply(w.winograd, target, c_.height * c_.width);
    }

 private:
    conv_shape c_;
    Scalar* padded_gradient_;
    conv_shape gradient_, unpadded_;
    winograd_input_pair<Scalar> parts_;
};

}  // namespace fds::nn::detail
