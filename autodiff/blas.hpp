// Typed entry points to the CBLAS routines autodiff uses (row-major), one name for float and double;
// double GEMMs run on a deterministic kernel of our own (see below). Large products are split into
// blocks of C over the library's threads (parallel.hpp), each block one single-threaded call.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include <cblas.h>

#include <fds/autodiff/parallel.hpp>

namespace fds::autodiff::detail {
// Below this many multiply-adds (about 10 microseconds on one core) a product stays on the
// calling thread: handing half to another thread and packing the shared operand twice would
// cost more than it saves.
inline constexpr std::size_t parallel_product_work = std::size_t{1} << 19;

// Calls block(row, rows, column, columns) for blocks of an [m, n] product with inner size k,
// one per thread: C is cut across its longer side, so that the operand every block reads in
// full (A for column blocks, B for row blocks) is the smaller one. Cuts fall on multiples of
// 16 columns or 8 rows, the GEMM kernels' tile sizes.
template <class Block>
void for_each_product_block(std::size_t m, std::size_t n, std::size_t k, Block&& block) {
    if (m * n * k < parallel_product_work) {
        block(0, m, 0, n);
        return;
    }
    const bool by_columns = n >= m;
    run_cuts(by_columns ? n : m, by_columns ? 16 : 8, [&](std::size_t begin, std::size_t end) {
        if (by_columns) {
            block(0, m, begin, end - begin);
        } else {
            block(begin, end - begin, 0, n);
        }
    });
}

// C[m, n] = alpha op(A)[m, k] op(B)[k, n] + beta C, all row-major with leading dimensions.
inline void gemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                 const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
                 std::size_t ldc) {
    for_each_product_block(m, n, k, [&](std::size_t row, std::size_t rows, std::size_t column, std::size_t columns) {
        cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
                    static_cast<int>(rows), static_cast<int>(columns), static_cast<int>(k), alpha,
                    a + (transpose_a ? row : row * lda), static_cast<int>(lda),
                    b + (transpose_b ? column * ldb : column), static_cast<int>(ldb), beta, c + row * ldc + column,
                    static_cast<int>(ldc));
    });
}

// The same in double, with every entry summed in one fixed order, k = 0, 1, ..., wherever it
// sits in C. Double is the verification precision (finite differences, K tangents at once
// against K single-tangent runs), where a stacked product must equal its one-slot products
// bit for bit; BLAS kernels sum edge tiles and thread partitions in other orders, so stacked
// and single results would differ in the last bits. Float, the training precision, uses BLAS.
inline void fixed_order_gemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k,
                             double alpha, const double* a, std::size_t lda, const double* b, std::size_t ldb,
                             double beta, double* c, std::size_t ldc) {
    // rows of op(B) contiguous: transposed B is copied once
    std::vector<double> packed;
    const double* b_rows = b;
    std::size_t b_stride = ldb;
    if (transpose_b) {
        packed.resize(k * n);
        for (std::size_t j = 0; j < n; ++j) {
            for (std::size_t inner = 0; inner < k; ++inner) {
                packed[inner * n + j] = b[j * ldb + inner];
            }
        }
        b_rows = packed.data();
        b_stride = n;
    }
    std::vector<double> row(n);
    for (std::size_t i = 0; i < m; ++i) {
        std::fill(row.begin(), row.end(), 0.0);
        for (std::size_t inner = 0; inner < k; ++inner) {
            const double a_entry = transpose_a ? a[inner * lda + i] : a[i * lda + inner];
            const double* b_row = b_rows + inner * b_stride;
            for (std::size_t j = 0; j < n; ++j) {
                row[j] += a_entry * b_row[j];  // vectorizes over j; the order over k is kept
            }
        }
        double* c_row = c + i * ldc;
        for (std::size_t j = 0; j < n; ++j) {
            // beta = 0 ignores C's old contents, as BLAS does (they may be uninitialized)
            c_row[j] = beta == 0.0 ? alpha * row[j] : alpha * row[j] + beta * c_row[j];
        }
    }
}

// Each entry of C is summed by fixed_order_gemm alone, so blocks give the same bits as one call.
inline void gemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k, double alpha,
                 const double* a, std::size_t lda, const double* b, std::size_t ldb, double beta, double* c,
                 std::size_t ldc) {
    for_each_product_block(m, n, k, [&](std::size_t row, std::size_t rows, std::size_t column, std::size_t columns) {
        fixed_order_gemm(transpose_a, transpose_b, rows, columns, k, alpha, a + (transpose_a ? row : row * lda), lda,
                         b + (transpose_b ? column * ldb : column), ldb, beta, c + row * ldc + column, ldc);
    });
}

// y[m] = A[m, n] x[n], A row-major contiguous.
inline void gemv(std::size_t m, std::size_t n, const float* a, const float* x, float* y) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(m), static_cast<int>(n), 1.0f, a, static_cast<int>(n), x,
                1, 0.0f, y, 1);
}

// In double summed j = 0, 1, ... for every row, for the reason given at gemm.
inline void gemv(std::size_t m, std::size_t n, const double* a, const double* x, double* y) {
    for (std::size_t i = 0; i < m; ++i) {
        double total = 0.0;
        const double* row = a + i * n;
        for (std::size_t j = 0; j < n; ++j) {
            total += row[j] * x[j];
        }
        y[i] = total;
    }
}
}  // namespace fds::autodiff::detail
