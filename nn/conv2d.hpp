// 2-D convolution, as torch.nn.Conv2d (NCHW, cross-correlation, zero padding, square stride),
// computed as im2col + one GEMM. Parameters in PyTorch's order: weight [O, C, KH, KW], then bias [O].
//
// With X = im2col(x) [N*OH*OW, C*KH*KW] and W2 = W reshaped [O, C*KH*KW]:
//   Y2 = X W2^T + b  [N*OH*OW, O],  y = Y2 reshaped [N, OH, OW, O] and permuted to [N, O, OH, OW].
// Backward, with G2 = dL/dY2 (dL/dy permuted back):
//   dL/dW2 = G2^T X,   dL/db = sum over rows of G2,   dL/dx = col2im(G2 W2)   (col2im = im2col^T).
// The columns are recomputed in backward from the kept input rather than kept: they are C*KH*KW/
// (stride^2) times larger than the input, and (1 + K) times that again on duals.
#pragma once

#include <autodiff/autodiff.hpp>

#include <nn/layer.hpp>

namespace fds::nn {

struct conv2d_options {
  std::size_t stride = 1;
  std::size_t padding = 0;
  bool bias = true;
};

class conv2d : public layer_defaults {
 public:
  conv2d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel_size,
         conv2d_options options = {});
  conv2d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel_size, std::size_t stride,
         std::size_t padding, bool bias = true);

  shape_type output_shape(const shape_type& input) const;
  std::vector<parameter_spec> parameters(const shape_type& input) const;

  template <class Tensor>
  struct saved {
    Tensor input;
    Tensor weight;  // [O, C*KH*KW]
  };

  template <class Tensor>
  Tensor forward(const Tensor& input, const parameter_view<Tensor>& parameters, saved<Tensor>& keep,
                 run_context<scalar_of<Tensor>>& run) const;
  template <class Tensor>
  Tensor backward(const Tensor& output_gradient, const parameter_view<Tensor>& parameters,
                  const saved<Tensor>& keep, gradient_view<Tensor>& parameter_gradient) const;

 private:
  autodiff::conv_geometry geometry(std::size_t height, std::size_t width) const;
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

inline conv2d::conv2d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel_size,
                      std::size_t stride, std::size_t padding, bool bias)
    : conv2d(in_channels, out_channels, kernel_size, conv2d_options{stride, padding, bias}) {}

inline autodiff::conv_geometry conv2d::geometry(std::size_t height, std::size_t width) const {
  autodiff::conv_geometry g{};
  g.channels = in_channels_;
  g.height = height;
  g.width = width;
  g.kernel_h = kernel_size_;
  g.kernel_w = kernel_size_;
  g.stride = options_.stride;
  g.padding = options_.padding;
  return g;
}

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
  std::vector<parameter_spec> specs{{"weight", {out_channels_, in_channels_, kernel_size_, kernel_size_},
                                     parameter_role::weight, in_channels_ * area, out_channels_ * area}};
  if (options_.bias) {
    specs.push_back({"bias", {out_channels_}, parameter_role::bias, in_channels_ * area, out_channels_ * area});
  }
  return specs;
}

template <class Tensor>
Tensor conv2d::forward(const Tensor& input, const parameter_view<Tensor>& parameters, saved<Tensor>& keep,
                       run_context<scalar_of<Tensor>>& run) const {
  const auto out_shape = output_shape(sample_shape(input));
  const std::size_t batch = input.shape()[0];
  const auto g = geometry(input.shape()[2], input.shape()[3]);
  Tensor weight = parameters.take(0, {out_channels_, patch_size()});
  Tensor rows = autodiff::matmul(autodiff::im2col(input, g), weight, false, true);
  if (options_.bias) {
    rows = rows + parameters.take(out_channels_ * patch_size(), {out_channels_});
  }
  Tensor output = autodiff::transpose(autodiff::reshape(rows, {batch, out_shape[1], out_shape[2], out_channels_}),
                                      {0, 3, 1, 2});
  if (run.keep_for_backward) {
    keep.input = input;
    keep.weight = std::move(weight);
  }
  return output;
}

template <class Tensor>
Tensor conv2d::backward(const Tensor& output_gradient, const parameter_view<Tensor>&, const saved<Tensor>& keep,
                        gradient_view<Tensor>& parameter_gradient) const {
  const std::size_t batch = keep.input.shape()[0];
  const auto g = geometry(keep.input.shape()[2], keep.input.shape()[3]);
  const std::size_t positions = output_gradient.shape()[2] * output_gradient.shape()[3];
  Tensor rows_gradient = autodiff::reshape(autodiff::transpose(output_gradient, {0, 2, 3, 1}),
                                           {batch * positions, out_channels_});
  parameter_gradient.accumulate(0, autodiff::matmul(rows_gradient, autodiff::im2col(keep.input, g), true, false));
  if (options_.bias) {
    parameter_gradient.accumulate(out_channels_ * patch_size(), autodiff::sum(rows_gradient, {0}));
  }
  return autodiff::col2im(autodiff::matmul(rows_gradient, keep.weight), g, batch);
}

}  // namespace fds::nn
