// A convolution as nn's kernels run it: its geometry (autodiff::conv_geometry) and the size of the
// chunks of images they cut its batch into.
#pragma once

#include <cstddef>

#include <fds/autodiff/conv_geometry.hpp>

namespace fds::nn::detail {

struct conv_shape : autodiff::conv_geometry {
    // Images per chunk: columns of about this many bytes (at least one image), so that they stay in
    // the core's L2 cache and the shared L3 (on LeNet, the CNN and WRN-16-1 larger chunks were
    // slower per step).
    std::size_t chunk_bytes = std::size_t{1} << 20;

    conv_shape padded() const { return with_geometry(conv_geometry::padded()); }
    conv_shape with_batch(std::size_t count) const { return with_geometry(conv_geometry::with_batch(count)); }

 private:
    conv_shape with_geometry(const conv_geometry& geometry) const {
        conv_shape shape = *this;
        static_cast<conv_geometry&>(shape) = geometry;
        return shape;
    }
};

}  // namespace fds::nn::detail
