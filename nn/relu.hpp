// Rectified linear unit: y = max(x, 0).
// Backward: dL/dx = 1[x > 0] * dL/dy. The mask is a plain tensor of the value, so on duals the
// tangents of dL/dx are 1[x > 0] * (tangents of dL/dy): relu'' is zero almost everywhere.
#pragma once

#include <fds/autodiff/autodiff.hpp>

#include <fds/nn/layer.hpp>

namespace fds::nn {

class relu : public layer_defaults {
 public:
    template <class Tensor>
    struct saved {
        xt::xarray<scalar_of<Tensor>> mask;
    };

    template <class Tensor>
    Tensor forward(const Tensor& input, const parameter_view<Tensor>& parameters, saved<Tensor>& keep,
                   run_context<scalar_of<Tensor>>& run) const;
    template <class Tensor>
    Tensor backward(const Tensor& output_gradient, const parameter_view<Tensor>& parameters, const saved<Tensor>& keep,
                    gradient_view<Tensor>& parameter_gradient) const;
};

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

template <class Tensor>
Tensor relu::forward(const Tensor& input, const parameter_view<Tensor>&, saved<Tensor>& keep,
                     run_context<scalar_of<Tensor>>& run) const {
    if (run.keep_for_backward) keep.mask = autodiff::positive_mask(input);
    return autodiff::relu(input);
}

template <class Tensor>
Tensor relu::backward(const Tensor& output_gradient, const parameter_view<Tensor>&, const saved<Tensor>& keep,
                      gradient_view<Tensor>&) const {
    Tensor input_gradient(output_gradient * keep.mask);
    return input_gradient;
}

}  // namespace fds::nn
