// The three products of one chunk of a convolution layer's call, each by the algorithm
// convolution_algorithm.hpp chooses for it:
//   rows = W X (multiply_columns),  target += G X^T (add_product_with_columns),
//   target = col2im(W^T G) (input_gradient_of_rows),
// with X the chunk's columns, computed from the images without columns by the direct and
// Winograd kernels, and the weights prepared once per call for all its chunks.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>

#include <fds/autodiff/blas.hpp>

#include <fds/nn/kernels/chunk_schedule.hpp>
#include <fds/nn/kernels/conv_layout.hpp>
#include <fds/nn/kernels/conv_shape.hpp>
#include <fds/nn/kernels/convolution_algorithm.hpp>
#include <fds/nn/kernels/convolution_input_gradient.hpp>
#include <fds/nn/kernels/direct_convolution.hpp>
#include <fds/nn/kernels/winograd_convolution.hpp>
#include <fds/nn/kernels/winograd_weight_gradient.hpp>

namespace fds::nn::detail {

// The weights W [rows, patch] of the input-gradient products W^T G of one layer call, flipped
// (and transformed) where the input gradient is a convolution: once, for every chunk.
template <class Scalar>
struct input_gradient_weights {
    const Scalar* values;
    std::size_t rows;
    flipped_weights<Scalar> flipped;
};

template <class Scalar>
input_gradient_weights<Scalar> prepare_input_gradient_weights(const Scalar* w, std::size_t rows, const conv_shape& s) {
    input_gradient_weights<Scalar> prepared{w, rows, {}};
    if (algorithm_for<Scalar>(convolution_product::input_gradient, s) != convolution_algorithm::columns) {
        prepared.flipped = flip_weights(w, rows, s);
    }
    return prepared;
}

// target (chunk of input-shaped images) = col2im(W^T rows) for W [weight_rows, patch]: set, not
// added. Without padding col2im reads every column entry, so it clears them as it goes and
// zero_columns stays all zero between calls: the GEMM adds to zeros (beta = 1) instead of
// OpenBLAS zeroing the columns in a pass of its own (beta = 0). With padding the border entries
// are never read; the GEMM then writes scratch_columns (beta = 0).

template <class Scalar>
void input_gradient_of_rows(const input_gradient_weights<Scalar>& w, const Scalar* rows, const conv_shape& c,
                            const chunk_buffers<Scalar>& b, Scalar* scratch_columns, Scalar* target) {
    if (algorithm_for<Scalar>(convolution_product::input_gradient, c) != convolution_algorithm::columns) {
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

// The weights w [rows, patch] of the forward products of one layer call, with their Winograd
// transform where the forward runs by Winograd's algorithm: computed once, used by every chunk.
template <class Scalar>
struct chunk_weights {
    const Scalar* values;
    std::size_t rows;
    winograd_filters<Scalar> winograd;
};

template <class Scalar>
chunk_weights<Scalar> prepare_weights(const Scalar* w, std::size_t rows, const conv_shape& s) {
    chunk_weights<Scalar> prepared{w, rows, {}};
    if (algorithm_for<Scalar>(convolution_product::forward, s) == convolution_algorithm::winograd)
        prepared.winograd = transform_filters(w, rows, s.channels);
    return prepared;
}

// rows [weight_rows, columns] = w [weight_rows, patch] im2col(x), or rows += that with accumulate,
// for the chunk's images x: straight from the images (direct_input) by Winograd's algorithm or
// the direct kernels, or through im2col into `columns` and one GEMM
template <class Scalar>
void multiply_columns(const chunk_weights<Scalar>& w, const Scalar* x, const conv_shape& c, bool accumulate,
                      Scalar* columns, Scalar* rows) {
    switch (algorithm_for<Scalar>(convolution_product::forward, c)) {
        case convolution_algorithm::winograd: {
            const auto [images, unpadded] = direct_input(x, c, columns);
            winograd_convolve(w.winograd, images, unpadded, accumulate, rows, c.columns(), c.positions());
            return;
        }
        case convolution_algorithm::direct: {
            const auto [images, unpadded] = direct_input(x, c, columns);
            direct_convolve(w.values, w.rows, images, unpadded, accumulate, rows);
            return;
        }
        case convolution_algorithm::columns:
            im2col_rows(x, c, columns);
            autodiff::detail::gemm(false, false, w.rows, c.columns(), c.patch(), Scalar(1), w.values, c.patch(),
                                   columns, c.columns(), accumulate ? Scalar(1) : Scalar(0), rows, c.columns());
            return;
    }
}

// target [gradient_rows, patch] += g [gradient_rows, columns] im2col(x)^T, the same ways
template <class Scalar>
void add_product_with_columns(const Scalar* g, std::size_t gradient_rows, const Scalar* x, const conv_shape& c,
                              Scalar* columns, Scalar* target) {
    switch (algorithm_for<Scalar>(convolution_product::weight_gradient, c)) {
        case convolution_algorithm::winograd:
            winograd_weight_gradient_add(g, gradient_rows, x, c, target);
            return;
        case convolution_algorithm::direct: {
            const auto [images, unpadded] = direct_input(x, c, columns);
            direct_weight_gradient_add(g, gradient_rows, images, unpadded, target);
            return;
        }
        case convolution_algorithm::columns:
            im2col_rows(x, c, columns);
            autodiff::detail::gemm(false, true, gradient_rows, c.patch(), c.columns(), Scalar(1), g, c.columns(),
                                   columns, c.columns(), Scalar(1), target, c.patch());
            return;
    }
}

}  // namespace fds::nn::detail
