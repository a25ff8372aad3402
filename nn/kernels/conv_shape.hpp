// The geometry of one 2-D convolution (NCHW, square kernel and stride, zero padding), shared by the
// convolution kernels.
#pragma once

#include <cstddef>

namespace fds::nn::detail {

struct conv_shape {
    std::size_t batch, channels, height, width, out_channels, kernel, stride, padding, out_height, out_width;
    // Images per chunk: columns of about this many bytes (at least one image), so that they stay in
    // the core's L2 cache and the shared L3 (on LeNet, the CNN and WRN-16-1 larger chunks were
    // slower per step).
    std::size_t chunk_bytes = std::size_t{1} << 20;
    std::size_t patch() const { return channels * kernel * kernel; }
    std::size_t positions() const { return out_height * out_width; }
    std::size_t columns() const { return batch * positions(); }
    std::size_t input_image() const { return channels * height * width; }
    std::size_t output_image() const { return out_channels * positions(); }
    std::size_t input_size() const { return batch * input_image(); }
    // the same convolution of the images with their zero border added (padding 0)
    conv_shape padded() const {
        conv_shape bordered = *this;
        bordered.height = height + 2 * padding;
        bordered.width = width + 2 * padding;
        bordered.padding = 0;
        return bordered;
    }
    // the same convolution on `count` images
    conv_shape with_batch(std::size_t count) const {
        conv_shape chunk = *this;
        chunk.batch = count;
        return chunk;
    }
};

}  // namespace fds::nn::detail
