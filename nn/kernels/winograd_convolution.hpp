// 3x3 convolutions with stride 1 by Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray 2016):
// each 2x2 block of outputs ("tile") takes 16 multiplications per (row, channel) where the direct
// kernels take 36. For a tile with input d (4x4, rows 2ty.., columns 2tx..) and a filter g (3x3)
//   U = G g G^T,  V = B^T d B   (4x4 each),   y = A^T (sum_c U_c * V_c) A   (2x2, * entrywise)
//   G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],  B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
//   A^T = [1 1 1 0; 0 1 -1 -1].
// The 16 entrywise sums over channels are small matrix products, [rows, C] x [C, tiles], run in
// registers (4 rows x 3 vectors of tiles), their results transformed and stored straight away.
// The transformed filters (winograd_filters) are computed once per layer call, not per chunk:
// for a stacked [W; dW_0; ...] they cost about as much as one chunk's product.
// Rounding differs from the direct sum (the transforms add and subtract inputs and partial sums
// first); the error measured against long double sums is no larger than the direct kernels'.
// Each output row is computed from its own filter row only, in an order that depends on the
// convolution's shape alone: [W; dW_0; ...] gives every row the bits it gets alone, as with the
// direct kernels, so K tangents at once still equal K runs of one.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include <fds/nn/kernels/conv_shape.hpp>
#include <fds/nn/kernels/vector32.hpp>

namespace fds::nn::detail {

// Makes a buffer kept between calls hold at least `count` values. It only grows: the buffers'
// sizes change from call to call, and std::vector zero-fills whatever a resize regrows.
template <class T>
void grow_kept_buffer(std::vector<T>& buffer, std::size_t count) {
    if (buffer.size() < count) buffer.resize(count);
}

// U = G g G^T of every (row, channel) filter of w [rows, channels, 3, 3], as [rows][16][channels]
// (a row's 16 entries close together: the transform writes them without cache conflicts, where
// [16][rows][channels] put its 16 stores 2^k KiB apart and took 5x longer)
template <class Scalar>
struct winograd_filters {
    std::size_t rows = 0, channels = 0;
    std::vector<Scalar> values;
    const Scalar* at(std::size_t entry, std::size_t row) const { return values.data() + (row * 16 + entry) * channels; }
    std::size_t row_stride() const { return 16 * channels; }
};

template <class Scalar>
winograd_filters<Scalar> transform_filters(const Scalar* w, std::size_t rows, std::size_t channels) {
    winograd_filters<Scalar> f{rows, channels, std::vector<Scalar>(16 * rows * channels)};
    const Scalar half(0.5);
    for (std::size_t m = 0; m < rows; ++m) {
        for (std::size_t c = 0; c < channels; ++c) {
            const Scalar* g = w + (m * channels + c) * 9;
            Scalar t[4][3];  // G g
            for (int j = 0; j < 3; ++j) {
                t[0][j] = g[j];
                t[1][j] = half * (g[j] + g[3 + j] + g[6 + j]);
                t[2][j] = half * (g[j] - g[3 + j] + g[6 + j]);
                t[3][j] = g[6 + j];
            }
            for (int i = 0; i < 4; ++i) {  // (G g) G^T
                const Scalar u[4] = {t[i][0], half * (t[i][0] + t[i][1] + t[i][2]),
                                     half * (t[i][0] - t[i][1] + t[i][2]), t[i][2]};
                for (int j = 0; j < 4; ++j) f.values[(m * 16 + i * 4 + j) * channels + c] = u[j];
            }
        }
    }
    return f;
}

// The tiles of a chunk in the order (image, tile row, tile column), in runs of L/2 consecutive
// tiles of one tile row ("groups"; L lanes per vector). A vector of tiles is two groups; with an
// odd number of groups the last vector repeats its first group and stores only that one.
template <class Scalar>
struct winograd_plan {
    std::size_t vectors = 0, groups = 0;
    std::vector<std::size_t> input_corners;  // per group: its first tile's input corner
    std::vector<std::size_t> output_corners;  // per group: its first tile's output corner in a row

    winograd_plan(const conv_shape& c, std::size_t output_image_stride) {
        constexpr std::size_t group_tiles = vector32_lanes<Scalar> / 2;
        const std::size_t tile_columns = c.out_width / 2, tile_rows = c.out_height / 2;
        groups = c.batch * tile_rows * tile_columns / group_tiles;
        vectors = (groups + 1) / 2;
        for (std::size_t n = 0; n < c.batch; ++n) {
            for (std::size_t ty = 0; ty < tile_rows; ++ty) {
                for (std::size_t tx = 0; tx < tile_columns; tx += group_tiles) {
                    input_corners.push_back(n * c.input_image() + 2 * ty * c.width + 2 * tx);
                    output_corners.push_back(n * output_image_stride + 2 * ty * c.out_width + 2 * tx);
                }
            }
        }
        if (groups % 2 == 1) input_corners.push_back(input_corners.back());
    }
};

// V = B^T d B of every tile vector and channel of the (unpadded) images x, lane i of a vector
// holding tile i of its two groups; entry e of channel c of tile vector v at (v * 16 + e) *
// total_channels + first_channel + c: the channels of several transforms may share one array.
template <class Scalar>
void transform_inputs(const Scalar* x, const conv_shape& c, const winograd_plan<Scalar>& plan,
                      std::size_t total_channels, std::size_t first_channel, vector32<Scalar>* inputs) {
    const std::size_t channels = c.channels, plane = c.height * c.width, width = c.width;
    for (std::size_t v = 0; v < plan.vectors; ++v) {
        const Scalar* first = x + plan.input_corners[2 * v];
        const Scalar* second = x + plan.input_corners[2 * v + 1];
        for (std::size_t channel = 0; channel < channels; ++channel) {
            // d[i][j]: input row i, column j of each lane's tile; L consecutive inputs from a group's
            // corner hold columns 0 and 1 of its tiles at even and odd places, from corner + 2 columns 2, 3
            vector32<Scalar> d[4][4];
            for (std::size_t i = 0; i < 4; ++i) {
                const std::size_t offset = channel * plane + i * width;
                const vector32<Scalar> a0 = load_vector(first + offset), b0 = load_vector(second + offset);
                const vector32<Scalar> a2 = load_vector(first + offset + 2), b2 = load_vector(second + offset + 2);
                d[i][0] = even_lanes<Scalar>(a0, b0);
                d[i][1] = odd_lanes<Scalar>(a0, b0);
                d[i][2] = even_lanes<Scalar>(a2, b2);
                d[i][3] = odd_lanes<Scalar>(a2, b2);
            }
            vector32<Scalar> t[4][4];  // B^T d
            for (std::size_t j = 0; j < 4; ++j) {
                t[0][j] = d[0][j] - d[2][j];
                t[1][j] = d[1][j] + d[2][j];
                t[2][j] = d[2][j] - d[1][j];
                t[3][j] = d[1][j] - d[3][j];
            }
            vector32<Scalar>* target = inputs + v * 16 * total_channels + first_channel + channel;
            const std::size_t e = total_channels;
            for (std::size_t i = 0; i < 4; ++i) {  // (B^T d) B
                target[(i * 4 + 0) * e] = t[i][0] - t[i][2];
                target[(i * 4 + 1) * e] = t[i][1] + t[i][2];
                target[(i * 4 + 2) * e] = t[i][2] - t[i][1];
                target[(i * 4 + 3) * e] = t[i][1] - t[i][3];
            }
        }
    }
}

// y = A^T q A of one row and tile vector, stored (or added) at its two groups' places: each
// group's L/2 tiles give L consecutive outputs of two output rows
template <class Scalar>
void store_tiles(const vector32<Scalar> (&q)[16], const winograd_plan<Scalar>& plan, std::size_t vector,
                 std::size_t out_width, bool accumulate, Scalar* row) {
    vector32<Scalar> t0[4], t1[4];  // A^T q
    for (std::size_t j = 0; j < 4; ++j) {
        t0[j] = q[j] + q[4 + j] + q[8 + j];
        t1[j] = q[4 + j] - q[8 + j] - q[12 + j];
    }
    const vector32<Scalar> y00 = t0[0] + t0[1] + t0[2], y01 = t0[1] - t0[2] - t0[3];
    const vector32<Scalar> y10 = t1[0] + t1[1] + t1[2], y11 = t1[1] - t1[2] - t1[3];
    const vector32<Scalar> rows[2][2] = {{interleave_low<Scalar>(y00, y01), interleave_high<Scalar>(y00, y01)},
                                         {interleave_low<Scalar>(y10, y11), interleave_high<Scalar>(y10, y11)}};
    for (std::size_t half = 0; half < 2; ++half) {
        const std::size_t group = 2 * vector + half;
        if (group == plan.groups) return;  // the repeated group of an odd count
        Scalar* corner = row + plan.output_corners[group];
        for (std::size_t i = 0; i < 2; ++i) {
            Scalar* target = corner + i * out_width;
            store_vector(target, accumulate ? rows[i][half] + load_vector(target) : rows[i][half]);
        }
    }
}

// Rows m0..m0+Rows and tile vectors v0..v0+Vectors: the 16 products over the channels in
// Rows x Vectors accumulators, then the output transform.
template <std::size_t Rows, std::size_t Vectors, class Scalar>
void winograd_tile(const winograd_filters<Scalar>& f, const vector32<Scalar>* inputs, const winograd_plan<Scalar>& plan,
                   std::size_t m0, std::size_t v0, std::size_t out_width, bool accumulate, Scalar* rows,
                   std::size_t row_stride) {
    const std::size_t channels = f.channels, row_stride_u = f.row_stride();
    vector32<Scalar> q[Rows][Vectors][16];
    for (std::size_t entry = 0; entry < 16; ++entry) {
        vector32<Scalar> sums[Rows][Vectors] = {};
        const Scalar* u = f.at(entry, m0);
        const vector32<Scalar>* v[Vectors];
        for (std::size_t j = 0; j < Vectors; ++j) v[j] = inputs + ((v0 + j) * 16 + entry) * channels;
        for (std::size_t c = 0; c < channels; ++c) {
            vector32<Scalar> in[Vectors];
            for (std::size_t j = 0; j < Vectors; ++j) in[j] = v[j][c];
            for (std::size_t i = 0; i < Rows; ++i) {
                const vector32<Scalar> filter = broadcast_vector(u[i * row_stride_u + c]);
                for (std::size_t j = 0; j < Vectors; ++j) sums[i][j] = multiply_add<Scalar>(filter, in[j], sums[i][j]);
            }
        }
        for (std::size_t i = 0; i < Rows; ++i) {
            for (std::size_t j = 0; j < Vectors; ++j) q[i][j][entry] = sums[i][j];
        }
    }
    for (std::size_t i = 0; i < Rows; ++i) {
        for (std::size_t j = 0; j < Vectors; ++j) {
            store_tiles(q[i][j], plan, v0 + j, out_width, accumulate, rows + (m0 + i) * row_stride);
        }
    }
}

template <std::size_t Rows, class Scalar>
void winograd_tile_of(std::size_t vectors, const winograd_filters<Scalar>& f, const vector32<Scalar>* inputs,
                      const winograd_plan<Scalar>& plan, std::size_t m0, std::size_t v0, std::size_t out_width,
                      bool accumulate, Scalar* rows, std::size_t row_stride) {
    switch (vectors) {
        case 3:
            winograd_tile<Rows, 3>(f, inputs, plan, m0, v0, out_width, accumulate, rows, row_stride);
            break;
        case 2:
            winograd_tile<Rows, 2>(f, inputs, plan, m0, v0, out_width, accumulate, rows, row_stride);
            break;
        default:
            winograd_tile<Rows, 1>(f, inputs, plan, m0, v0, out_width, accumulate, rows, row_stride);
            break;
    }
}

// rows (+)= the products of the transformed filters f and inputs (transform_inputs of f.channels
// channels), output transformed and stored at the plan's places
template <class Scalar>
void winograd_products(const winograd_filters<Scalar>& f, const vector32<Scalar>* inputs,
                       const winograd_plan<Scalar>& plan, const conv_shape& c, bool accumulate, Scalar* rows,
                       std::size_t row_stride) {
    constexpr std::size_t tile_rows = 4, tile_vectors = 3;  // 12 accumulators of the 16 AVX registers
    for (std::size_t v0 = 0; v0 < plan.vectors; v0 += tile_vectors) {
        const std::size_t vectors = std::min(tile_vectors, plan.vectors - v0);
        std::size_t m = 0;
        for (; m + tile_rows <= f.rows; m += tile_rows) {
            winograd_tile_of<tile_rows>(vectors, f, inputs, plan, m, v0, c.out_width, accumulate, rows, row_stride);
        }
        for (; m < f.rows; ++m) {
            winograd_tile_of<1>(vectors, f, inputs, plan, m, v0, c.out_width, accumulate, rows, row_stride);
        }
    }
}

// The same product as direct_convolve (direct_convolution.hpp: rows (+)= w x, row m at rows +
// m * row_stride, images image_stride apart) for unpadded images x of a convolution c with
// Winograd forward tiles (convolution_algorithm.hpp), the filters transformed by transform_filters.
template <class Scalar>
void winograd_convolve(const winograd_filters<Scalar>& f, const Scalar* x, const conv_shape& c, bool accumulate,
                       Scalar* rows, std::size_t row_stride, std::size_t image_stride) {
    const winograd_plan<Scalar> plan(c, image_stride);
    thread_local std::vector<vector32<Scalar>> inputs;  // kept: no allocation per chunk
    grow_kept_buffer(inputs, plan.vectors * 16 * c.channels);
    transform_inputs(x, c, plan, c.channels, 0, inputs.data());
    winograd_products(f, inputs.data(), plan, c, accumulate, rows, row_stride);
}

// The transformed images of two parts of c.channels channels each, side by side (2 c.channels per
// tile vector and entry): one part kept while the other changes, and a product over both, with
// filters [F | F'] of 2 c.channels, sums both terms before its one output transform. The dual
// input gradient keeps G beside each dG_k (W^T dG_k + dW_k^T G, direct_convolution.hpp). (The
// dual forward's dW_k X + W dX_k the same way measured no faster than its stacked [W; dW_0; ...] X
// plus W dX_k added to it: the output transforms it saves are a few percent of the products.)
template <class Scalar>
class winograd_input_pair {
 public:
    // images of the (unpadded) convolution c; outputs stored `image_stride` apart
    winograd_input_pair(const conv_shape& c, std::size_t image_stride)
        : c_(c), plan_(c, image_stride), inputs_(buffer()) {
        grow_kept_buffer(inputs_, plan_.vectors * 16 * 2 * c.channels);
    }

    // part 0 or 1 = the transform of images x
    void transform(std::size_t part, const Scalar* x) {
        transform_inputs(x, c_, plan_, 2 * c_.channels, part * c_.channels, inputs_.data());
    }

    // rows (row m at rows + m * row_stride) = f [part 0; part 1], for filters f of 2 c.channels
    void multiply(const winograd_filters<Scalar>& f, Scalar* rows, std::size_t row_stride) const {
        winograd_products(f, inputs_.data(), plan_, c_, false, rows, row_stride);
    }

 private:
    static std::vector<vector32<Scalar>>& buffer() {
        thread_local std::vector<vector32<Scalar>> inputs;  // kept: no allocation per chunk
        return inputs;
    }

    conv_shape c_;
    winograd_plan<Scalar> plan_;
    std::vector<vector32<Scalar>>& inputs_;
};

}  // namespace fds::nn::detail
