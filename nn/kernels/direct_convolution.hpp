// Convolution products computed straight from the images, without im2col, where the convolution
// has stride 1 and output rows that are a whole number of 32-byte vectors (8 floats or 4
// doubles): LeNet's layers, the CNN's, and WRN-16-1's except its four with stride 2.
// conv2d_kernels.hpp otherwise copies every receptive field into columns (KH*KW copies of each
// input value) and lets BLAS multiply them, and BLAS packs those columns once more. At LeNet's
// sizes the copies cost as much as the arithmetic, and the products with few weight rows
// (W dX_k: 16 rows) ran at a third of BLAS's speed; these kernels run near the core's multiply-add
// peak on LeNet's second layer (docs/performance.md).
//
// With p = (c, ky, kx) a patch entry and (n, oy, ox) an output position:
//   forward   rows[m, (n, oy, ox)] (+)= sum_p w[m, p] x[n, c, oy + ky, ox + kx]
//   weights   target[m, p] += sum_(n, oy, ox) g[m, (n, oy, ox)] x[n, c, oy + ky, ox + kx]
// Each result entry is summed in an order that depends only on the convolution's shape, never on
// how many rows are computed together: [W; dW_0; ...] gives every row the bits it gets alone, so
// K tangents at once equal K runs of one (tested), as on the im2col path.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include <fds/nn/kernels/conv_shape.hpp>
#include <fds/nn/kernels/vector32.hpp>
#include <fds/nn/kernels/winograd_convolution.hpp>

namespace fds::nn::detail {

// whether the kernels below compute this convolution: the kernels themselves take unpadded
// images; a padded convolution passes them a zero-bordered copy (padded_images)
template <class Scalar>
bool direct_convolution_applies(const conv_shape& s) {
    return s.stride == 1 && s.out_width % vector32_lanes<Scalar> == 0;
}

// The chunk's images x with a zero border of c.padding on every side, written to `padded`
// [batch, C, H + 2 padding, W + 2 padding]; returns the same convolution of the padded images
// (padding 0). Far smaller than the columns it replaces (KH*KW times the output's area). Plane
// (n, channel) of x starts at n * image_stride + channel * channel_stride.
template <class Scalar>
conv_shape padded_images(const Scalar* x, const conv_shape& c, std::size_t image_stride, std::size_t channel_stride,
                         Scalar* padded) {
    const conv_shape unpadded = c.padded();
    const std::size_t border_rows = c.padding * unpadded.width;
    Scalar* target = padded;
    for (std::size_t n = 0; n < c.batch; ++n) {
        for (std::size_t channel = 0; channel < c.channels; ++channel) {
            const Scalar* source = x + n * image_stride + channel * channel_stride;
            std::fill(target, target + border_rows + c.padding, Scalar(0));
            target += border_rows + c.padding;
            for (std::size_t y = 0; y < c.height; ++y, source += c.width, target += unpadded.width) {
                std::copy(source, source + c.width, target);
                // the right border of this row and the left border of the next
                std::fill(target + c.width, target + c.width + 2 * c.padding, Scalar(0));
            }
            std::fill(target - c.padding, target + border_rows - c.padding, Scalar(0));
            target += border_rows - c.padding;
        }
    }
    return unpadded;
}

// the same for images x [batch, C, H, W]
template <class Scalar>
conv_shape padded_images(const Scalar* x, const conv_shape& c, Scalar* padded) {
    return padded_images(x, c, c.input_image(), c.height * c.width, padded);
}

// Where the kernels read and write, for a chunk of images: the input offset of each patch entry
// from its window's corner, and for each output vector (L consecutive ox) its window corner in x
// and its offset in an output row (images `output_image_stride` apart in the row).
template <class Scalar>
struct direct_plan {
    std::vector<std::size_t> patch_offsets;
    std::vector<std::size_t> window_corners;
    std::vector<std::size_t> output_offsets;
    std::size_t vectors_per_image;

    direct_plan(const conv_shape& c, std::size_t output_image_stride) : patch_offsets(c.patch()) {
        constexpr std::size_t lanes = vector32_lanes<Scalar>;
        for (std::size_t channel = 0; channel < c.channels; ++channel) {
            for (std::size_t ky = 0; ky < c.kernel; ++ky) {
                for (std::size_t kx = 0; kx < c.kernel; ++kx) {
                    patch_offsets[(channel * c.kernel + ky) * c.kernel + kx] = (channel * c.height + ky) * c.width + kx;
                }
            }
        }
        vectors_per_image = c.out_height * c.out_width / lanes;
        for (std::size_t n = 0; n < c.batch; ++n) {
            for (std::size_t oy = 0; oy < c.out_height; ++oy) {
                for (std::size_t ox = 0; ox < c.out_width; ox += lanes) {
                    window_corners.push_back(n * c.input_image() + oy * c.width + ox);
                    output_offsets.push_back(n * output_image_stride + oy * c.out_width + ox);
                }
            }
        }
    }
    std::size_t vectors() const { return window_corners.size(); }
};

// ----- forward: rows (+)= w x -----

// Rows m0..m0+Rows of `Vectors` output vectors from v0: Rows x Vectors accumulators in registers;
// per patch entry, Vectors loads of x and Rows broadcasts of w.
template <std::size_t Rows, std::size_t Vectors, class Scalar>
void convolve_tile(const Scalar* w, std::size_t patch, const Scalar* x, const direct_plan<Scalar>& plan, std::size_t v0,
                   bool accumulate, Scalar* rows, std::size_t row_stride) {
    vector32<Scalar> sums[Rows][Vectors];
    for (std::size_t i = 0; i < Rows; ++i) {
        for (std::size_t j = 0; j < Vectors; ++j) {
            sums[i][j] =
                accumulate ? load_vector(rows + i * row_stride + plan.output_offsets[v0 + j]) : vector32<Scalar>{};
        }
    }
    const Scalar* corners[Vectors];
    for (std::size_t j = 0; j < Vectors; ++j) corners[j] = x + plan.window_corners[v0 + j];
    for (std::size_t p = 0; p < patch; ++p) {
        vector32<Scalar> inputs[Vectors];
        for (std::size_t j = 0; j < Vectors; ++j) inputs[j] = load_vector(corners[j] + plan.patch_offsets[p]);
        for (std::size_t i = 0; i < Rows; ++i) {
            const vector32<Scalar> weight = broadcast_vector(w[i * patch + p]);
            for (std::size_t j = 0; j < Vectors; ++j) sums[i][j] = multiply_add<Scalar>(weight, inputs[j], sums[i][j]);
        }
    }
    for (std::size_t i = 0; i < Rows; ++i) {
        for (std::size_t j = 0; j < Vectors; ++j)
            store_vector(rows + i * row_stride + plan.output_offsets[v0 + j], sums[i][j]);
    }
}

template <std::size_t Rows, class Scalar>
void convolve_tile_of(std::size_t vectors, const Scalar* w, std::size_t patch, const Scalar* x,
                      const direct_plan<Scalar>& plan, std::size_t v0, bool accumulate, Scalar* rows,
                      std::size_t row_stride) {
    switch (vectors) {
        case 3:
            convolve_tile<Rows, 3>(w, patch, x, plan, v0, accumulate, rows, row_stride);
            break;
        case 2:
            convolve_tile<Rows, 2>(w, patch, x, plan, v0, accumulate, rows, row_stride);
            break;
        default:
            convolve_tile<Rows, 1>(w, patch, x, plan, v0, accumulate, rows, row_stride);
            break;
    }
}

// output row m = w [weight_rows, patch] row m * x (c.batch images), or += with accumulate; row m
// starts at rows + m * row_stride and holds the images image_stride apart: [weight_rows, columns]
// with (row_stride, image_stride) = (columns, positions), NCHW with (positions, weight_rows * positions)
template <class Scalar>
void direct_convolve(const Scalar* w, std::size_t weight_rows, const Scalar* x, const conv_shape& c, bool accumulate,
                     Scalar* rows, std::size_t row_stride, std::size_t image_stride) {
    constexpr std::size_t tile_rows = 4, tile_vectors = 3;  // 12 accumulators of the 16 AVX registers
    const direct_plan<Scalar> plan(c, image_stride);
    const std::size_t patch = c.patch(), stride = row_stride;
    for (std::size_t v0 = 0; v0 < plan.vectors(); v0 += tile_vectors) {
        const std::size_t vectors = std::min(tile_vectors, plan.vectors() - v0);
        std::size_t m = 0;
        for (; m + tile_rows <= weight_rows; m += tile_rows) {
            convolve_tile_of<tile_rows>(vectors, w + m * patch, patch, x, plan, v0, accumulate, rows + m * stride,
                                        stride);
        }
        for (; m < weight_rows; ++m) {
            convolve_tile_of<1>(vectors, w + m * patch, patch, x, plan, v0, accumulate, rows + m * stride, stride);
        }
    }
}

// rows [weight_rows, c.columns()] = w [weight_rows, patch] * x, or += with accumulate
template <class Scalar>
void direct_convolve(const Scalar* w, std::size_t weight_rows, const Scalar* x, const conv_shape& c, bool accumulate,
                     Scalar* rows) {
    direct_convolve(w, weight_rows, x, c, accumulate, rows, c.columns(), c.positions());
}

// ----- weight gradient: target += g x^T -----

// target[m0.., p0..] += sums over output vectors [v0, v_end) for Rows gradient rows and Entries
// patch entries: per vector, Entries loads of x and Rows loads of g.
template <std::size_t Rows, std::size_t Entries, class Scalar>
void correlate_tile(const Scalar* g, std::size_t g_stride, const Scalar* x, const direct_plan<Scalar>& plan,
                    std::size_t p0, std::size_t v0, std::size_t v_end, Scalar* target, std::size_t patch) {
    vector32<Scalar> sums[Rows][Entries] = {};
    for (std::size_t v = v0; v < v_end; ++v) {
        const Scalar* corner = x + plan.window_corners[v];
        vector32<Scalar> inputs[Entries];
        for (std::size_t j = 0; j < Entries; ++j) inputs[j] = load_vector(corner + plan.patch_offsets[p0 + j]);
        for (std::size_t i = 0; i < Rows; ++i) {
            const vector32<Scalar> gradient = load_vector(g + i * g_stride + plan.output_offsets[v]);
            for (std::size_t j = 0; j < Entries; ++j)
                sums[i][j] = multiply_add<Scalar>(gradient, inputs[j], sums[i][j]);
        }
    }
    for (std::size_t i = 0; i < Rows; ++i) {
        for (std::size_t j = 0; j < Entries; ++j) target[i * patch + p0 + j] += horizontal_sum(sums[i][j]);
    }
}

template <std::size_t Rows, class Scalar>
void correlate_tile_of(std::size_t entries, const Scalar* g, std::size_t g_stride, const Scalar* x,
                       const direct_plan<Scalar>& plan, std::size_t p0, std::size_t v0, std::size_t v_end,
                       Scalar* target, std::size_t patch) {
    switch (entries) {
        case 5:
            correlate_tile<Rows, 5>(g, g_stride, x, plan, p0, v0, v_end, target, patch);
            break;
        case 4:
            correlate_tile<Rows, 4>(g, g_stride, x, plan, p0, v0, v_end, target, patch);
            break;
        case 3:
            correlate_tile<Rows, 3>(g, g_stride, x, plan, p0, v0, v_end, target, patch);
            break;
        case 2:
            correlate_tile<Rows, 2>(g, g_stride, x, plan, p0, v0, v_end, target, patch);
            break;
        default:
            correlate_tile<Rows, 1>(g, g_stride, x, plan, p0, v0, v_end, target, patch);
            break;
    }
}

// target [gradient_rows, patch] += g [gradient_rows, c.columns()] * im2col(x)^T, summed over groups
// of whole images of about 64 vectors (their x and g stay in cache while every tile reads them),
// each group's sums added to target in turn.
template <class Scalar>
void direct_weight_gradient_add(const Scalar* g, std::size_t gradient_rows, const Scalar* x, const conv_shape& c,
                                Scalar* target) {
    constexpr std::size_t tile_rows = 2, tile_entries = 5;  // 10 accumulators + 5 inputs + 1 gradient
    constexpr std::size_t group_vectors = 64;
    const direct_plan<Scalar> plan(c, c.positions());
    const std::size_t patch = c.patch(), stride = c.columns();
    const std::size_t group = std::max<std::size_t>(group_vectors / plan.vectors_per_image, 1) * plan.vectors_per_image;
    for (std::size_t v0 = 0; v0 < plan.vectors(); v0 += group) {
        const std::size_t v_end = std::min(v0 + group, plan.vectors());
        std::size_t m = 0;
        for (; m + tile_rows <= gradient_rows; m += tile_rows) {
            for (std::size_t p = 0; p < patch; p += tile_entries) {
                correlate_tile_of<tile_rows>(std::min(tile_entries, patch - p), g + m * stride, stride, x, plan, p, v0,
                                             v_end, target + m * patch, patch);
            }
        }
        for (; m < gradient_rows; ++m) {
            for (std::size_t p = 0; p < patch; p += tile_entries) {
                correlate_tile_of<1>(std::min(tile_entries, patch - p), g + m * stride, stride, x, plan, p, v0, v_end,
                                     target + m * patch, patch);
            }
        }
    }
}

// ----- input gradient: dL/dx = W^T g, col2im'd -----
// With stride 1, dL/dx[c, y, x] = sum_(m, ky, kx) w[m, c, ky, kx] g[m, y + padding - ky, x + padding - kx]
// is itself a convolution, of g padded by KH - 1 - padding, with the weights flipped in both
// directions and their two channel axes swapped. Where that padding is at most the forward's
// (3x3 convolutions padded by 1: the CNN's and WRN-16-1's), it costs the same arithmetic as
// W^T G and needs neither the columns nor col2im; LeNet's unpadded 5x5 would be more than twice
// the arithmetic, so it keeps columns and col2im. A 3x3 one runs by Winograd's algorithm where
// winograd_convolution.hpp applies.

template <class Scalar>
bool direct_input_gradient_applies(const conv_shape& s) {
    return s.stride == 1 && s.kernel - 1 <= 2 * s.padding && s.padding <= s.kernel - 1 &&
           s.width % vector32_lanes<Scalar> == 0;
}

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

// the convolution of the padded output gradient that gives dL/dx for a chunk like c
inline conv_shape input_gradient_convolution(const conv_shape& c, std::size_t weight_rows) {
    //                N        C            H             W           O           K      stride padding
    return conv_shape{
        c.batch,  weight_rows, c.out_height, c.out_width, c.channels, c.kernel, 1, c.kernel - 1 - c.padding,
        c.height, c.width};
}

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
    if (winograd_applies<Scalar>(input_gradient_convolution(c, weight_rows))) {
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
    if (winograd_applies<Scalar>(gradient)) {
        winograd_convolve(w.winograd, padded_gradient, unpadded, false, target, c.height * c.width, c.input_image());
        return;
    }
    direct_convolve(w.values.data(), c.channels, padded_gradient, unpadded, false, target, c.height * c.width,
                    c.input_image());
}

// The input gradients [W; dW_k]^T [dG_k; G] of one chunk for every tangent k (the dual backward
// of conv2d_kernels.hpp) where they run by Winograd's algorithm: G, the same in all of them, is
// padded and transformed once per chunk instead of once per k (winograd_input_pair, part 1);
// each k pads and transforms only its dG_k (part 0).
template <class Scalar>
class shared_gradient_input_gradients {
 public:
    static bool applies(const conv_shape& c) {
        return direct_input_gradient_applies<Scalar>(c) && winograd_applies<Scalar>(input_gradient_convolution(c, 1));
    }

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
