// Average pooling over kernel x kernel windows with a stride (no padding, floor mode), as
// torch.nn.AvgPool2d; global_avg_pool2d() averages each whole channel plane.
//
// y[n,c,i,j] = (1/k^2) sum over the window of x. With P the plain [N, C, OH, OW, k*k] table of
// window positions: y = mean over the last axis of gather(x, P), and
// dL/dx = scatter_add(broadcast(dL/dy / k^2) to [.., k*k], P). Both linear, so duals need nothing else.
#pragma once

#include <autodiff/autodiff.hpp>

#include <nn/layer.hpp>

namespace fds::nn {

class avg_pool2d : public layer_defaults {
 public:
  // kernel 0 means "the whole plane" (global average pooling)
  explicit avg_pool2d(std::size_t kernel_size, std::size_t stride = 0 /* 0: same as kernel */);

  shape_type output_shape(const shape_type& input) const;

  template <class Tensor>
  struct saved {
    xt::xarray<std::size_t> windows;  // [N, C, OH, OW, k*k] flat input positions
    shape_type input_shape;
  };

  template <class Tensor>
  Tensor forward(const Tensor& input, const parameter_view<Tensor>& parameters, saved<Tensor>& keep,
                 run_context<scalar_of<Tensor>>& run) const;
  template <class Tensor>
  Tensor backward(const Tensor& output_gradient, const parameter_view<Tensor>& parameters,
                  const saved<Tensor>& keep, gradient_view<Tensor>& parameter_gradient) const;

 private:
  std::size_t kernel_for(const shape_type& input) const;
  std::size_t stride_for(const shape_type& input) const;
  xt::xarray<std::size_t> window_positions(const shape_type& batch_shape) const;

  std::size_t kernel_size_;
  std::size_t stride_;
};

// global average pooling: [N, C, H, W] -> [N, C, 1, 1]
inline avg_pool2d global_avg_pool2d() { return avg_pool2d(0); }

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline avg_pool2d::avg_pool2d(std::size_t kernel_size, std::size_t stride)
    : kernel_size_(kernel_size), stride_(stride) {}

inline std::size_t avg_pool2d::kernel_for(const shape_type& input) const {
  if (kernel_size_ != 0) return kernel_size_;
  if (input[1] != input[2]) {
    throw std::invalid_argument("avg_pool2d: global pooling needs square planes, found " + shape_string(input));
  }
  return input[1];
}

inline std::size_t avg_pool2d::stride_for(const shape_type& input) const {
  return stride_ != 0 ? stride_ : kernel_for(input);
}

inline shape_type avg_pool2d::output_shape(const shape_type& input) const {
  if (input.size() != 3) {
    throw std::invalid_argument("avg_pool2d: expected per-sample input [C, H, W], found " + shape_string(input));
  }
  const std::size_t kernel = kernel_for(input);
  const std::size_t stride = stride_for(input);
  if (input[1] < kernel || input[2] < kernel) {
    throw std::invalid_argument("avg_pool2d: kernel " + std::to_string(kernel) + " larger than input " +
                                shape_string(input));
  }
  return {input[0], (input[1] - kernel) / stride + 1, (input[2] - kernel) / stride + 1};
}

inline xt::xarray<std::size_t> avg_pool2d::window_positions(const shape_type& batch_shape) const {
  const shape_type input(batch_shape.begin() + 1, batch_shape.end());
  const auto out = output_shape(input);
  const std::size_t kernel = kernel_for(input);
  const std::size_t stride = stride_for(input);
  const std::size_t height = input[1];
  const std::size_t width = input[2];
  const std::size_t planes = batch_shape[0] * input[0];
  xt::xarray<std::size_t> result =
      xt::xarray<std::size_t>::from_shape({batch_shape[0], input[0], out[1], out[2], kernel * kernel});
  std::size_t* target = result.data();
  for (std::size_t plane = 0; plane < planes; ++plane) {
    for (std::size_t oy = 0; oy < out[1]; ++oy) {
      for (std::size_t ox = 0; ox < out[2]; ++ox) {
        for (std::size_t ky = 0; ky < kernel; ++ky) {
          for (std::size_t kx = 0; kx < kernel; ++kx) {
            *target++ = plane * height * width + (oy * stride + ky) * width + ox * stride + kx;
          }
        }
      }
    }
  }
  return result;
}

template <class Tensor>
Tensor avg_pool2d::forward(const Tensor& input, const parameter_view<Tensor>&, saved<Tensor>& keep,
                           run_context<scalar_of<Tensor>>&) const {
  keep.input_shape = shape_type(input.shape().begin(), input.shape().end());
  keep.windows = window_positions(keep.input_shape);
  return autodiff::mean(autodiff::gather_flat(input, keep.windows), {4});
}

template <class Tensor>
Tensor avg_pool2d::backward(const Tensor& output_gradient, const parameter_view<Tensor>&, const saved<Tensor>& keep,
                            gradient_view<Tensor>&) const {
  using scalar = scalar_of<Tensor>;
  const std::size_t window = keep.windows.shape()[4];
  shape_type expanded(output_gradient.shape().begin(), output_gradient.shape().end());
  expanded.push_back(1);
  // every position of a window receives 1/k^2 of the window's gradient
  xt::xarray<scalar> share = xt::ones<scalar>({window});
  share /= static_cast<scalar>(window);
  Tensor spread(autodiff::reshape(output_gradient, expanded) * share);
  return autodiff::scatter_add_flat(spread, keep.windows, keep.input_shape);
}

}  // namespace fds::nn
