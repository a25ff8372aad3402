// 32 bytes of float or double as one value, for the kernels that are written with SIMD vectors
// (direct_convolution.hpp, the channel sums of batch_norm2d_kernels.hpp): GCC's vector extension,
// one AVX register where the target has AVX and two SSE registers (or scalars) elsewhere, so the
// kernels compile everywhere. Loads and stores are unaligned.
#pragma once

#include <cstddef>
#include <cstring>
#include <type_traits>

#if defined(__FMA__)
#include <immintrin.h>
#endif

namespace fds::nn::detail {

template <class Scalar>
struct vector32_of;
template <>
struct vector32_of<float> {
  typedef float type __attribute__((vector_size(32)));
};
template <>
struct vector32_of<double> {
  typedef double type __attribute__((vector_size(32)));
};
template <class Scalar>
using vector32 = typename vector32_of<Scalar>::type;

template <class Scalar>
inline constexpr std::size_t vector32_lanes = 32 / sizeof(Scalar);

template <class Scalar>
inline vector32<Scalar> load_vector(const Scalar* source) {
  vector32<Scalar> v;
  std::memcpy(&v, source, sizeof v);  // unaligned load
  return v;
}

// every lane = value: value - 0 is value exactly (also for -0 and NaN), and GCC compiles it to one
// broadcast; a loop over the lanes compiles to a chain of inserts, and `vector{} + value` would be
// an addition (0 + -0 is +0)
template <class Scalar>
inline vector32<Scalar> broadcast_vector(Scalar value) {
  return value - vector32<Scalar>{};
}

template <class Scalar>
inline void store_vector(Scalar* target, vector32<Scalar> v) {
  std::memcpy(target, &v, sizeof v);
}

// a b + c with one rounding where the target has FMA (the build turns off the compiler's own
// contraction, see meson.build), else two
template <class Scalar>
inline vector32<Scalar> multiply_add(vector32<Scalar> a, vector32<Scalar> b, vector32<Scalar> c) {
#if defined(__FMA__)
  if constexpr (std::is_same_v<Scalar, float>) {
    return _mm256_fmadd_ps(a, b, c);
  } else {
    return _mm256_fmadd_pd(a, b, c);
  }
#else
  return a * b + c;
#endif
}

// the lanes' sum, halves added pairwise (the same tree on every target): lane i + lane i + L/2,
// then i + L/4, ...; shuffles keep the vector in registers (an array copy of it would make the
// compiler keep every accumulator in memory)
inline float horizontal_sum(vector32<float> v) {
  typedef int lanes_int __attribute__((vector_size(32)));
  v += __builtin_shuffle(v, lanes_int{4, 5, 6, 7, 0, 1, 2, 3});
  v += __builtin_shuffle(v, lanes_int{2, 3, 0, 1, 6, 7, 4, 5});
  v += __builtin_shuffle(v, lanes_int{1, 0, 3, 2, 5, 4, 7, 6});
  return v[0];
}

inline double horizontal_sum(vector32<double> v) {
  typedef long long lanes_int __attribute__((vector_size(32)));
  v += __builtin_shuffle(v, lanes_int{2, 3, 0, 1});
  v += __builtin_shuffle(v, lanes_int{1, 0, 3, 2});
  return v[0];
}

// Lane shuffles of two vectors a = [a0 a1 ...], b = [b0 b1 ...] (L lanes each):
//   even_lanes  [a0 a2 ... b0 b2 ...]    odd_lanes   [a1 a3 ... b1 b3 ...]
//   interleave_low  [a0 b0 a1 b1 ...] (first halves)    interleave_high  (second halves)
inline vector32<float> even_lanes(vector32<float> a, vector32<float> b) {
  typedef int lanes_int __attribute__((vector_size(32)));
  return __builtin_shuffle(a, b, lanes_int{0, 2, 4, 6, 8, 10, 12, 14});
}
inline vector32<double> even_lanes(vector32<double> a, vector32<double> b) {
  typedef long long lanes_int __attribute__((vector_size(32)));
  return __builtin_shuffle(a, b, lanes_int{0, 2, 4, 6});
}
inline vector32<float> odd_lanes(vector32<float> a, vector32<float> b) {
  typedef int lanes_int __attribute__((vector_size(32)));
  return __builtin_shuffle(a, b, lanes_int{1, 3, 5, 7, 9, 11, 13, 15});
}
inline vector32<double> odd_lanes(vector32<double> a, vector32<double> b) {
  typedef long long lanes_int __attribute__((vector_size(32)));
  return __builtin_shuffle(a, b, lanes_int{1, 3, 5, 7});
}
inline vector32<float> interleave_low(vector32<float> a, vector32<float> b) {
  typedef int lanes_int __attribute__((vector_size(32)));
  return __builtin_shuffle(a, b, lanes_int{0, 8, 1, 9, 2, 10, 3, 11});
}
inline vector32<double> interleave_low(vector32<double> a, vector32<double> b) {
  typedef long long lanes_int __attribute__((vector_size(32)));
  return __builtin_shuffle(a, b, lanes_int{0, 4, 1, 5});
}
inline vector32<float> interleave_high(vector32<float> a, vector32<float> b) {
  typedef int lanes_int __attribute__((vector_size(32)));
  return __builtin_shuffle(a, b, lanes_int{4, 12, 5, 13, 6, 14, 7, 15});
}
inline vector32<double> interleave_high(vector32<double> a, vector32<double> b) {
  typedef long long lanes_int __attribute__((vector_size(32)));
  return __builtin_shuffle(a, b, lanes_int{2, 6, 3, 7});
}

}  // namespace fds::nn::detail
