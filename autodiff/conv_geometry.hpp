// The geometry of one 2-D convolution: NCHW images, a square kernel, one stride and zero padding for
// both axes. autodiff's im2col and col2im and nn's convolution kernels all describe a convolution
// with it.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace fds::autodiff {

struct conv_geometry {
    std::size_t batch, channels, height, width, out_channels, kernel, stride, padding, out_height, out_width;

    // C * K * K: the length of one receptive field
    std::size_t patch() const { return channels * kernel * kernel; }
    std::size_t positions() const { return out_height * out_width; }
    std::size_t columns() const { return batch * positions(); }
    std::size_t input_image() const { return channels * height * width; }
    std::size_t output_image() const { return out_channels * positions(); }
    std::size_t input_size() const { return batch * input_image(); }
    // the same convolution of the images with their zero border added (padding 0)
    conv_geometry padded() const {
        conv_geometry bordered = *this;
        bordered.height = height + 2 * padding;
        bordered.width = width + 2 * padding;
        bordered.padding = 0;
        return bordered;
    }
    // the same convolution on `count` images
    conv_geometry with_batch(std::size_t count) const {
        conv_geometry chunk = *this;
        chunk.batch = count;
        return chunk;
    }
};

// The geometry with its output size, (size + 2 padding - kernel) / stride + 1 on each axis, or an
// exception when the kernel does not fit or the stride is 0.
conv_geometry make_conv_geometry(std::size_t batch, std::size_t channels, std::size_t height, std::size_t width,
                                 std::size_t out_channels, std::size_t kernel, std::size_t stride = 1,
                                 std::size_t padding = 0);

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

namespace detail {
inline std::size_t output_size(const char* axis, std::size_t size, std::size_t kernel, std::size_t stride,
                               std::size_t padding) {
    if (stride == 0 || size + 2 * padding < kernel) {
        throw std::invalid_argument("conv_geometry: kernel " + std::to_string(kernel) + " does not fit " + axis + " " +
                                    std::to_string(size) + " with padding " + std::to_string(padding) + " and stride " +
                                    std::to_string(stride));
    }
    return (size + 2 * padding - kernel) / stride + 1;
}
}  // namespace detail

inline conv_geometry make_conv_geometry(std::size_t batch, std::size_t channels, std::size_t height, std::size_t width,
                                        std::size_t out_channels, std::size_t kernel, std::size_t stride,
                                        std::size_t padding) {
    const std::size_t out_height = detail::output_size("height", height, kernel, stride, padding);
    const std::size_t out_width = detail::output_size("width", width, kernel, stride, padding);
    return conv_geometry{batch, channels, height, width, out_channels, kernel, stride, padding, out_height, out_width};
}

}  // namespace fds::autodiff
