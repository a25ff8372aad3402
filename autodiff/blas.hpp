// Typed entry points to the CBLAS routines autodiff uses (row-major), one name for float and double.
#pragma once

#include <cstddef>

#include <cblas.h>

namespace fds::autodiff::detail
{
    // C[m, n] = alpha op(A)[m, k] op(B)[k, n] + beta C, all row-major with leading dimensions.
    inline void gemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k,
                     float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb,
                     float beta, float* c, std::size_t ldc)
    {
        cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans,
                    transpose_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                    static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb),
                    beta, c, static_cast<int>(ldc));
    }

    inline void gemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k,
                     double alpha, const double* a, std::size_t lda, const double* b,
                     std::size_t ldb, double beta, double* c, std::size_t ldc)
    {
        cblas_dgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans,
                    transpose_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                    static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb),
                    beta, c, static_cast<int>(ldc));
    }

    // y[m] = A[m, n] x[n], A row-major contiguous.
    inline void gemv(std::size_t m, std::size_t n, const float* a, const float* x, float* y)
    {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(m), static_cast<int>(n), 1.0f, a,
                    static_cast<int>(n), x, 1, 0.0f, y, 1);
    }

    inline void gemv(std::size_t m, std::size_t n, const double* a, const double* x, double* y)
    {
        cblas_dgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(m), static_cast<int>(n), 1.0, a,
                    static_cast<int>(n), x, 1, 0.0, y, 1);
    }
}
