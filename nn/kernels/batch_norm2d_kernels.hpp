// BatchNorm2d kernels for plain and dual tensors: per-channel loops over [N, C, H, W] instead of
// broadcast expressions, which xtensor evaluates element by element through index arithmetic.
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
// With a relu after batch norm (batch_norm2d_relu.hpp), forward stores max(y, 0), its tangents
// 1[y > 0] dy and the flags 1[y > 0]; backward reads g 1[y > 0] and its tangents dg 1[y > 0], as
// relu's own backward would have written them: the same bits, one pass less each way.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include <fds/autodiff/autodiff.hpp>

#include <fds/nn/kernels/batch_norm_channel_sums.hpp>
#include <fds/nn/kernels/tensor_kernels.hpp>

namespace fds::nn::detail {

// The element loops below take restrict-qualified runs and their coefficients by value: written
// inline over captured pointers, the compiler had to assume each store may change the coefficients
// and the dual backward loop ran one float at a time.

// One run of the value: xhat = (x - mu) inv and y = gamma xhat + beta, or with Rectify the
// relu's max(y, 0) and its flags positive = 1[y > 0].
template <bool Rectify, class Scalar>
void normalized_value_run(std::size_t length, const Scalar* __restrict x, Scalar shift, Scalar inv, Scalar scale,
                          Scalar offset, Scalar* __restrict xhat, Scalar* __restrict y,
                          std::uint8_t* __restrict positive) {
    for (std::size_t i = 0; i < length; ++i) {
        xhat[i] = (x[i] - shift) * inv;
        const Scalar output = scale * xhat[i] + offset;
        if constexpr (Rectify) {
            positive[i] = output > Scalar(0);
            y[i] = output > Scalar(0) ? output : Scalar(0);
        } else {
            y[i] = output;
        }
    }
}

// One run of slot k's forward tangents: dxhat = (dx - dmu) inv + xhat dinv / inv (zero without dx)
// and dy = dgamma xhat + gamma dxhat + dbeta (with Rectify 1[y > 0] dy), written in one pass.
template <class Scalar>
struct normalized_tangent_coefficients {
    Scalar shift, inv, ratio, dscale, scale, doffset;  // dmu, inv, dinv / inv, dgamma, gamma, dbeta
};

template <bool has_dx, bool Rectify, class Scalar>
void normalized_tangent_run(std::size_t length, const Scalar* __restrict dx, const Scalar* __restrict xhat,
                            const std::uint8_t* __restrict positive, const normalized_tangent_coefficients<Scalar> k,
                            Scalar* __restrict dxhat, Scalar* __restrict dy) {
    for (std::size_t i = 0; i < length; ++i) {
        const Scalar d = has_dx ? (dx[i] - k.shift) * k.inv + xhat[i] * k.ratio : Scalar(0);
        dxhat[i] = d;
        const Scalar tangent = k.dscale * xhat[i] + k.scale * d + k.doffset;
        dy[i] = Rectify ? Scalar(positive[i]) * tangent : tangent;
    }
}

// One run of slot k's input-gradient tangent, the product rule of inv (gx - A - xhat B):
//   dinv (gx - A - xhat B) + inv (dgamma g + gamma dg - dA - dxhat B - xhat dB)
template <class Scalar>
struct input_tangent_coefficients {
    Scalar scale, dscale, inv, dinv, mean_gx, mean_gx_xhat, dmean_gx, dmean_gx_xhat;  // gamma, inv, A, B, dA, dB
};

// (with Masked, g and dg are read as g 1[y > 0] and dg 1[y > 0])
template <bool has_dg, bool has_dxhat, bool Masked, class Scalar>
void input_tangent_run(std::size_t length, const Scalar* __restrict g_run, const Scalar* __restrict dg_run,
                       const Scalar* __restrict xhat, const Scalar* __restrict dxhat,
                       const std::uint8_t* __restrict positive, const input_tangent_coefficients<Scalar> k,
                       Scalar* __restrict out) {
    for (std::size_t i = 0; i < length; ++i) {
        const Scalar g = Masked ? g_run[i] * Scalar(positive[i]) : g_run[i];
        const Scalar dg = has_dg ? (Masked ? dg_run[i] * Scalar(positive[i]) : dg_run[i]) : Scalar(0);
        const Scalar gx = k.scale * g;
        const Scalar dgx = k.dscale * g + (has_dg ? k.scale * dg : Scalar(0));
        const Scalar dx_hat = has_dxhat ? dxhat[i] : Scalar(0);
        out[i] = k.dinv * (gx - k.mean_gx - xhat[i] * k.mean_gx_xhat) +
                 k.inv * (dgx - k.dmean_gx - dx_hat * k.mean_gx_xhat - xhat[i] * k.dmean_gx_xhat);
    }
}

// Outputs: y, xhat (value + `live` tangent rows), inverse [C] (+ live rows), batch mean/var [C];
// with `positive` (not null) y through a relu and its flags 1[y > 0].
template <bool Rectify, class Scalar>
void batch_norm_forward_runs(const batch_norm_geometry<Scalar>& geometry, tangent_view<Scalar> x,
                             tangent_view<Scalar> gamma, tangent_view<Scalar> beta, bool training, double epsilon,
                             const Scalar* running_mean, const Scalar* running_variance, std::size_t live, Scalar* y,
                             Scalar* y_tangents, Scalar* xhat, Scalar* xhat_tangents, Scalar* inverse,
                             Scalar* inverse_tangents, Scalar* batch_mean, Scalar* batch_variance,
                             std::uint8_t* positive) {
    const std::size_t size = geometry.size();
    const double count = static_cast<double>(geometry.count());
    for_channel_groups(geometry, [&](channel_group group) {
        std::vector<double> means(group.size()), variances(group.size());
        if (training) {
            const auto sums = group_sums(geometry, group, entry_term<Scalar>{x.value});
            for (std::size_t l = 0; l < group.size(); ++l) means[l] = sums[l][0] / count;
            const auto squares = group_sums(geometry, group, centered_square_term<Scalar>{x.value, means.data()});
            for (std::size_t l = 0; l < group.size(); ++l) {
                variances[l] = squares[l][0] / count;
                batch_mean[group.first + l] = static_cast<Scalar>(means[l]);
                batch_variance[group.first + l] = static_cast<Scalar>(variances[l]);
            }
        } else {
            for (std::size_t l = 0; l < group.size(); ++l) {
                means[l] = running_mean[group.first + l];
                variances[l] = running_variance[group.first + l];
            }
        }
        for (std::size_t l = 0; l < group.size(); ++l) {
            inverse[group.first + l] = static_cast<Scalar>(1.0 / std::sqrt(variances[l] + epsilon));
        }
        for_group(geometry, group, [&](std::size_t l, std::size_t o, std::size_t length) {
            const std::size_t c = group.first + l;
            normalized_value_run<Rectify>(length, x.value + o, static_cast<Scalar>(means[l]), inverse[c],
                                          gamma.value[c], beta.value[c], xhat + o, y + o,
                                          Rectify ? positive + o : nullptr);
        });
        std::vector<normalized_tangent_coefficients<Scalar>> coefficients(group.size());
        for (std::size_t k = 0; k < live; ++k) {
            const Scalar* dx = x.tangent(k);
            std::vector<std::array<double, 2>> sums;
            if (dx != nullptr && training) {
                sums = group_sums(geometry, group, entry_term<Scalar>{dx}, product_term<Scalar>{{xhat}, dx});
            }
            for (std::size_t l = 0; l < group.size(); ++l) {
                const std::size_t c = group.first + l;
                const Scalar inv = inverse[c];
                Scalar dinv = 0, dshift = 0;
                if (!sums.empty()) {
                    dshift = static_cast<Scalar>(sums[l][0] / count);
                    const double dvariance =
                        2.0 * sums[l][1] / (count * inv);  // 2 mean((x - mu) dx), x - mu = xhat / inv
                    dinv = static_cast<Scalar>(-0.5 * double(inv) * inv * inv * dvariance);
                }
                inverse_tangents[k * geometry.channels + c] = dinv;
                coefficients[l] = {dshift,         inv,
                                   dinv / inv,     gamma.tangent(k) ? gamma.tangent(k)[c] : Scalar(0),
                                   gamma.value[c], beta.tangent(k) ? beta.tangent(k)[c] : Scalar(0)};
            }
            Scalar* dxhat = xhat_tangents + k * size;
            Scalar* dy = y_tangents + k * size;
            for_group(geometry, group, [&](std::size_t l, std::size_t o, std::size_t length) {
                const std::uint8_t* flags = Rectify ? positive + o : nullptr;
                if (dx != nullptr) {
                    normalized_tangent_run<true, Rectify>(length, dx + o, xhat + o, flags, coefficients[l], dxhat + o,
                                                          dy + o);
                } else {
                    normalized_tangent_run<false, Rectify>(length, dx, xhat + o, flags, coefficients[l], dxhat + o,
                                                           dy + o);
                }
            });
        }
    });
}

template <class Scalar>
void batch_norm_forward(const batch_norm_geometry<Scalar>& geometry, tangent_view<Scalar> x, tangent_view<Scalar> gamma,
                        tangent_view<Scalar> beta, bool training, double epsilon, const Scalar* running_mean,
                        const Scalar* running_variance, std::size_t live, Scalar* y, Scalar* y_tangents, Scalar* xhat,
                        Scalar* xhat_tangents, Scalar* inverse, Scalar* inverse_tangents, Scalar* batch_mean,
                        Scalar* batch_variance, std::uint8_t* positive) {
    if (positive != nullptr) {
        batch_norm_forward_runs<true>(geometry, x, gamma, beta, training, epsilon, running_mean, running_variance, live,
                                      y, y_tangents, xhat, xhat_tangents, inverse, inverse_tangents, batch_mean,
                                      batch_variance, positive);
    } else {
        batch_norm_forward_runs<false>(geometry, x, gamma, beta, training, epsilon, running_mean, running_variance,
                                       live, y, y_tangents, xhat, xhat_tangents, inverse, inverse_tangents, batch_mean,
                                       batch_variance, positive);
    }
}

// with `positive` (not null: forward went through a relu), g and dg are read as g 1[y > 0], dg 1[y > 0]
template <bool Masked, class Scalar>
void batch_norm_backward_runs(const batch_norm_geometry<Scalar>& geometry, tangent_view<Scalar> g,
                              tangent_view<Scalar> xhat, tangent_view<Scalar> inverse, tangent_view<Scalar> gamma,
                              bool training, std::size_t live, const std::uint8_t* positive, Scalar* input_gradient,
                              Scalar* input_tangents, Scalar* gamma_gradient, Scalar* gamma_tangents,
                              Scalar* beta_gradient, Scalar* beta_tangents) {
    using gradient_term = entry_term<Scalar, Masked>;
    using gradient_product_term = product_term<Scalar, Masked>;
    const std::size_t size = geometry.size();
    const std::size_t channels = geometry.channels;
    const double count = static_cast<double>(geometry.count());
    for_channel_groups(geometry, [&](channel_group group) {
        const gradient_term g_term{g.value, positive};
        const auto sums = group_sums(geometry, group, g_term, gradient_product_term{g_term, xhat.value});
        // per channel of the group: A = mean(gamma g) and B = mean(gamma g xhat)
        std::vector<Scalar> mean_gx(group.size()), mean_gx_xhat(group.size());
        for (std::size_t l = 0; l < group.size(); ++l) {
            const std::size_t c = group.first + l;
            const double sum_g = sums[l][0], sum_g_xhat = sums[l][1];
            gamma_gradient[c] = static_cast<Scalar>(sum_g_xhat);
            beta_gradient[c] = static_cast<Scalar>(sum_g);
            const Scalar scale = gamma.value[c];
            mean_gx[l] = training ? static_cast<Scalar>(scale * sum_g / count) : Scalar(0);
            mean_gx_xhat[l] = training ? static_cast<Scalar>(scale * sum_g_xhat / count) : Scalar(0);
        }
        for_group(geometry, group, [&](std::size_t l, std::size_t o, std::size_t length) {
            const std::size_t c = group.first + l;
            const Scalar scale = gamma.value[c], inv = inverse.value[c], a = mean_gx[l], b = mean_gx_xhat[l];
            for (std::size_t i = o; i < o + length; ++i) {
                input_gradient[i] = inv * (scale * g_term.entry(i) - a - xhat.value[i] * b);
            }
        });
        std::vector<input_tangent_coefficients<Scalar>> coefficients(group.size());
        for (std::size_t k = 0; k < live; ++k) {
            const Scalar* dg = g.tangent(k);
            const Scalar* dxhat = xhat.tangent(k);
            const gradient_term dg_term{dg, positive};
            const gradient_product_term dg_xhat_term{dg_term, xhat.value}, g_dxhat_term{g_term, dxhat};
            // per channel: sum(dg), sum(dg xhat), sum(g dxhat), zero where dg or dxhat is zero
            std::vector<std::array<double, 3>> tangent_sums(group.size(), {0.0, 0.0, 0.0});
            if (dg && dxhat) {
                tangent_sums = group_sums(geometry, group, dg_term, dg_xhat_term, g_dxhat_term);
            } else if (dg) {
                const auto two = group_sums(geometry, group, dg_term, dg_xhat_term);
                for (std::size_t l = 0; l < group.size(); ++l) tangent_sums[l] = {two[l][0], two[l][1], 0.0};
            } else if (dxhat) {
                const auto one = group_sums(geometry, group, g_dxhat_term);
                for (std::size_t l = 0; l < group.size(); ++l) tangent_sums[l][2] = one[l][0];
            }
            for (std::size_t l = 0; l < group.size(); ++l) {
                const std::size_t c = group.first + l;
                const double sum_g = sums[l][0], sum_g_xhat = sums[l][1];
                const double sum_dg = tangent_sums[l][0], sum_dg_xhat = tangent_sums[l][1],
                             sum_g_dxhat = tangent_sums[l][2];
                const Scalar scale = gamma.value[c];
                const Scalar dscale = gamma.tangent(k) ? gamma.tangent(k)[c] : Scalar(0);
                // d sum(g xhat) = sum(dg xhat + g dxhat), d sum(g) = sum(dg)
                gamma_tangents[k * channels + c] = static_cast<Scalar>(sum_dg_xhat + sum_g_dxhat);
                beta_tangents[k * channels + c] = static_cast<Scalar>(sum_dg);
                // dA = mean(dgamma g + gamma dg), dB = mean((dgamma g + gamma dg) xhat + gamma g dxhat)
                const Scalar dmean_gx =
                    training ? static_cast<Scalar>((dscale * sum_g + scale * sum_dg) / count) : Scalar(0);
                const Scalar dmean_gx_xhat =
                    training
                        ? static_cast<Scalar>((dscale * sum_g_xhat + scale * sum_dg_xhat + scale * sum_g_dxhat) / count)
                        : Scalar(0);
                coefficients[l] = {scale,
                                   dscale,
                                   inverse.value[c],
                                   inverse.tangent(k) ? inverse.tangent(k)[c] : Scalar(0),
                                   mean_gx[l],
                                   mean_gx_xhat[l],
                                   dmean_gx,
                                   dmean_gx_xhat};
            }
            Scalar* out = input_tangents + k * size;
            for_group(geometry, group, [&](std::size_t l, std::size_t o, std::size_t length) {
                const Scalar* dg_run = dg ? dg + o : nullptr;
                const Scalar* dxhat_run = dxhat ? dxhat + o : nullptr;
                const std::uint8_t* flags = Masked ? positive + o : nullptr;
                const auto& k_l = coefficients[l];
                if (dg && dxhat) {
                    input_tangent_run<true, true, Masked>(length, g.value + o, dg_run, xhat.value + o, dxhat_run, flags,
                                                          k_l, out + o);
                } else if (dg) {
                    input_tangent_run<true, false, Masked>(length, g.value + o, dg_run, xhat.value + o, dxhat_run,
                                                           flags, k_l, out + o);
                } else if (dxhat) {
                    input_tangent_run<false, true, Masked>(length, g.value + o, dg_run, xhat.value + o, dxhat_run,
                                                           flags, k_l, out + o);
                } else {
                    input_tangent_run<false, false, Masked>(length, g.value + o, dg_run, xhat.value + o, dxhat_run,
                                                            flags, k_l, out + o);
                }
            });
        }
    });
}

template <class Scalar>
void batch_norm_backward(const batch_norm_geometry<Scalar>& geometry, tangent_view<Scalar> g, tangent_view<Scalar> xhat,
                         tangent_view<Scalar> inverse, tangent_view<Scalar> gamma, bool training, std::size_t live,
                         const std::uint8_t* positive, Scalar* input_gradient, Scalar* input_tangents,
                         Scalar* gamma_gradient, Scalar* gamma_tangents, Scalar* beta_gradient, Scalar* beta_tangents) {
    if (positive != nullptr) {
        batch_norm_backward_runs<true>(geometry, g, xhat, inverse, gamma, training, live, positive, input_gradient,
                                       input_tangents, gamma_gradient, gamma_tangents, beta_gradient, beta_tangents);
    } else {
        batch_norm_backward_runs<false>(geometry, g, xhat, inverse, gamma, training, live, positive, input_gradient,
                                        input_tangents, gamma_gradient, gamma_tangents, beta_gradient, beta_tangents);
    }
}

}  // namespace fds::nn::detail
