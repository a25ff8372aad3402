// Flatten every sample to one axis: [N, d1, d2, ...] -> [N, d1 * d2 * ...], as torch.flatten(x, 1).
// Backward reshapes the gradient back.
#pragma once

#include <fds/autodiff/autodiff.hpp>

#include <fds/nn/layer.hpp>

namespace fds::nn {

class flatten : public layer_defaults {
 public:
    shape_type output_shape(const shape_type& input) const { return {shape_size(input)}; }

    template <class Tensor>
    struct saved {
        shape_type input_shape;
    };

    template <class Tensor>
    Tensor forward(const Tensor& input, const parameter_view<Tensor>&, saved<Tensor>& keep,
                   run_context<scalar_of<Tensor>>&) const {
        keep.input_shape = shape_type(input.shape().begin(), input.shape().end());
        return autodiff::reshape(input, {keep.input_shape[0], shape_size(keep.input_shape) / keep.input_shape[0]});
    }

    template <class Tensor>
    Tensor backward(const Tensor& output_gradient, const parameter_view<Tensor>&, const saved<Tensor>& keep,
                    gradient_view<Tensor>&) const {
        return autodiff::reshape(output_gradient, keep.input_shape);
    }
};

}  // namespace fds::nn
