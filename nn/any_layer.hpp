// The type erasure under sequential (sequential.hpp): any class following layer.hpp, behind
// virtual calls instantiated for the two tensor types of a scalar, with what its forward kept
// for backward.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include <fds/autodiff/autodiff.hpp>

#include <fds/nn/layer.hpp>

namespace fds::nn {

namespace detail {

// The two instantiations every layer gets, behind virtual calls.
template <class Scalar>
class any_layer {
 public:
    using plain = xt::xarray<Scalar>;
    using dual = autodiff::dual_tensor<Scalar>;

    virtual ~any_layer() = default;
    virtual std::unique_ptr<any_layer> clone() const = 0;
    virtual shape_type output_shape(const shape_type& input) const = 0;
    virtual std::vector<parameter_spec> parameters(const shape_type& input) const = 0;
    virtual std::vector<double> buffers(const shape_type& input) const = 0;
    virtual plain forward(const plain& input, const parameter_view<plain>& parameters, run_context<Scalar>& run) = 0;
    virtual dual forward(const dual& input, const parameter_view<dual>& parameters, run_context<Scalar>& run) = 0;
    // the same for an input the caller no longer needs (layer.hpp: a layer may keep it without a copy)
    virtual plain forward(plain&& input, const parameter_view<plain>& parameters, run_context<Scalar>& run) = 0;
    virtual dual forward(dual&& input, const parameter_view<dual>& parameters, run_context<Scalar>& run) = 0;
    virtual plain backward(const plain& output_gradient, const parameter_view<plain>& parameters,
                           gradient_view<plain>& parameter_gradient) = 0;
    virtual dual backward(const dual& output_gradient, const parameter_view<dual>& parameters,
                          gradient_view<dual>& parameter_gradient) = 0;
};

// One layer plus what its forward kept for backward, per tensor type.
template <class Layer, class Scalar>
class layer_holder final : public any_layer<Scalar> {
 public:
    using plain = xt::xarray<Scalar>;
    using dual = autodiff::dual_tensor<Scalar>;

    explicit layer_holder(Layer layer) : layer_(std::move(layer)) {}

    const Layer& layer() const { return layer_; }

    std::unique_ptr<any_layer<Scalar>> clone() const override { return std::make_unique<layer_holder>(layer_); }
    shape_type output_shape(const shape_type& input) const override { return layer_.output_shape(input); }
    std::vector<parameter_spec> parameters(const shape_type& input) const override { return layer_.parameters(input); }
    std::vector<double> buffers(const shape_type& input) const override { return layer_.buffers(input); }

    plain forward(const plain& input, const parameter_view<plain>& parameters, run_context<Scalar>& run) override {
        return layer_.forward(input, parameters, plain_saved_, run);
    }
    dual forward(const dual& input, const parameter_view<dual>& parameters, run_context<Scalar>& run) override {
        return layer_.forward(input, parameters, dual_saved_, run);
    }
    // a layer whose forward takes its input by forwarding reference moves it into what it keeps
    plain forward(plain&& input, const parameter_view<plain>& parameters, run_context<Scalar>& run) override {
        return layer_.forward(std::move(input), parameters, plain_saved_, run);
    }
    dual forward(dual&& input, const parameter_view<dual>& parameters, run_context<Scalar>& run) override {
        return layer_.forward(std::move(input), parameters, dual_saved_, run);
    }
    plain backward(const plain& output_gradient, const parameter_view<plain>& parameters,
                   gradient_view<plain>& parameter_gradient) override {
        return layer_.backward(output_gradient, parameters, plain_saved_, parameter_gradient);
    }
    dual backward(const dual& output_gradient, const parameter_view<dual>& parameters,
                  gradient_view<dual>& parameter_gradient) override {
        return layer_.backward(output_gradient, parameters, dual_saved_, parameter_gradient);
    }

 private:
    Layer layer_;
    typename Layer::template saved<plain> plain_saved_{};
    typename Layer::template saved<dual> dual_saved_{};
};

}  // namespace detail

}  // namespace fds::nn
