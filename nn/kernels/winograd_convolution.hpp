// 3x3 convolutions with stride 1 by Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray 2016):
// each 2x2 block of outputs ("tile") takes 16 multiplications per (row, channel) where the direct
// kernels take 36. For a tile with input d (4x4, rows 2ty.., columns 2tx..) and a filter g (3x3)
//   U = G g G^T,  V = B^T d B   (4x4 each),   y = A^T (sum_c U_c * V_c) A   (2x2, * entrywise)
//   G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],  B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
//   A^T = [1 1 1 0; 0 1 -1 -1].
// The 16 entrywise sums over channels are small matrix products, [rows, C] x [C, tiles], run in
// registers (4 rows x 3 vectors of tiles), their results transformed and stored straight away.
// On the CNN's second and third layers it takes about half the time of direct_convolve
// (docs/performance.md). The transformed filters
// (winograd_filters) are computed once per layer call, not per chunk: for 640 rows they cost
// about a chunk's product (the input gradient's, of [W; dW_k] flipped, one set per tangent).
// The weight gradient (below) runs the transposed algorithm.
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
// sizes change from call to call, and std::vector zero-fills whatever a resize regrows (1.5 GB of
// fills per WRN-16-1 K = 9 step when each call resized to its own size).
template <class T>
void grow_kept_buffer(std::vector<T>& buffer, std::size_t count) {
    if (buffer.size() < count) buffer.resize(count);
}

// whether winograd_convolve computes this convolution (before padding): 3x3, stride 1, output
// rows of whole vectors (L/2 tiles of 2 columns: a vector of L tiles is two such runs) and an
// even number of output rows
template <class Scalar>
bool winograd_applies(const conv_shape& s) {
    return s.kernel == 3 && s.stride == 1 && s.out_width % vector32_lanes<Scalar> == 0 && s.out_height % 2 == 0;
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
// winograd_applies, the filters transformed by transform_filters.
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

// ----- weight gradient: target += g x^T -----
// The gradient of the forward's y = A^T [(G w G^T) * (B^T d B)] A with respect to w, summed over
// the tiles, is  dL/dw = G^T [sum_tiles (A dy A^T) * (B^T d B)] G  for the 2x2 gradient tile dy
// (Winograd's F(3x3, 2x2), the transpose of the forward's): again 16 multiplications per (row,
// channel, tile) instead of 36. Here the vector lanes hold L channels of one tile and the sums
// over the tiles run along the loop, so no sums across lanes are needed: with lanes over the
// tiles, the lane sums at the end of every (row, channel, entry) and loops of only 14 to 32
// vectors per chunk had kept the products at half the forward's speed.

// whether winograd_weight_gradient_add computes this convolution's weight gradient: the
// gradient's transform costs as much per channel and tile as the sums over 16 channels it saves,
// so with few channels (the CNN's first layer) direct_weight_gradient_add is faster
template <class Scalar>
bool winograd_weight_gradient_applies(const conv_shape& s) {
    return winograd_applies<Scalar>(s) && s.channels >= 16;
}

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
// c.columns()] * im2col(x)^T, for the images x of a convolution c with winograd_applies (padded
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
