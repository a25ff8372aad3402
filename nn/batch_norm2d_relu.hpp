// Batch normalization followed by a relu, as one layer: relu(batch_norm2d(x)), the same outputs,
// gradients and tangents, bit for bit, as batch_norm2d then relu (tested), with batch_norm2d's
// parameters and buffers (PyTorch's BatchNorm2d state, so a BatchNorm2d + ReLU pair loads as is).
// Forward writes max(y, 0) and its tangents 1[y > 0] dy in the pass that computes y, keeping the
// flags 1[y > 0] (one byte per value); backward reads g 1[y > 0] as it reads g. The separate relu
// reads and writes all (1 + K) planes of the activation forward and of its gradient backward, in
// WRN-16-1 after every batch norm.
//
//   net << nn::conv2d(16, 32, 3, 1, 1, false) << nn::batch_norm2d_relu(32);
#pragma once

#include <fds/nn/batch_norm2d.hpp>

namespace fds::nn {

class batch_norm2d_relu : public batch_norm2d {
 public:
    explicit batch_norm2d_relu(std::size_t channels, double epsilon = 1e-5, double momentum = 0.1)
        : batch_norm2d(channels, epsilon, momentum, true) {}
    // `norm` followed by a relu (layer_fusion.hpp)
    explicit batch_norm2d_relu(const batch_norm2d& norm)
        : batch_norm2d(norm.channels(), norm.epsilon(), norm.momentum(), true) {}
};

}  // namespace fds::nn
