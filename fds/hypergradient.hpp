#pragma once
// Hypergradients from the end of an inner run, as the reference's outer_step:
//
//     grad_val  = mean over validation batches of grad_theta L_val(theta_T)   (training mode:
//                 batch statistics, as the reference evaluates inside hyper-training)
//     hg_X[j]   = (grad_val . Z_T[:, slot(X, j)]) / (tangent_steps_X / n_X)
//
// The divisor is the reference's: the number of steps on which X's tangents were updated
// (all steps without pruning), divided by the number of buckets n_X, i.e. the average number
// of steps per bucket; it is the exact per-bucket count whenever n_X divides T.

#include <array>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>

#include <xtensor/xarray.hpp>

#include <fds/autodiff/dual_tensor.hpp>
#include <fds/autodiff/reduction.hpp>
#include <fds/distributed/communicator.hpp>
#include <fds/run_setup.hpp>
#include <fds/schedule.hpp>
#include <fds/nn/network.hpp>

namespace fds {

template <class Scalar>
struct validation_gradient {
    xt::xarray<Scalar> gradient;  // [P], mean over batches
    double loss = 0.0;  // mean over batches
    std::size_t batches = 0;
};

// Mean gradient of the training-mode validation loss over the batches of `loader` (epoch 0), the
// batches split over the ranks of `group` (data_parallel.hpp).
template <class Scalar, class Loader>
validation_gradient<Scalar> mean_validation_gradient(
    nn::network<Scalar>& network, const xt::xarray<Scalar>& parameters, const Loader& loader,
    const distributed::communicator& group = distributed::single_process());

// grad_val . Z for every learned bucket, normalized per type as the reference; types that are not
// learned get empty vectors. A type with no tangent steps gets NaN (0 / 0, sign 0 downstream).
template <class Scalar>
hyper_values hypergradients(const autodiff::dual_tensor<Scalar>& final_parameters,
                            const xt::xarray<Scalar>& validation_gradient, const tangent_layout& layout,
                            const std::array<std::size_t, hyper_type_count>& tangent_steps);

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

template <class Scalar, class Loader>
validation_gradient<Scalar> mean_validation_gradient(nn::network<Scalar>& network, const xt::xarray<Scalar>& parameters,
                                                     const Loader& loader, const distributed::communicator& group) {
    validation_gradient<Scalar> result;
    result.gradient = xt::zeros<Scalar>(parameters.shape());
    result.batches = loader.batches_per_epoch();
    if (result.batches == 0)
        throw std::invalid_argument("hypergradient: the validation split yields no batch (" +
                                    std::to_string(loader.image_count()) + " images, batch size " +
                                    std::to_string(loader.batch_size()) + ")");
    for (std::size_t b = group.rank(); b < result.batches; b += group.size()) {
        auto batch = loader.load(0, b);
        auto trained = network.loss_and_gradient(parameters, images_as<Scalar>(std::move(batch.images)), batch.labels);
        result.gradient += trained.gradient;
        result.loss += static_cast<double>(trained.loss());
    }
    if (group.size() > 1) {
        group.sum(result.gradient.data(), result.gradient.size());
        group.sum(&result.loss, 1);
    }
    result.gradient /= static_cast<Scalar>(result.batches);
    result.loss /= static_cast<double>(result.batches);
    return result;
}

template <class Scalar>
hyper_values hypergradients(const autodiff::dual_tensor<Scalar>& final_parameters,
                            const xt::xarray<Scalar>& validation_gradient, const tangent_layout& layout,
                            const std::array<std::size_t, hyper_type_count>& tangent_steps) {
    const xt::xarray<Scalar> projections = autodiff::project_tangents(final_parameters, validation_gradient);
    hyper_values result;
    for (hyper_type type : {hyper_type::lr, hyper_type::mom, hyper_type::wd})
        if (layout.learned(type))
            result.of(type).assign(layout.bucket_count(type), std::numeric_limits<double>::quiet_NaN());
    for (std::size_t slot = 0; slot < layout.tangent_count(); ++slot) {
        const auto& owner = layout.owner(slot);
        const double steps_per_bucket = static_cast<double>(tangent_steps[static_cast<std::size_t>(owner.type)]) /
                                        static_cast<double>(layout.bucket_count(owner.type));
        result.of(owner.type)[owner.bucket] = static_cast<double>(projections(slot)) / steps_per_bucket;
    }
    return result;
}

}  // namespace fds
