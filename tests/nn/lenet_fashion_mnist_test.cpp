// Plain training of LeNet on the real Fashion-MNIST (Debian's dataset-fashion-mnist) for one epoch:
// xavier init, SGD lr 0.1, momentum 0.9, no weight decay, batch 256, shuffled with a seed.
//
// PyTorch 1.13 on the same setup (scripts/bench_pytorch_nn.py fashion-mnist --seed S):
// test accuracy 0.758 (seed 0), 0.722 (seed 1), 0.805 (seed 2) -- lr 0.1 with momentum 0.9 is
// aggressive, so one epoch lands anywhere in about [0.70, 0.82]. This library, seed 0: 0.822.
// The test requires at least 0.70, far above the 0.10 of chance.
#define BOOST_TEST_MODULE nn_lenet_fashion_mnist
#include <boost/test/unit_test.hpp>

#include <numeric>

#include <zlib.h>

#include <nn/models.hpp>
#include <nn/random.hpp>
#include <nn/sgd.hpp>

using namespace fds::nn;

namespace {

const std::string dataset_directory = "/usr/share/datasets/fashion-mnist/";

// IDX file (gzip): magic 0x0000TTDD (TT = 0x08 unsigned bytes, DD = dimension count), big-endian
// 32-bit extents, then the bytes.
std::vector<unsigned char> read_idx(const std::string& path, std::vector<std::size_t>& shape) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw std::runtime_error("cannot open " + path);
  std::vector<unsigned char> bytes;
  unsigned char buffer[1 << 16];
  int read = 0;
  while ((read = gzread(file, buffer, sizeof(buffer))) > 0) bytes.insert(bytes.end(), buffer, buffer + read);
  gzclose(file);
  if (bytes.size() < 4 || bytes[2] != 0x08) throw std::runtime_error(path + ": not an unsigned-byte IDX file");
  const std::size_t dimensions = bytes[3];
  shape.clear();
  for (std::size_t d = 0; d < dimensions; ++d) {
    const unsigned char* p = bytes.data() + 4 + 4 * d;
    shape.push_back((std::size_t(p[0]) << 24) | (std::size_t(p[1]) << 16) | (std::size_t(p[2]) << 8) | p[3]);
  }
  return std::vector<unsigned char>(bytes.begin() + 4 + 4 * static_cast<std::ptrdiff_t>(dimensions), bytes.end());
}

struct split {
  xt::xarray<float> images;  // [N, 1, 28, 28], normalized with the reference's MNIST constants
  xt::xarray<int> labels;
};

split load(const std::string& prefix) {
  std::vector<std::size_t> image_shape, label_shape;
  const auto pixels = read_idx(dataset_directory + prefix + "-images-idx3-ubyte.gz", image_shape);
  const auto labels = read_idx(dataset_directory + prefix + "-labels-idx1-ubyte.gz", label_shape);
  split result{xt::xarray<float>::from_shape({image_shape[0], 1, image_shape[1], image_shape[2]}),
               xt::xarray<int>::from_shape({label_shape[0]})};
  for (std::size_t i = 0; i < pixels.size(); ++i) {
    result.images.data()[i] = (static_cast<float>(pixels[i]) / 255.0f - 0.1307f) / 0.3081f;
  }
  for (std::size_t i = 0; i < labels.size(); ++i) result.labels(i) = labels[i];
  return result;
}

}  // namespace

BOOST_AUTO_TEST_CASE(lenet_reaches_pytorch_accuracy_after_one_epoch_of_fashion_mnist) {
  const split train = load("train");
  const split test = load("t10k");
  BOOST_REQUIRE_EQUAL(train.images.shape()[0], 60000u);

  auto net = make_model<float>("LeNet", 1, 28, 28, 10);
  auto theta = net.initial_parameters({"xavier", 1.0}, 0);
  xt::xarray<float> velocity = xt::zeros<float>(theta.shape());

  // Fisher-Yates with the portable random source
  std::vector<std::size_t> order(train.labels.size());
  std::iota(order.begin(), order.end(), 0);
  random_source random(0);
  for (std::size_t i = order.size() - 1; i > 0; --i) {
    std::swap(order[i], order[static_cast<std::size_t>(random.uniform() * static_cast<double>(i + 1))]);
  }
  const std::size_t batch_size = 256;
  const std::size_t sample = 28 * 28;
  double last_losses = 0.0;
  std::size_t steps = 0;
  for (std::size_t start = 0; start < order.size(); start += batch_size) {
    const std::size_t rows = std::min(batch_size, order.size() - start);
    xt::xarray<float> images = xt::xarray<float>::from_shape({rows, 1, 28, 28});
    xt::xarray<int> labels = xt::xarray<int>::from_shape({rows});
    for (std::size_t r = 0; r < rows; ++r) {
      std::copy_n(train.images.data() + order[start + r] * sample, sample, images.data() + r * sample);
      labels(r) = train.labels(order[start + r]);
    }
    const auto step = net.loss_and_gradient(theta, images, labels);
    BOOST_REQUIRE(std::isfinite(step.loss()));
    sgd_step(theta, velocity, step.gradient, 0.1f, 0.9f, 0.0f);
    if (start + 20 * batch_size >= order.size()) last_losses += step.loss();
    ++steps;
  }
  BOOST_CHECK_EQUAL(steps, 235u);
  const auto result = net.evaluate(theta, test.images, test.labels, mode::evaluation);
  BOOST_TEST_MESSAGE("LeNet Fashion-MNIST one epoch: test accuracy " << result.accuracy() << ", mean training loss "
                                                                     << "of the last 20 batches " << last_losses / 20);
  BOOST_CHECK_EQUAL(result.count, 10000u);
  BOOST_CHECK_GE(result.accuracy(), 0.70);
}
