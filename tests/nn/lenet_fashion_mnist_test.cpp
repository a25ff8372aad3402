// Plain training of LeNet on the real Fashion-MNIST (Debian's dataset-fashion-mnist) for one epoch:
// xavier init, SGD lr 0.1, momentum 0.9, no weight decay, batch 256, shuffled with a seed.
//
// PyTorch 1.13 on the same setup (scripts/bench_pytorch_nn.py fashion-mnist --seed S):
// test accuracy 0.758 (seed 0), 0.722 (seed 1), 0.805 (seed 2) -- lr 0.1 with momentum 0.9 is
// aggressive, so one epoch lands anywhere in about [0.70, 0.82]. This library, seed 0: 0.776.
// The test requires at least 0.70, far above the 0.10 of chance.
#define BOOST_TEST_MODULE nn_lenet_fashion_mnist
#include <boost/test/unit_test.hpp>

#include <numeric>

#include <fds/data/batch_loader.hpp>
#include <fds/data/dataset.hpp>
#include <fds/nn/models.hpp>
#include <fds/nn/sgd.hpp>

using namespace fds::nn;
namespace data = fds::data;

namespace {

// The whole test split as one normalized batch, for evaluation.
data::batch whole_test_split(const data::dataset& fashion) {
    std::vector<std::size_t> all(fashion.test_labels.size());
    std::iota(all.begin(), all.end(), 0);
    const data::batch_loader test(fashion, data::split_part::test, all, all.size(), /*shuffle*/ false,
                                  /*drop_last*/ false, data::augmentation_for("FashionMNIST"), 0);
    return test.load(0, 0);
}

}  // namespace

BOOST_AUTO_TEST_CASE(lenet_reaches_pytorch_accuracy_after_one_epoch_of_fashion_mnist) {
    const data::dataset fashion = data::load_dataset("FashionMNIST", "");
    BOOST_REQUIRE_EQUAL(fashion.train_labels.size(), 60000u);
    std::vector<std::size_t> all(fashion.train_labels.size());
    std::iota(all.begin(), all.end(), 0);
    // Batches as PyTorch's DataLoader(shuffle=True) makes them: the last, partial batch is kept.
    const data::batch_loader train(fashion, data::split_part::train, all, 256, /*shuffle*/ true,
                                   /*drop_last*/ false, data::augmentation_for("FashionMNIST"), 0);

    auto net = make_model<float>("LeNet", 1, 28, 28, 10);
    auto theta = net.initial_parameters({"xavier", 1.0}, 0);
    xt::xarray<float> velocity = xt::zeros<float>(theta.shape());
    double last_losses = 0.0;
    const std::size_t steps = train.batches_per_epoch();
    BOOST_CHECK_EQUAL(steps, 235u);
    for (std::size_t b = 0; b < steps; ++b) {
        const data::batch next = train.load(0, b);
        const auto step = net.loss_and_gradient(theta, next.images, next.labels);
        BOOST_REQUIRE(std::isfinite(step.loss()));
        sgd_step(theta, velocity, step.gradient, 0.1f, 0.9f, 0.0f);
        if (b + 20 >= steps) last_losses += step.loss();
    }
    const data::batch test = whole_test_split(fashion);
    const auto result = net.evaluate(theta, test.images, test.labels, mode::evaluation);
    BOOST_TEST_MESSAGE("LeNet Fashion-MNIST one epoch: test accuracy " << result.accuracy() << ", mean training loss "
                                                                       << "of the last 20 batches "
                                                                       << last_losses / 20);
    BOOST_CHECK_EQUAL(result.count, 10000u);
    BOOST_CHECK_GE(result.accuracy(), 0.70);  // measured 0.7345 (Intel Xeon), 0.776 (AMD EPYC)
}
