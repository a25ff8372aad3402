// The weight gradient of a 3x3 convolution with stride 1 by Winograd's algorithm, over the same
// tiles as the forward (winograd_convolution.hpp).
// The gradient of the forward's y = A^T [(G w G^T) * (B^T d B)] A with respect to w, summed over
// the tiles, is  dL/dw = G^T [sum_tiles (A dy A^T) * (B^T d B)] G  for the 2x2 gradient tile dy
// (Winograd's F(3x3, 2x2), the transpose of the forward's): again 16 multiplications per (row,
// channel, tile) instead of 36. Here the vector lanes hold L channels of one tile and the sums
// over the tiles run along the loop, so no sums across lanes are needed: with lanes over the
// tiles, the lane sums at the end of every (row, channel, entry) and loops of only 14 to 32
// vectors per chunk had kept the products at half the forward's speed.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include <fds/nn/kernels/conv_shape.hpp>
#include <fds/nn/kernels/vector32.hpp>
#include <fds/nn/kernels/winograd_convolution.hpp>

namespace fds::nn::detail {

// The chunk's images x with their zero border (c.padding) as [image][channel block][row][column][L]:
// one vector holds L channels of one pixel, channels past c.channels zero. A pass over the input,
// which is 4 times smaller than its transform (transposing there would cost 4 times as much), and
// the only copy of it: no padded copy first.
template <class Scalar>
void channel_blocked_images(const Scalar* x, const conv_shape& c, std::vector<Scalar>& blocked) {
    constexpr std::size_t lanes = vector32_lanes<Scalar>;
    const conv_shape bordered = c.padded();
    const std::size_t blocks = (c.channels + lanes - 1) / lanes, plane = c.height * c.width, width = c.width;
    const std::size_t bordered_row = bordered.width * lanes, bordered_plane = bordered.height * bordered_row;
    grow_kept_buffer(blocked, c.batch * blocks * bordered_plane);
    for (std::size_t n = 0; n < c.batch; ++n) {
        for (std::size_t block = 0; block < blocks; ++block) {
            const std::size_t first_channel = block * lanes, channels = std::min(lanes, c.channels - first_channel);
            const Scalar* source = x + (n * c.channels + first_channel) * plane;
            Scalar* image = blocked.data() + (n * blocks + block) * bordered_plane;
            std::fill(image, image + c.padding * bordered_row, Scalar(0));
            for (std::size_t y = 0; y < c.height; ++y) {
                Scalar* target = image + (c.padding + y) * bordered_row;
                std::fill(target, target + c.padding * lanes, Scalar(0));
                target += c.padding * lanes;
                std::size_t column = 0;
                for (; column + lanes <= width; column += lanes) {
                    vector32<Scalar> v[lanes] = {};
                    for (std::size_t l = 0; l < channels; ++l)
                        v[l] = load_vector(source + l * plane + y * width + column);
                    transpose_vectors<Scalar>(v);
                    for (std::size_t k = 0; k < lanes; ++k) store_vector(target + (column + k) * lanes, v[k]);
                }
                for (; column < width; ++column) {
                    for (std::size_t l = 0; l < lanes; ++l) {
                        target[column * lanes + l] = l < channels ? source[l * plane + y * width + column] : Scalar(0);
                    }
                }
                std::fill(target + width * lanes, target + (width + c.padding) * lanes, Scalar(0));
            }
            std::fill(image + (c.padding + c.height) * bordered_row, image + bordered_plane, Scalar(0));
        }
    }
}

// The layout of a chunk's transformed inputs for the weight gradient: V of tile t (raster order
// over image, tile row, tile column), entry e and channel c at e * entry_stride + t * channels +
// c, channels rounded up to whole vectors. One cache line more per entry than the tiles take: 16
// entries 2^k bytes apart would fall into one cache set.
template <class Scalar>
struct gradient_input_layout {
    std::size_t tiles, channels, entry_stride;
    gradient_input_layout(std::size_t tile_count, std::size_t channel_count)
        : tiles(tile_count),
          channels((channel_count + vector32_lanes<Scalar> - 1) / vector32_lanes<Scalar> * vector32_lanes<Scalar>),
          entry_stride(tiles * channels + 2 * vector32_lanes<Scalar>) {}
};

// V = B^T d B of every tile and channel of the channel-blocked images; the `layout.tiles` may
// exceed the chunk's (the gradient's tile vectors round up), those are zero
template <class Scalar>
void transform_input_tiles(const std::vector<Scalar>& blocked, const conv_shape& c,
                           const gradient_input_layout<Scalar>& layout, std::vector<Scalar>& inputs) {
    constexpr std::size_t lanes = vector32_lanes<Scalar>;
    const std::size_t blocks = layout.channels / lanes, plane = c.height * c.width, width = c.width;
    const std::size_t tile_rows = c.out_height / 2, tile_columns = c.out_width / 2;
    const std::size_t chunk_tiles = c.batch * tile_rows * tile_columns;
    grow_kept_buffer(inputs, 16 * layout.entry_stride);
    for (std::size_t entry = 0; entry < 16; ++entry) {
        Scalar* unused = inputs.data() + entry * layout.entry_stride + chunk_tiles * layout.channels;
        std::fill(unused, unused + (layout.tiles - chunk_tiles) * layout.channels, Scalar(0));
    }
    for (std::size_t n = 0; n < c.batch; ++n) {
        for (std::size_t block = 0; block < blocks; ++block) {
            const Scalar* image = blocked.data() + (n * blocks + block) * plane * lanes;
            for (std::size_t ty = 0; ty < tile_rows; ++ty) {
                for (std::size_t tx = 0; tx < tile_columns; ++tx) {
                    const Scalar* corner = image + (2 * ty * width + 2 * tx) * lanes;
                    vector32<Scalar> t[4][4];  // B^T d
                    for (std::size_t j = 0; j < 4; ++j) {
                        const vector32<Scalar> d0 = load_vector(corner + j * lanes);
                        const vector32<Scalar> d1 = load_vector(corner + (width + j) * lanes);
                        const vector32<Scalar> d2 = load_vector(corner + (2 * width + j) * lanes);
                        const vector32<Scalar> d3 = load_vector(corner + (3 * width + j) * lanes);
                        t[0][j] = d0 - d2;
                        t[1][j] = d1 + d2;
                        t[2][j] = d2 - d1;
                        t[3][j] = d1 - d3;
                    }
                    const std::size_t tile = (n * tile_rows + ty) * tile_columns + tx;
                    Scalar* target = inputs.data() + tile * layout.channels + block * lanes;
                    const std::size_t e = layout.entry_stride;
                    for (std::size_t i = 0; i < 4; ++i) {  // (B^T d) B
                        store_vector(target + (i * 4 + 0) * e, t[i][0] - t[i][2]);
                        store_vector(target + (i * 4 + 1) * e, t[i][1] + t[i][2]);
                        store_vector(target + (i * 4 + 2) * e, t[i][2] - t[i][1]);
                        store_vector(target + (i * 4 + 3) * e, t[i][1] - t[i][3]);
                    }
                }
            }
        }
    }
}

// The entry stride of `rows` transformed gradient rows of `tiles` tiles: one cache line more
// than they take, for the reason of gradient_input_layout
template <class Scalar>
std::size_t gradient_entry_stride(std::size_t rows, std::size_t tiles) {
    return rows * tiles + 2 * vector32_lanes<Scalar>;
}

// A dy A^T of every tile of `rows` gradient rows from m0 (row m at g + m * g_stride, images
// `positions` apart): entry e of row m and tile t at e * gradient_entry_stride + m * tiles + t,
// in the tile order of transform_input_tiles (the plan's tile vectors hold its groups in that
// order). The repeated group of an odd count gets zeros: it must not count twice.
// A = [1 0; 1 1; 1 -1; 0 -1].
template <class Scalar>
void transform_gradients(const Scalar* g, std::size_t g_stride, std::size_t m0, std::size_t rows, const conv_shape& c,
                         const winograd_plan<Scalar>& plan, std::vector<Scalar>& gradients) {
    constexpr std::size_t lanes = vector32_lanes<Scalar>;
    const std::size_t vectors = plan.vectors, width = c.out_width, tiles = vectors * lanes;
    const std::size_t e = gradient_entry_stride<Scalar>(rows, tiles);
    grow_kept_buffer(gradients, 16 * e);
    for (std::size_t m = 0; m < rows; ++m) {
        const Scalar* row = g + (m0 + m) * g_stride;
        for (std::size_t v = 0; v < vectors; ++v) {
            const Scalar* first = row + plan.output_corners[2 * v];
            const bool second_exists = 2 * v + 1 < plan.groups;
            const Scalar* second = row + plan.output_corners[second_exists ? 2 * v + 1 : 2 * v];
            vector32<Scalar> dy[2][2];
            for (std::size_t i = 0; i < 2; ++i) {
                const vector32<Scalar> a = load_vector(first + i * width);
                const vector32<Scalar> b = second_exists ? load_vector(second + i * width) : vector32<Scalar>{};
                dy[i][0] = even_lanes<Scalar>(a, b);
                dy[i][1] = odd_lanes<Scalar>(a, b);
            }
            vector32<Scalar> t[4][2];  // A dy
            for (std::size_t j = 0; j < 2; ++j) {
                t[0][j] = dy[0][j];
                t[1][j] = dy[0][j] + dy[1][j];
                t[2][j] = dy[0][j] - dy[1][j];
                t[3][j] = -dy[1][j];
            }
            Scalar* target = gradients.data() + m * tiles + v * lanes;
            for (std::size_t i = 0; i < 4; ++i) {  // (A dy) A^T
                store_vector(target + (i * 4 + 0) * e, t[i][0]);
                store_vector(target + (i * 4 + 1) * e, t[i][0] + t[i][1]);
                store_vector(target + (i * 4 + 2) * e, t[i][0] - t[i][1]);
                store_vector(target + (i * 4 + 3) * e, -t[i][1]);
            }
        }
    }
}

// sums[i][channel] = sum over the tiles of gradients[i][tile] inputs[tile][channel] for Rows
// gradient rows and Vectors vectors of channels of one entry: per tile, Vectors loads and Rows
// broadcasts for Rows x Vectors multiply-adds
template <std::size_t Rows, std::size_t Vectors, class Scalar>
void winograd_gradient_tile(const Scalar* gradients, std::size_t tiles, const Scalar* inputs, std::size_t channels,
                            Scalar* sums) {
    constexpr std::size_t lanes = vector32_lanes<Scalar>;
    vector32<Scalar> acc[Rows][Vectors] = {};
    for (std::size_t t = 0; t < tiles; ++t) {
        vector32<Scalar> in[Vectors];
        for (std::size_t j = 0; j < Vectors; ++j) in[j] = load_vector(inputs + t * channels + j * lanes);
        for (std::size_t i = 0; i < Rows; ++i) {
            const vector32<Scalar> gradient = broadcast_vector(gradients[i * tiles + t]);
            for (std::size_t j = 0; j < Vectors; ++j) acc[i][j] = multiply_add<Scalar>(gradient, in[j], acc[i][j]);
        }
    }
    for (std::size_t i = 0; i < Rows; ++i) {
        for (std::size_t j = 0; j < Vectors; ++j) store_vector(sums + i * channels + j * lanes, acc[i][j]);
    }
}

template <std::size_t Vectors, class Scalar>
void winograd_gradient_tile_of(std::size_t rows, const Scalar* gradients, std::size_t tiles, const Scalar* inputs,
                               std::size_t channels, Scalar* sums) {
    switch (rows) {
        case 6:
            winograd_gradient_tile<6, Vectors>(gradients, tiles, inputs, channels, sums);
            break;
        case 5:
            winograd_gradient_tile<5, Vectors>(gradients, tiles, inputs, channels, sums);
            break;
        case 4:
            winograd_gradient_tile<4, Vectors>(gradients, tiles, inputs, channels, sums);
            break;
        case 3:
            winograd_gradient_tile<3, Vectors>(gradients, tiles, inputs, channels, sums);
            break;
        case 2:
            winograd_gradient_tile<2, Vectors>(gradients, tiles, inputs, channels, sums);
            break;
        default:
            winograd_gradient_tile<1, Vectors>(gradients, tiles, inputs, channels, sums);
            break;
    }
}

// target[3x3] += G^T s G for the 16 sums s[e * stride] of `channels` channels (at most L) of one
// row, channel l's at s[l] and target[9 l]; G^T = [1 1/2 1/2 0; 0 1/2 -1/2 0; 0 1/2 1/2 1]. The
// transforms run on vectors of channels; only the additions to the [channel][3x3] target are
// scalar.
template <class Scalar>
void add_filter_gradients(const Scalar* s, std::size_t stride, std::size_t channels, Scalar* target) {
    constexpr std::size_t lanes = vector32_lanes<Scalar>;
    const vector32<Scalar> half = broadcast_vector(Scalar(0.5));
    vector32<Scalar> t[3][4];  // G^T s
    for (std::size_t j = 0; j < 4; ++j) {
        const vector32<Scalar> s0 = load_vector(s + j * stride), s1 = load_vector(s + (4 + j) * stride);
        const vector32<Scalar> s2 = load_vector(s + (8 + j) * stride), s3 = load_vector(s + (12 + j) * stride);
        t[0][j] = s0 + half * (s1 + s2);
        t[1][j] = half * (s1 - s2);
        t[2][j] = half * (s1 + s2) + s3;
    }
    Scalar gradient[9][lanes];
    for (std::size_t i = 0; i < 3; ++i) {  // (G^T s) G
        store_vector(gradient[i * 3 + 0], t[i][0] + half * (t[i][1] + t[i][2]));
        store_vector(gradient[i * 3 + 1], half * (t[i][1] - t[i][2]));
        store_vector(gradient[i * 3 + 2], half * (t[i][1] + t[i][2]) + t[i][3]);
    }
    for (std::size_t l = 0; l < channels; ++l) {
        for (std::size_t k = 0; k < 9; ++k) target[l * 9 + k] += gradient[k][l];
    }
}

// The same as direct_weight_gradient_add: target [gradient_rows, C * 9] += g [gradient_rows,
// c.columns()] * im2col(x)^T, for the images x of a convolution c with Winograd tiles (padded
// or not).
// The chunk's inputs are transformed once; the gradient rows in blocks, each block's sums over
// all tiles taken entry by entry in register tiles of 6 rows x 2 vectors of channels.
template <class Scalar>
void winograd_weight_gradient_add(const Scalar* g, std::size_t gradient_rows, const Scalar* x, const conv_shape& c,
                                  Scalar* target) {
    constexpr std::size_t lanes = vector32_lanes<Scalar>;
    constexpr std::size_t block_rows = 12, tile_rows = 6, tile_vectors = 2;  // 12 accumulators, 2 inputs, 1 gradient
    const winograd_plan<Scalar> plan(c.padded(), c.positions());
    const gradient_input_layout<Scalar> layout(plan.vectors * lanes, c.channels);
    const std::size_t tiles = layout.tiles, channel_vectors = layout.channels / lanes;
    thread_local std::vector<Scalar> blocked, inputs, gradients, sums;  // kept: no allocation per chunk
    channel_blocked_images(x, c, blocked);
    transform_input_tiles(blocked, c.padded(), layout, inputs);
    grow_kept_buffer(sums, 16 * block_rows * layout.channels);
    for (std::size_t m0 = 0; m0 < gradient_rows; m0 += block_rows) {
        const std::size_t rows = std::min(block_rows, gradient_rows - m0);
        transform_gradients(g, c.columns(), m0, rows, c, plan, gradients);
        for (std::size_t entry = 0; entry < 16; ++entry) {
            for (std::size_t m = 0; m < rows; m += tile_rows) {
                const Scalar* entry_gradients =
                    gradients.data() + entry * gradient_entry_stride<Scalar>(rows, tiles) + m * tiles;
                Scalar* entry_sums = sums.data() + (entry * rows + m) * layout.channels;
                const std::size_t count = std::min(tile_rows, rows - m);
                std::size_t v = 0;
                for (; v + tile_vectors <= channel_vectors; v += tile_vectors) {
                    winograd_gradient_tile_of<tile_vectors>(count, entry_gradients, tiles,
                                                            inputs.data() + entry * layout.entry_stride + v * lanes,
                                                            layout.channels, entry_sums + v * lanes);
                }
                if (v < channel_vectors) {
                    winograd_gradient_tile_of<1>(count, entry_gradients, tiles,
                                                 inputs.data() + entry * layout.entry_stride + v * lanes,
                                                 layout.channels, entry_sums + v * lanes);
                }
            }
        }
        for (std::size_t m = 0; m < rows; ++m) {
            for (std::size_t channel = 0; channel < c.channels; channel += lanes) {
                add_filter_gradients(sums.data() + m * layout.channels + channel, rows * layout.channels,
                                     std::min(lanes, c.channels - channel),
                                     target + ((m0 + m) * c.channels + channel) * 9);
            }
        }
    }
}

}  // namespace fds::nn::detail
