#define BOOST_TEST_MODULE nn_convolution_algorithm
#include <boost/test/unit_test.hpp>

#include <ostream>

#include <fds/nn/kernels/convolution_algorithm.hpp>

namespace fds::nn::detail {
// for the messages of failed checks
std::ostream& operator<<(std::ostream& out, convolution_algorithm algorithm) {
    const char* names[] = {"columns", "direct", "winograd"};
    return out << names[static_cast<int>(algorithm)];
}
}  // namespace fds::nn::detail

using fds::nn::detail::algorithm_for;
using fds::nn::detail::conv_shape;
using fds::nn::detail::convolution_algorithm;
using fds::nn::detail::convolution_product;

namespace {

template <class Scalar>
convolution_algorithm forward(const conv_shape& s) {
    return algorithm_for<Scalar>(convolution_product::forward, s);
}
template <class Scalar>
convolution_algorithm weight_gradient(const conv_shape& s) {
    return algorithm_for<Scalar>(convolution_product::weight_gradient, s);
}
template <class Scalar>
convolution_algorithm input_gradient(const conv_shape& s) {
    return algorithm_for<Scalar>(convolution_product::input_gradient, s);
}

}  // namespace

// The direct kernels store output rows of whole 32-byte vectors (8 floats, 4 doubles) with stride 1.
BOOST_AUTO_TEST_CASE(direct_kernels_take_unit_stride_convolutions_with_whole_vector_rows) {
    //                  N  C  H   W   O  K  stride padding OH OW
    const conv_shape lenet_second{{256, 6, 12, 12, 16, 5, 1, 0, 8, 8}};
    BOOST_TEST(forward<float>(lenet_second) == convolution_algorithm::direct);
    BOOST_TEST(forward<double>(lenet_second) == convolution_algorithm::direct);
    BOOST_TEST(weight_gradient<float>(lenet_second) == convolution_algorithm::direct);
    const conv_shape six_wide{{2, 1, 10, 10, 3, 5, 1, 0, 6, 6}};
    BOOST_TEST(forward<float>(six_wide) == convolution_algorithm::columns);
    BOOST_TEST(forward<double>(six_wide) == convolution_algorithm::columns);
    const conv_shape four_wide{{2, 1, 8, 8, 3, 5, 1, 0, 4, 4}};
    BOOST_TEST(forward<float>(four_wide) == convolution_algorithm::columns);
    BOOST_TEST(forward<double>(four_wide) == convolution_algorithm::direct);
    const conv_shape padded{{2, 1, 8, 6, 3, 1, 1, 1, 10, 8}};
    BOOST_TEST(forward<double>(padded) == convolution_algorithm::direct);
    const conv_shape strided{{2, 1, 17, 17, 3, 3, 2, 0, 8, 8}};
    BOOST_TEST(forward<double>(strided) == convolution_algorithm::columns);
    BOOST_TEST(weight_gradient<double>(strided) == convolution_algorithm::columns);
}

BOOST_AUTO_TEST_CASE(winograd_takes_3x3_unit_stride_with_whole_vector_rows_and_even_height) {
    //                     N  C   H   W   O  K  stride padding OH  OW
    const conv_shape cnn_second{{256, 16, 16, 16, 32, 3, 1, 1, 16, 16}};
    BOOST_TEST(forward<float>(cnn_second) == convolution_algorithm::winograd);
    BOOST_TEST(forward<double>(cnn_second) == convolution_algorithm::winograd);
    const conv_shape four_wide{{2, 1, 6, 6, 3, 3, 1, 0, 4, 4}};
    BOOST_TEST(forward<float>(four_wide) == convolution_algorithm::columns);
    BOOST_TEST(forward<double>(four_wide) == convolution_algorithm::winograd);
    const conv_shape odd_height{{2, 1, 5, 10, 3, 3, 1, 0, 3, 8}};
    BOOST_TEST(forward<float>(odd_height) == convolution_algorithm::direct);
    const conv_shape strided{{2, 16, 32, 32, 32, 3, 2, 1, 16, 16}};
    BOOST_TEST(forward<float>(strided) == convolution_algorithm::columns);
    const conv_shape five_by_five{{2, 6, 12, 12, 16, 5, 1, 0, 8, 8}};
    BOOST_TEST(forward<float>(five_by_five) == convolution_algorithm::direct);
}

// The weight gradient's transform only pays from 16 input channels on.
BOOST_AUTO_TEST_CASE(winograd_weight_gradient_starts_at_sixteen_channels) {
    const conv_shape cnn_second{{256, 16, 16, 16, 32, 3, 1, 1, 16, 16}};
    BOOST_TEST(weight_gradient<float>(cnn_second) == convolution_algorithm::winograd);
    const conv_shape cnn_first{{256, 3, 32, 32, 16, 3, 1, 1, 32, 32}};
    BOOST_TEST(forward<float>(cnn_first) == convolution_algorithm::winograd);
    BOOST_TEST(weight_gradient<float>(cnn_first) == convolution_algorithm::direct);
}

// The input gradient is a convolution where its padding K - 1 - p is at most the forward's p.
BOOST_AUTO_TEST_CASE(input_gradient_is_a_convolution_where_it_costs_no_more_than_columns) {
    //                          N  C  H   W  O  K  stride padding OH OW
    BOOST_TEST(input_gradient<float>(conv_shape{{2, 16, 32, 32, 16, 3, 1, 1, 32, 32}}) ==
               convolution_algorithm::winograd);
    BOOST_TEST(input_gradient<float>(conv_shape{{2, 16, 31, 32, 16, 3, 1, 1, 31, 32}}) ==
               convolution_algorithm::direct);  // odd height: no Winograd tiles
    BOOST_TEST(input_gradient<float>(conv_shape{{2, 6, 12, 16, 16, 5, 1, 0, 8, 12}}) == convolution_algorithm::columns);
    BOOST_TEST(input_gradient<float>(conv_shape{{2, 16, 12, 12, 16, 3, 1, 1, 12, 12}}) ==
               convolution_algorithm::columns);
    BOOST_TEST(input_gradient<float>(conv_shape{{2, 16, 32, 32, 16, 3, 2, 1, 16, 16}}) ==
               convolution_algorithm::columns);
}
