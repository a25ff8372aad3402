#define BOOST_TEST_MODULE nn_cross_entropy
#include <boost/test/unit_test.hpp>

#include <fds/nn/cross_entropy.hpp>

#include "layer_check.hpp"

using namespace fds::nn;
using plain = xt::xarray<double>;

BOOST_AUTO_TEST_CASE(cross_entropy_gradient_matches_central_difference) {
    fds::autodiff::random_source random(1);
    const plain logits = testing::random_array({5, 4}, random, 3.0);
    const xt::xarray<int> labels{0, 3, 1, 1, 2};
    const auto result = softmax_cross_entropy(logits, labels);
    plain numeric = xt::zeros<double>(logits.shape());
    for (std::size_t i = 0; i < logits.size(); ++i) {
        plain plus = logits, minus = logits;
        plus.data()[i] += 1e-6;
        minus.data()[i] -= 1e-6;
        numeric.data()[i] =
            (softmax_cross_entropy(plus, labels).loss() - softmax_cross_entropy(minus, labels).loss()) / 2e-6;
    }
    testing::check_close(result.logit_gradient, numeric, 1e-7, "cross-entropy gradient");
}

BOOST_AUTO_TEST_CASE(cross_entropy_dual_tangents_match_central_difference_of_gradient) {
    fds::autodiff::random_source random(2);
    const plain logits = testing::random_array({5, 4}, random, 3.0);
    const xt::xarray<int> labels{0, 3, 1, 1, 2};
    std::vector<plain> directions{testing::random_array({5, 4}, random), testing::random_array({5, 4}, random)};
    const auto result = softmax_cross_entropy(testing::make_dual(logits, directions, 2), labels);
    for (std::size_t k = 0; k < 2; ++k) {
        const auto plus = softmax_cross_entropy(plain(logits + 1e-5 * directions[k]), labels);
        const auto minus = softmax_cross_entropy(plain(logits - 1e-5 * directions[k]), labels);
        testing::check_close(fds::autodiff::tangent(result.logit_gradient, k),
                             plain((plus.logit_gradient - minus.logit_gradient) / 2e-5), 1e-7, "gradient tangent");
        BOOST_CHECK_CLOSE(fds::autodiff::tangent(result.loss, k)(), (plus.loss() - minus.loss()) / 2e-5, 1e-5);
    }
}

BOOST_AUTO_TEST_CASE(cross_entropy_is_the_batch_mean_as_pytorch) {
    const auto logits = load_npy<float>(testing::fixture("cross_entropy_logits"));
    const xt::xarray<int> labels = load_npy<std::int32_t>(testing::fixture("cross_entropy_labels"));
    const auto result = softmax_cross_entropy(logits, labels);
    BOOST_CHECK_CLOSE(result.loss(), load_npy<float>(testing::fixture("cross_entropy_loss"))(), 1e-4);
    testing::check_close(result.logit_gradient, load_npy<float>(testing::fixture("cross_entropy_gradient")), 1e-6,
                         "cross-entropy gradient vs PyTorch");
}

BOOST_AUTO_TEST_CASE(cross_entropy_is_stable_for_large_logits_and_counts_correct_rows) {
    const plain logits{{1000.0, 0.0}, {0.0, 1000.0}, {5.0, 5.0}};
    const xt::xarray<int> labels{0, 0, 1};
    const auto result = softmax_cross_entropy(logits, labels);
    BOOST_CHECK_CLOSE(result.loss(), (0.0 + 1000.0 + std::log(2.0)) / 3.0, 1e-10);
    BOOST_CHECK_EQUAL(count_correct(logits, labels), 1u);  // the tie picks class 0
    BOOST_CHECK_THROW(softmax_cross_entropy(logits, xt::xarray<int>{0, 2, 1}), std::invalid_argument);
    BOOST_CHECK_THROW(softmax_cross_entropy(logits, xt::xarray<int>{0, 1}), std::invalid_argument);
}
