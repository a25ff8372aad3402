// The copies between a convolution's layouts: images [N, C, H, W], the columns
// [C*KH*KW, n*OH*OW] of im2col (rows copied as contiguous runs, so that one GEMM
//   Y[O, n*OH*OW] = W[O, C*KH*KW] X
// lands in NCHW order with one block copy per (image, o), without transposes), the rows
// [O, n*OH*OW] the products read and write, and images with a zero border.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <utility>
#include <vector>

#include <fds/nn/kernels/conv_shape.hpp>

namespace fds::nn::detail {

// output columns ox whose input column ox*stride + kx - padding lies inside [0, width)
inline std::pair<std::size_t, std::size_t> valid_range(std::size_t offset, const conv_shape& s, std::size_t extent,
                                                       std::size_t out_extent) {
    // offset = kx; input index = o*stride + offset - padding
    std::size_t begin = 0;
    if (offset < s.padding) begin = (s.padding - offset + s.stride - 1) / s.stride;
    std::size_t end = 0;
    if (extent + s.padding > offset) end = std::min(out_extent, (extent - 1 + s.padding - offset) / s.stride + 1);
    return {std::min(begin, end), end};
}

// target[0, length) = source[0, length) for the short runs of im2col (one output row: 8 to 32
// values in LeNet and the CNN), without a library call: memcpy's call and size dispatch cost more
// than such a copy, and GCC turns a plain copy loop back into a memcpy call. Fixed-size memcpy
// compiles to vector moves; the last block may overlap the one before it.
template <class Scalar>
inline void copy_run(const Scalar* source, std::size_t length, Scalar* target) {
    constexpr std::size_t block = 32 / sizeof(Scalar);  // one AVX register
    constexpr std::size_t half_block = 16 / sizeof(Scalar);  // one SSE register
    if (length >= block) {
        std::size_t i = 0;
        for (; i + block <= length; i += block) std::memcpy(target + i, source + i, block * sizeof(Scalar));
        if (i < length) std::memcpy(target + length - block, source + length - block, block * sizeof(Scalar));
    } else if (length >= half_block) {
        std::memcpy(target, source, half_block * sizeof(Scalar));
        std::memcpy(target + length - half_block, source + length - half_block, half_block * sizeof(Scalar));
    } else {
        for (std::size_t i = 0; i < length; ++i) std::memcpy(target + i, source + i, sizeof(Scalar));
    }
}

// cols[(c, ky, kx), (n, oy, ox)] = x[n, c, oy*stride + ky - padding, ox*stride + kx - padding] (0 outside)
template <class Scalar>
void im2col_rows(const Scalar* x, const conv_shape& s, Scalar* cols) {
    const std::size_t plane = s.height * s.width;
    for (std::size_t c = 0; c < s.channels; ++c) {
        for (std::size_t ky = 0; ky < s.kernel; ++ky) {
            const auto [oy_begin, oy_end] = valid_range(ky, s, s.height, s.out_height);
            for (std::size_t kx = 0; kx < s.kernel; ++kx) {
                const auto [ox_begin, ox_end] = valid_range(kx, s, s.width, s.out_width);
                Scalar* row = cols + ((c * s.kernel + ky) * s.kernel + kx) * s.columns();
                for (std::size_t n = 0; n < s.batch; ++n) {
                    const Scalar* image = x + (n * s.channels + c) * plane;
                    Scalar* target = row + n * s.positions();
                    // zero borders where the window overlaps the padding; the ifs skip empty borders, since
                    // even a zero-length std::fill is a memset call
                    if (oy_begin > 0) std::fill(target, target + oy_begin * s.out_width, Scalar(0));
                    for (std::size_t oy = oy_begin; oy < oy_end; ++oy) {
                        const Scalar* source = image + (oy * s.stride + ky - s.padding) * s.width + kx - s.padding;
                        Scalar* out = target + oy * s.out_width;
                        if (ox_begin > 0) std::fill(out, out + ox_begin, Scalar(0));
                        if (s.stride == 1) {
                            copy_run(source + ox_begin, ox_end - ox_begin, out + ox_begin);
                        } else {
                            for (std::size_t ox = ox_begin; ox < ox_end; ++ox) out[ox] = source[ox * s.stride];
                        }
                        if (ox_end < s.out_width) std::fill(out + ox_end, out + s.out_width, Scalar(0));
                    }
                    if (oy_end < s.out_height)
                        std::fill(target + oy_end * s.out_width, target + s.positions(), Scalar(0));
                }
            }
        }
    }
}

// x += im2col^T(cols): every column entry is added back where it was read from; with ClearColumns
// each entry read is set to zero (without padding that is every entry, see input_gradient_of_rows)
template <bool ClearColumns, class Scalar>
void col2im_rows_add(Scalar* cols, const conv_shape& s, Scalar* x) {
    const std::size_t plane = s.height * s.width;
    for (std::size_t c = 0; c < s.channels; ++c) {
        for (std::size_t ky = 0; ky < s.kernel; ++ky) {
            const auto [oy_begin, oy_end] = valid_range(ky, s, s.height, s.out_height);
            for (std::size_t kx = 0; kx < s.kernel; ++kx) {
                const auto [ox_begin, ox_end] = valid_range(kx, s, s.width, s.out_width);
                Scalar* row = cols + ((c * s.kernel + ky) * s.kernel + kx) * s.columns();
                for (std::size_t n = 0; n < s.batch; ++n) {
                    Scalar* image = x + (n * s.channels + c) * plane;
                    Scalar* source_rows = row + n * s.positions();
                    for (std::size_t oy = oy_begin; oy < oy_end; ++oy) {
                        Scalar* target = image + (oy * s.stride + ky - s.padding) * s.width + kx - s.padding;
                        Scalar* source = source_rows + oy * s.out_width;
                        // clearing in the same loop as the additions: a fill of a short run is a memset call
                        if (s.stride == 1) {
                            for (std::size_t ox = ox_begin; ox < ox_end; ++ox) {  // vectorizes
                                target[ox] += source[ox];
                                if constexpr (ClearColumns) source[ox] = Scalar(0);
                            }
                        } else {
                            for (std::size_t ox = ox_begin; ox < ox_end; ++ox) {
                                target[ox * s.stride] += source[ox];
                                if constexpr (ClearColumns) source[ox] = Scalar(0);
                            }
                        }
                    }
                }
            }
        }
    }
}

// y[n, o, p] = rows[o, n*P + p] + bias[o]   (bias may be null)
template <class Scalar>
void rows_to_nchw(const Scalar* rows, const Scalar* bias, const conv_shape& s, Scalar* y) {
    const std::size_t positions = s.positions();
    for (std::size_t n = 0; n < s.batch; ++n) {
        for (std::size_t o = 0; o < s.out_channels; ++o) {
            const Scalar* source = rows + o * s.columns() + n * positions;
            Scalar* target = y + (n * s.out_channels + o) * positions;
            const Scalar shift = bias ? bias[o] : Scalar(0);
            for (std::size_t p = 0; p < positions; ++p) target[p] = source[p] + shift;
        }
    }
}

// rows[o, n*P + p] = g[n, o, p]
template <class Scalar>
void nchw_to_rows(const Scalar* g, const conv_shape& s, Scalar* rows) {
    const std::size_t positions = s.positions();
    for (std::size_t n = 0; n < s.batch; ++n) {
        for (std::size_t o = 0; o < s.out_channels; ++o) {
            copy_run(g + (n * s.out_channels + o) * positions, positions, rows + o * s.columns() + n * positions);
        }
    }
}

// Where a chunk's output rows [out, n*P + p] go in forward and where dL/d(rows) comes from in
// backward: the kernels below take such an output policy. This one is the convolution's own
// output, y [N, O, OH, OW]; conv2d_max_pool2d.hpp has one that max-pools the rows while they are
// in cache. `first` is the chunk's first image; `target` and `gradient` point at that image.
struct nchw_output {
    std::vector<std::size_t> shape(const conv_shape& s) const {
        return {s.batch, s.out_channels, s.out_height, s.out_width};
    }
    std::size_t image_size(const conv_shape& s) const { return s.output_image(); }
    // y = rows + bias (bias may be null); the value is stored before the tangents of its chunk
    template <class Scalar>
    void store(Scalar* rows, const Scalar* bias, const conv_shape& c, std::size_t /*first*/, bool /*is_value*/,
               Scalar* target) const {
        rows_to_nchw(rows, bias, c, target);
    }
    template <class Scalar>
    void load_gradient(const Scalar* gradient, const conv_shape& c, std::size_t /*first*/, Scalar* rows) const {
        nchw_to_rows(gradient, c, rows);
    }
};

// target[r] += sum of row r. Eight independent partial sums per row: a single running sum is
// one serial chain of additions, bound by their latency instead of vectorized.
template <class Scalar>
void row_sums_add(const Scalar* rows, std::size_t count, std::size_t length, Scalar* target) {
    constexpr std::size_t lanes = 8;
    for (std::size_t r = 0; r < count; ++r) {
        const Scalar* row = rows + r * length;
        Scalar partial[lanes] = {};
        std::size_t i = 0;
        for (; i + lanes <= length; i += lanes) {
            for (std::size_t j = 0; j < lanes; ++j) partial[j] += row[i + j];
        }
        Scalar total = 0;
        for (; i < length; ++i) total += row[i];
        for (std::size_t j = 0; j < lanes; ++j) total += partial[j];
        target[r] += total;
    }
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

}  // namespace fds::nn::detail
