// Convolution kernels of conv2d.hpp, for plain and dual tensors. autodiff's generic im2col +
// matmul + transpose path is correct but spends most of a LeNet step moving memory; these kernels
// lay the columns out as [C*KH*KW, n*OH*OW] (rows copied as contiguous runs), so that
//   Y[O, n*OH*OW] = W[O, C*KH*KW] X                          (one GEMM per value or tangent)
// lands in NCHW order with one block copy per (image, o), and no transposes of the data are needed.
// Where direct_convolution.hpp applies (stride 1, output rows of whole SIMD vectors), the products
// with X (W X and G X^T) are computed from the images without columns (multiply_columns,
// add_product_with_columns), and so is the input gradient W^T G of a 3x3 convolution padded by 1
// (input_gradient_of_rows); other input gradients go through columns and col2im. The products W X
// and W^T G of 3x3 convolutions with stride 1 and an even output height run by Winograd's
// algorithm (winograd_convolution.hpp: 16 multiplications per 2x2 outputs instead of 36).
// With the columns of the value X and of each live tangent dX_k of the input:
//   forward   dY_k  = dW_k X + W dX_k,                       (+ db_k)
//   backward  dL/dW = G X^T,  dL/dX = W^T G,  dL/db = row sums of G, and on duals
//             (dL/dW)_k = dG_k X^T + G dX_k^T,   (dL/dX)_k = dW_k^T G + W^T dG_k.
// The batch is processed in chunks of images whose columns fit in about 1 MiB: the columns are
// C*KH*KW/stride^2 times larger than the input (150 MB for one WRN-16-1 layer at batch 256), and
// chunks keep them in cache and out of the page-fault path; the weight gradients accumulate over
// the chunks (GEMM with beta = 1). With two threads (autodiff/parallel.hpp) the chunks run on both,
// each GEMM on the thread of its chunk, so the copies around the GEMMs (im2col, col2im, layout
// changes) use both cores too; the sums do not depend on the thread count (see chunk_dealer).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include <fds/autodiff/autodiff.hpp>
#include <fds/autodiff/blas.hpp>

#include <fds/nn/kernels/conv_shape.hpp>
#include <fds/nn/kernels/direct_convolution.hpp>
#include <fds/nn/kernels/winograd_convolution.hpp>

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

// images per chunk: columns of about s.chunk_bytes, at least one image
inline std::size_t chunk_images(const conv_shape& s, std::size_t scalar_size) {
    const std::size_t image_bytes = s.patch() * s.positions() * scalar_size;
    return std::clamp<std::size_t>(s.chunk_bytes / std::max<std::size_t>(image_bytes, 1), 1,
                                   std::max<std::size_t>(s.batch, 1));
}

// The chunks run in two groups, one per thread, each with its own buffers (chunk_dealer says which
// group runs which chunk).
inline constexpr std::size_t chunk_groups = 2;

// Chunk c adds its weight gradients into accumulator c % chunk_accumulators, in chunk order, and
// the result is accumulator 0 + 1 + 2 + 3. More accumulators than groups let a thread that is
// ahead take chunks of an accumulator the other thread is not summing into (chunk_dealer).
inline constexpr std::size_t chunk_accumulators = 4;

// Memory kept per calling thread, role and group between calls, so a training step neither
// allocates nor page-faults its column buffers; zero when (re)allocated.
template <class Scalar, int Role>
Scalar* scratch(std::size_t group, std::size_t count) {
    thread_local std::unique_ptr<Scalar[]> buffers[chunk_groups];
    thread_local std::size_t capacities[chunk_groups] = {};
    if (count > capacities[group]) {
        buffers[group].reset(new Scalar[count]());
        capacities[group] = count;
    }
    return buffers[group].get();
}

// A group's buffers, sized for the largest chunk.
template <class Scalar>
struct chunk_buffers {
    Scalar* value_columns;  // [patch, columns]
    Scalar* tangent_columns;  // [patch, columns]
    Scalar* value_rows;  // [out, columns], directly followed by tangent_rows(c)
    Scalar* stacked_rows;  // [2 out, columns] (dual backward: dG_k over G)
    Scalar* zero_columns;  // [patch, columns], all zero between uses (input_gradient_of_rows)
    Scalar* padded_gradient;  // [images, 2 out, padded OH, padded OW] where direct_input_gradient applies
    // [live, out, columns] right after the value rows of chunk c, so that [value; tangents] is one matrix
    Scalar* tangent_rows(const conv_shape& c) const { return value_rows + c.out_channels * c.columns(); }
};

template <class Scalar>
chunk_buffers<Scalar> buffers_for_group(const conv_shape& s, std::size_t group, std::size_t tangent_rows) {
    const std::size_t columns = chunk_images(s, sizeof(Scalar)) * s.positions();
    Scalar* rows = scratch<Scalar, 2>(group, (1 + tangent_rows) * s.out_channels * columns);
    const std::size_t gradient_rows = (tangent_rows > 0 ? 2 : 1) * s.out_channels;
    return {scratch<Scalar, 0>(group, s.patch() * columns),
            scratch<Scalar, 1>(group, s.patch() * columns),
            rows,
            scratch<Scalar, 3>(group, tangent_rows > 0 ? 2 * s.out_channels * columns : 0),
            scratch<Scalar, 4>(group, s.patch() * columns),
            scratch<Scalar, 5>(group,
                               direct_input_gradient_applies<Scalar>(s)
                                   ? padded_gradient_size(s.with_batch(chunk_images(s, sizeof(Scalar))), gradient_rows)
                                   : 0)};
}

// The batch cut into the fewest chunks of at most chunk_images, sizes differing by at most one
// image, so that no small last chunk is left to one thread while the other waits.
struct chunk_plan {
    std::size_t count, size, larger;  // chunks, their smaller size, how many (the first) hold one more

    chunk_plan(std::size_t batch, std::size_t largest_size) {
        count = std::max<std::size_t>(1, (batch + largest_size - 1) / largest_size);
        size = batch / count;
        larger = batch % count;
    }
    std::size_t first(std::size_t chunk) const { return chunk * size + std::min(chunk, larger); }
    std::size_t images(std::size_t chunk) const { return size + (chunk < larger ? 1 : 0); }
};

// The chunks of a call on s.
template <class Scalar>
chunk_plan plan_chunks(const conv_shape& s) {
    return chunk_plan(s.batch, chunk_images(s, sizeof(Scalar)));
}

// Whether a chunk's body adds into accumulators (the backwards' weight gradients).
enum class chunk_sums { none, into_accumulators };

// Hands the chunks of one call to the threads as they become free. On this shared machine either
// thread is at times slowed: with fixed shares the other waited at the end of a call for up to a
// tenth of it. A thread takes the first chunk not yet handed out; with sums, the first whose
// accumulator no thread is summing into, so that an accumulator's chunks go out in chunk order and
// to one thread at a time and the sums never depend on which thread ran a chunk or when. The
// threads then finish within about a chunk of each other.
class chunk_dealer {
 public:
    chunk_dealer(std::size_t chunks, chunk_sums sums) : chunks_(chunks), sums_(sums) {
        for (std::size_t a = 0; a < chunk_accumulators; ++a) next_[a] = a;
    }

    // The next chunk for a thread that has finished chunk `finished` (none: the chunk count), or the
    // chunk count when none is left for it.
    std::size_t take(std::size_t finished) {
        std::lock_guard<std::mutex> dealing(mutex_);
        if (finished < chunks_) summing_[finished % chunk_accumulators] = false;
        std::size_t chunk = chunks_;
        for (std::size_t a = 0; a < chunk_accumulators; ++a) {
            if (!summing_[a]) chunk = std::min(chunk, next_[a]);
        }
        if (chunk == chunks_) return chunks_;
        const std::size_t a = chunk % chunk_accumulators;
        next_[a] += chunk_accumulators;
        summing_[a] = sums_ == chunk_sums::into_accumulators;
        return chunk;
    }

 private:
    std::mutex mutex_;
    const std::size_t chunks_;
    const chunk_sums sums_;
    std::size_t next_[chunk_accumulators];
    bool summing_[chunk_accumulators] = {};
};

// Runs body(first_image, chunk_shape, accumulator, buffers) for every chunk of the batch, the two
// groups on two threads when the library has two (run_parts); accumulator is the chunk's
// (chunk_accumulators). With more cores, GEMMs split over all threads serve better than two chunk
// threads with one-thread GEMMs, and the groups run in turn. Buffers are taken on the calling
// thread, where they persist between calls.
template <class Scalar, class Body>
void for_each_chunk(const conv_shape& s, std::size_t tangent_rows, chunk_sums sums, Body&& body) {
    const chunk_plan plan = plan_chunks<Scalar>(s);
    const std::size_t chunks = plan.count;
    chunk_buffers<Scalar> buffers[chunk_groups];
    for (std::size_t group = 0; group < chunk_groups; ++group) {
        buffers[group] = buffers_for_group<Scalar>(s, group, tangent_rows);
    }
    chunk_dealer dealer(chunks, sums);
    auto run_group = [&](std::size_t group) {
        for (std::size_t chunk = dealer.take(chunks); chunk < chunks; chunk = dealer.take(chunk)) {
            body(plan.first(chunk), s.with_batch(plan.images(chunk)), chunk % chunk_accumulators, buffers[group]);
        }
    };
    if (chunks < 2 || autodiff::thread_count() > chunk_groups) {
        for (std::size_t group = 0; group < chunk_groups; ++group) run_group(group);
    } else {
        autodiff::run_parts(chunk_groups, run_group);
    }
}

// Image `first` of a batched tensor: every operand of a chunk starts there.
template <class Scalar>
const Scalar* image_pointer(const Scalar* batch, std::size_t image_size, std::size_t first) {
    return batch + first * image_size;
}

// target (chunk of input-shaped images) = col2im(W^T rows) for W [weight_rows, patch]: set, not
// added. Without padding col2im reads every column entry, so it clears them as it goes and
// zero_columns stays all zero between calls: the GEMM adds to zeros (beta = 1) instead of
// OpenBLAS zeroing the columns in a pass of its own (beta = 0), a pass that showed in LeNet's step.
// With padding the border entries are never read; the GEMM then writes scratch_columns (beta = 0).
// Where direct_input_gradient applies (3x3 padded by 1) there are no columns at all.
// The weights W [rows, patch] of the input-gradient products W^T G of one layer call, flipped
// (and transformed) for direct_input_gradient where it applies: once, for every chunk.
template <class Scalar>
struct input_gradient_weights {
    const Scalar* values;
    std::size_t rows;
    flipped_weights<Scalar> flipped;
};

template <class Scalar>
input_gradient_weights<Scalar> prepare_input_gradient_weights(const Scalar* w, std::size_t rows, const conv_shape& s) {
    input_gradient_weights<Scalar> prepared{w, rows, {}};
    if (direct_input_gradient_applies<Scalar>(s)) prepared.flipped = flip_weights(w, rows, s);
    return prepared;
}

template <class Scalar>
void input_gradient_of_rows(const input_gradient_weights<Scalar>& w, const Scalar* rows, const conv_shape& c,
                            const chunk_buffers<Scalar>& b, Scalar* scratch_columns, Scalar* target) {
    if (direct_input_gradient_applies<Scalar>(c)) {
        direct_input_gradient(w.flipped, rows, c, b.padded_gradient, target);
        return;
    }
    const Scalar* weight = w.values;
    const std::size_t weight_rows = w.rows;
    Scalar* zero_columns = b.zero_columns;
    const bool zeros_kept = c.padding == 0;
    Scalar* columns = zeros_kept ? zero_columns : scratch_columns;
    try {
        autodiff::detail::gemm(true, false, c.patch(), c.columns(), weight_rows, Scalar(1), weight, c.patch(), rows,
                               c.columns(), zeros_kept ? Scalar(1) : Scalar(0), columns, c.columns());
    } catch (...) {
        if (zeros_kept) std::fill(columns, columns + c.patch() * c.columns(), Scalar(0));  // the next call relies on it
        throw;
    }
    std::fill(target, target + c.input_size(), Scalar(0));
    if (zeros_kept) {
        col2im_rows_add<true>(columns, c, target);
    } else {
        col2im_rows_add<false>(columns, c, target);
    }
}

// What the direct kernels read for the chunk's images x: x itself, or with padding its
// zero-bordered copy in `buffer` (the columns buffer, which is never smaller), with the geometry
// of the unpadded convolution.
template <class Scalar>
std::pair<const Scalar*, conv_shape> direct_input(const Scalar* x, const conv_shape& c, Scalar* buffer) {
    if (c.padding == 0) return {x, c};
    const conv_shape unpadded = padded_images(x, c, buffer);
    return {buffer, unpadded};
}

// The weights w [rows, patch] of the products of one layer call, with their Winograd transform
// where winograd_convolution.hpp applies: computed once, used by every chunk.
template <class Scalar>
struct chunk_weights {
    const Scalar* values;
    std::size_t rows;
    winograd_filters<Scalar> winograd;
};

template <class Scalar>
chunk_weights<Scalar> prepare_weights(const Scalar* w, std::size_t rows, const conv_shape& s) {
    chunk_weights<Scalar> prepared{w, rows, {}};
    if (winograd_applies<Scalar>(s)) prepared.winograd = transform_filters(w, rows, s.channels);
    return prepared;
}

// rows [weight_rows, columns] = w [weight_rows, patch] im2col(x), or rows += that with accumulate,
// for the chunk's images x: straight from the images (direct_input) by Winograd's algorithm or
// the direct kernels where they apply, else through im2col into `columns` and one GEMM
template <class Scalar>
void multiply_columns(const chunk_weights<Scalar>& w, const Scalar* x, const conv_shape& c, bool accumulate,
                      Scalar* columns, Scalar* rows) {
    if (winograd_applies<Scalar>(c)) {
        const auto [images, unpadded] = direct_input(x, c, columns);
        winograd_convolve(w.winograd, images, unpadded, accumulate, rows, c.columns(), c.positions());
        return;
    }
    if (direct_convolution_applies<Scalar>(c)) {
        const auto [images, unpadded] = direct_input(x, c, columns);
        direct_convolve(w.values, w.rows, images, unpadded, accumulate, rows);
        return;
    }
    im2col_rows(x, c, columns);
    autodiff::detail::gemm(false, false, w.rows, c.columns(), c.patch(), Scalar(1), w.values, c.patch(), columns,
                           c.columns(), accumulate ? Scalar(1) : Scalar(0), rows, c.columns());
}

// target [gradient_rows, patch] += g [gradient_rows, columns] im2col(x)^T, the same ways
template <class Scalar>
void add_product_with_columns(const Scalar* g, std::size_t gradient_rows, const Scalar* x, const conv_shape& c,
                              Scalar* columns, Scalar* target) {
    if (winograd_weight_gradient_applies<Scalar>(c)) {
        winograd_weight_gradient_add(g, gradient_rows, x, c, target);
        return;
    }
    if (direct_convolution_applies<Scalar>(c)) {
        const auto [images, unpadded] = direct_input(x, c, columns);
        direct_weight_gradient_add(g, gradient_rows, images, unpadded, target);
        return;
    }
    im2col_rows(x, c, columns);
    autodiff::detail::gemm(false, true, gradient_rows, c.patch(), c.columns(), Scalar(1), g, c.columns(), columns,
                           c.columns(), Scalar(1), target, c.patch());
}

// a zero array of `shape` for each accumulator after the first that a call on s uses (accumulator
// 0 is the result itself; a call with fewer chunks than accumulators leaves the others unused)
template <class Scalar>
std::vector<xt::xarray<Scalar>> extra_accumulators(const std::vector<std::size_t>& shape, const conv_shape& s) {
    const std::size_t used = std::min(chunk_accumulators, plan_chunks<Scalar>(s).count);
    return std::vector<xt::xarray<Scalar>>(used - 1, xt::xarray<Scalar>(xt::zeros<Scalar>(shape)));
}

template <class Scalar>
Scalar* accumulator(xt::xarray<Scalar>& result, std::vector<xt::xarray<Scalar>>& extras, std::size_t index) {
    return index == 0 ? result.data() : extras[index - 1].data();
}

template <class Scalar>
void add_extra_accumulators(xt::xarray<Scalar>& result, const std::vector<xt::xarray<Scalar>>& extras) {
    for (const auto& extra : extras) result += extra;
}

// ----- plain -----

template <class Scalar, class Output = nchw_output>
xt::xarray<Scalar> conv_forward(const xt::xarray<Scalar>& x, const xt::xarray<Scalar>& weight,
                                const xt::xarray<Scalar>* bias, const conv_shape& s, const Output& output = {}) {
    xt::xarray<Scalar> y = xt::xarray<Scalar>::from_shape(output.shape(s));
    const chunk_weights<Scalar> w = prepare_weights(weight.data(), s.out_channels, s);
    for_each_chunk<Scalar>(s, 0, chunk_sums::none,
                           [&](std::size_t first, const conv_shape& c, std::size_t, chunk_buffers<Scalar> b) {
                               multiply_columns(w, image_pointer(x.data(), s.input_image(), first), c, false,
                                                b.value_columns, b.value_rows);
                               output.store(b.value_rows, bias ? bias->data() : nullptr, c, first, true,
                                            y.data() + first * output.image_size(s));
                           });
    return y;
}

// input_gradient is left empty when not wanted
template <class Scalar, class Output = nchw_output>
void conv_backward(const xt::xarray<Scalar>& g, const xt::xarray<Scalar>& x, const xt::xarray<Scalar>& weight,
                   bool with_bias, bool input_gradient_needed, const conv_shape& s, xt::xarray<Scalar>& weight_gradient,
                   xt::xarray<Scalar>& bias_gradient, xt::xarray<Scalar>& input_gradient, const Output& output = {}) {
    weight_gradient = xt::zeros<Scalar>({s.out_channels, s.patch()});
    bias_gradient = xt::zeros<Scalar>({with_bias ? s.out_channels : std::size_t{0}});
    auto weight_extras = extra_accumulators<Scalar>({s.out_channels, s.patch()}, s);
    auto bias_extras = extra_accumulators<Scalar>({with_bias ? s.out_channels : std::size_t{0}}, s);
    input_gradient = input_gradient_needed ? xt::xarray<Scalar>::from_shape({s.batch, s.channels, s.height, s.width})
                                           : xt::xarray<Scalar>();
    const input_gradient_weights<Scalar> w = prepare_input_gradient_weights(weight.data(), s.out_channels, s);
    for_each_chunk<Scalar>(
        s, 0, chunk_sums::into_accumulators,
        [&](std::size_t first, const conv_shape& c, std::size_t sums, chunk_buffers<Scalar> b) {
            output.load_gradient(image_pointer(g.data(), output.image_size(s), first), c, first, b.value_rows);
            add_product_with_columns(b.value_rows, c.out_channels, image_pointer(x.data(), s.input_image(), first), c,
                                     b.value_columns, accumulator(weight_gradient, weight_extras, sums));
            if (with_bias)
                row_sums_add(b.value_rows, c.out_channels, c.columns(), accumulator(bias_gradient, bias_extras, sums));
            if (input_gradient_needed) {
                input_gradient_of_rows(w, b.value_rows, c, b, b.value_columns,
                                       input_gradient.data() + first * s.input_image());
            }
        });
    add_extra_accumulators(weight_gradient, weight_extras);
    add_extra_accumulators(bias_gradient, bias_extras);
}

// ----- dual -----
// The products with the value's columns X (W X and every dW_k X forward, G X^T and every dG_k X^T
// backward) are one product over the stacked [W; dW_0; ...] or [G; dG_0; ...], so X is copied and
// streamed once per chunk; each dX_k is its own product.

// target = [value; tangents_0; ...; tangents_{count-1}], each block `size` entries
template <class Scalar>
void stack_value_and_tangents(const Scalar* value, const Scalar* tangents, std::size_t count, std::size_t size,
                              Scalar* target) {
    std::copy(value, value + size, target);
    std::copy(tangents, tangents + count * size, target + size);
}

// The dual tensor of `shape` whose value and live tangents are the blocks of `all` [1 + live, shape...].
template <class Scalar>
autodiff::dual_tensor<Scalar> split_value_and_tangents(const xt::xarray<Scalar>& all, std::vector<std::size_t> shape,
                                                       std::size_t tangent_count) {
    xt::xarray<Scalar> value = xt::xarray<Scalar>::from_shape(shape);
    std::copy(all.data(), all.data() + value.size(), value.data());
    shape.insert(shape.begin(), all.shape()[0] - 1);
    xt::xarray<Scalar> block = xt::xarray<Scalar>::from_shape(shape);
    std::copy(all.data() + value.size(), all.data() + all.size(), block.data());
    return autodiff::dual_tensor<Scalar>(std::move(value), std::move(block), tangent_count);
}

template <class Scalar, class Output = nchw_output>
autodiff::dual_tensor<Scalar> conv_forward(const autodiff::dual_tensor<Scalar>& x,
                                           const autodiff::dual_tensor<Scalar>& weight,
                                           const autodiff::dual_tensor<Scalar>* bias, const conv_shape& s,
                                           const Output& output = {}) {
    const std::size_t weight_live = weight.live_tangents(), input_live = x.live_tangents();
    const std::size_t bias_live = bias ? bias->live_tangents() : 0;
    const std::size_t live = std::max({input_live, weight_live, bias_live});
    const std::size_t out = s.out_channels;
    const std::vector<std::size_t> output_shape = output.shape(s);
    std::vector<std::size_t> block_shape = output_shape;
    block_shape.insert(block_shape.begin(), live);
    xt::xarray<Scalar> value = xt::xarray<Scalar>::from_shape(output_shape);
    xt::xarray<Scalar> block = xt::xarray<Scalar>::from_shape(block_shape);
    const std::size_t output_image = output.image_size(s);
    const std::vector<Scalar> zero_bias(out, Scalar(0));
    std::vector<Scalar> weights((1 + weight_live) * weight.size());
    stack_value_and_tangents(weight.value().data(), weight.live_tangent_block().data(), weight_live, weight.size(),
                             weights.data());
    const chunk_weights<Scalar> stacked = prepare_weights(weights.data(), (1 + weight_live) * out, s);
    const chunk_weights<Scalar> value_weights = prepare_weights(weight.value().data(), out, s);
    for_each_chunk<Scalar>(
        s, live, chunk_sums::none, [&](std::size_t first, const conv_shape& c, std::size_t, chunk_buffers<Scalar> b) {
            const std::size_t columns = c.columns();
            Scalar* cols = b.value_columns;
            Scalar* rows = b.value_rows;
            Scalar* tangent_rows = b.tangent_rows(c);
            // rows = W X, then tangent_rows[k] = dW_k X (one product over [W; dW_0; ...]) + W dX_k
            multiply_columns(stacked, image_pointer(x.value().data(), s.input_image(), first), c, false, cols, rows);
            output.store(rows, bias ? bias->value().data() : nullptr, c, first, true,
                         value.data() + first * output_image);
            Scalar* tangent_cols = b.tangent_columns;
            for (std::size_t k = 0; k < live; ++k) {
                Scalar* target_rows = tangent_rows + k * out * columns;
                if (k < input_live) {
                    multiply_columns(
                        value_weights,
                        image_pointer(x.live_tangent_block().data() + k * x.size(), s.input_image(), first), c,
                        k < weight_live, tangent_cols, target_rows);
                } else if (k >= weight_live) {
                    std::fill(target_rows, target_rows + out * columns, Scalar(0));  // only the bias is live here
                }
                const Scalar* bias_tangent =
                    k < bias_live ? bias->live_tangent_block().data() + k * out : zero_bias.data();
                output.store(target_rows, bias_tangent, c, first, false,
                             block.data() + k * value.size() + first * output_image);
            }
        });
    return autodiff::dual_tensor<Scalar>(std::move(value), std::move(block), x.tangent_count());
}

// input_gradient is left without value and tangents (empty) when not wanted
template <class Scalar, class Output = nchw_output>
void conv_backward(const autodiff::dual_tensor<Scalar>& g, const autodiff::dual_tensor<Scalar>& x,
                   const autodiff::dual_tensor<Scalar>& weight, bool with_bias, bool input_gradient_needed,
                   const conv_shape& s, autodiff::dual_tensor<Scalar>& weight_gradient,
                   autodiff::dual_tensor<Scalar>& bias_gradient, autodiff::dual_tensor<Scalar>& input_gradient,
                   const Output& output = {}) {
    const std::size_t gradient_live = g.live_tangents(), input_live = x.live_tangents();
    const std::size_t weight_live = weight.live_tangents();
    const std::size_t live = std::max({gradient_live, input_live, weight_live});
    const std::size_t tangent_count = std::max({g.tangent_count(), x.tangent_count(), weight.tangent_count()});
    const std::size_t patch = s.patch(), out = s.out_channels;

    // value and live tangents of dL/dW in one array [1 + live, out, patch], and of dL/db [1 + live, out]
    xt::xarray<Scalar> weight_all = xt::zeros<Scalar>({1 + live, out, patch});
    xt::xarray<Scalar> bias_all = xt::zeros<Scalar>({with_bias ? 1 + live : std::size_t{0}, out});
    auto weight_extras = extra_accumulators<Scalar>({1 + live, out, patch}, s);
    auto bias_extras = extra_accumulators<Scalar>({with_bias ? 1 + live : std::size_t{0}, out}, s);
    xt::xarray<Scalar> input_value, input_block;
    // the weights of (dL/dX) and (dL/dX)_k: W, [W; dW_k] for every k that has both terms, dW_k for
    // the k whose dG_k is not live
    const std::size_t both = std::min(gradient_live, weight_live);
    std::vector<Scalar> stacked_weights;
    const input_gradient_weights<Scalar> value_weights = prepare_input_gradient_weights(weight.value().data(), out, s);
    std::vector<input_gradient_weights<Scalar>> stacked_gradient_weights, tangent_weights;
    if (input_gradient_needed) {
        stacked_weights.resize(both * 2 * out * patch);
        for (std::size_t k = 0; k < both; ++k) {
            stack_value_and_tangents(weight.value().data(), weight.live_tangent_block().data() + k * out * patch, 1,
                                     out * patch, stacked_weights.data() + k * 2 * out * patch);
            stacked_gradient_weights.push_back(
                prepare_input_gradient_weights(stacked_weights.data() + k * 2 * out * patch, 2 * out, s));
        }
        for (std::size_t k = both; k < weight_live; ++k) {
            tangent_weights.push_back(
                prepare_input_gradient_weights(weight.live_tangent_block().data() + k * weight.size(), out, s));
        }
        input_value = xt::xarray<Scalar>::from_shape({s.batch, s.channels, s.height, s.width});
        input_block = xt::xarray<Scalar>::from_shape({live, s.batch, s.channels, s.height, s.width});
    }

    for_each_chunk<Scalar>(
        s, gradient_live, chunk_sums::into_accumulators,
        [&](std::size_t first, const conv_shape& c, std::size_t sums, chunk_buffers<Scalar> b) {
            const std::size_t columns = c.columns();
            Scalar* cols = b.value_columns;
            Scalar* scratch_cols = b.tangent_columns;
            Scalar* rows = b.value_rows;
            Scalar* tangent_rows = b.tangent_rows(c);
            Scalar* weight_sums = accumulator(weight_all, weight_extras, sums);
            Scalar* weight_tangents = weight_sums + out * patch;
            // dL/dW = G X^T and (dL/dW)_k = dG_k X^T (one product over [G; dG_0; ...]) + G dX_k^T;
            // dL/db and (dL/db)_k: row sums of G and dG_k
            output.load_gradient(image_pointer(g.value().data(), output.image_size(s), first), c, first, rows);
            for (std::size_t k = 0; k < gradient_live; ++k) {
                output.load_gradient(
                    image_pointer(g.live_tangent_block().data() + k * g.size(), output.image_size(s), first), c, first,
                    tangent_rows + k * out * columns);
            }
            add_product_with_columns(rows, (1 + gradient_live) * out,
                                     image_pointer(x.value().data(), s.input_image(), first), c, cols, weight_sums);
            if (with_bias)
                row_sums_add(rows, (1 + gradient_live) * out, columns, accumulator(bias_all, bias_extras, sums));
            if (input_gradient_needed) {
                input_gradient_of_rows(value_weights, rows, c, b, scratch_cols,
                                       input_value.data() + first * s.input_image());
            }
            // G under dG_k, so that both terms of (dL/dX)_k are one product with twice the inner size:
            // by Winograd's algorithm with G transformed once for every k, else G copied once under each dG_k
            std::optional<shared_gradient_input_gradients<Scalar>> shared;
            Scalar* stacked = b.stacked_rows;
            if (input_gradient_needed && both > 0) {
                if (shared_gradient_input_gradients<Scalar>::applies(c)) {
                    shared.emplace(rows, out, c, b.padded_gradient);
                } else {
                    std::copy(rows, rows + out * columns, stacked + out * columns);
                }
            }
            for (std::size_t k = 0; k < live; ++k) {
                if (input_gradient_needed) {
                    // (dL/dX)_k = W^T dG_k + dW_k^T G
                    Scalar* target = input_block.data() + k * s.input_size() + first * s.input_image();
                    if (k < gradient_live && k < weight_live) {
                        // one pass over the [patch, columns] result instead of two: [W; dW_k]^T [dG_k; G]
                        if (shared) {
                            shared->compute(stacked_gradient_weights[k].flipped, tangent_rows + k * out * columns,
                                            target);
                        } else {
                            std::copy(tangent_rows + k * out * columns, tangent_rows + (k + 1) * out * columns,
                                      stacked);
                            input_gradient_of_rows(stacked_gradient_weights[k], stacked, c, b, scratch_cols, target);
                        }
                    } else if (k < gradient_live) {
                        input_gradient_of_rows(value_weights, tangent_rows + k * out * columns, c, b, scratch_cols,
                                               target);
                    } else if (k < weight_live) {
                        input_gradient_of_rows(tangent_weights[k - both], rows, c, b, scratch_cols, target);
                    } else {
                        std::fill(target, target + c.input_size(), Scalar(0));  // dX_k alone does not reach dL/dX
                    }
                }
                if (k < input_live) {
                    add_product_with_columns(
                        rows, out, image_pointer(x.live_tangent_block().data() + k * x.size(), s.input_image(), first),
                        c, scratch_cols, weight_tangents + k * out * patch);
                }
            }
        });
    add_extra_accumulators(weight_all, weight_extras);
    add_extra_accumulators(bias_all, bias_extras);
    weight_gradient = split_value_and_tangents(weight_all, {out, patch}, tangent_count);
    bias_gradient = with_bias ? split_value_and_tangents(bias_all, {out}, tangent_count)
                              : autodiff::dual_tensor<Scalar>(xt::zeros<Scalar>({out}),
                                                              xt::zeros<Scalar>({std::size_t{0}, out}), tangent_count);
    input_gradient = input_gradient_needed
                         ? autodiff::dual_tensor<Scalar>(std::move(input_value), std::move(input_block), tangent_count)
                         : autodiff::dual_tensor<Scalar>();
}

}  // namespace fds::nn::detail
