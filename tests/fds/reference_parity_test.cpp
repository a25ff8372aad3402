#define BOOST_TEST_MODULE fds_reference_parity
#include <boost/test/unit_test.hpp>

// End to end, with nothing shared: the reference algorithm in PyTorch (scripts/reference_fds.py
// --fixture: the Z / C recursion with double-backward Hessian-vector products) and this library's
// forward-mode inner loop, from the same initial weights and batches, give the same
// hypergradients dL_val / dh of every bucket, in double, for LeNet and the BatchNorm CNN, with
// the clamps and pruning off and on. Both take the exact derivative D H Z of a clamped gradient.

#include <fds/inner_loop.hpp>
#include <fds/nn/models.hpp>
#include <fds/nn/npy.hpp>

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

namespace {

using fds::hyper_type;
const hyper_type all_types[] = {hyper_type::lr, hyper_type::mom, hyper_type::wd};

std::string fixture_file(const std::string& model, const std::string& name) {
    return std::string(FDS_FDS_FIXTURES) + "/reference_fds_" + model + "/" + name;
}

void check_model(const std::string& model, fds::nn::network<double> network) {
    const nlohmann::json fixture = nlohmann::json::parse(std::ifstream(fixture_file(model, "fixture.json")));
    const xt::xarray<double> initial = fds::nn::load_npy<double>(fixture_file(model, "initial.npy"));
    const xt::xarray<float> images = fds::nn::load_npy<float>(fixture_file(model, "images.npy"));
    const xt::xarray<int> labels = fds::nn::load_npy<int>(fixture_file(model, "labels.npy"));
    const std::size_t steps = fixture["steps"].get<std::size_t>();
    BOOST_REQUIRE(initial.size() == network.parameter_count());
    auto batch_at = [&](std::size_t step) {
        fds::data::batch batch;
        batch.images = xt::view(images, step);
        batch.labels = xt::view(labels, step);
        return batch;
    };
    const fds::hyper_values values{fixture["values"]["lr"].get<std::vector<double>>(),
                                   fixture["values"]["mom"].get<std::vector<double>>(),
                                   fixture["values"]["wd"].get<std::vector<double>>()};
    const fds::tangent_layout layout({values.lr.size(), values.mom.size(), values.wd.size()}, {true, true, true},
                                     steps);
    double largest_difference = 0.0;  // relative
    for (const nlohmann::json& reference : fixture["cases"]) {
        BOOST_TEST_CONTEXT(model << " " << reference["name"].get<std::string>()) {
            fds::inner_loop_options options;
            options.clamp_grads = !reference["clamp_grads"].is_null();
            options.clamp_grads_range = options.clamp_grads ? reference["clamp_grads"].get<double>() : 0.0;
            options.clamp_HZ = !reference["clamp_HZ"].is_null();
            options.clamp_HZ_range = options.clamp_HZ ? reference["clamp_HZ"].get<double>() : 0.0;
            options.pruning = fds::make_pruning_rule(reference["pruning"][0].get<std::string>(),
                                                     reference["pruning"][1].get<double>());
            const auto result = fds::run_inner_loop(network, initial, values, layout, options, batch_at);
            BOOST_REQUIRE(!result.diverged);
            const fds::data::batch validation = batch_at(steps);
            const xt::xarray<double> gradient =
                network
                    .loss_and_gradient(result.parameters.value(), xt::cast<double>(validation.images),
                                       validation.labels)
                    .gradient;
            for (hyper_type type : all_types) {
                const auto expected = reference["hypergradients"][std::string(fds::hyper_type_name(type))];
                for (std::size_t bucket = 0; bucket < values.of(type).size(); ++bucket) {
                    const xt::xarray<double> z = fds::autodiff::tangent(result.parameters, layout.slot(type, bucket));
                    const double ours = xt::sum(gradient * z)();
                    const double theirs = expected[bucket].get<double>();
                    BOOST_TEST_INFO(fds::hyper_type_name(type)
                                    << bucket << ": ours " << ours << ", PyTorch " << theirs);
                    BOOST_REQUIRE(std::abs(theirs) > 1e-12);  // every bucket is live, so none is 0
                    const double difference = std::abs(ours - theirs) / std::abs(theirs);
                    largest_difference = std::max(largest_difference, difference);
                    BOOST_TEST(difference <= 1e-10);
                }
            }
        }
    }
    BOOST_TEST_MESSAGE(model << ": largest relative difference from PyTorch " << largest_difference);
}

}  // namespace

BOOST_AUTO_TEST_CASE(lenet_hypergradients_equal_the_pytorch_reference_algorithm) {
    check_model("lenet", fds::nn::make_model<double>("LeNet", 1, 28, 28, 10));
}

BOOST_AUTO_TEST_CASE(batch_norm_cnn_hypergradients_equal_the_pytorch_reference_algorithm) {
    check_model("cnn", fds::nn::make_model<double>("CNN", 1, 8, 8, 10));
}
