// SGD with momentum and weight decay in the reference's form (polo5/FDS main.py inner loop):
//   v <- mom * v + g + wd * theta
//   theta <- theta - lr * v
// On dual tensors with dual lr/mom/wd this one update is also the forward-mode recursion of
// Z = dtheta/dh: the tangents pick up -v in the active lr slot, mom's slot gets v_old and wd's
// slot gets theta, exactly the reference's hand-derived A Z + B and C terms.
#pragma once

#include <type_traits>

#include <autodiff/autodiff.hpp>
#include <autodiff/autodiff.hpp>

#include <nn/layer.hpp>

namespace fds::nn {

// In place. Tensor is xt::xarray<S> or dual_tensor<S>; each of learning_rate, momentum and
// weight_decay is S or dual_scalar<S> (dual numbers need dual tensors).
template <class Tensor, class LearningRate, class Momentum, class WeightDecay>
void sgd_step(Tensor& parameters, Tensor& velocity, const Tensor& gradient, const LearningRate& learning_rate,
              const Momentum& momentum, const WeightDecay& weight_decay);

// clamp(g, -range, range); on duals the tangent is zero where the value is clamped.
template <class Tensor>
Tensor clamp_gradient(const Tensor& gradient, double range);

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

namespace detail {

template <class Tensor>
void check_same_size(const char* what, const Tensor& a, const Tensor& b) {
  if (a.size() != b.size()) {
    throw std::invalid_argument(std::string("sgd_step: ") + what + " has " + std::to_string(b.size()) +
                                " elements, parameters have " + std::to_string(a.size()));
  }
}

}  // namespace detail

template <class Tensor, class LearningRate, class Momentum, class WeightDecay>
void sgd_step(Tensor& parameters, Tensor& velocity, const Tensor& gradient, const LearningRate& learning_rate,
              const Momentum& momentum, const WeightDecay& weight_decay) {
  detail::check_same_size("velocity", parameters, velocity);
  detail::check_same_size("gradient", parameters, gradient);
  constexpr bool any_dual_number = autodiff::is_dual_scalar_v<LearningRate> || autodiff::is_dual_scalar_v<Momentum> ||
                                   autodiff::is_dual_scalar_v<WeightDecay>;
  if constexpr (!autodiff::is_dual_tensor_v<Tensor>) {
    static_assert(!any_dual_number, "sgd_step: dual learning rate, momentum or weight decay need dual tensors");
    using scalar = scalar_of<Tensor>;
    const scalar lr = static_cast<scalar>(learning_rate);
    const scalar mom = static_cast<scalar>(momentum);
    const scalar wd = static_cast<scalar>(weight_decay);
    scalar* theta = parameters.data();
    scalar* v = velocity.data();
    const scalar* g = gradient.data();
    const std::size_t count = parameters.size();
    for (std::size_t i = 0; i < count; ++i) {
      v[i] = mom * v[i] + g[i] + wd * theta[i];
      theta[i] -= lr * v[i];
    }
  } else {
    velocity = momentum * velocity + gradient + weight_decay * parameters;
    parameters = parameters - learning_rate * velocity;
  }
}

template <class Tensor>
Tensor clamp_gradient(const Tensor& gradient, double range) {
  using scalar = scalar_of<Tensor>;
  return autodiff::clamp(gradient, static_cast<scalar>(-range), static_cast<scalar>(range));
}

}  // namespace fds::nn
