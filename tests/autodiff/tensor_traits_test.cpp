#define BOOST_TEST_MODULE autodiff_tensor_traits
#include <boost/test/unit_test.hpp>

#include <type_traits>

#include <fds/autodiff/dual_scalar.hpp>
#include <fds/autodiff/dual_tensor.hpp>
#include <fds/autodiff/tensor_traits.hpp>

using namespace fds::autodiff;

BOOST_AUTO_TEST_CASE(traits_tell_plain_from_dual_and_name_the_number_type) {
    static_assert(std::is_same_v<tensor_traits<xt::xarray<float>>::scalar_type, float>);
    static_assert(std::is_same_v<tensor_traits<dual_tensor<double>>::scalar_type, double>);
    static_assert(!tensor_traits<xt::xarray<float>>::is_dual);
    static_assert(tensor_traits<dual_tensor<float>>::is_dual);
    static_assert(std::is_same_v<tensor_traits<dual_tensor<float>>::number_type, dual_scalar<float>>);
    static_assert(std::is_same_v<tensor_traits<xt::xarray<double>>::number_type, double>);
    static_assert(std::is_same_v<tensor_traits<dual_tensor<float>>::plain_type, xt::xarray<float>>);
    static_assert(is_dual_tensor_v<dual_tensor<float>>);
    static_assert(is_dual_tensor_v<const dual_tensor<double>&>);
    static_assert(!is_dual_tensor_v<xt::xarray<double>>);
    static_assert(is_dual_scalar_v<dual_scalar<float>>);
    static_assert(!is_dual_scalar_v<float>);
    // No implicit conversion drops tangents.
    static_assert(!std::is_convertible_v<dual_tensor<float>, xt::xarray<float>>);
    static_assert(!std::is_convertible_v<dual_scalar<float>, float>);
    BOOST_TEST(tensor_traits<dual_tensor<float>>::is_dual);
}
