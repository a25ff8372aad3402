// A convolution followed by max pooling, as one layer: the same outputs, gradients and tangents,
// bit for bit, as conv2d then max_pool2d (tested), with the same parameters (a Conv2d's weight and
// bias), but computed without the convolution's full-size output. Each chunk of the convolution
// (nn/kernels/chunk_schedule.hpp) is pooled while its rows are in cache, and backward scatters dL/dy into the
// chunk's rows directly; the separate layers write the full-size output, read it to pool, write
// its full-size gradient and read that back, (1 + K) times on duals, for results a quarter that
// size.
//
//   net << nn::conv2d_max_pool2d(nn::conv2d(1, 6, 5), 2) << nn::relu();   // LeNet's first stage
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include <fds/autodiff/autodiff.hpp>

#include <fds/nn/conv2d.hpp>
#include <fds/nn/max_pool2d.hpp>

namespace fds::nn {

namespace detail {

// An output policy (nn/kernels/plain_convolution.hpp) for a pooled convolution: forward stores the window maxima of
// each output plane (found on the value, followed by every tangent), backward scatters each
// pooled gradient entry to its window's winner, as max_pool2d does.
template <class Scalar>
struct max_pooled_output {
    std::size_t kernel, stride, pooled_height, pooled_width;
    std::uint32_t* winners;  // [N, O, pooled_height, pooled_width]: offsets within each output plane

    std::size_t pooled() const { return pooled_height * pooled_width; }
    std::vector<std::size_t> shape(const conv_shape& s) const {
        return {s.batch, s.out_channels, pooled_height, pooled_width};
    }
    std::size_t image_size(const conv_shape& s) const { return s.out_channels * pooled(); }

    void store(Scalar* rows, const Scalar* bias, const conv_shape& c, std::size_t first, bool is_value,
               Scalar* target) const {
        std::vector<Scalar> best_value(pooled_width);
        const std::size_t positions = c.positions();
        for (std::size_t n = 0; n < c.batch; ++n) {
            for (std::size_t o = 0; o < c.out_channels; ++o) {
                Scalar* plane = rows + o * c.columns() + n * positions;
                // the bias first, as the separate layers add it before pooling (also + 0: -0 becomes +0)
                const Scalar shift = bias ? bias[o] : Scalar(0);
                for (std::size_t p = 0; p < positions; ++p) plane[p] = plane[p] + shift;
                std::uint32_t* plane_winners = winners + ((first + n) * c.out_channels + o) * pooled();
                if (is_value) {
                    window_maxima(plane, c.out_width, pooled_height, pooled_width, kernel, stride, best_value.data(),
                                  plane_winners);
                }
                Scalar* pooled_plane = target + (n * c.out_channels + o) * pooled();
                for (std::size_t q = 0; q < pooled(); ++q) pooled_plane[q] = plane[plane_winners[q]];
            }
        }
    }

    void load_gradient(const Scalar* gradient, const conv_shape& c, std::size_t first, Scalar* rows) const {
        const std::size_t positions = c.positions();
        for (std::size_t n = 0; n < c.batch; ++n) {
            for (std::size_t o = 0; o < c.out_channels; ++o) {
                Scalar* plane = rows + o * c.columns() + n * positions;
                std::fill(plane, plane + positions, Scalar(0));
                const std::uint32_t* plane_winners = winners + ((first + n) * c.out_channels + o) * pooled();
                const Scalar* pooled_plane = gradient + (n * c.out_channels + o) * pooled();
                for (std::size_t q = 0; q < pooled(); ++q) plane[plane_winners[q]] += pooled_plane[q];
            }
        }
    }
};

}  // namespace detail

class conv2d_max_pool2d : public conv2d {
 public:
    conv2d_max_pool2d(conv2d convolution, max_pool2d pool);
    conv2d_max_pool2d(conv2d convolution, std::size_t pool_kernel, std::size_t pool_stride = 0 /* 0: kernel */);

    shape_type output_shape(const shape_type& input) const;

    template <class Tensor>
    struct saved {
        Tensor input;
        Tensor weight;
        std::vector<std::uint32_t> winners;  // max_pooled_output::winners
    };

    // Input: const Tensor& (kept for backward as a copy) or Tensor (moved into keep; layer.hpp);
    // it hides conv2d's, which would not pool
    template <class Tensor, class Input>
    Tensor forward(Input&& input, const parameter_view<Tensor>& parameters, saved<Tensor>& keep,
                   run_context<scalar_of<Tensor>>& run) const;
    template <class Tensor>
    Tensor backward(const Tensor& output_gradient, const parameter_view<Tensor>& parameters, const saved<Tensor>& keep,
                    gradient_view<Tensor>& parameter_gradient) const;

 private:
    // the policy for convolution shape s, with winners at `winners` (pooled output size)
    template <class Scalar>
    detail::max_pooled_output<Scalar> pooled_output(const detail::conv_shape& s, std::uint32_t* winners) const;
    std::size_t pooled_size(const detail::conv_shape& s) const;

    max_pool2d pool_;
};

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline conv2d_max_pool2d::conv2d_max_pool2d(conv2d convolution, max_pool2d pool)
    : conv2d(std::move(convolution)), pool_(std::move(pool)) {}

inline conv2d_max_pool2d::conv2d_max_pool2d(conv2d convolution, std::size_t pool_kernel, std::size_t pool_stride)
    : conv2d_max_pool2d(std::move(convolution), max_pool2d(pool_kernel, pool_stride)) {}

inline shape_type conv2d_max_pool2d::output_shape(const shape_type& input) const {
    return pool_.output_shape(conv2d::output_shape(input));
}

template <class Scalar>
detail::max_pooled_output<Scalar> conv2d_max_pool2d::pooled_output(const detail::conv_shape& s,
                                                                   std::uint32_t* winners) const {
    const auto pooled = pool_.output_shape({s.out_channels, s.out_height, s.out_width});
    if (s.positions() > std::numeric_limits<std::uint32_t>::max()) {
        throw std::invalid_argument("conv2d_max_pool2d: output planes of more than 2^32 elements are not supported");
    }
    return {pool_.kernel_size(), pool_.stride(), pooled[1], pooled[2], winners};
}

inline std::size_t conv2d_max_pool2d::pooled_size(const detail::conv_shape& s) const {
    return s.batch * shape_size(pool_.output_shape({s.out_channels, s.out_height, s.out_width}));
}

template <class Tensor, class Input>
Tensor conv2d_max_pool2d::forward(Input&& input, const parameter_view<Tensor>& parameters, saved<Tensor>& keep,
                                  run_context<scalar_of<Tensor>>& run) const {
    static_assert(std::is_same_v<std::decay_t<Input>, Tensor>, "conv2d_max_pool2d::forward: the input is not a Tensor");
    const auto s = kernel_shape(input);
    keep.winners.resize(pooled_size(s));
    Tensor weight;
    Tensor output = convolve(static_cast<const Tensor&>(input), parameters, s,
                             pooled_output<scalar_of<Tensor>>(s, keep.winners.data()), weight);
    if (run.keep_for_backward) {
        keep.input = std::forward<Input>(input);
        keep.weight = std::move(weight);
    }
    return output;
}

template <class Tensor>
Tensor conv2d_max_pool2d::backward(const Tensor& output_gradient, const parameter_view<Tensor>&,
                                   const saved<Tensor>& keep, gradient_view<Tensor>& parameter_gradient) const {
    const auto s = kernel_shape(keep.input);
    if (keep.winners.size() != pooled_size(s))
        throw std::logic_error("conv2d_max_pool2d: backward called before forward");
    // backward only reads the winners (max_pooled_output::load_gradient)
    auto* winners = const_cast<std::uint32_t*>(keep.winners.data());
    return convolve_backward(output_gradient, keep.input, keep.weight, parameter_gradient,
                             pooled_output<scalar_of<Tensor>>(s, winners));
}

}  // namespace fds::nn
