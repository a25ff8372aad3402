// What a layer is. A layer is a plain class whose forward and hand-written backward are ONE
// template over the tensor type (xt::xarray<S> or autodiff::dual_tensor<S>), written with the free
// functions of autodiff only. Instantiated with dual tensors, the backward pass differentiates
// itself: the gradient's tangents are Hessian-times-tangent products (forward-over-reverse).
//
// A layer class provides (inherit layer_defaults for the optional members):
//   shape_type output_shape(const shape_type& input) const;          // per-sample shapes, no batch axis
//   std::vector<parameter_spec> parameters(const shape_type& input) const;   // optional, default none
//   std::vector<double> buffers(const shape_type& input) const;   // optional: initial plain buffers
//   template <class Tensor> struct saved { ... };      // what forward keeps for backward
//   template <class Tensor>
//   Tensor forward(const Tensor& input, const parameter_view<Tensor>& parameters,
//                  saved<Tensor>& keep, run_context<scalar_of<Tensor>>& run) const;
//   template <class Tensor>
//   Tensor backward(const Tensor& output_gradient, const parameter_view<Tensor>& parameters,
//                   const saved<Tensor>& keep, gradient_view<Tensor>& parameter_gradient) const;
// sequential passes each activation after the first as an rvalue: a layer that keeps its input
// (conv2d, linear) declares `template <class Tensor, class Input> Tensor forward(Input&& input,
// ...same...)` and keeps std::forward<Input>(input), so it moves an activation instead of copying.
// backward returns the gradient with respect to the input and ADDS the parameter gradients
// through parameter_gradient.accumulate(...). When parameter_gradient.input_gradient_needed is
// false (the first layer with parameters of a network: no one reads the gradient of the images)
// a layer may skip that work and return an empty tensor; layers that ignore the flag stay correct.
#pragma once

#include <cstddef>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>

#include <fds/autodiff/autodiff.hpp>

namespace fds::nn {

using shape_type = std::vector<std::size_t>;

template <class Tensor>
using scalar_of = typename autodiff::tensor_traits<Tensor>::scalar_type;

// training: batch statistics (and running statistics are updated); evaluation: running statistics
enum class mode { training, evaluation };

// How the initializers treat a parameter tensor.
enum class parameter_role { weight, bias, norm_scale, norm_shift };

struct parameter_spec {
    std::string name;
    shape_type shape;
    parameter_role role;
    std::size_t fan_in = 0;  // for weights: inputs feeding one output (in_channels * kernel area)
    std::size_t fan_out = 0;  // for weights: outputs fed by one input (out_channels * kernel area)
    std::size_t size() const;
};

// A layer's window into the model's one flat parameter vector.
template <class Tensor>
struct parameter_view {
    const Tensor& flat;
    std::size_t offset;
    // copy of the elements [offset + local_offset, ... + prod(shape)), reshaped
    Tensor take(std::size_t local_offset, const shape_type& shape) const;
};

// A layer's window into the flat gradient vector (same layout as the parameters).
template <class Tensor>
struct gradient_view {
    Tensor& flat;
    std::size_t offset;
    bool input_gradient_needed = true;
    // flat[offset + local_offset, ...) += flatten(gradient)
    void accumulate(std::size_t local_offset, const Tensor& gradient);
};

// Per-call information: the mode and the layer's plain buffers (BatchNorm running statistics),
// which carry no tangents.
template <class Scalar>
struct run_context {
    nn::mode mode = nn::mode::training;
    Scalar* buffers = nullptr;
    bool keep_for_backward = true;
};

// Defaults for the optional members of a layer.
struct layer_defaults {
    shape_type output_shape(const shape_type& input) const { return input; }
    std::vector<parameter_spec> parameters(const shape_type&) const { return {}; }
    std::vector<double> buffers(const shape_type&) const { return {}; }
};

std::size_t shape_size(const shape_type& shape);
std::string shape_string(const shape_type& shape);

// `value` as a tensor of the same kind as `like` (plain, or dual with no live tangents)
template <class Tensor>
Tensor constant_like_kind(const Tensor& like, xt::xarray<scalar_of<Tensor>> value);

// a zero tensor of `shape` of the same kind (plain, or dual with the same tangent count) as `like`
template <class Tensor>
Tensor zeros_like_kind(const Tensor& like, const shape_type& shape);

// batch size and per-sample shape of a batched tensor
template <class Tensor>
shape_type sample_shape(const Tensor& batch);

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline std::size_t shape_size(const shape_type& shape) {
    return std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<std::size_t>());
}

inline std::string shape_string(const shape_type& shape) {
    std::ostringstream text;
    text << "[";
    for (std::size_t i = 0; i < shape.size(); ++i) text << (i ? ", " : "") << shape[i];
    text << "]";
    return text.str();
}

inline std::size_t parameter_spec::size() const { return shape_size(shape); }

template <class Tensor>
Tensor parameter_view<Tensor>::take(std::size_t local_offset, const shape_type& shape) const {
    return autodiff::slice_flat(flat, offset + local_offset, shape);
}

template <class Tensor>
void gradient_view<Tensor>::accumulate(std::size_t local_offset, const Tensor& gradient) {
    autodiff::add_into_flat(flat, offset + local_offset, gradient);
}

template <class Tensor>
Tensor constant_like_kind(const Tensor& like, xt::xarray<scalar_of<Tensor>> value) {
    if constexpr (autodiff::is_dual_tensor_v<Tensor>) {
        return Tensor(std::move(value), like.tangent_count());
    } else {
        (void)like;
        return value;
    }
}

template <class Tensor>
Tensor zeros_like_kind(const Tensor& like, const shape_type& shape) {
    using scalar = scalar_of<Tensor>;
    return constant_like_kind(like, xt::xarray<scalar>(xt::zeros<scalar>(shape)));
}

template <class Tensor>
shape_type sample_shape(const Tensor& batch) {
    const auto& shape = batch.shape();
    return shape_type(shape.begin() + 1, shape.end());
}

}  // namespace fds::nn
