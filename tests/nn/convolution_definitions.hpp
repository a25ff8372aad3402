// Convolution products from their definitions (summed in long double) and the comparison the
// kernel tests make against them; shared by direct_convolution_test and winograd_convolution_test.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include <boost/test/unit_test.hpp>

#include <fds/nn/kernels/conv_shape.hpp>
#include <fds/autodiff/random.hpp>

namespace fds::nn::test {

using autodiff::random_source;
using detail::conv_shape;

template <class Scalar>
std::vector<Scalar> random_values(std::size_t count, random_source& random) {
    std::vector<Scalar> values(count);
    for (auto& v : values) v = static_cast<Scalar>(random.normal());
    return values;
}

// x[n, c, oy + ky - padding, ox + kx - padding] (0 in the border) for patch entry p = (c, ky, kx)
// and output position (n, oy, ox) of a convolution with stride 1
template <class Scalar>
long double input_at(const std::vector<Scalar>& x, const conv_shape& s, std::size_t p, std::size_t n, std::size_t oy,
                     std::size_t ox) {
    const std::size_t c = p / (s.kernel * s.kernel), ky = p / s.kernel % s.kernel, kx = p % s.kernel;
    const std::size_t row = oy + ky, column = ox + kx;  // in the bordered image
    if (row < s.padding || row >= s.height + s.padding || column < s.padding || column >= s.width + s.padding) return 0;
    return x[((n * s.channels + c) * s.height + row - s.padding) * s.width + column - s.padding];
}

// The products from their definitions, summed in long double.
template <class Scalar>
std::vector<long double> convolution_by_definition(const std::vector<Scalar>& w, std::size_t rows,
                                                   const std::vector<Scalar>& x, const conv_shape& s) {
    std::vector<long double> result(rows * s.columns());
    for (std::size_t m = 0; m < rows; ++m)
        for (std::size_t n = 0; n < s.batch; ++n)
            for (std::size_t oy = 0; oy < s.out_height; ++oy)
                for (std::size_t ox = 0; ox < s.out_width; ++ox) {
                    long double sum = 0;
                    for (std::size_t p = 0; p < s.patch(); ++p)
                        sum += w[m * s.patch() + p] * input_at(x, s, p, n, oy, ox);
                    result[m * s.columns() + (n * s.out_height + oy) * s.out_width + ox] = sum;
                }
    return result;
}

template <class Scalar>
std::vector<long double> weight_gradient_by_definition(const std::vector<Scalar>& g, std::size_t rows,
                                                       const std::vector<Scalar>& x, const conv_shape& s) {
    std::vector<long double> result(rows * s.patch());
    for (std::size_t m = 0; m < rows; ++m)
        for (std::size_t p = 0; p < s.patch(); ++p) {
            long double sum = 0;
            for (std::size_t n = 0; n < s.batch; ++n)
                for (std::size_t oy = 0; oy < s.out_height; ++oy)
                    for (std::size_t ox = 0; ox < s.out_width; ++ox)
                        sum += g[m * s.columns() + (n * s.out_height + oy) * s.out_width + ox] *
                               input_at(x, s, p, n, oy, ox);
            result[m * s.patch() + p] = sum;
        }
    return result;
}

// what a kernel that adds its sums to `start` must give
template <class Scalar>
std::vector<long double> added_to(std::vector<long double> sums, const std::vector<Scalar>& start) {
    for (std::size_t i = 0; i < sums.size(); ++i) sums[i] += start[i];
    return sums;
}

// |actual - expected| <= tolerance * (1 + |expected|) everywhere
template <class Scalar>
void check_close(const std::vector<Scalar>& actual, const std::vector<long double>& expected, double tolerance) {
    BOOST_REQUIRE_EQUAL(actual.size(), expected.size());
    double worst = 0;
    for (std::size_t i = 0; i < actual.size(); ++i) {
        worst = std::max(worst, double(std::fabs(actual[i] - expected[i]) / (1 + std::fabs(expected[i]))));
    }
    BOOST_TEST(worst <= tolerance);
}

// dL/dx[n, c, y, x] = sum_(m, ky, kx) w[m, c, ky, kx] g[m, (n, y + padding - ky, x + padding - kx)]
template <class Scalar>
std::vector<long double> input_gradient_by_definition(const std::vector<Scalar>& w, std::size_t rows,
                                                      const std::vector<Scalar>& g, const conv_shape& s) {
    std::vector<long double> result(s.input_size());
    for (std::size_t n = 0; n < s.batch; ++n)
        for (std::size_t c = 0; c < s.channels; ++c)
            for (std::size_t y = 0; y < s.height; ++y)
                for (std::size_t x = 0; x < s.width; ++x) {
                    long double sum = 0;
                    for (std::size_t m = 0; m < rows; ++m)
                        for (std::size_t ky = 0; ky < s.kernel; ++ky)
                            for (std::size_t kx = 0; kx < s.kernel; ++kx) {
                                const long oy = long(y + s.padding) - long(ky), ox = long(x + s.padding) - long(kx);
                                if (oy < 0 || ox < 0 || oy >= long(s.out_height) || ox >= long(s.out_width)) continue;
                                sum += w[((m * s.channels + c) * s.kernel + ky) * s.kernel + kx] *
                                       g[m * s.columns() + (n * s.out_height + oy) * s.out_width + ox];
                            }
                    result[((n * s.channels + c) * s.height + y) * s.width + x] = sum;
                }
    return result;
}

}  // namespace fds::nn::test
