// Average pooling over kernel x kernel windows with a stride (no padding, floor mode), as
// torch.nn.AvgPool2d; global_avg_pool2d() averages each whole channel plane.
//
// y[n,c,i,j] = (1/k^2) sum over the window of x, and dL/dx[window] += dL/dy[n,c,i,j] / k^2.
// Both are linear maps, so on duals they apply unchanged to every tangent row (map_linear).
#pragma once

#include <fds/autodiff/autodiff.hpp>

#include <fds/nn/layer.hpp>
#include <fds/nn/kernels/tensor_kernels.hpp>

namespace fds::nn {

class avg_pool2d : public layer_defaults {
 public:
    // kernel 0 means "the whole plane" (global average pooling)
    explicit avg_pool2d(std::size_t kernel_size, std::size_t stride = 0 /* 0: same as kernel */);

    shape_type output_shape(const shape_type& input) const;

    template <class Tensor>
    struct saved {
        shape_type input_shape;
    };

    template <class Tensor>
    Tensor forward(const Tensor& input, const parameter_view<Tensor>& parameters, saved<Tensor>& keep,
                   run_context<scalar_of<Tensor>>& run) const;
    template <class Tensor>
    Tensor backward(const Tensor& output_gradient, const parameter_view<Tensor>& parameters, const saved<Tensor>& keep,
                    gradient_view<Tensor>& parameter_gradient) const;

 private:
    std::size_t kernel_for(const shape_type& input) const;
    std::size_t stride_for(const shape_type& input) const;
    // calls f(input_index, output_index) for every (window position, output) pair
    template <class Function>
    void for_each_window_entry(const shape_type& batch_shape, Function&& f) const;

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

template <class Function>
void avg_pool2d::for_each_window_entry(const shape_type& batch_shape, Function&& f) const {
    const shape_type input(batch_shape.begin() + 1, batch_shape.end());
    const auto out = output_shape(input);
    const std::size_t kernel = kernel_for(input);
    const std::size_t stride = stride_for(input);
    const std::size_t height = input[1], width = input[2];
    const std::size_t planes = batch_shape[0] * input[0];
    std::size_t output_index = 0;
    for (std::size_t plane = 0; plane < planes; ++plane) {
        for (std::size_t oy = 0; oy < out[1]; ++oy) {
            for (std::size_t ox = 0; ox < out[2]; ++ox, ++output_index) {
                for (std::size_t ky = 0; ky < kernel; ++ky) {
                    const std::size_t row = plane * height * width + (oy * stride + ky) * width + ox * stride;
                    for (std::size_t kx = 0; kx < kernel; ++kx) f(row + kx, output_index);
                }
            }
        }
    }
}

template <class Tensor>
Tensor avg_pool2d::forward(const Tensor& input, const parameter_view<Tensor>&, saved<Tensor>& keep,
                           run_context<scalar_of<Tensor>>&) const {
    using scalar = scalar_of<Tensor>;
    keep.input_shape = shape_type(input.shape().begin(), input.shape().end());
    shape_type out = output_shape(sample_shape(input));
    out.insert(out.begin(), keep.input_shape[0]);
    const std::size_t kernel = kernel_for(sample_shape(input));
    const scalar share = scalar(1) / static_cast<scalar>(kernel * kernel);
    const std::size_t out_size = shape_size(out);
    return detail::map_linear(input, out, [&](const scalar* x, scalar* y) {
        std::fill(y, y + out_size, scalar(0));
        for_each_window_entry(keep.input_shape, [&](std::size_t i, std::size_t o) { y[o] += x[i]; });
        for (std::size_t o = 0; o < out_size; ++o) y[o] *= share;
    });
}

template <class Tensor>
Tensor avg_pool2d::backward(const Tensor& output_gradient, const parameter_view<Tensor>&, const saved<Tensor>& keep,
                            gradient_view<Tensor>&) const {
    using scalar = scalar_of<Tensor>;
    const std::size_t kernel = kernel_for(shape_type(keep.input_shape.begin() + 1, keep.input_shape.end()));
    const scalar share = scalar(1) / static_cast<scalar>(kernel * kernel);
    const std::size_t in_size = shape_size(keep.input_shape);
    return detail::map_linear(output_gradient, keep.input_shape, [&](const scalar* g, scalar* x) {
        std::fill(x, x + in_size, scalar(0));
        for_each_window_entry(keep.input_shape, [&](std::size_t i, std::size_t o) { x[i] += share * g[o]; });
    });
}

}  // namespace fds::nn
