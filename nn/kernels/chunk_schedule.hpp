// How a convolution layer's call is cut into chunks of images and run on the library's threads.
// The columns are C*KH*KW/stride^2 times larger than the input, so the batch is processed in
// chunks of images whose columns fit in about s.chunk_bytes: they stay in cache and out of the
// page-fault path. The weight gradients accumulate over the chunks. With two threads
// (autodiff/parallel.hpp) the chunks run on both, each GEMM on the thread of its chunk, so the
// copies around the GEMMs use both cores too; the sums do not depend on the thread count
// (chunk_dealer). Each thread keeps its chunk buffers between calls, one per named role.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include <fds/autodiff/autodiff.hpp>

#include <fds/nn/kernels/conv_shape.hpp>
#include <fds/nn/kernels/convolution_algorithm.hpp>
#include <fds/nn/kernels/convolution_input_gradient.hpp>

namespace fds::nn::detail {

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

// What each buffer of a chunk holds (chunk_buffers).
enum class scratch_role { value_columns, tangent_columns, rows, stacked_rows, zero_columns, padded_gradient };

// Memory kept per calling thread, role and group between calls, so a training step neither
// allocates nor page-faults its column buffers; zero when (re)allocated.
template <class Scalar, scratch_role Role>
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
    Scalar* padded_gradient;  // [images, 2 out, padded OH, padded OW] (convolution_input_gradient.hpp)
    // [live, out, columns] right after the value rows of chunk c, so that [value; tangents] is one matrix
    Scalar* tangent_rows(const conv_shape& c) const { return value_rows + c.out_channels * c.columns(); }
};

template <class Scalar>
chunk_buffers<Scalar> buffers_for_group(const conv_shape& s, std::size_t group, std::size_t tangent_rows) {
    const std::size_t columns = chunk_images(s, sizeof(Scalar)) * s.positions();
    const std::size_t gradient_rows = (tangent_rows > 0 ? 2 : 1) * s.out_channels;
    const bool input_gradient_convolved =
        algorithm_for<Scalar>(convolution_product::input_gradient, s) != convolution_algorithm::columns;
    using role = scratch_role;
    return {scratch<Scalar, role::value_columns>(group, s.patch() * columns),
            scratch<Scalar, role::tangent_columns>(group, s.patch() * columns),
            scratch<Scalar, role::rows>(group, (1 + tangent_rows) * s.out_channels * columns),
            scratch<Scalar, role::stacked_rows>(group, tangent_rows > 0 ? 2 * s.out_channels * columns : 0),
            scratch<Scalar, role::zero_columns>(group, s.patch() * columns),
            scratch<Scalar, role::padded_gradient>(
                group, input_gradient_convolved
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

// Hands the chunks of one call to the threads as they become free: on a shared machine either
// thread is at times slowed, and with fixed shares the other would wait for it. A thread takes the first chunk not yet handed out; with sums, the first whose
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

}  // namespace fds::nn::detail
