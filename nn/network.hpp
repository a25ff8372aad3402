// A built model: a sequential of layers with a fixed per-sample input shape, its plain buffers
// (BatchNorm running statistics) and the softmax cross-entropy loss on top.
//
//   nn::network<float> net({1, 28, 28});
//   net << nn::conv2d(1, 6, 5) << nn::relu() << nn::max_pool2d(2) << nn::flatten()
//       << nn::linear(6 * 12 * 12, 10);
//   auto theta = net.initial_parameters({"xavier", 1.0}, /*seed*/ 0);
//   auto step = net.loss_and_gradient(theta, images, labels);     // plain: no tangent work
//   auto dual_step = net.loss_and_gradient(dual_theta, images, labels);
//   // dual_step.gradient's tangents are H Z (forward-over-reverse), Z = dual_theta's tangents
//
// Parameters are one flat 1-D tensor of parameter_count() values in the order the layers were
// added (PyTorch's parameter order for the same architecture).
#pragma once

#include <algorithm>
#include <cstdint>

#include <fds/autodiff/autodiff.hpp>

#include <fds/nn/cross_entropy.hpp>
#include <fds/nn/initializers.hpp>
#include <fds/nn/layer.hpp>
#include <fds/nn/sequential.hpp>

namespace fds::nn {

template <class Tensor>
struct training_result {
    Tensor loss;  // 0-d, mean cross-entropy of the batch
    Tensor gradient;  // [P]
    std::size_t correct = 0;
};

struct evaluation_result {
    double loss_sum = 0.0;  // sum over samples of the cross-entropy
    std::size_t correct = 0;
    std::size_t count = 0;
    double mean_loss() const { return count ? loss_sum / static_cast<double>(count) : 0.0; }
    double accuracy() const { return count ? static_cast<double>(correct) / static_cast<double>(count) : 0.0; }
};

template <class Scalar>
class network {
 public:
    using plain_tensor = xt::xarray<Scalar>;
    using dual_tensor = autodiff::dual_tensor<Scalar>;

    // layer_fusion::none keeps every layer as added (sequential.hpp)
    explicit network(shape_type input_shape, layer_fusion fusion = layer_fusion::pairs);

    // Appends a layer; throws std::invalid_argument when it does not accept the current output shape.
    template <class Layer>
    network& add(Layer layer);
    template <class Layer>
    network& operator<<(Layer layer) {
        return add(std::move(layer));
    }

    const shape_type& input_shape() const { return input_shape_; }
    shape_type output_shape() const { return layers_.output_shape(input_shape_); }
    std::size_t parameter_count() const;
    std::vector<parameter_spec> parameter_specs() const { return layers_.parameters(input_shape_); }

    xt::xarray<Scalar> initial_parameters(const initializer& init, std::uint64_t seed) const;

    // BatchNorm running statistics (plain); reset to mean 0, variance 1.
    xt::xarray<Scalar>& buffers() { return buffers_; }
    const xt::xarray<Scalar>& buffers() const { return buffers_; }
    void reset_buffers();

    // Logits [N, classes] of images [N, C, H, W] (Tensor plain or dual; parameters of the same kind).
    // Training mode uses batch statistics and updates the running statistics.
    template <class Tensor>
    Tensor forward(const Tensor& parameters, const Tensor& images, mode run_mode, bool keep_for_backward = true);
    // Gradient [P] of <logits, logit_gradient> after forward(..., keep_for_backward = true).
    template <class Tensor>
    Tensor backward(const Tensor& parameters, const Tensor& logit_gradient);

    // Training mode: mean cross-entropy, its gradient and the correct count, in one pass.
    template <class Tensor>
    training_result<Tensor> loss_and_gradient(const Tensor& parameters, const xt::xarray<Scalar>& images,
                                              const xt::xarray<int>& labels);

    // Loss and accuracy without gradients. Evaluation mode runs in chunks of at most chunk_size
    // samples; training mode (batch statistics) uses the whole batch at once, as PyTorch would.
    evaluation_result evaluate(const xt::xarray<Scalar>& parameters, const xt::xarray<Scalar>& images,
                               const xt::xarray<int>& labels, mode run_mode, std::size_t chunk_size = 1000);

 private:
    template <class Tensor>
    void check_parameters(const Tensor& parameters) const;
    void check_images(const xt::xarray<Scalar>& images) const;

    shape_type input_shape_;
    sequential<Scalar> layers_;
    xt::xarray<Scalar> buffers_;
    std::size_t parameter_count_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

template <class Scalar>
network<Scalar>::network(shape_type input_shape, layer_fusion fusion)
    : input_shape_(std::move(input_shape)), layers_(fusion) {
    if (input_shape_.empty()) throw std::invalid_argument("network: empty input shape");
    reset_buffers();
}

template <class Scalar>
template <class Layer>
network<Scalar>& network<Scalar>::add(Layer layer) {
    const shape_type current = output_shape();
    layer.output_shape(current);  // throws with the layer's own message when the shape does not fit
    layers_.add(std::move(layer));
    parameter_count_ = 0;
    for (const auto& spec : parameter_specs()) parameter_count_ += spec.size();
    reset_buffers();
    return *this;
}

template <class Scalar>
std::size_t network<Scalar>::parameter_count() const {
    return parameter_count_;
}

template <class Scalar>
xt::xarray<Scalar> network<Scalar>::initial_parameters(const initializer& init, std::uint64_t seed) const {
    return initialize_parameters<Scalar>(parameter_specs(), init, seed);
}

template <class Scalar>
void network<Scalar>::reset_buffers() {
    const auto initial = layers_.buffers(input_shape_);
    buffers_ = xt::xarray<Scalar>::from_shape({initial.size()});
    std::transform(initial.begin(), initial.end(), buffers_.begin(), [](double v) { return static_cast<Scalar>(v); });
}

template <class Scalar>
template <class Tensor>
void network<Scalar>::check_parameters(const Tensor& parameters) const {
    if (parameters.dimension() != 1 || parameters.size() != parameter_count_) {
        throw std::invalid_argument("network: expected parameters of shape [" + std::to_string(parameter_count_) +
                                    "], found " +
                                    shape_string(shape_type(parameters.shape().begin(), parameters.shape().end())));
    }
}

template <class Scalar>
void network<Scalar>::check_images(const xt::xarray<Scalar>& images) const {
    const shape_type shape(images.shape().begin(), images.shape().end());
    if (shape.size() != input_shape_.size() + 1 ||
        !std::equal(input_shape_.begin(), input_shape_.end(), shape.begin() + 1)) {
        throw std::invalid_argument("network: expected images [N, " + shape_string(input_shape_).substr(1) +
                                    ", found " + shape_string(shape));
    }
}

template <class Scalar>
template <class Tensor>
Tensor network<Scalar>::forward(const Tensor& parameters, const Tensor& images, mode run_mode, bool keep_for_backward) {
    check_parameters(parameters);
    check_images(autodiff::value(images));
    run_context<Scalar> run;
    run.mode = run_mode;
    run.buffers = buffers_.size() ? buffers_.data() : nullptr;
    run.keep_for_backward = keep_for_backward;
    typename sequential<Scalar>::template saved<Tensor> nothing;
    return layers_.forward(images, parameter_view<Tensor>{parameters, 0}, nothing, run);
}

template <class Scalar>
template <class Tensor>
Tensor network<Scalar>::backward(const Tensor& parameters, const Tensor& logit_gradient) {
    Tensor gradient = zeros_like_kind(parameters, {parameter_count_});
    gradient_view<Tensor> gradient_window{gradient, 0, false};  // nobody reads d loss / d images
    typename sequential<Scalar>::template saved<Tensor> nothing;
    layers_.backward(logit_gradient, parameter_view<Tensor>{parameters, 0}, nothing, gradient_window);
    return gradient;
}

template <class Scalar>
template <class Tensor>
training_result<Tensor> network<Scalar>::loss_and_gradient(const Tensor& parameters, const xt::xarray<Scalar>& images,
                                                           const xt::xarray<int>& labels) {
    const Tensor input = constant_like_kind(parameters, images);
    const Tensor logits = forward(parameters, input, mode::training, true);
    auto loss = softmax_cross_entropy(logits, labels);
    training_result<Tensor> result;
    result.correct = count_correct(autodiff::value(logits), labels);
    result.gradient = backward(parameters, loss.logit_gradient);
    result.loss = std::move(loss.loss);
    return result;
}

template <class Scalar>
evaluation_result network<Scalar>::evaluate(const xt::xarray<Scalar>& parameters, const xt::xarray<Scalar>& images,
                                            const xt::xarray<int>& labels, mode run_mode, std::size_t chunk_size) {
    check_images(images);
    const std::size_t count = images.shape()[0];
    if (labels.dimension() != 1 || labels.size() != count) {
        throw std::invalid_argument("network::evaluate: " + std::to_string(count) + " images but labels of shape " +
                                    shape_string(shape_type(labels.shape().begin(), labels.shape().end())));
    }
    const std::size_t chunk = run_mode == mode::training ? count : std::max<std::size_t>(1, chunk_size);
    const std::size_t sample_size = shape_size(input_shape_);
    evaluation_result result;
    for (std::size_t start = 0; start < count; start += chunk) {
        const std::size_t rows = std::min(chunk, count - start);
        shape_type chunk_shape = input_shape_;
        chunk_shape.insert(chunk_shape.begin(), rows);
        xt::xarray<Scalar> chunk_images = xt::xarray<Scalar>::from_shape(chunk_shape);
        std::copy_n(images.data() + start * sample_size, rows * sample_size, chunk_images.data());
        xt::xarray<int> chunk_labels = xt::xarray<int>::from_shape({rows});
        std::copy_n(labels.data() + start, rows, chunk_labels.data());
        const xt::xarray<Scalar> logits = forward(parameters, chunk_images, run_mode, false);
        const auto loss = softmax_cross_entropy(logits, chunk_labels);
        result.loss_sum += static_cast<double>(loss.loss()) * static_cast<double>(rows);
        result.correct += count_correct(logits, chunk_labels);
        result.count += rows;
    }
    return result;
}

}  // namespace fds::nn
