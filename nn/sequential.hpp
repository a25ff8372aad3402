// Runtime composition of layers. A layer is a class with template forward/backward (see
// layer.hpp); sequential<Scalar> keeps any number of them behind a small type erasure that
// instantiates each layer for the two tensor types of a scalar: xt::xarray<Scalar> (plain
// training, no tangent work at all) and autodiff::dual_tensor<Scalar> (training with tangents).
// A sequential is itself a layer, so blocks nest (residual.hpp).
//
//   nn::sequential<float> block;
//   block << nn::conv2d(16, 16, 3, 1, 1, false) << nn::batch_norm2d(16) << nn::relu();
//
// Parameters and buffers of the children are laid out one after the other, in the order added.
// Pairs of layers that compute faster as one are fused as they are added (layer_fusion.hpp), with
// the same parameters, buffers and results bit for bit; layer_fusion::none keeps every layer.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include <fds/autodiff/autodiff.hpp>

#include <fds/nn/any_layer.hpp>
#include <fds/nn/layer.hpp>
#include <fds/nn/layer_fusion.hpp>

namespace fds::nn {

template <class Scalar>
class sequential {
 public:
    sequential() = default;
    explicit sequential(layer_fusion fusion) : fusion_(fusion) {}
    sequential(const sequential& other);
    sequential& operator=(const sequential& other);
    sequential(sequential&&) noexcept = default;
    sequential& operator=(sequential&&) noexcept = default;

    // Appends a layer (any class following layer.hpp, including another sequential).
    template <class Layer>
    sequential& add(Layer layer);
    template <class Layer>
    sequential& operator<<(Layer layer) {
        return add(std::move(layer));
    }

    std::size_t layer_count() const { return layers_.size(); }
    bool empty() const { return layers_.empty(); }

    // the layer interface
    shape_type output_shape(const shape_type& input) const;
    std::vector<parameter_spec> parameters(const shape_type& input) const;
    std::vector<double> buffers(const shape_type& input) const;

    template <class Tensor>
    struct saved {};

    template <class Tensor>
    Tensor forward(const Tensor& input, const parameter_view<Tensor>& parameters, saved<Tensor>& keep,
                   run_context<Scalar>& run) const;
    template <class Tensor>
    Tensor backward(const Tensor& output_gradient, const parameter_view<Tensor>& parameters, const saved<Tensor>& keep,
                    gradient_view<Tensor>& parameter_gradient) const;

 private:
    // where each child's parameters and buffers start, for one input shape
    struct layout {
        shape_type input;
        std::vector<std::size_t> parameter_offsets;
        std::vector<std::size_t> buffer_offsets;
        std::size_t first_with_parameters;  // layer count when no layer has parameters
    };
    const layout& layout_for(const shape_type& input) const;

    std::vector<std::unique_ptr<detail::any_layer<Scalar>>> layers_;
    layer_fusion fusion_ = layer_fusion::pairs;
    mutable layout layout_;
    mutable bool layout_valid_ = false;
};

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

template <class Scalar>
sequential<Scalar>::sequential(const sequential& other) : fusion_(other.fusion_) {
    for (const auto& layer : other.layers_) layers_.push_back(layer->clone());
}

template <class Scalar>
sequential<Scalar>& sequential<Scalar>::operator=(const sequential& other) {
    if (this != &other) {
        sequential copy(other);
        *this = std::move(copy);
    }
    return *this;
}

template <class Scalar>
template <class Layer>
sequential<Scalar>& sequential<Scalar>::add(Layer layer) {
    if (fusion_ == layer_fusion::pairs) {
        detail::append_fused(layers_, std::move(layer));
    } else {
        layers_.push_back(detail::hold<Scalar>(std::move(layer)));
    }
    layout_valid_ = false;
    return *this;
}

template <class Scalar>
shape_type sequential<Scalar>::output_shape(const shape_type& input) const {
    shape_type shape = input;
    for (const auto& layer : layers_) shape = layer->output_shape(shape);
    return shape;
}

template <class Scalar>
std::vector<parameter_spec> sequential<Scalar>::parameters(const shape_type& input) const {
    std::vector<parameter_spec> all;
    shape_type shape = input;
    for (const auto& layer : layers_) {
        auto specs = layer->parameters(shape);
        all.insert(all.end(), specs.begin(), specs.end());
        shape = layer->output_shape(shape);
    }
    return all;
}

template <class Scalar>
std::vector<double> sequential<Scalar>::buffers(const shape_type& input) const {
    std::vector<double> all;
    shape_type shape = input;
    for (const auto& layer : layers_) {
        auto initial = layer->buffers(shape);
        all.insert(all.end(), initial.begin(), initial.end());
        shape = layer->output_shape(shape);
    }
    return all;
}

template <class Scalar>
auto sequential<Scalar>::layout_for(const shape_type& input) const -> const layout& {
    if (layout_valid_ && layout_.input == input) return layout_;
    layout fresh;
    fresh.input = input;
    std::size_t parameter_offset = 0;
    std::size_t buffer_offset = 0;
    fresh.first_with_parameters = layers_.size();
    shape_type shape = input;
    for (const auto& layer : layers_) {
        fresh.parameter_offsets.push_back(parameter_offset);
        fresh.buffer_offsets.push_back(buffer_offset);
        const auto specs = layer->parameters(shape);
        if (!specs.empty() && fresh.first_with_parameters == layers_.size()) {
            fresh.first_with_parameters = fresh.parameter_offsets.size() - 1;
        }
        for (const auto& spec : specs) parameter_offset += spec.size();
        buffer_offset += layer->buffers(shape).size();
        shape = layer->output_shape(shape);
    }
    layout_ = std::move(fresh);
    layout_valid_ = true;
    return layout_;
}

template <class Scalar>
template <class Tensor>
Tensor sequential<Scalar>::forward(const Tensor& input, const parameter_view<Tensor>& parameters, saved<Tensor>&,
                                   run_context<Scalar>& run) const {
    const layout& offsets = layout_for(sample_shape(input));
    if (layers_.empty()) return input;
    // The first layer reads the input itself: a copy of it would cost (1 + K) full activations.
    // The later ones get the activation as an rvalue to keep: nothing else reads it.
    Tensor activation;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        run_context<Scalar> child = run;
        child.buffers = run.buffers == nullptr ? nullptr : run.buffers + offsets.buffer_offsets[i];
        const parameter_view<Tensor> view{parameters.flat, parameters.offset + offsets.parameter_offsets[i]};
        activation =
            i == 0 ? layers_[i]->forward(input, view, child) : layers_[i]->forward(std::move(activation), view, child);
    }
    return activation;
}

template <class Scalar>
template <class Tensor>
Tensor sequential<Scalar>::backward(const Tensor& output_gradient, const parameter_view<Tensor>& parameters,
                                    const saved<Tensor>&, gradient_view<Tensor>& parameter_gradient) const {
    if (!layout_valid_) throw std::logic_error("sequential: backward called before forward");
    // When the caller does not read the input gradient, the layers before the first one with
    // parameters are not run backward at all, and that layer is told it may skip its input gradient.
    const bool input_gradient_needed = parameter_gradient.input_gradient_needed;
    const std::size_t lowest = input_gradient_needed ? 0 : layout_.first_with_parameters;
    if (lowest == layers_.size()) return Tensor();
    // The last layer reads output_gradient itself (no copy), as forward's first reads the input.
    Tensor gradient;
    for (std::size_t i = layers_.size(); i-- > lowest;) {
        const std::size_t offset = layout_.parameter_offsets[i];
        parameter_view<Tensor> child_parameters{parameters.flat, parameters.offset + offset};
        gradient_view<Tensor> child_gradient{parameter_gradient.flat, parameter_gradient.offset + offset,
                                             input_gradient_needed || i > lowest};
        gradient = layers_[i]->backward(i + 1 == layers_.size() ? output_gradient : gradient, child_parameters,
                                        child_gradient);
    }
    if (!input_gradient_needed) return Tensor();
    return gradient;  // moved; a conditional expression here would copy it (a prvalue from an lvalue)
}

}  // namespace fds::nn
