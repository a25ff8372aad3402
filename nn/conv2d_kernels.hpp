// Convolution kernels of conv2d.hpp, for plain and dual tensors. autodiff's generic im2col +
// matmul + transpose path is correct but spends most of a LeNet step moving memory; these kernels
// lay the columns out as [C*KH*KW, N*OH*OW] (rows copied as contiguous runs), so that
//   Y[O, N*OH*OW] = W[O, C*KH*KW] X                          (one GEMM per value or tangent)
// lands in NCHW order with one block copy per (n, o), and no transposes of the data are needed.
// With the columns of the value X and of each live tangent dX_k of the input:
//   forward   dY_k  = dW_k X + W dX_k,                       (+ db_k)
//   backward  dL/dW = G X^T,  dL/dX = W^T G,  dL/db = row sums of G, and on duals
//             (dL/dW)_k = dG_k X^T + G dX_k^T,   (dL/dX)_k = dW_k^T G + W^T dG_k.
// Each term is one large GEMM (N*OH*OW columns), done per tangent slot with one reused column
// buffer, so the memory of a dual step stays that of the tensors themselves.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

#include <cblas.h>

#include <autodiff/autodiff.hpp>

namespace fds::nn::detail {

struct conv_shape {
  std::size_t batch, channels, height, width, out_channels, kernel, stride, padding, out_height, out_width;
  std::size_t patch() const { return channels * kernel * kernel; }
  std::size_t positions() const { return out_height * out_width; }
  std::size_t columns() const { return batch * positions(); }
  std::size_t input_size() const { return batch * channels * height * width; }
  std::size_t output_size() const { return batch * out_channels * positions(); }
};

// C[m, n] = alpha op(A) op(B) + beta C, row-major, contiguous operands
inline void gemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                 const float* a, const float* b, float beta, float* c) {
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a,
              static_cast<int>(transpose_a ? m : k), b, static_cast<int>(transpose_b ? k : n), beta, c,
              static_cast<int>(n));
}
inline void gemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k, double alpha,
                 const double* a, const double* b, double beta, double* c) {
  cblas_dgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a,
              static_cast<int>(transpose_a ? m : k), b, static_cast<int>(transpose_b ? k : n), beta, c,
              static_cast<int>(n));
}

// output columns ox whose input column ox*stride + kx - padding lies inside [0, width)
inline std::pair<std::size_t, std::size_t> valid_range(std::size_t offset, const conv_shape& s, std::size_t extent,
                                                       std::size_t out_extent) {
  // offset = kx; input index = o*stride + offset - padding
  std::size_t begin = 0;
  if (offset < s.padding) begin = (s.padding - offset + s.stride - 1) / s.stride;
  std::size_t end = 0;
  if (extent + s.padding > offset) end = std::min(out_extent, (extent - 1 + s.padding - offset) / s.stride + 1);
  return {std::min(begin, end), end};
}

// cols[(c, ky, kx), (n, oy, ox)] = x[n, c, oy*stride + ky - padding, ox*stride + kx - padding] (0 outside)
template <class Scalar>
void im2col_rows(const Scalar* x, const conv_shape& s, Scalar* cols) {
  const std::size_t plane = s.height * s.width;
  for (std::size_t c = 0; c < s.channels; ++c) {
    for (std::size_t ky = 0; ky < s.kernel; ++ky) {
      const auto [oy_begin, oy_end] = valid_range(ky, s, s.height, s.out_height);
      for (std::size_t kx = 0; kx < s.kernel; ++kx) {
        const auto [ox_begin, ox_end] = valid_range(kx, s, s.width, s.out_width);
        Scalar* row = cols + ((c * s.kernel + ky) * s.kernel + kx) * s.columns();
        for (std::size_t n = 0; n < s.batch; ++n) {
          const Scalar* image = x + (n * s.channels + c) * plane;
          Scalar* target = row + n * s.positions();
          std::fill(target, target + oy_begin * s.out_width, Scalar(0));
          for (std::size_t oy = oy_begin; oy < oy_end; ++oy) {
            const Scalar* source = image + (oy * s.stride + ky - s.padding) * s.width + kx - s.padding;
            Scalar* out = target + oy * s.out_width;
            std::fill(out, out + ox_begin, Scalar(0));
            if (s.stride == 1) {
              std::memcpy(out + ox_begin, source + ox_begin, (ox_end - ox_begin) * sizeof(Scalar));
            } else {
              for (std::size_t ox = ox_begin; ox < ox_end; ++ox) out[ox] = source[ox * s.stride];
            }
            std::fill(out + ox_end, out + s.out_width, Scalar(0));
          }
          std::fill(target + oy_end * s.out_width, target + s.positions(), Scalar(0));
        }
      }
    }
  }
}

// x += im2col^T(cols): every column entry is added back where it was read from
template <class Scalar>
void col2im_rows_add(const Scalar* cols, const conv_shape& s, Scalar* x) {
  const std::size_t plane = s.height * s.width;
  for (std::size_t c = 0; c < s.channels; ++c) {
    for (std::size_t ky = 0; ky < s.kernel; ++ky) {
      const auto [oy_begin, oy_end] = valid_range(ky, s, s.height, s.out_height);
      for (std::size_t kx = 0; kx < s.kernel; ++kx) {
        const auto [ox_begin, ox_end] = valid_range(kx, s, s.width, s.out_width);
        const Scalar* row = cols + ((c * s.kernel + ky) * s.kernel + kx) * s.columns();
        for (std::size_t n = 0; n < s.batch; ++n) {
          Scalar* image = x + (n * s.channels + c) * plane;
          const Scalar* source_rows = row + n * s.positions();
          for (std::size_t oy = oy_begin; oy < oy_end; ++oy) {
            Scalar* target = image + (oy * s.stride + ky - s.padding) * s.width + kx - s.padding;
            const Scalar* source = source_rows + oy * s.out_width;
            if (s.stride == 1) {
              for (std::size_t ox = ox_begin; ox < ox_end; ++ox) target[ox] += source[ox];  // vectorizes
            } else {
              for (std::size_t ox = ox_begin; ox < ox_end; ++ox) target[ox * s.stride] += source[ox];
            }
          }
        }
      }
    }
  }
}

// y[n, o, p] = rows[o, n*P + p] + bias[o]   (bias may be null)
template <class Scalar>
void rows_to_nchw(const Scalar* rows, const Scalar* bias, const conv_shape& s, Scalar* y) {
  const std::size_t positions = s.positions();
  for (std::size_t n = 0; n < s.batch; ++n) {
    for (std::size_t o = 0; o < s.out_channels; ++o) {
      const Scalar* source = rows + o * s.columns() + n * positions;
      Scalar* target = y + (n * s.out_channels + o) * positions;
      const Scalar shift = bias ? bias[o] : Scalar(0);
      for (std::size_t p = 0; p < positions; ++p) target[p] = source[p] + shift;
    }
  }
}

// rows[o, n*P + p] = g[n, o, p]
template <class Scalar>
void nchw_to_rows(const Scalar* g, const conv_shape& s, Scalar* rows) {
  const std::size_t positions = s.positions();
  for (std::size_t n = 0; n < s.batch; ++n) {
    for (std::size_t o = 0; o < s.out_channels; ++o) {
      std::memcpy(rows + o * s.columns() + n * positions, g + (n * s.out_channels + o) * positions,
                  positions * sizeof(Scalar));
    }
  }
}

template <class Scalar>
void row_sums_add(const Scalar* rows, std::size_t count, std::size_t length, Scalar* target) {
  for (std::size_t r = 0; r < count; ++r) {
    Scalar total = 0;
    const Scalar* row = rows + r * length;
    for (std::size_t i = 0; i < length; ++i) total += row[i];
    target[r] += total;
  }
}

template <class Scalar>
std::vector<std::size_t> block_shape(std::size_t live, std::initializer_list<std::size_t> shape) {
  std::vector<std::size_t> result{live};
  result.insert(result.end(), shape.begin(), shape.end());
  return result;
}

template <class Scalar>
struct conv_gradients {
  xt::xarray<Scalar> weight;  // [O, C*KH*KW]
  xt::xarray<Scalar> bias;    // [O]
  xt::xarray<Scalar> input;   // [N, C, H, W]
};

// ----- plain -----

template <class Scalar>
xt::xarray<Scalar> conv_forward(const xt::xarray<Scalar>& x, const xt::xarray<Scalar>& weight,
                                const xt::xarray<Scalar>* bias, const conv_shape& s) {
  std::vector<Scalar> cols(s.patch() * s.columns());
  std::vector<Scalar> rows(s.out_channels * s.columns());
  im2col_rows(x.data(), s, cols.data());
  gemm(false, false, s.out_channels, s.columns(), s.patch(), Scalar(1), weight.data(), cols.data(), Scalar(0),
       rows.data());
  xt::xarray<Scalar> y = xt::xarray<Scalar>::from_shape({s.batch, s.out_channels, s.out_height, s.out_width});
  rows_to_nchw(rows.data(), bias ? bias->data() : nullptr, s, y.data());
  return y;
}

template <class Scalar>
void conv_backward(const xt::xarray<Scalar>& g, const xt::xarray<Scalar>& x, const xt::xarray<Scalar>& weight,
                   bool with_bias, const conv_shape& s, xt::xarray<Scalar>& weight_gradient,
                   xt::xarray<Scalar>& bias_gradient, xt::xarray<Scalar>& input_gradient) {
  std::vector<Scalar> cols(s.patch() * s.columns());
  std::vector<Scalar> rows(s.out_channels * s.columns());
  im2col_rows(x.data(), s, cols.data());
  nchw_to_rows(g.data(), s, rows.data());
  weight_gradient = xt::xarray<Scalar>::from_shape({s.out_channels, s.patch()});
  gemm(false, true, s.out_channels, s.patch(), s.columns(), Scalar(1), rows.data(), cols.data(), Scalar(0),
       weight_gradient.data());
  if (with_bias) {
    bias_gradient = xt::zeros<Scalar>({s.out_channels});
    row_sums_add(rows.data(), s.out_channels, s.columns(), bias_gradient.data());
  }
  gemm(true, false, s.patch(), s.columns(), s.out_channels, Scalar(1), weight.data(), rows.data(), Scalar(0),
       cols.data());
  input_gradient = xt::zeros<Scalar>({s.batch, s.channels, s.height, s.width});
  col2im_rows_add(cols.data(), s, input_gradient.data());
}

// ----- dual -----
// The terms that multiply the value's columns X (dW_k X forward, dG_k X^T backward) are stacked
// over k into one GEMM, so X is streamed once; each dX_k is its own (large) GEMM, with one reused
// column buffer.

template <class Scalar>
autodiff::dual_tensor<Scalar> conv_forward(const autodiff::dual_tensor<Scalar>& x,
                                           const autodiff::dual_tensor<Scalar>& weight,
                                           const autodiff::dual_tensor<Scalar>* bias, const conv_shape& s) {
  const std::size_t weight_live = weight.live_tangents();
  const std::size_t live = std::max({x.live_tangents(), weight_live, bias ? bias->live_tangents() : std::size_t{0}});
  const std::size_t out = s.out_channels, columns = s.columns(), patch = s.patch();
  std::vector<Scalar> cols(patch * columns);
  std::vector<Scalar> tangent_cols(x.live_tangents() ? patch * columns : 0);
  std::vector<Scalar> rows(out * columns);
  im2col_rows(x.value().data(), s, cols.data());
  gemm(false, false, out, columns, patch, Scalar(1), weight.value().data(), cols.data(), Scalar(0), rows.data());
  xt::xarray<Scalar> value = xt::xarray<Scalar>::from_shape({s.batch, out, s.out_height, s.out_width});
  rows_to_nchw(rows.data(), bias ? bias->value().data() : nullptr, s, value.data());

  // tangent_rows[k] = dW_k X (all k at once) + W dX_k
  std::vector<Scalar> tangent_rows(live * out * columns);
  if (weight_live > 0) {
    gemm(false, false, weight_live * out, columns, patch, Scalar(1), weight.live_tangent_block().data(), cols.data(),
         Scalar(0), tangent_rows.data());
  }
  std::fill(tangent_rows.begin() + static_cast<std::ptrdiff_t>(weight_live * out * columns), tangent_rows.end(),
            Scalar(0));
  for (std::size_t k = 0; k < x.live_tangents(); ++k) {
    im2col_rows(x.live_tangent_block().data() + k * x.size(), s, tangent_cols.data());
    gemm(false, false, out, columns, patch, Scalar(1), weight.value().data(), tangent_cols.data(), Scalar(1),
         tangent_rows.data() + k * out * columns);
  }
  xt::xarray<Scalar> block =
      xt::xarray<Scalar>::from_shape(block_shape<Scalar>(live, {s.batch, out, s.out_height, s.out_width}));
  std::vector<Scalar> zero_bias(out, Scalar(0));
  for (std::size_t k = 0; k < live; ++k) {
    const Scalar* bias_tangent =
        bias && k < bias->live_tangents() ? bias->live_tangent_block().data() + k * out : zero_bias.data();
    rows_to_nchw(tangent_rows.data() + k * out * columns, bias_tangent, s, block.data() + k * s.output_size());
  }
  return autodiff::dual_tensor<Scalar>(std::move(value), std::move(block), x.tangent_count());
}

template <class Scalar>
void conv_backward(const autodiff::dual_tensor<Scalar>& g, const autodiff::dual_tensor<Scalar>& x,
                   const autodiff::dual_tensor<Scalar>& weight, bool with_bias, const conv_shape& s,
                   autodiff::dual_tensor<Scalar>& weight_gradient, autodiff::dual_tensor<Scalar>& bias_gradient,
                   autodiff::dual_tensor<Scalar>& input_gradient) {
  const std::size_t gradient_live = g.live_tangents();
  const std::size_t live = std::max({gradient_live, x.live_tangents(), weight.live_tangents()});
  const std::size_t tangent_count = std::max({g.tangent_count(), x.tangent_count(), weight.tangent_count()});
  const std::size_t patch = s.patch(), columns = s.columns(), out = s.out_channels;
  std::vector<Scalar> cols(patch * columns);
  std::vector<Scalar> scratch_cols(patch * columns);
  std::vector<Scalar> rows(out * columns);
  im2col_rows(x.value().data(), s, cols.data());
  nchw_to_rows(g.value().data(), s, rows.data());

  xt::xarray<Scalar> weight_value = xt::xarray<Scalar>::from_shape({out, patch});
  gemm(false, true, out, patch, columns, Scalar(1), rows.data(), cols.data(), Scalar(0), weight_value.data());
  xt::xarray<Scalar> bias_value = xt::zeros<Scalar>({out});
  if (with_bias) row_sums_add(rows.data(), out, columns, bias_value.data());
  xt::xarray<Scalar> input_value = xt::zeros<Scalar>({s.batch, s.channels, s.height, s.width});
  gemm(true, false, patch, columns, out, Scalar(1), weight.value().data(), rows.data(), Scalar(0), scratch_cols.data());
  col2im_rows_add(scratch_cols.data(), s, input_value.data());

  // (dL/dW)_k = dG_k X^T (all k at once) + G dX_k^T ; (dL/db)_k = row sums of dG_k
  std::vector<Scalar> tangent_rows(gradient_live * out * columns);
  for (std::size_t k = 0; k < gradient_live; ++k) {
    nchw_to_rows(g.live_tangent_block().data() + k * g.size(), s, tangent_rows.data() + k * out * columns);
  }
  xt::xarray<Scalar> weight_block = xt::zeros<Scalar>(block_shape<Scalar>(live, {out, patch}));
  if (gradient_live > 0) {
    gemm(false, true, gradient_live * out, patch, columns, Scalar(1), tangent_rows.data(), cols.data(), Scalar(0),
         weight_block.data());
  }
  xt::xarray<Scalar> bias_block = xt::zeros<Scalar>(block_shape<Scalar>(with_bias ? live : 0, {out}));
  if (with_bias) row_sums_add(tangent_rows.data(), gradient_live * out, columns, bias_block.data());
  xt::xarray<Scalar> input_block = xt::zeros<Scalar>(block_shape<Scalar>(live, {s.batch, s.channels, s.height, s.width}));
  for (std::size_t k = 0; k < live; ++k) {
    // (dL/dX)_k = W^T dG_k + dW_k^T G
    bool input_touched = false;
    if (k < gradient_live) {
      gemm(true, false, patch, columns, out, Scalar(1), weight.value().data(), tangent_rows.data() + k * out * columns,
           Scalar(0), scratch_cols.data());
      input_touched = true;
    }
    if (k < weight.live_tangents()) {
      gemm(true, false, patch, columns, out, Scalar(1), weight.live_tangent_block().data() + k * weight.size(),
           rows.data(), input_touched ? Scalar(1) : Scalar(0), scratch_cols.data());
      input_touched = true;
    }
    if (input_touched) col2im_rows_add(scratch_cols.data(), s, input_block.data() + k * s.input_size());
    if (k < x.live_tangents()) {
      im2col_rows(x.live_tangent_block().data() + k * x.size(), s, scratch_cols.data());
      gemm(false, true, out, patch, columns, Scalar(1), rows.data(), scratch_cols.data(), Scalar(1),
           weight_block.data() + k * out * patch);
    }
  }
  weight_gradient = autodiff::dual_tensor<Scalar>(std::move(weight_value), std::move(weight_block), tangent_count);
  bias_gradient = autodiff::dual_tensor<Scalar>(std::move(bias_value), std::move(bias_block), tangent_count);
  input_gradient = autodiff::dual_tensor<Scalar>(std::move(input_value), std::move(input_block), tangent_count);
}

}  // namespace fds::nn::detail
