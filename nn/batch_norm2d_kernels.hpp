// BatchNorm2d kernels for plain and dual tensors: per-channel loops over [N, C, H, W] instead of
// broadcast expressions, which xtensor evaluates element by element through index arithmetic (a
// dual training step of WRN-16-1 spent most of its time there).
//
// Forward, per channel over its m values, with tangents d. of every quantity (slot k):
//   mu = mean(x), var = mean((x - mu)^2), inv = (var + eps)^(-1/2), xhat = (x - mu) inv,
//   y = gamma xhat + beta
//   dmu = mean(dx), dvar = 2 mean((x - mu) dx), dinv = -inv^3 dvar / 2,
//   dxhat = (dx - dmu) inv + xhat dinv / inv,  dy = dgamma xhat + gamma dxhat + dbeta
// Backward with g = dL/dy, gx = gamma g, A = mean(gx), B = mean(gx xhat):
//   dL/dgamma = sum(g xhat), dL/dbeta = sum(g), dL/dx = inv (gx - A - xhat B)
//   and their tangents by the product rule (written out in batch_norm_backward below).
// Evaluation mode: mu and inv are the running statistics (constants), A = B = 0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include <autodiff/autodiff.hpp>

#include <nn/tensor_kernels.hpp>

namespace fds::nn::detail {

template <class Scalar>
struct batch_norm_geometry {
  std::size_t batch, channels, plane;
  std::size_t size() const { return batch * channels * plane; }
  std::size_t count() const { return batch * plane; }
};

// Applies f(offset, length) to each contiguous run of channel c.
template <class Scalar, class Function>
void for_channel(const batch_norm_geometry<Scalar>& g, std::size_t c, Function&& f) {
  for (std::size_t n = 0; n < g.batch; ++n) f((n * g.channels + c) * g.plane, g.plane);
}

// Runs body(c) for every channel, the channels split into contiguous ranges over the library's
// threads once the batch is large enough to pay for a hand-over (channels are independent: the
// result does not depend on the split).
template <class Scalar, class Body>
void for_channel_ranges(const batch_norm_geometry<Scalar>& g, Body&& body) {
  autodiff::run_ranges(g.channels, g.count(), 1, [&](std::size_t first, std::size_t last) {
    for (std::size_t c = first; c < last; ++c) body(c);
  });
}

// sum of term(i) over channel c, in double. Eight independent partial sums: one serial chain of
// double additions is bound by the add latency (5 ms per pass over the CNN's first BatchNorm),
// while independent lanes vectorize.
template <class Scalar, class Term>
double channel_sum(const batch_norm_geometry<Scalar>& g, std::size_t c, Term&& term) {
  constexpr std::size_t lanes = 8;
  double partial[lanes] = {};
  double rest = 0;
  for_channel(g, c, [&](std::size_t offset, std::size_t length) {
    std::size_t i = offset;
    for (; i + lanes <= offset + length; i += lanes) {
      for (std::size_t j = 0; j < lanes; ++j) partial[j] += static_cast<double>(term(i + j));
    }
    for (; i < offset + length; ++i) rest += static_cast<double>(term(i));
  });
  for (std::size_t j = 0; j < lanes; ++j) rest += partial[j];
  return rest;
}

// Outputs: y, xhat (value + `live` tangent rows), inverse [C] (+ live rows), batch mean/var [C].
template <class Scalar>
void batch_norm_forward(const batch_norm_geometry<Scalar>& geometry, tangent_view<Scalar> x,
                        tangent_view<Scalar> gamma, tangent_view<Scalar> beta, bool training, double epsilon,
                        const Scalar* running_mean, const Scalar* running_variance, std::size_t live, Scalar* y,
                        Scalar* y_tangents, Scalar* xhat, Scalar* xhat_tangents, Scalar* inverse,
                        Scalar* inverse_tangents, Scalar* batch_mean, Scalar* batch_variance) {
  const std::size_t size = geometry.size();
  const double count = static_cast<double>(geometry.count());
  for_channel_ranges(geometry, [&](std::size_t c) {
    double mean = 0, variance = 0;
    if (training) {
      mean = channel_sum(geometry, c, [&](std::size_t i) { return x.value[i]; }) / count;
      variance = channel_sum(geometry, c, [&](std::size_t i) {
                   const double centered = x.value[i] - mean;
                   return centered * centered;
                 }) / count;
      batch_mean[c] = static_cast<Scalar>(mean);
      batch_variance[c] = static_cast<Scalar>(variance);
    } else {
      mean = running_mean[c];
      variance = running_variance[c];
    }
    const Scalar inv = static_cast<Scalar>(1.0 / std::sqrt(variance + epsilon));
    const Scalar shift = static_cast<Scalar>(mean);
    inverse[c] = inv;
    const Scalar scale = gamma.value[c], offset = beta.value[c];
    for_channel(geometry, c, [&](std::size_t o, std::size_t l) {
      for (std::size_t i = o; i < o + l; ++i) {
        xhat[i] = (x.value[i] - shift) * inv;
        y[i] = scale * xhat[i] + offset;
      }
    });
    for (std::size_t k = 0; k < live; ++k) {
      const Scalar* dx = x.tangent(k);
      Scalar* dxhat = xhat_tangents + k * size;
      Scalar* dy = y_tangents + k * size;
      Scalar dinv = 0;
      if (dx != nullptr) {
        double dmean = 0, dvariance = 0;
        if (training) {
          dmean = channel_sum(geometry, c, [&](std::size_t i) { return dx[i]; }) / count;
          dvariance = channel_sum(geometry, c, [&](std::size_t i) { return xhat[i] * dx[i]; });
          dvariance = 2.0 * dvariance / (count * inv);  // 2 mean((x - mu) dx), x - mu = xhat / inv
          dinv = static_cast<Scalar>(-0.5 * double(inv) * inv * inv * dvariance);
        }
        const Scalar dshift = static_cast<Scalar>(dmean);
        const Scalar ratio = dinv / inv;
        for_channel(geometry, c, [&](std::size_t o, std::size_t l) {
          for (std::size_t i = o; i < o + l; ++i) dxhat[i] = (dx[i] - dshift) * inv + xhat[i] * ratio;
        });
      } else {
        for_channel(geometry, c, [&](std::size_t o, std::size_t l) { std::fill(dxhat + o, dxhat + o + l, Scalar(0)); });
      }
      inverse_tangents[k * geometry.channels + c] = dinv;
      const Scalar dscale = gamma.tangent(k) ? gamma.tangent(k)[c] : Scalar(0);
      const Scalar doffset = beta.tangent(k) ? beta.tangent(k)[c] : Scalar(0);
      for_channel(geometry, c, [&](std::size_t o, std::size_t l) {
        for (std::size_t i = o; i < o + l; ++i) dy[i] = dscale * xhat[i] + scale * dxhat[i] + doffset;
      });
    }
  });
}

template <class Scalar>
void batch_norm_backward(const batch_norm_geometry<Scalar>& geometry, tangent_view<Scalar> g,
                         tangent_view<Scalar> xhat, tangent_view<Scalar> inverse, tangent_view<Scalar> gamma,
                         bool training, std::size_t live, Scalar* input_gradient, Scalar* input_tangents,
                         Scalar* gamma_gradient, Scalar* gamma_tangents, Scalar* beta_gradient,
                         Scalar* beta_tangents) {
  const std::size_t size = geometry.size();
  const std::size_t channels = geometry.channels;
  const double count = static_cast<double>(geometry.count());
  for_channel_ranges(geometry, [&](std::size_t c) {
    const double sum_g = channel_sum(geometry, c, [&](std::size_t i) { return g.value[i]; });
    const double sum_g_xhat = channel_sum(geometry, c, [&](std::size_t i) { return g.value[i] * xhat.value[i]; });
    gamma_gradient[c] = static_cast<Scalar>(sum_g_xhat);
    beta_gradient[c] = static_cast<Scalar>(sum_g);
    const Scalar scale = gamma.value[c], inv = inverse.value[c];
    const Scalar mean_gx = training ? static_cast<Scalar>(scale * sum_g / count) : Scalar(0);
    const Scalar mean_gx_xhat = training ? static_cast<Scalar>(scale * sum_g_xhat / count) : Scalar(0);
    for_channel(geometry, c, [&](std::size_t o, std::size_t l) {
      for (std::size_t i = o; i < o + l; ++i) {
        input_gradient[i] = inv * (scale * g.value[i] - mean_gx - xhat.value[i] * mean_gx_xhat);
      }
    });
    for (std::size_t k = 0; k < live; ++k) {
      const Scalar* dg = g.tangent(k);
      const Scalar* dxhat = xhat.tangent(k);
      const Scalar dscale = gamma.tangent(k) ? gamma.tangent(k)[c] : Scalar(0);
      const Scalar dinv = inverse.tangent(k) ? inverse.tangent(k)[c] : Scalar(0);
      double sum_dg = 0, sum_dg_xhat = 0, sum_g_dxhat = 0;
      if (dg) {
        sum_dg = channel_sum(geometry, c, [&](std::size_t i) { return dg[i]; });
        sum_dg_xhat = channel_sum(geometry, c, [&](std::size_t i) { return dg[i] * xhat.value[i]; });
      }
      if (dxhat) sum_g_dxhat = channel_sum(geometry, c, [&](std::size_t i) { return g.value[i] * dxhat[i]; });
      // d sum(g xhat) = sum(dg xhat + g dxhat), d sum(g) = sum(dg)
      gamma_tangents[k * channels + c] = static_cast<Scalar>(sum_dg_xhat + sum_g_dxhat);
      beta_tangents[k * channels + c] = static_cast<Scalar>(sum_dg);
      // dA = mean(dgamma g + gamma dg), dB = mean((dgamma g + gamma dg) xhat + gamma g dxhat)
      const Scalar dmean_gx = training ? static_cast<Scalar>((dscale * sum_g + scale * sum_dg) / count) : Scalar(0);
      const Scalar dmean_gx_xhat =
          training ? static_cast<Scalar>((dscale * sum_g_xhat + scale * sum_dg_xhat + scale * sum_g_dxhat) / count)
                   : Scalar(0);
      Scalar* out = input_tangents + k * size;
      for_channel(geometry, c, [&](std::size_t o, std::size_t l) {
        for (std::size_t i = o; i < o + l; ++i) {
          const Scalar gx = scale * g.value[i];
          const Scalar dgx = dscale * g.value[i] + (dg ? scale * dg[i] : Scalar(0));
          const Scalar dx_hat = dxhat ? dxhat[i] : Scalar(0);
          out[i] = dinv * (gx - mean_gx - xhat.value[i] * mean_gx_xhat) +
                   inv * (dgx - dmean_gx - dx_hat * mean_gx_xhat - xhat.value[i] * dmean_gx_xhat);
        }
      });
    }
  });
}

}  // namespace fds::nn::detail
