// Compose a model from nn's layers, add a layer of your own written as ONE template, train it with
// plain tensors, then run the very same code on dual tensors to get Hessian-vector products.
//
//   ./custom_layer
#include <cmath>
#include <iostream>

#include <fds/autodiff/autodiff.hpp>
#include <fds/nn/models.hpp>
#include <fds/nn/sgd.hpp>

using namespace fds;

// swish(x) = x * sigmoid(x). forward and backward are templates over the tensor type, written with
// autodiff's free functions only, so they run on xt::xarray (training) and on dual_tensor (where the
// backward pass differentiates itself: its tangents are second derivatives).
struct swish : nn::layer_defaults {
    template <class Tensor>
    struct saved {
        Tensor input, gate;
    };

    template <class Tensor>
    Tensor forward(const Tensor& x, const nn::parameter_view<Tensor>&, saved<Tensor>& keep,
                   nn::run_context<nn::scalar_of<Tensor>>&) const {
        keep.input = x;
        keep.gate = autodiff::sigmoid(x);
        return Tensor(x * keep.gate);
    }

    // d swish / dx = s + x s (1 - s)
    template <class Tensor>
    Tensor backward(const Tensor& output_gradient, const nn::parameter_view<Tensor>&, const saved<Tensor>& keep,
                    nn::gradient_view<Tensor>&) const {
        using scalar = nn::scalar_of<Tensor>;
        const Tensor slope(keep.gate + keep.input * keep.gate * (scalar(1) - keep.gate));
        return Tensor(output_gradient * slope);
    }
};

int main(int argc, char** argv) {
    autodiff::prepare_runtime(argc, argv);

    // two Gaussian blobs of 8x8 single-channel "images", labels 0 and 1
    autodiff::random_source random(0);
    const std::size_t count = 256;
    xt::xarray<double> images = xt::xarray<double>::from_shape({count, 1, 8, 8});
    xt::xarray<int> labels = xt::xarray<int>::from_shape({count});
    for (std::size_t n = 0; n < count; ++n) {
        labels(n) = static_cast<int>(n % 2);
        for (std::size_t i = 0; i < 64; ++i) images.data()[n * 64 + i] = random.normal(labels(n) ? 0.15 : -0.15, 1.0);
    }

    nn::network<double> net({1, 8, 8});
    net << nn::conv2d(1, 4, 3, 1, 1) << swish() << nn::max_pool2d(2) << nn::flatten() << nn::linear(64, 16) << swish()
        << nn::linear(16, 2);
    std::cout << "parameters: " << net.parameter_count() << "\n";

    auto theta = net.initial_parameters({"xavier", 1.0}, 0);
    xt::xarray<double> velocity = xt::zeros<double>(theta.shape());
    for (int step = 0; step < 30; ++step) {
        const auto result = net.loss_and_gradient(theta, images, labels);
        nn::sgd_step(theta, velocity, result.gradient, 0.05, 0.9, 0.0);
        if (step % 10 == 0) {
            std::cout << "step " << step << "  loss " << result.loss() << "  accuracy "
                      << double(result.correct) / double(count) << "\n";
        }
    }

    // The same network on dual parameters theta + eps z: the gradient's tangent is H z.
    xt::xarray<double> z = xt::xarray<double>::from_shape(theta.shape());
    for (auto& v : z) v = random.normal();
    autodiff::dual_tensor<double> dual_theta(theta, 1);
    dual_theta.seed(0, z);
    const auto dual_result = net.loss_and_gradient(dual_theta, images, labels);
    const xt::xarray<double> hessian_times_z = autodiff::tangent(dual_result.gradient, 0);

    // check against a central difference of the gradient along z
    const double h = 1e-6;
    const auto plus = net.loss_and_gradient(xt::xarray<double>(theta + h * z), images, labels);
    const auto minus = net.loss_and_gradient(xt::xarray<double>(theta - h * z), images, labels);
    const xt::xarray<double> difference = (plus.gradient - minus.gradient) / (2 * h);
    double error = 0, size = 0;
    for (std::size_t i = 0; i < theta.size(); ++i) {
        error = std::max(error, std::abs(hessian_times_z(i) - difference(i)));
        size = std::max(size, std::abs(difference(i)));
    }
    std::cout << "max |H z| = " << size << ", max |H z - finite difference| = " << error << "\n";
    return error <= 1e-5 * size ? 0 : 1;
}
