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
#include <array>
#include <cmath>
#include <cstddef>
#include <vector>

#include <autodiff/autodiff.hpp>

#include <nn/tensor_kernels.hpp>
#include <nn/vector32.hpp>

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

// Eight consecutive values as 32-byte vectors (one of floats, two of doubles).
template <class Scalar>
struct eight_values {
  vector32<Scalar> v[8 / vector32_lanes<Scalar>];
};

template <class Scalar>
eight_values<Scalar> load_eight(const Scalar* source) {
  eight_values<Scalar> e;
  for (std::size_t j = 0; j < 8 / vector32_lanes<Scalar>; ++j) e.v[j] = load_vector(source + j * vector32_lanes<Scalar>);
  return e;
}

template <class Scalar>
eight_values<Scalar> operator*(eight_values<Scalar> a, const eight_values<Scalar>& b) {
  for (std::size_t j = 0; j < 8 / vector32_lanes<Scalar>; ++j) a.v[j] *= b.v[j];
  return a;
}

inline eight_values<double>& operator+=(eight_values<double>& a, const eight_values<double>& b) {
  a.v[0] += b.v[0];
  a.v[1] += b.v[1];
  return a;
}

inline eight_values<double> widen(const eight_values<double>& e) { return e; }

inline eight_values<double> widen(const eight_values<float>& e) {
  typedef float four_floats __attribute__((vector_size(16)));
  const four_floats low = __builtin_shufflevector(e.v[0], e.v[0], 0, 1, 2, 3);
  const four_floats high = __builtin_shufflevector(e.v[0], e.v[0], 4, 5, 6, 7);
  return {{__builtin_convertvector(low, vector32<double>), __builtin_convertvector(high, vector32<double>)}};
}

// The terms a channel sum adds, in double: at(i) one term, eight_at(i) the eight from i on.
template <class Scalar>
struct entry_term {  // a[i]
  const Scalar* a;
  double at(std::size_t i) const { return a[i]; }
  eight_values<double> eight_at(std::size_t i) const { return widen(load_eight(a + i)); }
  void prefetch(std::size_t i) const { __builtin_prefetch(a + i); }
};

template <class Scalar>
struct product_term {  // a[i] b[i], rounded to Scalar
  const Scalar* a;
  const Scalar* b;
  double at(std::size_t i) const { return static_cast<double>(a[i] * b[i]); }
  eight_values<double> eight_at(std::size_t i) const { return widen(load_eight(a + i) * load_eight(b + i)); }
  void prefetch(std::size_t i) const {
    __builtin_prefetch(a + i);
    __builtin_prefetch(b + i);
  }
};

template <class Scalar>
struct centered_square_term {  // (a[i] - mean)^2
  const Scalar* a;
  double mean;
  double at(std::size_t i) const {
    const double centered = a[i] - mean;
    return centered * centered;
  }
  eight_values<double> eight_at(std::size_t i) const {
    eight_values<double> e = widen(load_eight(a + i));
    for (auto& v : e.v) {
      v -= broadcast_vector(mean);
      v *= v;
    }
    return e;
  }
  void prefetch(std::size_t i) const { __builtin_prefetch(a + i); }
};

// The sums of each term over channel c, in double, all in one pass over the channel (a dual step
// reads each tangent row once instead of once per sum). Eight independent partial sums per term:
// one serial chain of double additions is bound by the add latency (5 ms per pass over the CNN's
// first BatchNorm), while independent lanes vectorize. Each sum's order depends only on the shape.
//
// A channel is one short run per sample (64 to 1024 values in the CNN), each on its own memory
// pages, so the hardware prefetchers, which follow a stream within a page, start cold on every
// run and the pass waited on memory (a third of DRAM speed). The pass prefetches each term's line
// the same position a few samples ahead, at least 2 KB of run ahead: batch norm's forward and
// backward at K = 9 on the CNN's shapes took about a quarter less time in isolation.
template <class Scalar, class... Terms>
std::array<double, sizeof...(Terms)> channel_sums(const batch_norm_geometry<Scalar>& g, std::size_t c,
                                                  const Terms... terms) {
  constexpr std::size_t count = sizeof...(Terms);
  constexpr std::size_t line = 64 / sizeof(Scalar);
  const std::size_t runs_ahead = std::max<std::size_t>(1, 2048 / (g.plane * sizeof(Scalar)));
  const std::size_t ahead = runs_ahead * g.channels * g.plane;
  std::array<eight_values<double>, count> partial{};
  std::array<double, count> rest{};
  for_channel(g, c, [&](std::size_t offset, std::size_t length) {
    const std::size_t end = offset + length;
    const bool prefetch = offset + ahead < g.size();
    std::size_t i = offset;
    for (; i + 8 <= end; i += 8) {
      if (prefetch && (i - offset) % line == 0) (terms.prefetch(i + ahead), ...);
      std::size_t t = 0;
      ((partial[t++] += terms.eight_at(i)), ...);
    }
    for (; i < end; ++i) {
      std::size_t t = 0;
      ((rest[t++] += terms.at(i)), ...);
    }
  });
  for (std::size_t t = 0; t < count; ++t) {
    for (const auto& v : partial[t].v) {
      for (std::size_t lane = 0; lane < vector32_lanes<double>; ++lane) rest[t] += v[lane];
    }
  }
  return rest;
}

// The element loops below take restrict-qualified runs and their coefficients by value: written
// inline over captured pointers, the compiler had to assume each store may change the coefficients
// and the dual backward loop ran one float at a time (10% of the CNN's K = 9 step).

// One run of slot k's forward tangents: dxhat = (dx - dmu) inv + xhat dinv / inv (zero without dx)
// and dy = dgamma xhat + gamma dxhat + dbeta, written in one pass.
template <class Scalar>
struct normalized_tangent_coefficients {
  Scalar shift, inv, ratio, dscale, scale, doffset;  // dmu, inv, dinv / inv, dgamma, gamma, dbeta
};

template <bool has_dx, class Scalar>
void normalized_tangent_run(std::size_t length, const Scalar* __restrict dx, const Scalar* __restrict xhat,
                            const normalized_tangent_coefficients<Scalar> k, Scalar* __restrict dxhat,
                            Scalar* __restrict dy) {
  for (std::size_t i = 0; i < length; ++i) {
    const Scalar d = has_dx ? (dx[i] - k.shift) * k.inv + xhat[i] * k.ratio : Scalar(0);
    dxhat[i] = d;
    dy[i] = k.dscale * xhat[i] + k.scale * d + k.doffset;
  }
}

// One run of slot k's input-gradient tangent, the product rule of inv (gx - A - xhat B):
//   dinv (gx - A - xhat B) + inv (dgamma g + gamma dg - dA - dxhat B - xhat dB)
template <class Scalar>
struct input_tangent_coefficients {
  Scalar scale, dscale, inv, dinv, mean_gx, mean_gx_xhat, dmean_gx, dmean_gx_xhat;  // gamma, inv, A, B, dA, dB
};

template <bool has_dg, bool has_dxhat, class Scalar>
void input_tangent_run(std::size_t length, const Scalar* __restrict g, const Scalar* __restrict dg,
                       const Scalar* __restrict xhat, const Scalar* __restrict dxhat,
                       const input_tangent_coefficients<Scalar> k, Scalar* __restrict out) {
  for (std::size_t i = 0; i < length; ++i) {
    const Scalar gx = k.scale * g[i];
    const Scalar dgx = k.dscale * g[i] + (has_dg ? k.scale * dg[i] : Scalar(0));
    const Scalar dx_hat = has_dxhat ? dxhat[i] : Scalar(0);
    out[i] = k.dinv * (gx - k.mean_gx - xhat[i] * k.mean_gx_xhat) +
             k.inv * (dgx - k.dmean_gx - dx_hat * k.mean_gx_xhat - xhat[i] * k.dmean_gx_xhat);
  }
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
      mean = channel_sums(geometry, c, entry_term<Scalar>{x.value})[0] / count;
      variance = channel_sums(geometry, c, centered_square_term<Scalar>{x.value, mean})[0] / count;
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
      Scalar dinv = 0, dshift = 0;
      if (dx != nullptr && training) {
        const auto sums = channel_sums(geometry, c, entry_term<Scalar>{dx}, product_term<Scalar>{xhat, dx});
        dshift = static_cast<Scalar>(sums[0] / count);
        const double dvariance = 2.0 * sums[1] / (count * inv);  // 2 mean((x - mu) dx), x - mu = xhat / inv
        dinv = static_cast<Scalar>(-0.5 * double(inv) * inv * inv * dvariance);
      }
      inverse_tangents[k * geometry.channels + c] = dinv;
      const normalized_tangent_coefficients<Scalar> coefficients{
          dshift, inv, dinv / inv, gamma.tangent(k) ? gamma.tangent(k)[c] : Scalar(0), scale,
          beta.tangent(k) ? beta.tangent(k)[c] : Scalar(0)};
      Scalar* dxhat = xhat_tangents + k * size;
      Scalar* dy = y_tangents + k * size;
      for_channel(geometry, c, [&](std::size_t o, std::size_t l) {
        if (dx != nullptr) {
          normalized_tangent_run<true>(l, dx + o, xhat + o, coefficients, dxhat + o, dy + o);
        } else {
          normalized_tangent_run<false>(l, dx, xhat + o, coefficients, dxhat + o, dy + o);
        }
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
    const auto sums =
        channel_sums(geometry, c, entry_term<Scalar>{g.value}, product_term<Scalar>{g.value, xhat.value});
    const double sum_g = sums[0], sum_g_xhat = sums[1];
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
      const entry_term<Scalar> dg_term{dg};
      const product_term<Scalar> dg_xhat_term{dg, xhat.value}, g_dxhat_term{g.value, dxhat};
      double sum_dg = 0, sum_dg_xhat = 0, sum_g_dxhat = 0;
      if (dg && dxhat) {
        const auto tangent_sums = channel_sums(geometry, c, dg_term, dg_xhat_term, g_dxhat_term);
        sum_dg = tangent_sums[0], sum_dg_xhat = tangent_sums[1], sum_g_dxhat = tangent_sums[2];
      } else if (dg) {
        const auto tangent_sums = channel_sums(geometry, c, dg_term, dg_xhat_term);
        sum_dg = tangent_sums[0], sum_dg_xhat = tangent_sums[1];
      } else if (dxhat) {
        sum_g_dxhat = channel_sums(geometry, c, g_dxhat_term)[0];
      }
      // d sum(g xhat) = sum(dg xhat + g dxhat), d sum(g) = sum(dg)
      gamma_tangents[k * channels + c] = static_cast<Scalar>(sum_dg_xhat + sum_g_dxhat);
      beta_tangents[k * channels + c] = static_cast<Scalar>(sum_dg);
      // dA = mean(dgamma g + gamma dg), dB = mean((dgamma g + gamma dg) xhat + gamma g dxhat)
      const Scalar dmean_gx = training ? static_cast<Scalar>((dscale * sum_g + scale * sum_dg) / count) : Scalar(0);
      const Scalar dmean_gx_xhat =
          training ? static_cast<Scalar>((dscale * sum_g_xhat + scale * sum_dg_xhat + scale * sum_g_dxhat) / count)
                   : Scalar(0);
      const input_tangent_coefficients<Scalar> coefficients{scale,   dscale,       inv,      dinv,
                                                            mean_gx, mean_gx_xhat, dmean_gx, dmean_gx_xhat};
      Scalar* out = input_tangents + k * size;
      for_channel(geometry, c, [&](std::size_t o, std::size_t l) {
        const Scalar* dg_run = dg ? dg + o : nullptr;
        const Scalar* dxhat_run = dxhat ? dxhat + o : nullptr;
        if (dg && dxhat) {
          input_tangent_run<true, true>(l, g.value + o, dg_run, xhat.value + o, dxhat_run, coefficients, out + o);
        } else if (dg) {
          input_tangent_run<true, false>(l, g.value + o, dg_run, xhat.value + o, dxhat_run, coefficients, out + o);
        } else if (dxhat) {
          input_tangent_run<false, true>(l, g.value + o, dg_run, xhat.value + o, dxhat_run, coefficients, out + o);
        } else {
          input_tangent_run<false, false>(l, g.value + o, dg_run, xhat.value + o, dxhat_run, coefficients, out + o);
        }
      });
    }
  });
}

}  // namespace fds::nn::detail
