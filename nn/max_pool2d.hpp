// Max pooling over kernel x kernel windows with a stride (no padding, floor mode), as
// torch.nn.MaxPool2d. Ties: the first maximum in row-major window order wins, as PyTorch's CPU
// kernel (it replaces the running maximum only on a strictly greater value).
//
// The winning positions are found on the value (plain), then y = gather(x, winners) and
// dL/dx = scatter_add(dL/dy, winners): both linear, so on duals the tangents follow the winners
// (map_linear applies them to the value and to every tangent row).
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include <fds/autodiff/autodiff.hpp>

#include <fds/nn/layer.hpp>
#include <fds/nn/kernels/tensor_kernels.hpp>

namespace fds::nn {

class max_pool2d : public layer_defaults {
 public:
    explicit max_pool2d(std::size_t kernel_size, std::size_t stride = 0 /* 0: same as kernel */);

    shape_type output_shape(const shape_type& input) const;

    template <class Tensor>
    struct saved {
        xt::xarray<std::size_t> winners;  // flat positions in the input, shape of the output
        shape_type input_shape;
    };

    template <class Tensor>
    Tensor forward(const Tensor& input, const parameter_view<Tensor>& parameters, saved<Tensor>& keep,
                   run_context<scalar_of<Tensor>>& run) const;
    template <class Tensor>
    Tensor backward(const Tensor& output_gradient, const parameter_view<Tensor>& parameters, const saved<Tensor>& keep,
                    gradient_view<Tensor>& parameter_gradient) const;

    // flat input positions of the window maxima of a plain [N, C, H, W] value
    template <class Scalar>
    xt::xarray<std::size_t> winners(const xt::xarray<Scalar>& value) const;

    std::size_t kernel_size() const { return kernel_size_; }
    std::size_t stride() const { return stride_; }

 private:
    std::size_t kernel_size_;
    std::size_t stride_;
};

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline max_pool2d::max_pool2d(std::size_t kernel_size, std::size_t stride)
    : kernel_size_(kernel_size), stride_(stride == 0 ? kernel_size : stride) {
    if (kernel_size == 0) throw std::invalid_argument("max_pool2d: kernel size must be positive");
}

inline shape_type max_pool2d::output_shape(const shape_type& input) const {
    if (input.size() != 3 || input[1] < kernel_size_ || input[2] < kernel_size_) {
        throw std::invalid_argument("max_pool2d: expected per-sample input [C, H, W] with H, W >= " +
                                    std::to_string(kernel_size_) + ", found " + shape_string(input));
    }
    return {input[0], (input[1] - kernel_size_) / stride_ + 1, (input[2] - kernel_size_) / stride_ + 1};
}

namespace detail {

// Offsets within one [*, width] plane of the window maxima, for [out_height, out_width] windows
// of kernel x kernel with a stride, written row-major to `offsets`; best_value is out_width scratch.
// One output row at a time, window element by window element across the row: the inner loop
// is a select over the row (vectorizable), where a loop over one window would branch on
// unpredictable comparisons. Positions within a plane fit in 32 bits next to the float lanes.
template <class Scalar>
void window_maxima(const Scalar* plane, std::size_t width, std::size_t out_height, std::size_t out_width,
                   std::size_t kernel, std::size_t stride, Scalar* best_value, std::uint32_t* offsets) {
    const auto step = static_cast<std::uint32_t>(stride);
    for (std::size_t oy = 0; oy < out_height; ++oy) {
        std::uint32_t* best_offset = offsets + oy * out_width;
        for (std::size_t ky = 0; ky < kernel; ++ky) {
            const std::size_t row = (oy * stride + ky) * width;
            for (std::size_t kx = 0; kx < kernel; ++kx) {
                const Scalar* source = plane + row + kx;
                const auto offset = static_cast<std::uint32_t>(row + kx);
                if (ky == 0 && kx == 0) {
                    for (std::size_t ox = 0; ox < out_width; ++ox) {
                        best_value[ox] = source[ox * stride];
                        best_offset[ox] = offset + static_cast<std::uint32_t>(ox) * step;
                    }
                    continue;
                }
                for (std::size_t ox = 0; ox < out_width; ++ox) {
                    // strictly greater (or NaN, which PyTorch propagates): the first maximum wins
                    const Scalar candidate = source[ox * stride];
                    const bool wins = candidate > best_value[ox] || candidate != candidate;
                    best_value[ox] = wins ? candidate : best_value[ox];
                    best_offset[ox] = wins ? offset + static_cast<std::uint32_t>(ox) * step : best_offset[ox];
                }
            }
        }
    }
}

}  // namespace detail

template <class Scalar>
xt::xarray<std::size_t> max_pool2d::winners(const xt::xarray<Scalar>& value) const {
    const std::size_t batch = value.shape()[0];
    const std::size_t channels = value.shape()[1];
    const std::size_t height = value.shape()[2];
    const std::size_t width = value.shape()[3];
    const auto out = output_shape({channels, height, width});
    xt::xarray<std::size_t> result = xt::xarray<std::size_t>::from_shape({batch, channels, out[1], out[2]});
    if (height * width > std::numeric_limits<std::uint32_t>::max()) {
        throw std::invalid_argument("max_pool2d: planes of more than 2^32 elements are not supported, found " +
                                    std::to_string(height) + "x" + std::to_string(width));
    }
    const std::size_t pooled = out[1] * out[2];
    // planes are independent and shared out over the library's threads
    autodiff::run_ranges(batch * channels, height * width, 1, [&](std::size_t first_plane, std::size_t last_plane) {
        std::vector<Scalar> best_value(out[2]);
        std::vector<std::uint32_t> offsets(pooled);
        for (std::size_t plane = first_plane; plane < last_plane; ++plane) {
            const std::size_t plane_start = plane * height * width;
            detail::window_maxima(value.data() + plane_start, width, out[1], out[2], kernel_size_, stride_,
                                  best_value.data(), offsets.data());
            std::size_t* target = result.data() + plane * pooled;
            for (std::size_t q = 0; q < pooled; ++q) target[q] = plane_start + offsets[q];
        }
    });
    return result;
}

template <class Tensor>
Tensor max_pool2d::forward(const Tensor& input, const parameter_view<Tensor>&, saved<Tensor>& keep,
                           run_context<scalar_of<Tensor>>&) const {
    using scalar = scalar_of<Tensor>;
    keep.winners = winners(autodiff::value(input));
    keep.input_shape = shape_type(input.shape().begin(), input.shape().end());
    const std::size_t* positions = keep.winners.data();
    const std::size_t count = keep.winners.size();
    return detail::map_linear(input, shape_type(keep.winners.shape().begin(), keep.winners.shape().end()),
                              [&](const scalar* x, scalar* y) {
                                  for (std::size_t o = 0; o < count; ++o) y[o] = x[positions[o]];
                              });
}

template <class Tensor>
Tensor max_pool2d::backward(const Tensor& output_gradient, const parameter_view<Tensor>&, const saved<Tensor>& keep,
                            gradient_view<Tensor>&) const {
    using scalar = scalar_of<Tensor>;
    const std::size_t* positions = keep.winners.data();
    const std::size_t count = keep.winners.size();
    // plane by plane: the winners of a plane's windows lie in that plane, so it is zeroed and added
    // into while in L1 (zeroing the whole gradient first sent every line to memory and back)
    const std::size_t plane = keep.input_shape[2] * keep.input_shape[3];
    const std::size_t planes = keep.input_shape[0] * keep.input_shape[1];
    const std::size_t pooled = count / planes;
    return detail::map_linear(output_gradient, keep.input_shape, [&](const scalar* g, scalar* x) {
        for (std::size_t p = 0; p < planes; ++p) {
            std::fill(x + p * plane, x + (p + 1) * plane, scalar(0));
            for (std::size_t o = p * pooled; o < (p + 1) * pooled; ++o) x[positions[o]] += g[o];
        }
    });
}

}  // namespace fds::nn
