// conv2d's forward and backward on dual tensors: plain_convolution.hpp's products with the
// product rule, for the columns of the value X and of each live tangent dX_k of the input:
//   forward   dY_k  = dW_k X + W dX_k  (+ db_k)
//   backward  (dL/dW)_k = dG_k X^T + G dX_k^T,   (dL/dX)_k = dW_k^T G + W^T dG_k,
//             (dL/db)_k = row sums of dG_k.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <vector>

#include <fds/autodiff/autodiff.hpp>

#include <fds/nn/kernels/chunk_schedule.hpp>
#include <fds/nn/kernels/conv_layout.hpp>
#include <fds/nn/kernels/conv_shape.hpp>
#include <fds/nn/kernels/convolution_products.hpp>

namespace fds::nn::detail {

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
                if (algorithm_for<Scalar>(convolution_product::input_gradient, c) == convolution_algorithm::winograd) {
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
