// Batch normalization over the channels of [N, C, H, W], as torch.nn.BatchNorm2d (eps 1e-5,
// momentum 0.1, affine). Parameters in PyTorch's order: gamma (weight) [C], then beta (bias) [C].
// Buffers (plain, no tangents): running mean [C], then running variance [C], starting at 0 and 1.
//
// Training mode, per channel over the m = N*H*W values:
//   mu = mean(x),  var = mean((x - mu)^2)  (biased),  xhat = (x - mu) / sqrt(var + eps),
//   y = gamma * xhat + beta;  running_mean <- 0.9 running_mean + 0.1 mu,
//   running_var <- 0.9 running_var + 0.1 var * m / (m - 1)  (unbiased, as PyTorch).
// Backward, with g = dL/dy and gx = gamma * g:
//   dL/dgamma = sum(g * xhat), dL/dbeta = sum(g),
//   dL/dx = (gx - mean(gx) - xhat * mean(gx * xhat)) / sqrt(var + eps).
// Evaluation mode uses the running statistics as constants: dL/dx = gamma g / sqrt(running_var + eps).
// The running statistics are updated from the value only (they carry no tangents). The loops,
// with every tangent rule, are in batch_norm2d_kernels.hpp. batch_norm2d_relu.hpp is this layer
// with a relu after it, computed in the same passes.
#pragma once

#include <cstdint>
#include <string>

#include <fds/autodiff/autodiff.hpp>

#include <fds/nn/kernels/batch_norm2d_kernels.hpp>
#include <fds/nn/layer.hpp>

namespace fds::nn {

class batch_norm2d : public layer_defaults {
 public:
    explicit batch_norm2d(std::size_t channels, double epsilon = 1e-5, double momentum = 0.1);

    std::size_t channels() const { return channels_; }
    double epsilon() const { return epsilon_; }
    double momentum() const { return momentum_; }

    shape_type output_shape(const shape_type& input) const;
    std::vector<parameter_spec> parameters(const shape_type& input) const;
    // running mean (zeros) then running variance (ones)
    std::vector<double> buffers(const shape_type&) const;

    template <class Tensor>
    struct saved {
        Tensor normalized;  // xhat [N, C, H, W]
        Tensor inverse_std;  // [C]
        Tensor gamma;  // [C]
        xt::xarray<std::uint8_t> positive;  // 1[y > 0] where a relu follows (batch_norm2d_relu), else empty
        bool batch_statistics = true;
    };

    template <class Tensor>
    Tensor forward(const Tensor& input, const parameter_view<Tensor>& parameters, saved<Tensor>& keep,
                   run_context<scalar_of<Tensor>>& run) const;
    template <class Tensor>
    Tensor backward(const Tensor& output_gradient, const parameter_view<Tensor>& parameters, const saved<Tensor>& keep,
                    gradient_view<Tensor>& parameter_gradient) const;

 protected:
    // with_relu: the output is relu(y) (batch_norm2d_relu)
    batch_norm2d(std::size_t channels, double epsilon, double momentum, bool with_relu);

 private:
    const char* name() const { return with_relu_ ? "batch_norm2d_relu" : "batch_norm2d"; }

    std::size_t channels_;
    double epsilon_;
    double momentum_;
    bool with_relu_;
};

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline batch_norm2d::batch_norm2d(std::size_t channels, double epsilon, double momentum)
    : batch_norm2d(channels, epsilon, momentum, false) {}

inline batch_norm2d::batch_norm2d(std::size_t channels, double epsilon, double momentum, bool with_relu)
    : channels_(channels), epsilon_(epsilon), momentum_(momentum), with_relu_(with_relu) {
    if (channels == 0) throw std::invalid_argument(std::string(name()) + ": channel count must be positive");
}

inline shape_type batch_norm2d::output_shape(const shape_type& input) const {
    if (input.size() != 3 || input[0] != channels_) {
        throw std::invalid_argument(std::string(name()) + ": expected per-sample input [" + std::to_string(channels_) +
                                    ", H, W], found " + shape_string(input));
    }
    return input;
}

inline std::vector<parameter_spec> batch_norm2d::parameters(const shape_type&) const {
    return {{"weight", {channels_}, parameter_role::norm_scale, 0, 0},
            {"bias", {channels_}, parameter_role::norm_shift, 0, 0}};
}

inline std::vector<double> batch_norm2d::buffers(const shape_type&) const {
    std::vector<double> initial(2 * channels_, 0.0);
    std::fill(initial.begin() + static_cast<std::ptrdiff_t>(channels_), initial.end(), 1.0);
    return initial;
}

template <class Tensor>
Tensor batch_norm2d::forward(const Tensor& input, const parameter_view<Tensor>& parameters, saved<Tensor>& keep,
                             run_context<scalar_of<Tensor>>& run) const {
    using scalar = scalar_of<Tensor>;
    if (input.dimension() != 4) {
        throw std::invalid_argument(std::string(name()) + ": expected input [N, C, H, W], found " +
                                    shape_string(shape_type(input.shape().begin(), input.shape().end())));
    }
    output_shape(sample_shape(input));
    const bool training = run.mode == mode::training;
    if (!training && run.buffers == nullptr) {
        throw std::logic_error(std::string(name()) + ": evaluation mode needs running statistics");
    }
    const Tensor gamma = parameters.take(0, {channels_});
    const Tensor beta = parameters.take(channels_, {channels_});
    const detail::batch_norm_geometry<scalar> geometry{input.shape()[0], channels_,
                                                       input.shape()[2] * input.shape()[3]};
    const auto x_view = detail::view_of(input);
    const auto gamma_view = detail::view_of(gamma);
    const auto beta_view = detail::view_of(beta);
    const std::size_t live = std::max({x_view.live, gamma_view.live, beta_view.live});
    const shape_type shape(input.shape().begin(), input.shape().end());
    shape_type block_shape = shape;
    block_shape.insert(block_shape.begin(), live);
    xt::xarray<scalar> y = xt::xarray<scalar>::from_shape(shape);
    xt::xarray<scalar> normalized = xt::xarray<scalar>::from_shape(shape);
    xt::xarray<scalar> y_block = xt::xarray<scalar>::from_shape(block_shape);
    xt::xarray<scalar> normalized_block = xt::xarray<scalar>::from_shape(block_shape);
    xt::xarray<scalar> inverse = xt::xarray<scalar>::from_shape({channels_});
    xt::xarray<scalar> inverse_block = xt::xarray<scalar>::from_shape({live, channels_});
    std::vector<scalar> batch_mean(channels_), batch_variance(channels_);
    xt::xarray<std::uint8_t> positive = xt::xarray<std::uint8_t>::from_shape(with_relu_ ? shape : shape_type{0});
    scalar* running_mean = run.buffers;
    scalar* running_variance = run.buffers ? run.buffers + channels_ : nullptr;
    detail::batch_norm_forward(geometry, x_view, gamma_view, beta_view, training, epsilon_, running_mean,
                               running_variance, live, y.data(), y_block.data(), normalized.data(),
                               normalized_block.data(), inverse.data(), inverse_block.data(), batch_mean.data(),
                               batch_variance.data(), with_relu_ ? positive.data() : nullptr);
    if (training && running_mean != nullptr) {
        const double count = static_cast<double>(geometry.count());
        const double unbiased = count > 1 ? count / (count - 1) : 1.0;
        for (std::size_t c = 0; c < channels_; ++c) {
            running_mean[c] = static_cast<scalar>((1.0 - momentum_) * running_mean[c] + momentum_ * batch_mean[c]);
            running_variance[c] =
                static_cast<scalar>((1.0 - momentum_) * running_variance[c] + momentum_ * batch_variance[c] * unbiased);
        }
    }
    const std::size_t tangent_count = detail::tangent_count_of(input, gamma);
    if (run.keep_for_backward) {
        keep.normalized =
            detail::make_tensor<Tensor>(std::move(normalized), std::move(normalized_block), tangent_count);
        keep.inverse_std = detail::make_tensor<Tensor>(std::move(inverse), std::move(inverse_block), tangent_count);
        keep.gamma = gamma;
        keep.positive = std::move(positive);
        keep.batch_statistics = training;
    }
    return detail::make_tensor<Tensor>(std::move(y), std::move(y_block), tangent_count);
}

template <class Tensor>
Tensor batch_norm2d::backward(const Tensor& output_gradient, const parameter_view<Tensor>&, const saved<Tensor>& keep,
                              gradient_view<Tensor>& parameter_gradient) const {
    using scalar = scalar_of<Tensor>;
    const detail::batch_norm_geometry<scalar> geometry{output_gradient.shape()[0], channels_,
                                                       output_gradient.shape()[2] * output_gradient.shape()[3]};
    const auto g_view = detail::view_of(output_gradient);
    const auto normalized_view = detail::view_of(keep.normalized);
    const auto inverse_view = detail::view_of(keep.inverse_std);
    const auto gamma_view = detail::view_of(keep.gamma);
    const std::size_t live = std::max({g_view.live, normalized_view.live, inverse_view.live, gamma_view.live});
    const shape_type shape(output_gradient.shape().begin(), output_gradient.shape().end());
    shape_type block_shape = shape;
    block_shape.insert(block_shape.begin(), live);
    xt::xarray<scalar> input_gradient = xt::xarray<scalar>::from_shape(shape);
    xt::xarray<scalar> input_block = xt::xarray<scalar>::from_shape(block_shape);
    xt::xarray<scalar> gamma_gradient = xt::xarray<scalar>::from_shape({channels_});
    xt::xarray<scalar> beta_gradient = xt::xarray<scalar>::from_shape({channels_});
    xt::xarray<scalar> gamma_block = xt::xarray<scalar>::from_shape({live, channels_});
    xt::xarray<scalar> beta_block = xt::xarray<scalar>::from_shape({live, channels_});
    detail::batch_norm_backward(geometry, g_view, normalized_view, inverse_view, gamma_view, keep.batch_statistics,
                                live, with_relu_ ? keep.positive.data() : nullptr, input_gradient.data(),
                                input_block.data(), gamma_gradient.data(), gamma_block.data(), beta_gradient.data(),
                                beta_block.data());
    const std::size_t tangent_count = detail::tangent_count_of(output_gradient, keep.gamma);
    parameter_gradient.accumulate(
        0, detail::make_tensor<Tensor>(std::move(gamma_gradient), std::move(gamma_block), tangent_count));
    parameter_gradient.accumulate(
        channels_, detail::make_tensor<Tensor>(std::move(beta_gradient), std::move(beta_block), tangent_count));
    return detail::make_tensor<Tensor>(std::move(input_gradient), std::move(input_block), tangent_count);
}

}  // namespace fds::nn
