// Residual connection: y = main(x) + shortcut(x), where an empty shortcut is the identity.
// Backward: dL/dx = main^T(dL/dy) + shortcut^T(dL/dy) (the identity passes dL/dy through).
// Parameters and buffers: the main branch's, then the shortcut's (the reference WideResNet's order:
// bn1, conv1, bn2, conv2, then convShortcut).
#pragma once

#include <fds/nn/sequential.hpp>

namespace fds::nn {

template <class Scalar>
class residual : public layer_defaults {
 public:
    explicit residual(sequential<Scalar> main, sequential<Scalar> shortcut = {});

    shape_type output_shape(const shape_type& input) const;
    std::vector<parameter_spec> parameters(const shape_type& input) const;
    std::vector<double> buffers(const shape_type& input) const;

    template <class Tensor>
    struct saved {
        std::size_t main_parameter_count = 0;
    };

    template <class Tensor>
    Tensor forward(const Tensor& input, const parameter_view<Tensor>& parameters, saved<Tensor>& keep,
                   run_context<Scalar>& run) const;
    template <class Tensor>
    Tensor backward(const Tensor& output_gradient, const parameter_view<Tensor>& parameters, const saved<Tensor>& keep,
                    gradient_view<Tensor>& parameter_gradient) const;

 private:
    sequential<Scalar> main_;
    sequential<Scalar> shortcut_;
};

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

template <class Scalar>
residual<Scalar>::residual(sequential<Scalar> main, sequential<Scalar> shortcut)
    : main_(std::move(main)), shortcut_(std::move(shortcut)) {}

template <class Scalar>
shape_type residual<Scalar>::output_shape(const shape_type& input) const {
    const shape_type main_shape = main_.output_shape(input);
    const shape_type shortcut_shape = shortcut_.output_shape(input);
    if (main_shape != shortcut_shape) {
        throw std::invalid_argument("residual: main branch gives " + shape_string(main_shape) + " but shortcut gives " +
                                    shape_string(shortcut_shape) + " for input " + shape_string(input));
    }
    return main_shape;
}

template <class Scalar>
std::vector<parameter_spec> residual<Scalar>::parameters(const shape_type& input) const {
    auto all = main_.parameters(input);
    auto shortcut = shortcut_.parameters(input);
    all.insert(all.end(), shortcut.begin(), shortcut.end());
    return all;
}

template <class Scalar>
std::vector<double> residual<Scalar>::buffers(const shape_type& input) const {
    auto all = main_.buffers(input);
    auto shortcut = shortcut_.buffers(input);
    all.insert(all.end(), shortcut.begin(), shortcut.end());
    return all;
}

template <class Scalar>
template <class Tensor>
Tensor residual<Scalar>::forward(const Tensor& input, const parameter_view<Tensor>& parameters, saved<Tensor>& keep,
                                 run_context<Scalar>& run) const {
    const shape_type sample = sample_shape(input);
    keep.main_parameter_count = 0;
    for (const auto& spec : main_.parameters(sample)) keep.main_parameter_count += spec.size();
    typename sequential<Scalar>::template saved<Tensor> nothing;
    run_context<Scalar> shortcut_run = run;
    if (run.buffers != nullptr) shortcut_run.buffers = run.buffers + main_.buffers(sample).size();
    // The sum is written into the main branch's output (in place: no third activation-sized tensor).
    Tensor output = main_.forward(input, parameters, nothing, run);
    if (shortcut_.empty()) {
        output += input;
        return output;
    }
    output +=
        shortcut_.forward(input, parameter_view<Tensor>{parameters.flat, parameters.offset + keep.main_parameter_count},
                          nothing, shortcut_run);
    return output;
}

template <class Scalar>
template <class Tensor>
Tensor residual<Scalar>::backward(const Tensor& output_gradient, const parameter_view<Tensor>& parameters,
                                  const saved<Tensor>& keep, gradient_view<Tensor>& parameter_gradient) const {
    typename sequential<Scalar>::template saved<Tensor> nothing;
    gradient_view<Tensor> main_gradient{parameter_gradient.flat, parameter_gradient.offset};  // the sum needs it
    Tensor input_gradient = main_.backward(output_gradient, parameters, nothing, main_gradient);
    if (shortcut_.empty()) {
        input_gradient += output_gradient;
        return input_gradient;
    }
    gradient_view<Tensor> shortcut_gradient{parameter_gradient.flat,
                                            parameter_gradient.offset + keep.main_parameter_count};
    input_gradient += shortcut_.backward(
        output_gradient, parameter_view<Tensor>{parameters.flat, parameters.offset + keep.main_parameter_count},
        nothing, shortcut_gradient);
    return input_gradient;
}

}  // namespace fds::nn
