// Matrix products of dual tensors with one GEMM per product-rule term.
//
//   C = op(A) op(B),   dC_k = op(dA_k) op(B) + op(A) op(dB_k)   for every live slot k.
//
// The tangent block of A, [L_a, M, Kd] (tangent axis outermost), is one [L_a * M, Kd] matrix, so the
// first term for all k is a single GEMM writing straight into the result block [L, M, N] (with
// op(A) = A^T the slots are first laid side by side, as for dB below). For the
// second term the slots of dB are laid side by side as one [Kd, L_b * N] matrix (a permuting copy),
// one GEMM gives [M, L_b, N], and a second permuting pass adds it into the result block. So a dual
// matmul costs 1 + 2L plain GEMMs of work in three BLAS calls, never L small ones.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include <fds/autodiff/blas.hpp>
#include <fds/autodiff/dual_tensor.hpp>
#include <fds/autodiff/errors.hpp>
#include <fds/autodiff/shape.hpp>

namespace fds::autodiff {
// op(a) op(b) for 2-D a, b; op transposes when the flag is set.
template <class Scalar>
dual_tensor<Scalar> matmul(const dual_tensor<Scalar>& a, const dual_tensor<Scalar>& b, bool transpose_a = false,
                           bool transpose_b = false);
template <class Scalar>
dual_tensor<Scalar> matmul(const dual_tensor<Scalar>& a, const detail::identity_t<xt::xarray<Scalar>>& b,
                           bool transpose_a = false, bool transpose_b = false);
template <class Scalar>
dual_tensor<Scalar> matmul(const detail::identity_t<xt::xarray<Scalar>>& a, const dual_tensor<Scalar>& b,
                           bool transpose_a = false, bool transpose_b = false);
template <class Scalar>
xt::xarray<Scalar> matmul(const xt::xarray<Scalar>& a, const xt::xarray<Scalar>& b, bool transpose_a = false,
                          bool transpose_b = false);

// [B, M, N] x [B, N, P] -> [B, M, P], one dual matmul per batch entry.
template <class Scalar>
dual_tensor<Scalar> batched_matmul(const dual_tensor<Scalar>& a, const dual_tensor<Scalar>& b);
template <class Scalar>
dual_tensor<Scalar> batched_matmul(const dual_tensor<Scalar>& a, const detail::identity_t<xt::xarray<Scalar>>& b);
template <class Scalar>
dual_tensor<Scalar> batched_matmul(const detail::identity_t<xt::xarray<Scalar>>& a, const dual_tensor<Scalar>& b);
template <class Scalar>
xt::xarray<Scalar> batched_matmul(const xt::xarray<Scalar>& a, const xt::xarray<Scalar>& b);

// ---------------------------------------------------------------- implementation

namespace detail {
// Uninitialized scratch memory kept per thread and per role between calls: the stacking
// copies are large (L * Kd * N), and a fresh allocation would cost page faults and a
// zeroing pass on every call.
template <class Scalar, int Role>
Scalar* scratch(std::size_t count) {
    thread_local std::unique_ptr<Scalar[]> buffer;
    thread_local std::size_t capacity = 0;
    if (count > capacity) {
        buffer.reset(new Scalar[count]);
        capacity = count;
    }
    return buffer.get();
}

// A 2-D operand: value data, live tangent rows (each rows x columns, as stored).
template <class Scalar>
struct matrix_operand {
    const Scalar* value;
    const Scalar* block;
    std::size_t live;
    std::size_t tangent_count;
    bool is_dual;
    std::vector<std::size_t> shape;
};

template <class Scalar>
matrix_operand<Scalar> make_matrix_operand(const dual_tensor<Scalar>& x) {
    return {x.value().data(),
            x.live_tangent_block().data(),
            x.live_tangents(),
            x.tangent_count(),
            true,
            std::vector<std::size_t>(x.shape().begin(), x.shape().end())};
}

template <class Scalar>
matrix_operand<Scalar> make_matrix_operand(const xt::xarray<Scalar>& x) {
    return {x.data(), nullptr, 0, 0, false, std::vector<std::size_t>(x.shape().begin(), x.shape().end())};
}

struct product_dimensions {
    std::size_t rows;  // M
    std::size_t inner;  // Kd
    std::size_t columns;  // N
};

inline product_dimensions check_matmul(const std::vector<std::size_t>& a, const std::vector<std::size_t>& b,
                                       bool transpose_a, bool transpose_b) {
    const std::string flags = std::string("transpose_a=") + (transpose_a ? "true" : "false") +
                              ", transpose_b=" + (transpose_b ? "true" : "false");
    if (a.size() != 2 || b.size() != 2) {
        throw_shape_mismatch("matmul", a, b, "both must be 2-D");
    }
    const std::size_t a_inner = transpose_a ? a[0] : a[1];
    const std::size_t b_inner = transpose_b ? b[1] : b[0];
    if (a_inner != b_inner) {
        throw_shape_mismatch("matmul", a, b, flags);
    }
    return {transpose_a ? a[1] : a[0], a_inner, transpose_b ? b[0] : b[1]};
}

// Writes value and live tangents of op(a) op(b) to value[M*N] and block[L, M, N].
template <class Scalar>
std::size_t matmul_into(const matrix_operand<Scalar>& a, const matrix_operand<Scalar>& b, bool transpose_a,
                        bool transpose_b, Scalar* value, xt::xarray<Scalar>& block) {
    const auto [m, inner, n] = check_matmul(a.shape, b.shape, transpose_a, transpose_b);
    if (a.is_dual && b.is_dual) {
        check_tangent_counts("matmul", a.tangent_count, b.tangent_count);
    }
    const std::size_t lda = a.shape[1];
    const std::size_t ldb = b.shape[1];
    const std::size_t live = std::max(a.live, b.live);
    block = xt::xarray<Scalar>::from_shape({live, m, n});
    if (m * n == 0) {
        return live;
    }
    if (inner == 0) {
        std::fill(value, value + m * n, Scalar(0));
        std::fill(block.begin(), block.end(), Scalar(0));
        return live;
    }
    gemm(transpose_a, transpose_b, m, n, inner, Scalar(1), a.value, lda, b.value, ldb, Scalar(0), value, n);

    // dA_k op(B) for all k < L_a: rows of the stacked [L_a * M, Kd] matrix.
    if (a.live > 0) {
        if (!transpose_a) {
            gemm(false, transpose_b, a.live * m, n, inner, Scalar(1), a.block, inner, b.value, ldb, Scalar(0),
                 block.data(), n);
        } else {
            // dA_k stored [Kd, M]: lay the slots side by side as [Kd, L_a, M] (whole rows
            // copied, no transposition); that matrix transposed, the GEMM's op(A), is the
            // stack [L_a * M, Kd] with slot-major rows, so the product lands as [L_a, M, N].
            const std::size_t wide = a.live * m;
            Scalar* side_by_side = scratch<Scalar, 0>(inner * wide);
            for (std::size_t k = 0; k < a.live; ++k) {
                for (std::size_t j = 0; j < inner; ++j) {
                    const Scalar* row = a.block + (k * inner + j) * m;
                    std::copy(row, row + m, side_by_side + j * wide + k * m);
                }
            }
            gemm(true, transpose_b, wide, n, inner, Scalar(1), side_by_side, wide, b.value, ldb, Scalar(0),
                 block.data(), n);
        }
    }

    // op(A) dB_k for all k < L_b as one [M, L_b * N] product.
    if (b.live > 0) {
        const std::size_t wide = b.live * n;
        Scalar* product = scratch<Scalar, 1>(m * wide);
        if (transpose_b) {
            // dB_k stored [N, Kd]: the stack [L_b * N, Kd] transposed is [Kd, L_b * N].
            gemm(transpose_a, true, m, wide, inner, Scalar(1), a.value, lda, b.block, inner, Scalar(0), product, wide);
        } else {
            // dB_k stored [Kd, N]: lay the slots side by side as [Kd, L_b, N].
            Scalar* side_by_side = scratch<Scalar, 2>(inner * wide);
            for (std::size_t k = 0; k < b.live; ++k) {
                for (std::size_t j = 0; j < inner; ++j) {
                    const Scalar* row = b.block + (k * inner + j) * n;
                    std::copy(row, row + n, side_by_side + j * wide + k * n);
                }
            }
            gemm(transpose_a, false, m, wide, inner, Scalar(1), a.value, lda, side_by_side, wide, Scalar(0), product,
                 wide);
        }
        // product [M, L_b, N] -> block [L, M, N]: add where the first term wrote, else set.
        for (std::size_t k = 0; k < b.live; ++k) {
            Scalar* out = block.data() + k * m * n;
            const bool accumulate = k < a.live;
            for (std::size_t i = 0; i < m; ++i) {
                const Scalar* row = product + i * wide + k * n;
                Scalar* target = out + i * n;
                if (accumulate) {
                    for (std::size_t j = 0; j < n; ++j) {
                        target[j] += row[j];
                    }
                } else {
                    std::copy(row, row + n, target);
                }
            }
        }
    }
    return live;
}

template <class Scalar>
dual_tensor<Scalar> dual_matmul(const matrix_operand<Scalar>& a, const matrix_operand<Scalar>& b, bool transpose_a,
                                bool transpose_b) {
    const auto dimensions = check_matmul(a.shape, b.shape, transpose_a, transpose_b);
    xt::xarray<Scalar> value = xt::xarray<Scalar>::from_shape({dimensions.rows, dimensions.columns});
    xt::xarray<Scalar> block;
    matmul_into(a, b, transpose_a, transpose_b, value.data(), block);
    return dual_tensor<Scalar>(std::move(value), std::move(block), a.is_dual ? a.tangent_count : b.tangent_count);
}

template <class Scalar>
void check_batched(const std::vector<std::size_t>& a, const std::vector<std::size_t>& b) {
    if (a.size() != 3 || b.size() != 3 || a[0] != b[0] || a[2] != b[1]) {
        throw_shape_mismatch("batched_matmul", a, b, "expected [B, M, N] and [B, N, P]");
    }
}

// One batch entry of a 3-D operand as a 2-D operand (a copy of its value and tangents).
template <class Scalar>
struct batch_entry {
    std::vector<Scalar> value;
    std::vector<Scalar> block;
    matrix_operand<Scalar> operand;
};

template <class Scalar>
void extract_batch_entry(const Scalar* value, const Scalar* block, std::size_t live, std::size_t batch,
                         std::size_t rows, std::size_t columns, std::size_t index, std::size_t tangent_count,
                         bool is_dual, batch_entry<Scalar>& entry) {
    const std::size_t count = rows * columns;
    entry.value.assign(value + index * count, value + (index + 1) * count);
    entry.block.resize(live * count);
    for (std::size_t k = 0; k < live; ++k) {
        const Scalar* slot = block + (k * batch + index) * count;
        std::copy(slot, slot + count, entry.block.data() + k * count);
    }
    entry.operand = {entry.value.data(), entry.block.data(), live, tangent_count, is_dual, {rows, columns}};
}

template <class Scalar>
dual_tensor<Scalar> dual_batched_matmul(const Scalar* a_value, const Scalar* a_block, std::size_t a_live, bool a_dual,
                                        const std::vector<std::size_t>& a_shape, const Scalar* b_value,
                                        const Scalar* b_block, std::size_t b_live, bool b_dual,
                                        const std::vector<std::size_t>& b_shape, std::size_t tangent_count) {
    check_batched<Scalar>(a_shape, b_shape);
    const std::size_t batch = a_shape[0];
    const std::size_t m = a_shape[1];
    const std::size_t inner = a_shape[2];
    const std::size_t n = b_shape[2];
    const std::size_t live = std::max(a_live, b_live);
    xt::xarray<Scalar> value = xt::xarray<Scalar>::from_shape({batch, m, n});
    xt::xarray<Scalar> block = xt::xarray<Scalar>::from_shape({live, batch, m, n});
    batch_entry<Scalar> a_entry;
    batch_entry<Scalar> b_entry;
    xt::xarray<Scalar> entry_block;
    for (std::size_t index = 0; index < batch; ++index) {
        extract_batch_entry(a_value, a_block, a_live, batch, m, inner, index, tangent_count, a_dual, a_entry);
        extract_batch_entry(b_value, b_block, b_live, batch, inner, n, index, tangent_count, b_dual, b_entry);
        matmul_into(a_entry.operand, b_entry.operand, false, false, value.data() + index * m * n, entry_block);
        for (std::size_t k = 0; k < live; ++k) {
            std::copy(entry_block.data() + k * m * n, entry_block.data() + (k + 1) * m * n,
                      block.data() + (k * batch + index) * m * n);
        }
    }
    return dual_tensor<Scalar>(std::move(value), std::move(block), tangent_count);
}

template <class Shape>
std::vector<std::size_t> to_vector(const Shape& shape) {
    return std::vector<std::size_t>(shape.begin(), shape.end());
}
}  // namespace detail

template <class Scalar>
dual_tensor<Scalar> matmul(const dual_tensor<Scalar>& a, const dual_tensor<Scalar>& b, bool transpose_a,
                           bool transpose_b) {
    return detail::dual_matmul(detail::make_matrix_operand(a), detail::make_matrix_operand(b), transpose_a,
                               transpose_b);
}

template <class Scalar>
dual_tensor<Scalar> matmul(const dual_tensor<Scalar>& a, const detail::identity_t<xt::xarray<Scalar>>& b,
                           bool transpose_a, bool transpose_b) {
    return detail::dual_matmul(detail::make_matrix_operand(a), detail::make_matrix_operand(b), transpose_a,
                               transpose_b);
}

template <class Scalar>
dual_tensor<Scalar> matmul(const detail::identity_t<xt::xarray<Scalar>>& a, const dual_tensor<Scalar>& b,
                           bool transpose_a, bool transpose_b) {
    return detail::dual_matmul(detail::make_matrix_operand(a), detail::make_matrix_operand(b), transpose_a,
                               transpose_b);
}

template <class Scalar>
xt::xarray<Scalar> matmul(const xt::xarray<Scalar>& a, const xt::xarray<Scalar>& b, bool transpose_a,
                          bool transpose_b) {
    const auto a_shape = detail::to_vector(a.shape());
    const auto b_shape = detail::to_vector(b.shape());
    const auto [m, inner, n] = detail::check_matmul(a_shape, b_shape, transpose_a, transpose_b);
    xt::xarray<Scalar> result = xt::xarray<Scalar>::from_shape({m, n});
    if (m * n == 0) {
        return result;
    }
    if (inner == 0) {
        std::fill(result.begin(), result.end(), Scalar(0));
        return result;
    }
    detail::gemm(transpose_a, transpose_b, m, n, inner, Scalar(1), a.data(), a_shape[1], b.data(), b_shape[1],
                 Scalar(0), result.data(), n);
    return result;
}

template <class Scalar>
dual_tensor<Scalar> batched_matmul(const dual_tensor<Scalar>& a, const dual_tensor<Scalar>& b) {
    detail::check_tangent_counts("batched_matmul", a.tangent_count(), b.tangent_count());
    return detail::dual_batched_matmul(a.value().data(), a.live_tangent_block().data(), a.live_tangents(), true,
                                       detail::to_vector(a.shape()), b.value().data(), b.live_tangent_block().data(),
                                       b.live_tangents(), true, detail::to_vector(b.shape()), a.tangent_count());
}

template <class Scalar>
dual_tensor<Scalar> batched_matmul(const dual_tensor<Scalar>& a, const detail::identity_t<xt::xarray<Scalar>>& b) {
    return detail::dual_batched_matmul(a.value().data(), a.live_tangent_block().data(), a.live_tangents(), true,
                                       detail::to_vector(a.shape()), b.data(), static_cast<const Scalar*>(nullptr),
                                       std::size_t(0), false, detail::to_vector(b.shape()), a.tangent_count());
}

template <class Scalar>
dual_tensor<Scalar> batched_matmul(const detail::identity_t<xt::xarray<Scalar>>& a, const dual_tensor<Scalar>& b) {
    return detail::dual_batched_matmul(a.data(), static_cast<const Scalar*>(nullptr), std::size_t(0), false,
                                       detail::to_vector(a.shape()), b.value().data(), b.live_tangent_block().data(),
                                       b.live_tangents(), true, detail::to_vector(b.shape()), b.tangent_count());
}

template <class Scalar>
xt::xarray<Scalar> batched_matmul(const xt::xarray<Scalar>& a, const xt::xarray<Scalar>& b) {
    const auto a_shape = detail::to_vector(a.shape());
    const auto b_shape = detail::to_vector(b.shape());
    detail::check_batched<Scalar>(a_shape, b_shape);
    const std::size_t batch = a_shape[0];
    const std::size_t m = a_shape[1];
    const std::size_t inner = a_shape[2];
    const std::size_t n = b_shape[2];
    xt::xarray<Scalar> result = xt::zeros<Scalar>({batch, m, n});
    if (m * n * inner == 0) {
        return result;
    }
    for (std::size_t index = 0; index < batch; ++index) {
        detail::gemm(false, false, m, n, inner, Scalar(1), a.data() + index * m * inner, inner,
                     b.data() + index * inner * n, n, Scalar(0), result.data() + index * m * n, n);
    }
    return result;
}
}  // namespace fds::autodiff
