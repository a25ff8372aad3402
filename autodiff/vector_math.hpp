// exp for float and double written so that a loop over it vectorizes (GCC -O3, any SIMD width).
//
// std::exp is a call into libm per element; a loop calling it stays scalar. vector_exp is
// branch-free straight-line arithmetic on one element -- the clamp is a blend of bit patterns,
// the scaling by 2^n is integer arithmetic on the exponent bits -- so the compiler runs 8 floats
// or 4 doubles per AVX2 instruction. No -ffast-math is needed or assumed.
//
//   e^x = 2^n e^r,  n = round(x / ln 2),  r = x - n ln 2 in [-ln2/2, ln2/2]   (Cody-Waite,
//         ln 2 in two parts so that n ln 2 is exact to beyond the format's precision)
//   e^r = 1 + r (1 + r q(r))   with q a minimax polynomial of (e^r - 1 - r) / r^2
//   2^n = 2^h 2^(n-h), h ~ n / 2: both factors are normal numbers for every n the clamp below
//         allows, so e^x overflows to +inf exactly where it should and a subnormal result is
//         rounded once, in the last multiplication.
//
// Accuracy (tests/autodiff/vector_math_test.cpp), against glibc's std::exp: within 1 ulp for
// float (checked on every float when written, and on every 61st float by the test) and for
// double (millions of points over [-746, 710]); that includes subnormal results (e^x for
// x < -87.34 in float, x < -708.4 in double), which carry a double rounding (the polynomial's
// result, then the scaling) but stay within 1 unit of the subnormal spacing. Exact at 0 and -0
// (e^0 = 1); x > 88.73 (float) / 709.79 (double) gives +inf, x < -103.98 / -745.14 gives +0;
// NaN propagates. Without FMA hardware (a*b+c as two roundings) the same bounds hold.
// The polynomial coefficients were fitted with mpmath.chebyfit on [-0.354, 0.354] (a little
// wider than ln2/2: a fused x log2 e + shifter may round n to the neighbouring integer at a tie).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace fds::autodiff {
// e^x of one number; loops over it vectorize.
template <class Scalar>
Scalar vector_exp(Scalar x);

// y[i] = vector_exp(x[i]) for i < count (x == y allowed); the same bits as the one-number
// form, element by element (the vectorized body and the remainder compute alike).
template <class Scalar>
void vector_exp(const Scalar* x, Scalar* y, std::size_t count);

// ---------------------------------------------------------------- implementation

namespace detail {
template <class Scalar>
struct exp_constants;

template <>
struct exp_constants<float> {
    using bits = std::uint32_t;
    // |x| is clamped to 104 (bits 0x42d00000): e^-104 < 2^-150 rounds to +0 and e^104
    // overflows to +inf, while n = round(104 / ln 2) = 150 keeps 2^(n/2) normal.
    static constexpr bits largest_magnitude_bits = 0x42d00000u;
    // |x| <= 86 (bits 0x42ac0000): n = round(x / ln 2) lies in [-124, 124], so e^r 2^n
    // (e^r in [0.7, 1.42]) is a normal number and 2^n can go straight into its exponent.
    static constexpr bits normal_result_bits = 0x42ac0000u;
    static constexpr bits sign_bit = 0x80000000u;
    static constexpr float log2_e = 1.44269504088896341f;
    // ln 2 = ln2_high + ln2_low; ln2_high has 9 significant bits, so n ln2_high is exact.
    static constexpr float ln2_high = 0.693359375f;
    static constexpr float ln2_low = -2.12194440e-4f;
    // 1.5 * 2^23: x + shifter rounds x to an integer held in the low mantissa bits.
    static constexpr float shifter = 12582912.0f;
    static constexpr bits exponent_bias = 127;
    static constexpr int mantissa_bits = 23;
};

template <>
struct exp_constants<double> {
    using bits = std::uint64_t;
    // |x| <= 746 (bits 0x4087500000000000): e^-746 < 2^-1075 rounds to +0, e^746
    // overflows, and n = round(746 / ln 2) = 1076 keeps 2^(n/2) normal.
    static constexpr bits largest_magnitude_bits = 0x4087500000000000u;
    // |x| <= 708 (bits 0x4086200000000000): n in [-1021, 1021], a normal result as above.
    static constexpr bits normal_result_bits = 0x4086200000000000u;
    static constexpr bits sign_bit = 0x8000000000000000u;
    static constexpr double log2_e = 1.44269504088896338700e+00;
    // fdlibm's split: ln2_high has its low 21 bits zero, so n ln2_high is exact.
    static constexpr double ln2_high = 6.93147180369123816490e-01;
    static constexpr double ln2_low = 1.90821492927058770002e-10;
    static constexpr double shifter = 6755399441055744.0;  // 1.5 * 2^52
    static constexpr bits exponent_bias = 1023;
    static constexpr int mantissa_bits = 52;
};

// a b + c: one fused instruction (a single rounding) where the target has FMA, else a
// product and a sum. Explicit rather than left to the compiler's contraction, which
// the build turns off (autodiff/meson.build) so that plain and dual results agree.
template <class Scalar>
inline Scalar multiply_add(Scalar a, Scalar b, Scalar c) {
#if defined(__FMA__)
    return std::fma(a, b, c);
#else
    return a * b + c;
#endif
}

// q(r) ~ (e^r - 1 - r) / r^2 on |r| <= 0.354, degree 4: its error moves e^r by at most
// 9e-9 (0.15 ulp); degree 5 would gain nothing visible after the float roundings.
inline float exp_remainder_polynomial(float r) {
    float q = 1.392769053766558364e-3f;
    q = multiply_add(q, r, 8.364385433452002115e-3f);
    q = multiply_add(q, r, 4.166654538410243534e-2f);
    q = multiply_add(q, r, 1.666656959850173457e-1f);
    q = multiply_add(q, r, 0.5f);
    return q;
}

// The same for double, degree 10: at most 2e-19 in e^r (0.002 ulp).
inline double exp_remainder_polynomial(double r) {
    double q = 2.091621885646121501090253e-9;
    q = multiply_add(q, r, 2.510736219601000780044066e-8);
    q = multiply_add(q, r, 2.755726988817158634509054e-7);
    q = multiply_add(q, r, 2.755725014196185635377128e-6);
    q = multiply_add(q, r, 2.480158732856819738086628e-5);
    q = multiply_add(q, r, 1.984126987905032179596594e-4);
    q = multiply_add(q, r, 1.388888888888286669313255e-3);
    q = multiply_add(q, r, 8.333333333324900565722716e-3);
    q = multiply_add(q, r, 4.166666666666667043018155e-2);
    q = multiply_add(q, r, 1.666666666666667193666546e-1);
    q = multiply_add(q, r, 0.5);
    return q;
}

// The bit pattern of a number and back (memcpy: the defined way before C++20's bit_cast;
// compilers turn it into a register move, also inside vectorized loops).
template <class Bits, class Scalar>
Bits bits_of(Scalar x) {
    Bits result;
    std::memcpy(&result, &x, sizeof result);
    return result;
}

template <class Scalar, class Bits>
Scalar from_bits(Bits x) {
    Scalar result;
    std::memcpy(&result, &x, sizeof result);
    return result;
}

// e^x = e^r 2^n for an x whose |x| the caller bounded: e^r, and n as the integer in the
// low bits of `shifted`.
template <class Scalar>
struct exp_parts {
    Scalar shifted;
    Scalar e_r;
};

template <class Scalar>
inline exp_parts<Scalar> exp_reduce(Scalar x) {
    using constants = exp_constants<Scalar>;
    // n = round(x log2 e), as a number and as the integer in shifted's low bits.
    const Scalar shifted = multiply_add(x, constants::log2_e, constants::shifter);
    const Scalar n = shifted - constants::shifter;
    const Scalar r = multiply_add(-n, constants::ln2_low, multiply_add(-n, constants::ln2_high, x));
    // e^r = 1 + r (1 + r q(r)), by Horner's rule.
    return {shifted, multiply_add(multiply_add(exp_remainder_polynomial(r), r, Scalar(1)), r, Scalar(1))};
}

// n + 2 bias, the exponent field of 2^n shifted by one bias (unsigned arithmetic: no
// overflow even for the garbage bits of a NaN, whose result is NaN whatever the scale)
template <class Scalar>
inline typename exp_constants<Scalar>::bits exp_double_biased_exponent(Scalar shifted) {
    using constants = exp_constants<Scalar>;
    using bits = typename constants::bits;
    return bits_of<bits>(shifted) - (bits_of<bits>(constants::shifter) - 2 * constants::exponent_bias);
}

// e^x for |x| <= normal_result_bits: e^r times 2^n by adding n to e^r's exponent field,
// exact for a normal result, so the same bits as vector_exp's two factors.
template <class Scalar>
inline Scalar exp_of_normal_result(Scalar x) {
    using constants = exp_constants<Scalar>;
    using bits = typename constants::bits;
    const exp_parts<Scalar> parts = exp_reduce(x);
    const bits n_field = (exp_double_biased_exponent(parts.shifted) - 2 * constants::exponent_bias)
                         << constants::mantissa_bits;
    return from_bits<Scalar>(bits_of<bits>(parts.e_r) + n_field);
}

// Whether every |x[i]| <= normal_result_bits (NaN is not: its bits are larger).
template <class Scalar>
inline bool all_results_normal(const Scalar* x, std::size_t count) {
    using constants = exp_constants<Scalar>;
    using bits = typename constants::bits;
    bits largest = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const bits magnitude = bits_of<bits>(x[i]) & ~constants::sign_bit;
        largest = magnitude > largest ? magnitude : largest;
    }
    return largest <= constants::normal_result_bits;
}

// Elements per check in the array form: one pass over them stays in L1 for the next.
inline constexpr std::size_t exp_chunk = 256;
}  // namespace detail

template <class Scalar>
inline Scalar vector_exp(Scalar x) {
    using constants = detail::exp_constants<Scalar>;
    using bits = typename constants::bits;
    // Clamp |x| to where the arithmetic below still decides the result (e^x overflows or
    // rounds to 0 beyond it) by blending bit patterns with a comparison mask. A select
    // written as `?:` would let the compiler fold the clamped path to a constant and leave
    // the float operations on the other path only, which it may not speculate
    // (-ftrapping-math is the default), so the loop would not vectorize. NaN fails the
    // comparison, stays NaN and propagates through every operation to a NaN result.
    const bits x_bits = detail::bits_of<bits>(x);
    const bits sign = x_bits & constants::sign_bit;
    const Scalar magnitude = detail::from_bits<Scalar>(x_bits & ~constants::sign_bit);
    const bits too_large = bits(0) - bits(magnitude > detail::from_bits<Scalar>(constants::largest_magnitude_bits));
    x = detail::from_bits<Scalar>((x_bits & ~too_large) | ((sign | constants::largest_magnitude_bits) & too_large));
    const detail::exp_parts<Scalar> parts = detail::exp_reduce(x);
    // 2^n = 2^(h - bias) 2^(l - bias) with h = floor(e / 2), l = e - h for e = n + 2 bias:
    // h and l are the two factors' exponent fields.
    const bits exponent_sum = detail::exp_double_biased_exponent(parts.shifted);
    const bits high_exponent = exponent_sum >> 1;
    const Scalar scale_high = detail::from_bits<Scalar>(high_exponent << constants::mantissa_bits);
    const Scalar scale_low = detail::from_bits<Scalar>((exponent_sum - high_exponent) << constants::mantissa_bits);
    return (parts.e_r * scale_high) * scale_low;
}

// Chunk by chunk: where no |x| of a chunk can give a subnormal, infinite or NaN result (the
// inputs of a training step), the clamp and the scaling in two factors are left out (6.7
// instead of 10 cycles per 8 floats on one core); otherwise the one-number form. Both give
// the same bits.
template <class Scalar>
inline void vector_exp(const Scalar* x, Scalar* y, std::size_t count) {
    for (std::size_t start = 0; start < count; start += detail::exp_chunk) {
        const std::size_t end = std::min(count, start + detail::exp_chunk);
        if (detail::all_results_normal(x + start, end - start)) {
            for (std::size_t i = start; i < end; ++i) {
                y[i] = detail::exp_of_normal_result(x[i]);
            }
        } else {
            for (std::size_t i = start; i < end; ++i) {
                y[i] = vector_exp(x[i]);
            }
        }
    }
}
}  // namespace fds::autodiff
