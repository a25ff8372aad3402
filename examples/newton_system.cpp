// Newton's method on a nonlinear system with exact Jacobians from K tangents (autodiff only).
//
// The Bratu problem u'' + lambda exp(u) = 0 on (0, 1), u(0) = u(1) = 0, discretized on n interior
// points, is the system F(u) = D u + lambda exp(u) = 0 with D the second-difference matrix. Seeding
// tangent k of u with the unit vector e_k (K = n tangents) makes one evaluation of F on a dual
// tensor return F and its whole Jacobian: column k of J is tangent k of F. Newton then solves
// J step = -F. The residual is written once, as a template, and runs on plain and dual tensors.
//
//   newton_system [n] [lambda]     (defaults: 8 points, lambda = 1)
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>

#include <fds/autodiff/autodiff.hpp>

namespace ad = fds::autodiff;

namespace {
// (u_{i-1} - 2 u_i + u_{i+1}) / h^2 with zero boundary values, as an n x n matrix.
xt::xarray<double> second_difference(std::size_t n) {
    const double h = 1.0 / static_cast<double>(n + 1);
    xt::xarray<double> d = xt::zeros<double>({n, n});
    for (std::size_t i = 0; i < n; ++i) {
        d(i, i) = -2.0 / (h * h);
        if (i > 0) {
            d(i, i - 1) = 1.0 / (h * h);
        }
        if (i + 1 < n) {
            d(i, i + 1) = 1.0 / (h * h);
        }
    }
    return d;
}

// F(u) = D u + lambda exp(u), for plain and dual tensors alike.
template <class Tensor>
Tensor residual(const Tensor& u, const xt::xarray<double>& d, double lambda) {
    const std::size_t n = u.size();
    const Tensor laplacian = ad::reshape(ad::matmul(d, ad::reshape(u, {n, 1})), {n});
    return Tensor(laplacian + lambda * ad::exp(u));
}

// Solves a x = b by Gaussian elimination with partial pivoting (a is small and dense).
xt::xarray<double> solve(xt::xarray<double> a, xt::xarray<double> b) {
    const std::size_t n = b.size();
    for (std::size_t column = 0; column < n; ++column) {
        std::size_t pivot = column;
        for (std::size_t row = column + 1; row < n; ++row) {
            if (std::abs(a(row, column)) > std::abs(a(pivot, column))) {
                pivot = row;
            }
        }
        if (a(pivot, column) == 0.0) {
            throw std::runtime_error("newton_system: singular Jacobian at column " + std::to_string(column));
        }
        for (std::size_t k = 0; k < n; ++k) {
            std::swap(a(column, k), a(pivot, k));
        }
        std::swap(b(column), b(pivot));
        for (std::size_t row = column + 1; row < n; ++row) {
            const double factor = a(row, column) / a(column, column);
            for (std::size_t k = column; k < n; ++k) {
                a(row, k) -= factor * a(column, k);
            }
            b(row) -= factor * b(column);
        }
    }
    xt::xarray<double> x = xt::zeros<double>({n});
    for (std::size_t row = n; row-- > 0;) {
        double sum = b(row);
        for (std::size_t k = row + 1; k < n; ++k) {
            sum -= a(row, k) * x(k);
        }
        x(row) = sum / a(row, row);
    }
    return x;
}

double max_abs(const xt::xarray<double>& x) {
    double largest = 0.0;
    for (double entry : x) {
        largest = std::max(largest, std::abs(entry));
    }
    return largest;
}
}  // namespace

int main(int argc, char** argv) {
    ad::prepare_runtime(argc, argv);
    try {
        const std::size_t n = argc > 1 ? static_cast<std::size_t>(std::stoul(argv[1])) : 8;
        const double lambda = argc > 2 ? std::stod(argv[2]) : 1.0;
        if (n == 0) {
            throw std::invalid_argument("newton_system: need at least one point, got 0");
        }
        const xt::xarray<double> d = second_difference(n);
        xt::xarray<double> u = xt::zeros<double>({n});
        bool converged = false;
        std::printf("Bratu problem, %zu points, lambda = %g: Newton with exact Jacobians from %zu tangents\n", n,
                    lambda, n);
        for (int iteration = 0; iteration < 20; ++iteration) {
            // Tangent k of u is e_k, so tangent k of F is column k of the Jacobian.
            ad::dual_tensor<double> x(u, n);
            for (std::size_t k = 0; k < n; ++k) {
                xt::xarray<double> unit = xt::zeros<double>({n});
                unit(k) = 1.0;
                x.seed(k, unit);
            }
            const ad::dual_tensor<double> f = residual(x, d, lambda);
            const double norm = max_abs(ad::value(f));
            std::printf("  iteration %2d   max |F(u)| = %.3e\n", iteration, norm);
            if (norm < 1e-10) {
                converged = true;
                break;
            }
            const xt::xarray<double> jacobian = ad::transpose(ad::tangents(f), {1, 0});
            u = u + solve(jacobian, -ad::value(f));
        }

        // The Jacobian is exact: compare it once with central differences of the plain residual.
        ad::dual_tensor<double> x(u, n);
        for (std::size_t k = 0; k < n; ++k) {
            xt::xarray<double> unit = xt::zeros<double>({n});
            unit(k) = 1.0;
            x.seed(k, unit);
        }
        const xt::xarray<double> jacobian = ad::tangents(residual(x, d, lambda));
        double worst = 0.0;
        for (std::size_t k = 0; k < n; ++k) {
            xt::xarray<double> step = xt::zeros<double>({n});
            step(k) = 1e-6;
            const xt::xarray<double> plus = u + step;
            const xt::xarray<double> minus = u - step;
            const xt::xarray<double> column = (residual(plus, d, lambda) - residual(minus, d, lambda)) / 2e-6;
            for (std::size_t i = 0; i < n; ++i) {
                worst = std::max(worst, std::abs(column(i) - jacobian(k, i)) / std::max(1.0, std::abs(jacobian(k, i))));
            }
        }
        std::printf("solution: max u = %.10f\n", max_abs(u));
        std::printf("Jacobian vs central differences: max relative difference %.1e\n", worst);
        if (!converged || worst > 1e-6) {
            std::fprintf(stderr, "newton_system: %s\n",
                         converged ? "Jacobian disagrees with finite differences"
                                   : "no convergence in 20 iterations (lambda beyond the fold at about 3.51?)");
            return 1;
        }
        return 0;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "%s\n", error.what());
        return 1;
    }
}
