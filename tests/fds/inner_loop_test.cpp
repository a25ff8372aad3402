#define BOOST_TEST_MODULE fds_inner_loop
#include <boost/test/unit_test.hpp>

// Exactness of the forward-mode inner loop on a small MLP in double (clamps off unless said):
// hypergradients against central finite differences of the final validation loss, K tangents
// at once against K one-tangent runs, and against the reference's hand-derived Z / C recursion
// with Hessian-vector products, written out here.

#include <fds/hypergradient.hpp>
#include <fds/inner_loop.hpp>

#include "synthetic_dataset.hpp"

#include <cmath>

namespace {

using fds::hyper_type;
const hyper_type all_types[] = {hyper_type::lr, hyper_type::mom, hyper_type::wd};

struct setup {
    static constexpr std::size_t batch_size = 10;
    fds::data::dataset dataset = fds::testing::synthetic_dataset(60, 20, 7);
    fds::nn::network<double> network = fds::nn::make_mlp<double>(1, 4, 4, 3, {6});
    fds::data::batch_loader train{
        dataset, fds::data::split_part::train, fds::all_indices(40), batch_size, true, true, fds::data::augmentation{},
        11};
    fds::data::batch_loader validation{
        dataset,
        fds::data::split_part::train,
        std::vector<std::size_t>{40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59},
        batch_size,
        false,
        true,
        fds::data::augmentation{},
        12};
    xt::xarray<double> initial = network.initial_parameters({"xavier", 1.0, 1.0}, 3);
    fds::hyper_values schedules{{0.3, 0.25, 0.2, 0.1}, {0.5, 0.8}, {1e-3, 3e-3}};
    static constexpr std::size_t total_steps = 40;  // 10 epochs of 4 batches

    fds::data::batch batch_at(std::size_t step) const {
        return train.load(step / train.batches_per_epoch(), step % train.batches_per_epoch());
    }

    fds::inner_loop_result<double> run(const fds::hyper_values& values, const fds::tangent_layout& layout,
                                       const fds::inner_loop_options& options) {
        return fds::run_inner_loop(network, initial, values, layout, options,
                                   [&](std::size_t step) { return batch_at(step); });
    }

    double validation_loss(const xt::xarray<double>& parameters) {
        double sum = 0.0;
        for (std::size_t b = 0; b < validation.batches_per_epoch(); ++b) {
            auto batch = validation.load(0, b);
            sum += network.evaluate(parameters, xt::cast<double>(batch.images), batch.labels, fds::nn::mode::training)
                       .mean_loss();
        }
        return sum / static_cast<double>(validation.batches_per_epoch());
    }

    // dL_val / dh for every learned bucket: the hypergradients times the reference's divisor.
    fds::hyper_values raw_hypergradients(const fds::inner_loop_result<double>& result,
                                         const fds::tangent_layout& layout) {
        const auto gradient = fds::mean_validation_gradient(network, result.parameters.value(), validation);
        fds::hyper_values hypergradients =
            fds::hypergradients(result.parameters, gradient.gradient, layout, result.tangent_steps);
        for (hyper_type type : all_types)
            for (double& value : hypergradients.of(type))
                value *= static_cast<double>(result.tangent_steps[static_cast<std::size_t>(type)]) /
                         static_cast<double>(layout.bucket_count(type));
        return hypergradients;
    }
};

fds::inner_loop_options clamps_off() {
    fds::inner_loop_options options;
    options.clamp_grads = false;
    options.clamp_HZ = false;
    return options;
}

fds::tangent_layout full_layout() { return fds::tangent_layout({4, 2, 2}, {true, true, true}, setup::total_steps); }

double relative_error(double a, double b) { return std::abs(a - b) / std::max(std::abs(a) + std::abs(b), 1e-300) * 2; }

}  // namespace

BOOST_AUTO_TEST_CASE(every_hypergradient_matches_the_central_difference_of_the_validation_loss) {
    setup s;
    const auto layout = full_layout();
    const auto result = s.run(s.schedules, layout, clamps_off());
    BOOST_REQUIRE(!result.diverged);
    const auto hypergradients = s.raw_hypergradients(result, layout);
    const fds::tangent_layout no_tangents({4, 2, 2}, {false, false, false}, setup::total_steps);
    for (hyper_type type : all_types)
        for (std::size_t bucket = 0; bucket < s.schedules.of(type).size(); ++bucket) {
            const double h = s.schedules.of(type)[bucket];
            const double step = 1e-5 * std::max(std::abs(h), 1e-2);
            fds::hyper_values up = s.schedules, down = s.schedules;
            up.of(type)[bucket] = h + step;
            down.of(type)[bucket] = h - step;
            const double difference = (s.validation_loss(s.run(up, no_tangents, clamps_off()).parameters.value()) -
                                       s.validation_loss(s.run(down, no_tangents, clamps_off()).parameters.value())) /
                                      (2 * step);
            const double forward_mode = hypergradients.of(type)[bucket];
            BOOST_TEST_INFO(fds::hyper_type_name(type)
                            << bucket << ": forward mode " << forward_mode << ", central difference " << difference);
            BOOST_TEST_MESSAGE(fds::hyper_type_name(type)
                               << bucket << ": forward mode " << forward_mode << ", relative error "
                               << relative_error(forward_mode, difference));
            BOOST_TEST(relative_error(forward_mode, difference) <= 1e-6);
            BOOST_TEST(std::abs(forward_mode) > 1e-8);  // a real signal, not two zeros
        }
}

BOOST_AUTO_TEST_CASE(k_tangents_at_once_equal_k_single_tangent_runs) {
    setup s;
    fds::inner_loop_options options;  // the reference's clamps on: still slot by slot independent
    options.clamp_grads_range = 0.05;
    options.clamp_HZ_range = 0.05;
    const auto layout = full_layout();
    const auto together = s.run(s.schedules, layout, options);
    for (std::size_t slot = 0; slot < layout.tangent_count(); ++slot) {
        const auto owner = layout.owner(slot);
        std::vector<std::vector<bool>> learned{std::vector<bool>(4, false), std::vector<bool>(2, false),
                                               std::vector<bool>(2, false)};
        learned[static_cast<std::size_t>(owner.type)][owner.bucket] = true;
        const fds::tangent_layout single({4, 2, 2}, learned, setup::total_steps);
        const auto alone = s.run(s.schedules, single, options);
        BOOST_TEST(alone.parameters.value() == together.parameters.value());
        const xt::xarray<double> expected = fds::autodiff::tangent(together.parameters, slot);
        const xt::xarray<double> found = fds::autodiff::tangent(alone.parameters, 0);
        BOOST_TEST_INFO(fds::hyper_type_name(owner.type) << owner.bucket);
        BOOST_TEST(xt::amax(xt::abs(expected))() > 0.0);
        BOOST_TEST((found == expected));  // bitwise: double GEMMs sum in a fixed order (autodiff/blas.hpp)
    }
}

namespace {

// The reference's forward-mode recursion (polo5/FDS MetaLearner.inner_loop), one Z and one C per
// type with a column per bucket, H Z by one Hessian-vector product per live column (here: the
// network's backward on a one-tangent dual, in double).
struct reference_recursion {
    std::array<std::size_t, 3> updates{};
    xt::xarray<double> theta;
    std::array<xt::xarray<double>, 3> Z, C;  // [n_X, P]: column j of the reference is row j here

    reference_recursion(setup& s, const fds::hyper_values& h, bool clamp_hz, double clamp_hz_range,
                        const fds::pruning_rule& pruning) {
        const std::size_t T = setup::total_steps, P = s.initial.size();
        theta = s.initial;
        xt::xarray<double> velocity = xt::zeros<double>({P});
        for (hyper_type type : all_types) {
            Z[static_cast<std::size_t>(type)] = xt::zeros<double>({h.of(type).size(), P});
            C[static_cast<std::size_t>(type)] = xt::zeros<double>({h.of(type).size(), P});
        }
        for (std::size_t t = 0; t < T; ++t) {
            const auto hy = fds::hypers_at(h, t, T);
            auto batch = s.batch_at(t);
            const xt::xarray<double> images = xt::cast<double>(batch.images);
            const xt::xarray<double> g = s.network.loss_and_gradient(theta, images, batch.labels).gradient;
            auto hessian_times = [&](const xt::xarray<double>& z) {
                xt::xarray<double> block = xt::reshape_view(z, {std::size_t{1}, P});
                fds::autodiff::dual_tensor<double> dual_theta(theta, block, 1);
                return xt::xarray<double>(
                    fds::autodiff::tangent(s.network.loss_and_gradient(dual_theta, images, batch.labels).gradient, 0));
            };
            const double lr = hy.lr, mom = hy.mom, wd = hy.wd;
            for (hyper_type type : all_types) {
                const auto i = static_cast<std::size_t>(type);
                if (pruning.is_pruned(t, T, h.of(type).size())) continue;
                ++updates[i];
                const std::size_t active = hy.bucket(type);
                xt::xarray<double> HZ = xt::zeros<double>(Z[i].shape());
                for (std::size_t j = 0; j <= active; ++j) xt::row(HZ, j) = hessian_times(xt::row(Z[i], j));
                if (clamp_hz) HZ = xt::clip(HZ, -clamp_hz_range, clamp_hz_range);
                xt::xarray<double> new_Z = (1 - lr * wd) * Z[i] - lr * HZ - mom * lr * C[i];
                xt::xarray<double> new_C = mom * C[i] + HZ + wd * Z[i];
                if (type == hyper_type::lr) {
                    xt::row(new_Z, active) -= g + wd * theta + mom * velocity;
                } else if (type == hyper_type::mom) {
                    xt::row(new_Z, active) -= lr * velocity;
                    xt::row(new_C, active) += velocity;
                } else {
                    xt::row(new_Z, active) -= lr * theta;
                    xt::row(new_C, active) += theta;
                }
                Z[i] = new_Z;
                C[i] = new_C;
            }
            velocity = mom * velocity + g + wd * theta;
            theta = theta - lr * velocity;
        }
    }
};

void check_against_reference(const fds::inner_loop_options& options) {
    setup s;
    const auto layout = full_layout();
    const auto ours = s.run(s.schedules, layout, options);
    const reference_recursion reference(s, s.schedules, options.clamp_HZ, options.clamp_HZ_range, options.pruning);
    BOOST_TEST(xt::amax(xt::abs(ours.parameters.value() - reference.theta))() <= 1e-12);
    for (hyper_type type : all_types) {
        const auto i = static_cast<std::size_t>(type);
        BOOST_TEST(ours.tangent_steps[i] == reference.updates[i]);
        for (std::size_t bucket = 0; bucket < s.schedules.of(type).size(); ++bucket) {
            const xt::xarray<double> expected = xt::row(reference.Z[i], bucket);
            const xt::xarray<double> found = fds::autodiff::tangent(ours.parameters, layout.slot(type, bucket));
            const double scale = xt::amax(xt::abs(expected))();
            BOOST_TEST_INFO(fds::hyper_type_name(type) << bucket << " scale " << scale);
            BOOST_TEST(scale > 0.0);
            BOOST_TEST(xt::amax(xt::abs(found - expected))() <= 1e-10 * scale);
        }
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(dual_training_equals_the_reference_hand_derived_recursion) {
    check_against_reference(clamps_off());
}

BOOST_AUTO_TEST_CASE(clamp_hz_equals_the_reference_clamp_of_the_hessian_term) {
    auto options = clamps_off();
    options.clamp_HZ = true;
    options.clamp_HZ_range = 0.02;  // small enough to clamp many entries
    check_against_reference(options);
}

BOOST_AUTO_TEST_CASE(pruned_steps_leave_z_and_c_of_their_type_as_the_reference) {
    for (const auto& [mode, ratio] :
         {std::pair<const char*, double>{"alternate", 0.5}, {"alternate", 0.25}, {"truncate", 0.3}}) {
        BOOST_TEST_CONTEXT(mode << " " << ratio) {
            auto options = clamps_off();
            options.pruning = fds::make_pruning_rule(mode, ratio);
            check_against_reference(options);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_non_finite_loss_stops_the_run_and_marks_it_diverged) {
    setup s;
    fds::hyper_values exploding = s.schedules;
    exploding.lr = {1e300, 1e300, 1e300, 1e300};
    const auto result = s.run(exploding, full_layout(), clamps_off());
    BOOST_TEST(result.diverged);
    BOOST_TEST(result.steps_run < setup::total_steps);
}
