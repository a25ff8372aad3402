// conv2d's forward and backward on plain tensors, chunk by chunk (chunk_schedule.hpp), with X
// the columns of a chunk's images:
//   forward   Y[O, n*OH*OW] = W[O, C*KH*KW] X  (+ b)
//   backward  dL/dW = G X^T,  dL/dX = col2im(W^T G),  dL/db = row sums of G.
// The Output policy says where Y goes and where G comes from (nchw_output, conv_layout.hpp;
// conv2d_max_pool2d.hpp pools the rows while they are in cache).
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include <fds/autodiff/autodiff.hpp>

#include <fds/nn/kernels/chunk_schedule.hpp>
#include <fds/nn/kernels/conv_layout.hpp>
#include <fds/nn/kernels/conv_shape.hpp>
#include <fds/nn/kernels/convolution_products.hpp>

namespace fds::nn::detail {

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

}  // namespace fds::nn::detail
