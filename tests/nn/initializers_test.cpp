#define BOOST_TEST_MODULE nn_initializers
#include <boost/test/unit_test.hpp>

#include <cmath>

#include <xtensor/xview.hpp>

#include <fds/nn/initializers.hpp>

using namespace fds::nn;

namespace {
// a conv weight (fan_in 3*9, fan_out 64*9), its bias, and a BatchNorm pair
std::vector<parameter_spec> specs() {
    return {{"weight", {64, 3, 3, 3}, parameter_role::weight, 27, 576},
            {"bias", {64}, parameter_role::bias, 27, 576},
            {"gamma", {5}, parameter_role::norm_scale, 0, 0},
            {"beta", {5}, parameter_role::norm_shift, 0, 0}};
}
double standard_deviation(const xt::xarray<double>& flat, std::size_t count) {
    double sum = 0, squares = 0;
    for (std::size_t i = 0; i < count; ++i) {
        sum += flat(i);
        squares += flat(i) * flat(i);
    }
    return std::sqrt(squares / count - (sum / count) * (sum / count));
}
}  // namespace

BOOST_AUTO_TEST_CASE(xavier_normal_has_torch_standard_deviation_and_zero_biases) {
    const auto flat = initialize_parameters<double>(specs(), {"xavier", 1.0}, 3);
    BOOST_REQUIRE_EQUAL(flat.size(), 1728u + 64 + 10);
    // gain * sqrt(2 / (fan_in + fan_out)); 1728 draws give about 2% standard error
    BOOST_CHECK_CLOSE(standard_deviation(flat, 1728), std::sqrt(2.0 / (27 + 576)), 6.0);
    for (std::size_t i = 1728; i < 1728 + 64; ++i) BOOST_CHECK_EQUAL(flat(i), 0.0);
    for (std::size_t i = 1792; i < 1797; ++i) BOOST_CHECK_EQUAL(flat(i), 1.0);
    for (std::size_t i = 1797; i < 1802; ++i) BOOST_CHECK_EQUAL(flat(i), 0.0);
}

BOOST_AUTO_TEST_CASE(kaiming_and_normal_have_the_reference_standard_deviations) {
    const auto kaiming = initialize_parameters<double>(specs(), {"kaiming", 0.0}, 4);
    BOOST_CHECK_CLOSE(standard_deviation(kaiming, 1728), std::sqrt(2.0 / 27.0), 6.0);
    const auto normal = initialize_parameters<double>(specs(), {"normal", 0.1}, 5);
    BOOST_CHECK_CLOSE(standard_deviation(normal, 1728), 0.1, 6.0);
    const auto zero = initialize_parameters<double>(specs(), {"zero", 0.0}, 6);
    BOOST_CHECK_EQUAL(xt::sum(xt::abs(xt::view(zero, xt::range(0, 1792))))(), 0.0);
    const auto defaults = initialize_parameters<double>(specs(), {"default", 0.0}, 7);
    BOOST_CHECK_LE(xt::amax(xt::abs(defaults))(), 1.0);  // BN gamma is 1, the rest below 1/sqrt(27)
    BOOST_CHECK_LE(xt::amax(xt::abs(xt::view(defaults, xt::range(0, 1792))))(), 1.0 / std::sqrt(27.0));
    BOOST_CHECK_GT(xt::amax(xt::abs(xt::view(defaults, xt::range(1728, 1792))))(), 0.0);  // default keeps biases
}

BOOST_AUTO_TEST_CASE(same_seed_gives_same_parameters_and_unknown_type_is_rejected) {
    BOOST_CHECK(initialize_parameters<float>(specs(), {"xavier", 1.0}, 9) ==
                initialize_parameters<float>(specs(), {"xavier", 1.0}, 9));
    BOOST_CHECK(initialize_parameters<float>(specs(), {"xavier", 1.0}, 9) !=
                initialize_parameters<float>(specs(), {"xavier", 1.0}, 10));
    try {
        initialize_parameters<float>(specs(), {"orthonormal", 1.0}, 1);
        BOOST_FAIL("expected an exception");
    } catch (const std::invalid_argument& error) {
        BOOST_CHECK(std::string(error.what()).find("orthonormal") != std::string::npos);
        BOOST_CHECK(std::string(error.what()).find("orthogonal") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(orthogonal_weights_have_orthonormal_rows_or_columns_times_the_gain) {
    // a wide conv weight (8 x 27: rows orthonormal) and a tall linear weight (30 x 4: columns)
    const std::vector<parameter_spec> shapes = {{"conv", {8, 3, 3, 3}, parameter_role::weight, 27, 72},
                                                {"bias", {8}, parameter_role::bias, 27, 72},
                                                {"linear", {30, 4}, parameter_role::weight, 4, 30}};
    const double gain = 1.5;
    const auto flat = initialize_parameters<double>(shapes, {"orthogonal", gain}, 11);
    auto gram = [&](std::size_t offset, std::size_t rows, std::size_t cols, bool of_rows) {
        const std::size_t n = of_rows ? rows : cols;
        for (std::size_t a = 0; a < n; ++a)
            for (std::size_t b = 0; b < n; ++b) {
                double dot = 0.0;
                for (std::size_t k = 0; k < (of_rows ? cols : rows); ++k)
                    dot += of_rows ? flat(offset + a * cols + k) * flat(offset + b * cols + k)
                                   : flat(offset + k * cols + a) * flat(offset + k * cols + b);
                BOOST_CHECK_SMALL(dot - (a == b ? gain * gain : 0.0), 1e-12);
            }
    };
    gram(0, 8, 27, true);
    gram(8 * 27 + 8, 30, 4, false);
    for (std::size_t i = 216; i < 224; ++i) BOOST_CHECK_EQUAL(flat(i), 0.0);
    BOOST_CHECK(flat != initialize_parameters<double>(shapes, {"orthogonal", gain}, 12));
}
