// 2-D convolution, as torch.nn.Conv2d (NCHW, cross-correlation, zero padding, square stride),
// computed by im2col + GEMM, direct or Winograd kernels as nn/kernels/convolution_algorithm.hpp
// chooses per product. Parameters in PyTorch's order: weight
// [O, C, KH, KW], then bias [O].
//
// With X = im2col(x) [C*KH*KW, N*OH*OW] and W2 = W reshaped [O, C*KH*KW]:
//   Y = W2 X + b  [O, N*OH*OW], stored as y [N, O, OH, OW].
// Backward, with G = dL/dy in the same [O, N*OH*OW] layout:
//   dL/dW2 = G X^T,   dL/db = row sums of G,   dL/dx = col2im(W2^T G)   (col2im = im2col^T).
// Every line is a product, so on duals the product rule gives the tangents (nn/kernels/dual_convolution.hpp).
// The columns are recomputed in backward from the kept input rather than kept: they are C*KH*KW/
// stride^2 times larger than the input, and (1 + K) times that again on duals. The first layer of
// a network skips dL/dx (nobody reads the gradient of the images).
#pragma once

#include <fds/autodiff/autodiff.hpp>

#include <fds/nn/kernels/dual_convolution.hpp>
#include <fds/nn/kernels/plain_convolution.hpp>
#include <fds/nn/layer.hpp>

namespace fds::nn {

struct conv2d_options {
    std::size_t stride = 1;
    std::size_t padding = 0;
    bool bias = true;
};

class conv2d : public layer_defaults {
 public:
    conv2d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel_size, conv2d_options options = {});
    conv2d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel_size, std::size_t stride,
           std::size_t padding, bool bias = true);

    shape_type output_shape(const shape_type& input) const;
    std::vector<parameter_spec> parameters(const shape_type& input) const;

    template <class Tensor>
    struct saved {
        Tensor input;
        Tensor weight;  // [O, C*KH*KW]
    };

    // Input: const Tensor& (kept for backward as a copy) or Tensor (moved into keep; layer.hpp)
    template <class Tensor, class Input>
    Tensor forward(Input&& input, const parameter_view<Tensor>& parameters, saved<Tensor>& keep,
                   run_context<scalar_of<Tensor>>& run) const;
    template <class Tensor>
    Tensor backward(const Tensor& output_gradient, const parameter_view<Tensor>& parameters, const saved<Tensor>& keep,
                    gradient_view<Tensor>& parameter_gradient) const;

 protected:
    // forward and backward with the output rows sent to (taken from) an output policy of
    // nn/kernels/plain_convolution.hpp; conv2d's own is detail::nchw_output
    template <class Tensor, class Output>
    Tensor convolve(const Tensor& input, const parameter_view<Tensor>& parameters, const detail::conv_shape& s,
                    const Output& output, Tensor& weight) const;
    template <class Tensor, class Output>
    Tensor convolve_backward(const Tensor& output_gradient, const Tensor& input, const Tensor& weight,
                             gradient_view<Tensor>& parameter_gradient, const Output& output) const;

    template <class Tensor>
    detail::conv_shape kernel_shape(const Tensor& input) const;

 private:
    std::size_t patch_size() const { return in_channels_ * kernel_size_ * kernel_size_; }

    std::size_t in_channels_;
    std::size_t out_channels_;
    std::size_t kernel_size_;
    conv2d_options options_;
};

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline conv2d::conv2d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel_size,
                      conv2d_options options)
    : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size), options_(options) {
    if (in_channels == 0 || out_channels == 0 || kernel_size == 0 || options.stride == 0) {
        throw std::invalid_argument("conv2d: channels, kernel size and stride must be positive");
    }
}

inline conv2d::conv2d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel_size, std::size_t stride,
                      std::size_t padding, bool bias)
    : conv2d(in_channels, out_channels, kernel_size, conv2d_options{stride, padding, bias}) {}

inline shape_type conv2d::output_shape(const shape_type& input) const {
    if (input.size() != 3 || input[0] != in_channels_) {
        throw std::invalid_argument("conv2d: expected per-sample input shape [" + std::to_string(in_channels_) +
                                    ", H, W], found " + shape_string(input));
    }
    const std::size_t padded_h = input[1] + 2 * options_.padding;
    const std::size_t padded_w = input[2] + 2 * options_.padding;
    if (padded_h < kernel_size_ || padded_w < kernel_size_) {
        throw std::invalid_argument("conv2d: kernel " + std::to_string(kernel_size_) + " larger than padded input " +
                                    shape_string(input));
    }
    return {out_channels_, (padded_h - kernel_size_) / options_.stride + 1,
            (padded_w - kernel_size_) / options_.stride + 1};
}

inline std::vector<parameter_spec> conv2d::parameters(const shape_type&) const {
    const std::size_t area = kernel_size_ * kernel_size_;
    std::vector<parameter_spec> specs{{"weight",
                                       {out_channels_, in_channels_, kernel_size_, kernel_size_},
                                       parameter_role::weight,
                                       in_channels_ * area,
                                       out_channels_ * area}};
    if (options_.bias) {
        specs.push_back({"bias", {out_channels_}, parameter_role::bias, in_channels_ * area, out_channels_ * area});
    }
    return specs;
}

template <class Tensor, class Input>
Tensor conv2d::forward(Input&& input, const parameter_view<Tensor>& parameters, saved<Tensor>& keep,
                       run_context<scalar_of<Tensor>>& run) const {
    static_assert(std::is_same_v<std::decay_t<Input>, Tensor>, "conv2d::forward: the input is not a Tensor");
    Tensor weight;
    Tensor output =
        convolve(static_cast<const Tensor&>(input), parameters, kernel_shape(input), detail::nchw_output{}, weight);
    if (run.keep_for_backward) {
        keep.input = std::forward<Input>(input);
        keep.weight = std::move(weight);
    }
    return output;
}

template <class Tensor>
Tensor conv2d::backward(const Tensor& output_gradient, const parameter_view<Tensor>&, const saved<Tensor>& keep,
                        gradient_view<Tensor>& parameter_gradient) const {
    return convolve_backward(output_gradient, keep.input, keep.weight, parameter_gradient, detail::nchw_output{});
}

template <class Tensor, class Output>
Tensor conv2d::convolve(const Tensor& input, const parameter_view<Tensor>& parameters, const detail::conv_shape& s,
                        const Output& output, Tensor& weight) const {
    weight = parameters.take(0, {out_channels_, patch_size()});
    if (options_.bias) {
        const Tensor bias = parameters.take(out_channels_ * patch_size(), {out_channels_});
        return detail::conv_forward(input, weight, &bias, s, output);
    }
    return detail::conv_forward(input, weight, static_cast<const Tensor*>(nullptr), s, output);
}

template <class Tensor, class Output>
Tensor conv2d::convolve_backward(const Tensor& output_gradient, const Tensor& input, const Tensor& weight,
                                 gradient_view<Tensor>& parameter_gradient, const Output& output) const {
    const auto s = kernel_shape(input);
    Tensor weight_gradient, bias_gradient, input_gradient;
    detail::conv_backward(output_gradient, input, weight, options_.bias, parameter_gradient.input_gradient_needed, s,
                          weight_gradient, bias_gradient, input_gradient, output);
    parameter_gradient.accumulate(0, weight_gradient);
    if (options_.bias) parameter_gradient.accumulate(out_channels_ * patch_size(), bias_gradient);
    return input_gradient;
}

template <class Tensor>
detail::conv_shape conv2d::kernel_shape(const Tensor& input) const {
    const auto out = output_shape(sample_shape(input));
    return detail::conv_shape{{input.shape()[0], in_channels_, input.shape()[2], input.shape()[3], out_channels_,
                               kernel_size_, options_.stride, options_.padding, out[1], out[2]}};
}

}  // namespace fds::nn
