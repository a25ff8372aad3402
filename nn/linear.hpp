// Fully connected layer, as torch.nn.Linear: y = x W^T + b with W [out, in], b [out],
// x [N, in], y [N, out]. Parameters in PyTorch's order: weight, then bias.
//
// Backward, with G = dL/dy:  dL/dx = G W,  dL/dW = G^T x,  dL/db = sum_n G[n, :].
// Each line is a product of tensors, so on duals the product rule gives the tangents.
#pragma once

#include <fds/autodiff/autodiff.hpp>

#include <fds/nn/layer.hpp>

namespace fds::nn {

class linear : public layer_defaults {
 public:
    linear(std::size_t in_features, std::size_t out_features, bool bias = true);

    shape_type output_shape(const shape_type& input) const;
    std::vector<parameter_spec> parameters(const shape_type& input) const;

    template <class Tensor>
    struct saved {
        Tensor input;
        Tensor weight;
    };

    // Input: const Tensor& (kept for backward as a copy) or Tensor (moved into keep; layer.hpp)
    template <class Tensor, class Input>
    Tensor forward(Input&& input, const parameter_view<Tensor>& parameters, saved<Tensor>& keep,
                   run_context<scalar_of<Tensor>>& run) const;
    template <class Tensor>
    Tensor backward(const Tensor& output_gradient, const parameter_view<Tensor>& parameters, const saved<Tensor>& keep,
                    gradient_view<Tensor>& parameter_gradient) const;

    std::size_t in_features() const { return in_features_; }
    std::size_t out_features() const { return out_features_; }

 private:
    std::size_t in_features_;
    std::size_t out_features_;
    bool bias_;
};

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline linear::linear(std::size_t in_features, std::size_t out_features, bool bias)
    : in_features_(in_features), out_features_(out_features), bias_(bias) {
    if (in_features == 0 || out_features == 0) {
        throw std::invalid_argument("linear: feature counts must be positive, found in " + std::to_string(in_features) +
                                    " out " + std::to_string(out_features));
    }
}

inline shape_type linear::output_shape(const shape_type& input) const {
    if (input.size() != 1 || input[0] != in_features_) {
        throw std::invalid_argument("linear: expected per-sample input shape [" + std::to_string(in_features_) +
                                    "], found " + shape_string(input) + " (add flatten() before it?)");
    }
    return {out_features_};
}

inline std::vector<parameter_spec> linear::parameters(const shape_type&) const {
    std::vector<parameter_spec> specs{
        {"weight", {out_features_, in_features_}, parameter_role::weight, in_features_, out_features_}};
    if (bias_) specs.push_back({"bias", {out_features_}, parameter_role::bias, in_features_, out_features_});
    return specs;
}

template <class Tensor, class Input>
Tensor linear::forward(Input&& input, const parameter_view<Tensor>& parameters, saved<Tensor>& keep,
                       run_context<scalar_of<Tensor>>& run) const {
    static_assert(std::is_same_v<std::decay_t<Input>, Tensor>, "linear::forward: the input is not a Tensor");
    Tensor weight = parameters.take(0, {out_features_, in_features_});
    Tensor output = autodiff::matmul(static_cast<const Tensor&>(input), weight, false, true);
    if (bias_) {
        output = output + parameters.take(out_features_ * in_features_, {out_features_});
    }
    if (run.keep_for_backward) {
        keep.input = std::forward<Input>(input);
        keep.weight = std::move(weight);
    }
    return output;
}

template <class Tensor>
Tensor linear::backward(const Tensor& output_gradient, const parameter_view<Tensor>&, const saved<Tensor>& keep,
                        gradient_view<Tensor>& parameter_gradient) const {
    parameter_gradient.accumulate(0, autodiff::matmul(output_gradient, keep.input, true, false));
    if (bias_) {
        parameter_gradient.accumulate(out_features_ * in_features_, autodiff::sum(output_gradient, {0}));
    }
    if (!parameter_gradient.input_gradient_needed) return Tensor();
    return autodiff::matmul(output_gradient, keep.weight);
}

}  // namespace fds::nn
