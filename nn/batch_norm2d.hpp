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
// The running statistics are updated from the value only (they carry no tangents).
#pragma once

#include <autodiff/autodiff.hpp>

#include <nn/layer.hpp>

namespace fds::nn {

class batch_norm2d : public layer_defaults {
 public:
  explicit batch_norm2d(std::size_t channels, double epsilon = 1e-5, double momentum = 0.1);

  shape_type output_shape(const shape_type& input) const;
  std::vector<parameter_spec> parameters(const shape_type& input) const;
  // running mean (zeros) then running variance (ones)
  std::vector<double> buffers(const shape_type&) const;

  template <class Tensor>
  struct saved {
    Tensor normalized;     // xhat [N, C, H, W]
    Tensor inverse_std;    // [1, C, 1, 1]
    Tensor gamma;          // [1, C, 1, 1]
    bool batch_statistics = true;
  };

  template <class Tensor>
  Tensor forward(const Tensor& input, const parameter_view<Tensor>& parameters, saved<Tensor>& keep,
                 run_context<scalar_of<Tensor>>& run) const;
  template <class Tensor>
  Tensor backward(const Tensor& output_gradient, const parameter_view<Tensor>& parameters,
                  const saved<Tensor>& keep, gradient_view<Tensor>& parameter_gradient) const;

 private:
  std::size_t channels_;
  double epsilon_;
  double momentum_;
};

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline batch_norm2d::batch_norm2d(std::size_t channels, double epsilon, double momentum)
    : channels_(channels), epsilon_(epsilon), momentum_(momentum) {
  if (channels == 0) throw std::invalid_argument("batch_norm2d: channel count must be positive");
}

inline shape_type batch_norm2d::output_shape(const shape_type& input) const {
  if (input.size() != 3 || input[0] != channels_) {
    throw std::invalid_argument("batch_norm2d: expected per-sample input [" + std::to_string(channels_) +
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
  const shape_type per_channel{1, channels_, 1, 1};
  const std::vector<std::size_t> reduced{0, 2, 3};
  Tensor gamma = parameters.take(0, per_channel);
  Tensor beta = parameters.take(channels_, per_channel);
  scalar* running_mean = run.buffers;
  scalar* running_variance = run.buffers + channels_;

  Tensor normalized;
  Tensor inverse_std;
  if (run.mode == mode::training) {
    const std::size_t count = input.size() / channels_;
    Tensor mean = autodiff::mean(input, reduced, true);
    Tensor centered = input - mean;
    Tensor variance = autodiff::mean(autodiff::square(centered), reduced, true);
    inverse_std = autodiff::pow(Tensor(variance + static_cast<scalar>(epsilon_)), static_cast<scalar>(-0.5));
    normalized = centered * inverse_std;
    if (running_mean != nullptr) {
      const auto& mean_value = autodiff::value(mean);
      const auto& variance_value = autodiff::value(variance);
      const double unbiased = count > 1 ? static_cast<double>(count) / static_cast<double>(count - 1) : 1.0;
      for (std::size_t c = 0; c < channels_; ++c) {
        running_mean[c] = static_cast<scalar>((1.0 - momentum_) * running_mean[c] + momentum_ * mean_value.data()[c]);
        running_variance[c] = static_cast<scalar>((1.0 - momentum_) * running_variance[c] +
                                                  momentum_ * variance_value.data()[c] * unbiased);
      }
    }
  } else {
    if (running_mean == nullptr) throw std::logic_error("batch_norm2d: evaluation mode needs running statistics");
    xt::xarray<scalar> mean = xt::xarray<scalar>::from_shape(per_channel);
    xt::xarray<scalar> inverse = xt::xarray<scalar>::from_shape(per_channel);
    for (std::size_t c = 0; c < channels_; ++c) {
      mean.data()[c] = running_mean[c];
      inverse.data()[c] = static_cast<scalar>(1.0 / std::sqrt(static_cast<double>(running_variance[c]) + epsilon_));
    }
    normalized = Tensor((input - mean) * inverse);
    inverse_std = constant_like_kind(input, std::move(inverse));
  }
  Tensor output(normalized * gamma + beta);
  if (run.keep_for_backward) {
    keep.normalized = std::move(normalized);
    keep.inverse_std = std::move(inverse_std);
    keep.gamma = std::move(gamma);
    keep.batch_statistics = run.mode == mode::training;
  }
  return output;
}

template <class Tensor>
Tensor batch_norm2d::backward(const Tensor& output_gradient, const parameter_view<Tensor>&, const saved<Tensor>& keep,
                              gradient_view<Tensor>& parameter_gradient) const {
  const std::vector<std::size_t> reduced{0, 2, 3};
  parameter_gradient.accumulate(0, autodiff::sum(Tensor(output_gradient * keep.normalized), reduced));
  parameter_gradient.accumulate(channels_, autodiff::sum(output_gradient, reduced));
  Tensor scaled(output_gradient * keep.gamma);
  if (!keep.batch_statistics) {
    Tensor input_gradient(scaled * keep.inverse_std);
    return input_gradient;
  }
  Tensor input_gradient((scaled - autodiff::mean(scaled, reduced, true) -
                         keep.normalized * autodiff::mean(Tensor(scaled * keep.normalized), reduced, true)) *
                        keep.inverse_std);
  return input_gradient;
}

}  // namespace fds::nn
