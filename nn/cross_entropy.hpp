// Softmax cross-entropy with mean reduction over the batch, as torch.nn.functional.cross_entropy,
// and the count of correct top-1 predictions.
//
// For logits z [N, classes] and labels t:  L = (1/N) sum_n (log sum_j exp(z[n,j]) - z[n, t_n]).
// The row maximum of the value is subtracted first (a plain constant: softmax is shift-invariant,
// so no derivative changes). Gradient: dL/dz = (softmax(z) - onehot(t)) / N; on duals its tangents
// are (1/N) d softmax(z), i.e. the softmax Hessian times the logits' tangents.
#pragma once

#include <fds/autodiff/autodiff.hpp>

#include <fds/nn/layer.hpp>

namespace fds::nn {

template <class Tensor>
struct cross_entropy_result {
    Tensor loss;  // 0-d
    Tensor logit_gradient;  // [N, classes], dL/dz
};

// Mean softmax cross-entropy of `logits` [N, classes] against integer `labels` [N] and its gradient.
// Throws std::invalid_argument when the shapes disagree or a label is outside [0, classes).
template <class Tensor>
cross_entropy_result<Tensor> softmax_cross_entropy(const Tensor& logits, const xt::xarray<int>& labels);

// Number of rows whose largest logit (first one on ties) is at the label.
template <class Scalar>
std::size_t count_correct(const xt::xarray<Scalar>& logits, const xt::xarray<int>& labels);

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

namespace detail {

inline void check_logits_and_labels(const shape_type& logits, const xt::xarray<int>& labels) {
    if (logits.size() != 2 || labels.dimension() != 1 || labels.shape()[0] != logits[0]) {
        throw std::invalid_argument("cross_entropy: expected logits [N, classes] and labels [N], found logits " +
                                    shape_string(logits) + " and labels " +
                                    shape_string(shape_type(labels.shape().begin(), labels.shape().end())));
    }
    for (std::size_t n = 0; n < labels.size(); ++n) {
        if (labels(n) < 0 || static_cast<std::size_t>(labels(n)) >= logits[1]) {
            throw std::invalid_argument("cross_entropy: label " + std::to_string(labels(n)) + " at row " +
                                        std::to_string(n) + " outside [0, " + std::to_string(logits[1]) + ")");
        }
    }
}

}  // namespace detail

template <class Tensor>
cross_entropy_result<Tensor> softmax_cross_entropy(const Tensor& logits, const xt::xarray<int>& labels) {
    using scalar = scalar_of<Tensor>;
    const shape_type shape(logits.shape().begin(), logits.shape().end());
    detail::check_logits_and_labels(shape, labels);
    const std::size_t rows = shape[0];
    const std::size_t classes = shape[1];

    const auto& value = autodiff::value(logits);
    xt::xarray<scalar> row_maximum = xt::xarray<scalar>::from_shape({rows, 1});
    xt::xarray<std::size_t> label_positions = xt::xarray<std::size_t>::from_shape({rows});
    xt::xarray<scalar> one_hot = xt::zeros<scalar>({rows, classes});
    for (std::size_t n = 0; n < rows; ++n) {
        scalar maximum = value.data()[n * classes];
        for (std::size_t j = 1; j < classes; ++j) maximum = std::max(maximum, value.data()[n * classes + j]);
        row_maximum.data()[n] = maximum;
        label_positions(n) = n * classes + static_cast<std::size_t>(labels(n));
        one_hot.data()[label_positions(n)] = scalar(1);
    }

    Tensor shifted(logits - row_maximum);
    Tensor exponentials = autodiff::exp(shifted);
    Tensor normalizer = autodiff::sum(exponentials, {1}, true);  // [N, 1]
    // log-sum-exp minus the label's logit, both on the shifted logits
    Tensor per_row(autodiff::reshape(autodiff::log(normalizer), {rows}) -
                   autodiff::gather_flat(shifted, label_positions));
    cross_entropy_result<Tensor> result;
    result.loss = autodiff::mean(per_row);
    result.logit_gradient = Tensor((exponentials / normalizer - one_hot) * (scalar(1) / static_cast<scalar>(rows)));
    return result;
}

template <class Scalar>
std::size_t count_correct(const xt::xarray<Scalar>& logits, const xt::xarray<int>& labels) {
    const shape_type shape(logits.shape().begin(), logits.shape().end());
    detail::check_logits_and_labels(shape, labels);
    const std::size_t classes = shape[1];
    std::size_t correct = 0;
    for (std::size_t n = 0; n < shape[0]; ++n) {
        const Scalar* row = logits.data() + n * classes;
        std::size_t best = 0;
        for (std::size_t j = 1; j < classes; ++j) {
            if (row[j] > row[best]) best = j;
        }
        if (best == static_cast<std::size_t>(labels(n))) ++correct;
    }
    return correct;
}

}  // namespace fds::nn
