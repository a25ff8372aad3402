// The SIMD vectors of nn's kernels (direct_convolution.hpp, the channel sums of
// batch_norm2d_kernels.hpp): 32 bytes of float or double as one value in the vector extension of
// GCC and clang, one AVX register where the target has AVX and two SSE registers (or scalars)
// elsewhere, so the kernels compile everywhere; and eight consecutive values as such vectors.
// Loads and stores are unaligned.
#pragma once

#include <cstddef>
#include <cstring>
#include <type_traits>
#include <utility>

#include <cstdint>

#if defined(__FMA__) || defined(__AVX2__)
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
    v += __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3);
    v += __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5);
    v += __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6);
    return v[0];
}

inline double horizontal_sum(vector32<double> v) {
    v += __builtin_shufflevector(v, v, 2, 3, 0, 1);
    v += __builtin_shufflevector(v, v, 1, 0, 3, 2);
    return v[0];
}

// Which of the 2L lanes [a b] (L lanes each) lane i of a shuffle's result takes.
enum class lane_pattern { even, odd, interleave_low, interleave_high };

template <class Scalar, lane_pattern Pattern>
constexpr int source_lane(std::size_t i) {
    constexpr std::size_t lanes = vector32_lanes<Scalar>;
    switch (Pattern) {
        case lane_pattern::even:
            return static_cast<int>(2 * i);
        case lane_pattern::odd:
            return static_cast<int>(2 * i + 1);
        case lane_pattern::interleave_low:
            return static_cast<int>(i / 2 + i % 2 * lanes);
        default:
            return static_cast<int>(lanes / 2 + i / 2 + i % 2 * lanes);
    }
}

// The indices are constants, as __builtin_shufflevector (GCC 12 and clang) needs.
template <class Scalar, lane_pattern Pattern, std::size_t... Lane>
inline vector32<Scalar> shuffle_lanes(vector32<Scalar> a, vector32<Scalar> b, std::index_sequence<Lane...>) {
    return __builtin_shufflevector(a, b, source_lane<Scalar, Pattern>(Lane)...);
}

template <class Scalar, lane_pattern Pattern>
inline vector32<Scalar> shuffle_lanes(vector32<Scalar> a, vector32<Scalar> b) {
    return shuffle_lanes<Scalar, Pattern>(a, b, std::make_index_sequence<vector32_lanes<Scalar>>{});
}

// [a0 a2 ... b0 b2 ...]
template <class Scalar>
inline vector32<Scalar> even_lanes(vector32<Scalar> a, vector32<Scalar> b) {
    return shuffle_lanes<Scalar, lane_pattern::even>(a, b);
}

// [a1 a3 ... b1 b3 ...]
template <class Scalar>
inline vector32<Scalar> odd_lanes(vector32<Scalar> a, vector32<Scalar> b) {
    return shuffle_lanes<Scalar, lane_pattern::odd>(a, b);
}

// [a0 b0 a1 b1 ...] from the first halves
template <class Scalar>
inline vector32<Scalar> interleave_low(vector32<Scalar> a, vector32<Scalar> b) {
    return shuffle_lanes<Scalar, lane_pattern::interleave_low>(a, b);
}

// the same from the second halves
template <class Scalar>
inline vector32<Scalar> interleave_high(vector32<Scalar> a, vector32<Scalar> b) {
    return shuffle_lanes<Scalar, lane_pattern::interleave_high>(a, b);
}

// v[i] lane j becomes v[j] lane i (an L x L transpose): each stage interleaves row i with row
// i + L/2, which rotates the bits of (row, lane) by one; log2(L) stages bring the lane bits to the
// front
template <class Scalar>
inline void transpose_vectors(vector32<Scalar> (&v)[vector32_lanes<Scalar>]) {
    constexpr std::size_t lanes = vector32_lanes<Scalar>;
    for (std::size_t stage = 1; stage < lanes; stage *= 2) {
        vector32<Scalar> next[lanes];
        for (std::size_t i = 0; i < lanes / 2; ++i) {
            next[2 * i] = interleave_low<Scalar>(v[i], v[i + lanes / 2]);
            next[2 * i + 1] = interleave_high<Scalar>(v[i], v[i + lanes / 2]);
        }
        for (std::size_t i = 0; i < lanes; ++i) v[i] = next[i];
    }
}

// Eight consecutive values as 32-byte vectors (one of floats, two of doubles).
template <class Scalar>
struct eight_values {
    vector32<Scalar> v[8 / vector32_lanes<Scalar>];
};

template <class Scalar>
eight_values<Scalar> load_eight(const Scalar* source) {
    eight_values<Scalar> e;
    for (std::size_t j = 0; j < 8 / vector32_lanes<Scalar>; ++j)
        e.v[j] = load_vector(source + j * vector32_lanes<Scalar>);
    return e;
}

template <class Scalar>
eight_values<Scalar> operator*(eight_values<Scalar> a, const eight_values<Scalar>& b) {
    for (std::size_t j = 0; j < 8 / vector32_lanes<Scalar>; ++j) a.v[j] *= b.v[j];
    return a;
}

// eight flags (0 or 1) as eight values. With AVX2 by zero extension and conversion (two
// instructions per vector; GCC's generic vector conversion from bytes went through scalar moves).
template <class Scalar>
eight_values<Scalar> load_eight_flags(const std::uint8_t* source) {
    eight_values<Scalar> e;
#if defined(__AVX2__)
    const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(source));
    if constexpr (std::is_same_v<Scalar, float>) {
        e.v[0] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
    } else {
        e.v[0] = _mm256_cvtepi32_pd(_mm_cvtepu8_epi32(bytes));
        e.v[1] = _mm256_cvtepi32_pd(_mm_cvtepu8_epi32(_mm_srli_si128(bytes, 4)));
    }
#else
    for (std::size_t j = 0; j < 8 / vector32_lanes<Scalar>; ++j) {
        for (std::size_t lane = 0; lane < vector32_lanes<Scalar>; ++lane) {
            e.v[j][lane] = Scalar(source[j * vector32_lanes<Scalar> + lane]);
        }
    }
#endif
    return e;
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

}  // namespace fds::nn::detail
