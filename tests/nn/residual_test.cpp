#define BOOST_TEST_MODULE nn_residual
#include <boost/test/unit_test.hpp>

#include <fds/nn/batch_norm2d.hpp>
#include <fds/nn/conv2d.hpp>
#include <fds/nn/relu.hpp>
#include <fds/nn/residual.hpp>

#include "layer_check.hpp"

using namespace fds::nn;

namespace {
residual<double> identity_shortcut() {
    sequential<double> main;
    main << batch_norm2d(2) << relu() << conv2d(2, 2, 3, 1, 1, false);
    return residual<double>(main);
}
residual<double> projection_shortcut() {
    sequential<double> main, shortcut;
    main << conv2d(2, 3, 3, 2, 1, false) << relu() << conv2d(3, 3, 3, 1, 1, false);
    shortcut << conv2d(2, 3, 1, 2, 0, false);
    return residual<double>(main, shortcut);
}
}  // namespace

BOOST_AUTO_TEST_CASE(residual_gradients_match_central_difference) {
    testing::check_gradient_by_central_difference(identity_shortcut(), {2, 2, 4, 4}, mode::training, 1);
    testing::check_gradient_by_central_difference(projection_shortcut(), {2, 2, 5, 5}, mode::training, 2);
}

BOOST_AUTO_TEST_CASE(residual_dual_tangents_match_central_difference_of_gradients) {
    testing::check_dual_tangents_by_central_difference(identity_shortcut(), {2, 2, 4, 4}, mode::training, 3);
    testing::check_dual_tangents_by_central_difference(projection_shortcut(), {2, 2, 5, 5}, mode::training, 4);
}

BOOST_AUTO_TEST_CASE(residual_orders_main_then_shortcut_parameters_and_checks_shapes) {
    const auto specs = projection_shortcut().parameters({2, 5, 5});
    BOOST_REQUIRE_EQUAL(specs.size(), 3u);
    BOOST_CHECK((specs[2].shape == shape_type{3, 2, 1, 1}));
    sequential<double> main;
    main << conv2d(2, 3, 3, 1, 1);
    BOOST_CHECK_THROW(residual<double>(main).output_shape({2, 4, 4}), std::invalid_argument);
}
