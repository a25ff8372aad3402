// Traits that let one template serve plain tensors and dual tensors alike.
//
// nn layers are written once as `template <class Tensor>`; they ask these traits for the scalar
// type (float or double), whether tangents flow, and which "number" type goes with the tensor
// (a plain Scalar for xt::xarray<Scalar>, a dual_scalar<Scalar> for dual_tensor<Scalar>).
#pragma once

#include <type_traits>

#include <xtensor/xarray.hpp>

namespace fds::autodiff {
template <class Scalar>
class dual_scalar;

template <class Scalar>
class dual_tensor;

template <class Tensor>
struct tensor_traits;

template <class Scalar>
struct tensor_traits<xt::xarray<Scalar>> {
    using scalar_type = Scalar;
    using plain_type = xt::xarray<Scalar>;
    using number_type = Scalar;
    static constexpr bool is_dual = false;
};

template <class Scalar>
struct tensor_traits<dual_tensor<Scalar>> {
    using scalar_type = Scalar;
    using plain_type = xt::xarray<Scalar>;
    using number_type = dual_scalar<Scalar>;
    static constexpr bool is_dual = true;
};

template <class T>
struct is_dual_tensor : std::false_type {};

template <class Scalar>
struct is_dual_tensor<dual_tensor<Scalar>> : std::true_type {};

template <class T>
inline constexpr bool is_dual_tensor_v = is_dual_tensor<std::decay_t<T>>::value;

template <class T>
struct is_dual_scalar : std::false_type {};

template <class Scalar>
struct is_dual_scalar<dual_scalar<Scalar>> : std::true_type {};

template <class T>
inline constexpr bool is_dual_scalar_v = is_dual_scalar<std::decay_t<T>>::value;

namespace detail {
// Blocks template argument deduction, so `dual_tensor<float> * 2.0` deduces Scalar from
// the tensor alone and converts the literal.
template <class T>
struct identity {
    using type = T;
};

template <class T>
using identity_t = typename identity<T>::type;
}  // namespace detail
}  // namespace fds::autodiff
