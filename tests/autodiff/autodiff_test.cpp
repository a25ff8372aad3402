#define BOOST_TEST_MODULE autodiff_all_operations
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include <fds/autodiff/autodiff.hpp>

#include "test_support.hpp"

using namespace fds::autodiff;
using fds::autodiff::testing::array_random_source;
namespace ad = fds::autodiff;
using xt::xarray;

namespace {
// Runs `operation` on plain inputs and on the same inputs as constant duals with K slots
// (so L = 0); the dual result must carry the plain value exactly, K slots and no live one.
template <class Operation>
void check_constant_duals(const std::string& name, const std::vector<xarray<double>>& inputs, Operation operation) {
    const xarray<double> expected = operation(inputs);
    for (std::size_t tangent_count : {std::size_t(0), std::size_t(3)}) {
        std::vector<dual_tensor<double>> duals;
        for (const auto& input : inputs) {
            duals.emplace_back(input, tangent_count);
        }
        const dual_tensor<double> result = operation(duals);
        BOOST_TEST_CONTEXT(name << " with K = " << tangent_count) {
            BOOST_TEST(testing::exactly_equal(result.value(), expected));
            BOOST_TEST(result.live_tangents() == 0u);
            BOOST_TEST(result.tangent_count() == tangent_count);
            BOOST_TEST(testing::exactly_equal(tangents(result),
                                              xt::zeros<double>(detail::block_shape(tangent_count, expected.shape()))));
        }
    }
}
}  // namespace

BOOST_AUTO_TEST_CASE(every_operation_on_duals_without_live_tangents_gives_the_plain_value) {
    array_random_source random(11);
    const xarray<double> a = random.uniform_array({4, 3, 5, 5}, 0.5, 2.0);
    const xarray<double> b = random.uniform_array({4, 3, 5, 5}, 0.5, 2.0);
    const xarray<double> channel = random.uniform_array({1, 3, 1, 1}, 0.5, 2.0);
    const xarray<double> m = random.uniform_array({6, 4}, -1.0, 1.0);
    const xarray<double> n = random.uniform_array({4, 5}, -1.0, 1.0);
    const xarray<double> batch_m = random.uniform_array({2, 6, 4}, -1.0, 1.0);
    const xarray<double> batch_n = random.uniform_array({2, 4, 5}, -1.0, 1.0);
    const xarray<double> flat = random.uniform_array({40}, -1.0, 1.0);
    const xt::xarray<std::size_t> indices = {{3, 1, 4}, {1, 5, 9}};
    const conv_geometry geometry = ad::make_conv_geometry(4, 3, 5, 5, 2, 3, 1, 1);

#define CHECK_OPERATION(inputs, expression)                         \
    check_constant_duals(#expression, inputs, [&](const auto& in) { \
        using tensor = std::decay_t<decltype(in[0])>;               \
        return tensor(expression);                                  \
    })

    CHECK_OPERATION((std::vector<xarray<double>>{a, b}), in[0] + in[1]);
    CHECK_OPERATION((std::vector<xarray<double>>{a, b}), in[0] - in[1]);
    CHECK_OPERATION((std::vector<xarray<double>>{a, b}), in[0] * in[1]);
    CHECK_OPERATION((std::vector<xarray<double>>{a, b}), in[0] / in[1]);
    CHECK_OPERATION((std::vector<xarray<double>>{a, channel}), in[0] + in[1]);
    CHECK_OPERATION((std::vector<xarray<double>>{a, channel}), in[0] * in[1]);
    CHECK_OPERATION((std::vector<xarray<double>>{channel, a}), in[0] / in[1]);
    CHECK_OPERATION((std::vector<xarray<double>>{a, channel}), in[0] - in[1]);
    CHECK_OPERATION((std::vector<xarray<double>>{a}), in[0] * channel);
    CHECK_OPERATION((std::vector<xarray<double>>{a}), channel - in[0]);
    CHECK_OPERATION((std::vector<xarray<double>>{a}), in[0] * 2.5);
    CHECK_OPERATION((std::vector<xarray<double>>{a}), 2.5 / in[0]);
    CHECK_OPERATION((std::vector<xarray<double>>{a}), -in[0]);
    CHECK_OPERATION((std::vector<xarray<double>>{a}), ad::exp(in[0]));
    CHECK_OPERATION((std::vector<xarray<double>>{a}), ad::log(in[0]));
    CHECK_OPERATION((std::vector<xarray<double>>{a}), ad::sqrt(in[0]));
    CHECK_OPERATION((std::vector<xarray<double>>{a}), ad::pow(in[0], 1.5));
    CHECK_OPERATION((std::vector<xarray<double>>{a}), ad::tanh(in[0]));
    CHECK_OPERATION((std::vector<xarray<double>>{a}), ad::sigmoid(in[0]));
    CHECK_OPERATION((std::vector<xarray<double>>{a, a - 1.0}), ad::relu(in[1]));
    CHECK_OPERATION((std::vector<xarray<double>>{a, a - 1.0}), ad::abs(in[1]));
    CHECK_OPERATION((std::vector<xarray<double>>{a}), ad::square(in[0]));
    CHECK_OPERATION((std::vector<xarray<double>>{a}), ad::clamp(in[0], 0.8, 1.5));
    CHECK_OPERATION((std::vector<xarray<double>>{a}), ad::clamp_tangents(in[0], -1.0, 1.0));
    CHECK_OPERATION((std::vector<xarray<double>>{a, b}), ad::maximum(in[0], in[1]));
    CHECK_OPERATION((std::vector<xarray<double>>{a, b}), ad::minimum(in[0], in[1]));
    CHECK_OPERATION((std::vector<xarray<double>>{a}), ad::sum(in[0]));
    CHECK_OPERATION((std::vector<xarray<double>>{a}), ad::mean(in[0]));
    for (bool keep_dims : {false, true}) {
        CHECK_OPERATION((std::vector<xarray<double>>{a}), ad::sum(in[0], {0, 2, 3}, keep_dims));
        CHECK_OPERATION((std::vector<xarray<double>>{a}), ad::sum(in[0], {0}, keep_dims));
        CHECK_OPERATION((std::vector<xarray<double>>{a}), ad::sum(in[0], {3, 1}, keep_dims));
        CHECK_OPERATION((std::vector<xarray<double>>{a}), ad::mean(in[0], {0, 2, 3}, keep_dims));
        CHECK_OPERATION((std::vector<xarray<double>>{m}), ad::sum(in[0], {1}, keep_dims));
        CHECK_OPERATION((std::vector<xarray<double>>{m}), ad::mean(in[0], {0}, keep_dims));
    }
    CHECK_OPERATION((std::vector<xarray<double>>{a}), ad::reshape(in[0], {12, 25}));
    CHECK_OPERATION((std::vector<xarray<double>>{a}), ad::flatten(in[0]));
    CHECK_OPERATION((std::vector<xarray<double>>{a}), ad::transpose(in[0], {1, 0, 3, 2}));
    CHECK_OPERATION((std::vector<xarray<double>>{flat}), ad::slice_flat(in[0], 7, {3, 4}));
    CHECK_OPERATION((std::vector<xarray<double>>{m, n}), ad::matmul(in[0], in[1]));
    CHECK_OPERATION((std::vector<xarray<double>>{m, m}), ad::matmul(in[0], in[1], true, false));
    CHECK_OPERATION((std::vector<xarray<double>>{n, n}), ad::matmul(in[0], in[1], false, true));
    CHECK_OPERATION((std::vector<xarray<double>>{m}), ad::matmul(in[0], n));
    CHECK_OPERATION((std::vector<xarray<double>>{n}), ad::matmul(m, in[0]));
    CHECK_OPERATION((std::vector<xarray<double>>{batch_m, batch_n}), ad::batched_matmul(in[0], in[1]));
    CHECK_OPERATION((std::vector<xarray<double>>{batch_m}), ad::batched_matmul(in[0], batch_n));
    CHECK_OPERATION((std::vector<xarray<double>>{a}), ad::im2col(in[0], geometry));
    CHECK_OPERATION((std::vector<xarray<double>>{a}), ad::col2im(ad::im2col(in[0], geometry), geometry));
    CHECK_OPERATION((std::vector<xarray<double>>{flat}), ad::gather_flat(in[0], indices));
    CHECK_OPERATION((std::vector<xarray<double>>{m}),
                    ad::scatter_add_flat(ad::gather_flat(in[0], indices), indices, {3, 4}));
    CHECK_OPERATION((std::vector<xarray<double>>{flat, flat}),
                    concatenate_flat(std::vector<std::decay_t<decltype(in[0])>>{in[0], in[1]}));
#undef CHECK_OPERATION
}

BOOST_AUTO_TEST_CASE(in_place_updates_and_projection_on_duals_without_live_tangents) {
    array_random_source random(12);
    const xarray<double> a = random.uniform_array({5, 4}, -1.0, 1.0);
    const xarray<double> b = random.uniform_array({5, 4}, -1.0, 1.0);
    const xarray<double> flat = random.uniform_array({30}, -1.0, 1.0);
    for (std::size_t tangent_count : {std::size_t(0), std::size_t(3)}) {
        dual_tensor<double> target(a, tangent_count);
        target += dual_tensor<double>(b, tangent_count);
        BOOST_TEST(testing::exactly_equal(target.value(), xarray<double>(a + b)));
        target -= dual_tensor<double>(b, tangent_count);
        BOOST_TEST(target.live_tangents() == 0u);

        dual_tensor<double> flat_target(flat, tangent_count);
        xarray<double> plain_target = flat;
        add_into_flat(flat_target, 3, dual_tensor<double>(a, tangent_count));
        add_into_flat(plain_target, 3, a);
        BOOST_TEST(testing::exactly_equal(flat_target.value(), plain_target));
        BOOST_TEST(flat_target.live_tangents() == 0u);

        const xarray<double> projection = project_tangents(target, b);
        BOOST_TEST(testing::exactly_equal(projection, xt::zeros<double>({tangent_count})));
        BOOST_TEST(testing::exactly_equal(positive_mask(target), positive_mask(value(target))));

        const dual_scalar<double> scale(2.0, tangent_count);
        BOOST_TEST(testing::exactly_equal((target * scale).value(), xarray<double>(value(target) * 2.0)));
        BOOST_TEST((scale - target).live_tangents() == 0u);
    }
}
