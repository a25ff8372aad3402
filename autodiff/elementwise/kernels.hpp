// The loops behind every elementwise operation: operands of any kind (dual or plain tensor, dual or
// plain number), numpy broadcasting, and the binary and unary kernels that apply a rule.
//
// The common case -- equal shapes, or one operand a single number -- runs as plain loops over
// contiguous memory, in chunks so the value rows stay in L1 while every tangent row streams past;
// only genuinely broadcast operands are first expanded to the result shape.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <xtensor/xarray.hpp>

#include <fds/autodiff/dual_scalar.hpp>
#include <fds/autodiff/dual_tensor.hpp>
#include <fds/autodiff/errors.hpp>
#include <fds/autodiff/parallel.hpp>

namespace fds::autodiff::detail {
// Elements per chunk of the elementwise loops: value, partial derivatives and one tangent
// row of a chunk stay in L1/L2 while all tangent rows are processed, and each tangent row
// is read in runs of 32 KiB (float), long enough for the hardware prefetchers; shorter
// runs (4 KiB) measured slower (docs/performance.md).
inline constexpr std::size_t elementwise_chunk = 8192;

// One operand of a binary operation, whatever it is: a dual or plain tensor, a dual or
// plain number. Its value and live tangent rows are contiguous with `size` elements each;
// size is either the result's element count or 1 (broadcast as a single number).
template <class Scalar>
struct operand {
    std::vector<std::size_t> shape;
    const Scalar* value = nullptr;
    const Scalar* block = nullptr;
    std::size_t size = 0;
    std::size_t live = 0;
    std::size_t tangent_count = 0;
    bool is_dual = false;
    // Owned copies when the operand is a number or had to be expanded (uninitialized
    // allocation: every element is written before it is read).
    std::unique_ptr<Scalar[]> value_storage;
    std::unique_ptr<Scalar[]> block_storage;
};

template <class Scalar>
std::unique_ptr<Scalar[]> uninitialized(std::size_t count) {
    return std::unique_ptr<Scalar[]>(new Scalar[std::max<std::size_t>(count, 1)]);
}

template <class Scalar>
operand<Scalar> make_operand(const dual_tensor<Scalar>& x) {
    operand<Scalar> result;
    result.shape.assign(x.shape().begin(), x.shape().end());
    result.value = x.value().data();
    result.block = x.live_tangent_block().data();
    result.size = x.size();
    result.live = x.live_tangents();
    result.tangent_count = x.tangent_count();
    result.is_dual = true;
    return result;
}

template <class Scalar>
operand<Scalar> make_operand(const xt::xarray<Scalar>& x) {
    operand<Scalar> result;
    result.shape.assign(x.shape().begin(), x.shape().end());
    result.value = x.data();
    result.size = x.size();
    return result;
}

template <class Scalar>
operand<Scalar> make_operand(const dual_scalar<Scalar>& x) {
    operand<Scalar> result;
    result.value_storage = uninitialized<Scalar>(1);
    result.value_storage[0] = x.value();
    result.block_storage = uninitialized<Scalar>(x.live_tangents());
    std::copy(x.live_tangent_values().begin(), x.live_tangent_values().end(), result.block_storage.get());
    result.value = result.value_storage.get();
    result.block = result.block_storage.get();
    result.size = 1;
    result.live = x.live_tangents();
    result.tangent_count = x.tangent_count();
    result.is_dual = true;
    return result;
}

template <class Scalar>
operand<Scalar> make_operand_number(Scalar x) {
    operand<Scalar> result;
    result.value_storage = uninitialized<Scalar>(1);
    result.value_storage[0] = x;
    result.value = result.value_storage.get();
    result.size = 1;
    return result;
}

// numpy broadcasting of two shapes, or an exception naming both.
inline std::vector<std::size_t> broadcast_shape(const std::string& operation, const std::vector<std::size_t>& a,
                                                const std::vector<std::size_t>& b) {
    const std::size_t dimension = std::max(a.size(), b.size());
    std::vector<std::size_t> result(dimension);
    for (std::size_t i = 0; i < dimension; ++i) {
        const std::size_t ea = i < dimension - a.size() ? 1 : a[i - (dimension - a.size())];
        const std::size_t eb = i < dimension - b.size() ? 1 : b[i - (dimension - b.size())];
        if (ea != eb && ea != 1 && eb != 1) {
            throw_shape_mismatch(operation, a, b, "cannot broadcast");
        }
        result[i] = ea == 1 ? eb : ea;
    }
    return result;
}

// Copies src (shape `source`, right-aligned against `result` as in numpy) into dst of
// shape `result`, repeating along the broadcast axes: whole rows are copied or filled at
// once, so the cost is one pass over dst.
template <class Scalar>
void broadcast_copy(const Scalar* src, const std::vector<std::size_t>& source, Scalar* dst,
                    const std::vector<std::size_t>& result) {
    const std::size_t dimension = result.size();
    if (dimension == 0) {
        dst[0] = src[0];
        return;
    }
    const std::size_t offset = dimension - source.size();
    std::vector<std::size_t> source_extent(dimension, 1);
    for (std::size_t i = 0; i < source.size(); ++i) {
        source_extent[i + offset] = source[i];
    }
    std::vector<std::size_t> source_stride(dimension, 0);
    std::vector<std::size_t> result_stride(dimension, 0);
    std::size_t source_step = 1;
    std::size_t result_step = 1;
    for (std::size_t axis = dimension; axis-- > 0;) {
        source_stride[axis] = source_extent[axis] == 1 ? 0 : source_step;
        result_stride[axis] = result_step;
        source_step *= source_extent[axis];
        result_step *= result[axis];
    }
    const std::size_t inner = result[dimension - 1];
    const bool inner_repeats = source_extent[dimension - 1] == 1;
    const std::size_t rows = element_count(result) / std::max<std::size_t>(inner, 1);
    std::vector<std::size_t> index(dimension, 0);
    std::size_t source_position = 0;
    for (std::size_t row = 0; row < rows; ++row) {
        Scalar* out = dst + row * inner;
        if (inner_repeats) {
            std::fill(out, out + inner, src[source_position]);
        } else {
            std::copy(src + source_position, src + source_position + inner, out);
        }
        // Next row: odometer over the axes before the last.
        for (std::size_t axis = dimension - 1; axis-- > 0;) {
            ++index[axis];
            source_position += source_stride[axis];
            if (index[axis] < result[axis]) {
                break;
            }
            source_position -= source_stride[axis] * index[axis];
            index[axis] = 0;
        }
    }
}

// Expands an operand to the result shape unless it already has its layout (equal element
// count) or is a single number.
template <class Scalar>
void expand_operand(operand<Scalar>& x, const std::vector<std::size_t>& result_shape) {
    const std::size_t count = element_count(result_shape);
    if (x.size == count || x.size == 1) {
        return;
    }
    auto value = uninitialized<Scalar>(count);
    broadcast_copy(x.value, x.shape, value.get(), result_shape);
    auto block = uninitialized<Scalar>(x.live * count);
    for (std::size_t k = 0; k < x.live; ++k) {
        broadcast_copy(x.block + k * x.size, x.shape, block.get() + k * count, result_shape);
    }
    x.value_storage = std::move(value);
    x.block_storage = std::move(block);
    x.value = x.value_storage.get();
    x.block = x.block_storage.get();
    x.size = count;
}

// y = Rule::value(a, b); dy_k = Rule::tangent(a, b, y, da_k, db_k) with a dead slot's
// tangent an exact zero. AStride/BStride are 1 for full operands, 0 for single numbers.
template <std::size_t AStride, std::size_t BStride, class Scalar, class Rule>
void binary_kernel(const operand<Scalar>& a, const operand<Scalar>& b, std::size_t count, std::size_t live, Scalar* y,
                   Scalar* out, const Rule& rule) {
    const Scalar* av = a.value;
    const Scalar* bv = b.value;
    run_ranges(count, 1 + live, elementwise_chunk, [&](std::size_t first, std::size_t last) {
        for (std::size_t start = first; start < last; start += elementwise_chunk) {
            const std::size_t end = std::min(last, start + elementwise_chunk);
            for (std::size_t i = start; i < end; ++i) {
                y[i] = rule.value(av[i * AStride], bv[i * BStride]);
            }
            for (std::size_t k = 0; k < live; ++k) {
                Scalar* o = out + k * count;
                const Scalar* da = k < a.live ? a.block + k * a.size : nullptr;
                const Scalar* db = k < b.live ? b.block + k * b.size : nullptr;
                if (da != nullptr && db != nullptr) {
                    for (std::size_t i = start; i < end; ++i) {
                        o[i] = rule.tangent(av[i * AStride], bv[i * BStride], y[i], da[i * AStride], db[i * BStride]);
                    }
                } else if (da != nullptr) {
                    for (std::size_t i = start; i < end; ++i) {
                        o[i] = rule.tangent(av[i * AStride], bv[i * BStride], y[i], da[i * AStride], Scalar(0));
                    }
                } else {
                    for (std::size_t i = start; i < end; ++i) {
                        o[i] = rule.tangent(av[i * AStride], bv[i * BStride], y[i], Scalar(0), db[i * BStride]);
                    }
                }
            }
        }
    });
}

template <class Scalar, class Rule>
dual_tensor<Scalar> binary(const std::string& operation, operand<Scalar> a, operand<Scalar> b, const Rule& rule) {
    if (a.is_dual && b.is_dual) {
        check_tangent_counts(operation, a.tangent_count, b.tangent_count);
    }
    const std::size_t tangent_count = a.is_dual ? a.tangent_count : b.tangent_count;
    const std::vector<std::size_t> result_shape = broadcast_shape(operation, a.shape, b.shape);
    expand_operand(a, result_shape);
    expand_operand(b, result_shape);
    const std::size_t count = element_count(result_shape);
    const std::size_t live = std::max(a.live, b.live);
    xt::xarray<Scalar> value = xt::xarray<Scalar>::from_shape(result_shape);
    xt::xarray<Scalar> block = xt::xarray<Scalar>::from_shape(block_shape(live, result_shape));
    const bool a_full = a.size == count;
    const bool b_full = b.size == count;
    if (a_full && b_full) {
        binary_kernel<1, 1>(a, b, count, live, value.data(), block.data(), rule);
    } else if (a_full) {
        binary_kernel<1, 0>(a, b, count, live, value.data(), block.data(), rule);
    } else if (b_full) {
        binary_kernel<0, 1>(a, b, count, live, value.data(), block.data(), rule);
    } else {
        binary_kernel<0, 0>(a, b, count, live, value.data(), block.data(), rule);
    }
    return dual_tensor<Scalar>(std::move(value), std::move(block), tangent_count);
}

// True for a rule whose derivative is its value (exp), declared by a member
// `derivative_is_value`: the tangent loop then reads y and skips a copy of it.
template <class Rule, class = void>
struct derivative_is_value : std::false_type {};

template <class Rule>
struct derivative_is_value<Rule, std::void_t<decltype(Rule::derivative_is_value)>>
    : std::bool_constant<Rule::derivative_is_value> {};

// True for a rule with a member `values(x, y, count)` computing its values over an array
// (exp: vector_exp's array form), used instead of value() element by element.
template <class Rule, class = void>
struct has_array_values : std::false_type {};

template <class Rule>
struct has_array_values<Rule, std::void_t<decltype(&Rule::template values<float>)>> : std::true_type {};

// y[i] = value(x[i]) for i < count
template <class Scalar, class Rule>
void rule_values(const Rule& rule, const Scalar* x, Scalar* y, std::size_t count) {
    if constexpr (has_array_values<Rule>::value) {
        rule.values(x, y, count);
    } else {
        for (std::size_t i = 0; i < count; ++i) {
            y[i] = rule.value(x[i]);
        }
    }
}

// y = f(x): dy_k = f'(x) dx_k, with Rule::value(x) and Rule::derivative(x, y).
template <class Scalar, class Rule>
dual_tensor<Scalar> unary(const dual_tensor<Scalar>& x, const Rule& rule) {
    const std::size_t count = x.size();
    const std::size_t live = x.live_tangents();
    xt::xarray<Scalar> value = xt::xarray<Scalar>::from_shape(x.shape());
    xt::xarray<Scalar> block = xt::xarray<Scalar>::from_shape(x.live_tangent_block().shape());
    const Scalar* xv = x.value().data();
    const Scalar* in = x.live_tangent_block().data();
    Scalar* y = value.data();
    Scalar* out = block.data();
    run_ranges(count, 1 + live, elementwise_chunk, [&](std::size_t first, std::size_t last) {
        std::array<Scalar, elementwise_chunk> derivative_storage;
        for (std::size_t start = first; start < last; start += elementwise_chunk) {
            const std::size_t length = std::min(last - start, elementwise_chunk);
            const Scalar* derivative = y + start;
            if constexpr (derivative_is_value<Rule>::value) {
                rule_values(rule, xv + start, y + start, length);
            } else {
                for (std::size_t i = 0; i < length; ++i) {
                    y[start + i] = rule.value(xv[start + i]);
                    derivative_storage[i] = rule.derivative(xv[start + i], y[start + i]);
                }
                derivative = derivative_storage.data();
            }
            for (std::size_t k = 0; k < live; ++k) {
                const Scalar* dx = in + k * count + start;
                Scalar* dy = out + k * count + start;
                for (std::size_t i = 0; i < length; ++i) {
                    dy[i] = derivative[i] * dx[i];
                }
            }
        }
    });
    return dual_tensor<Scalar>(std::move(value), std::move(block), x.tangent_count());
}

// y = f(x) on a plain tensor with the value function of a dual rule.
template <class Scalar, class Rule>
xt::xarray<Scalar> plain_unary(const xt::xarray<Scalar>& x, const Rule& rule) {
    xt::xarray<Scalar> y = xt::xarray<Scalar>::from_shape(x.shape());
    const Scalar* in = x.data();
    rule_values(rule, in, y.data(), x.size());
    return y;
}

// Assigns `a op b` to a when b broadcasts to a's shape, in place when shapes agree.
template <class Scalar>
void add_in_place(dual_tensor<Scalar>& target, const operand<Scalar>& x, Scalar sign, const std::string& operation) {
    if (x.is_dual) {
        check_tangent_counts(operation, target.tangent_count(), x.tangent_count);
    }
    const std::size_t count = target.size();
    target.grow_live_tangents(x.live);
    Scalar* value = target.mutable_value().data();
    Scalar* block = target.mutable_live_tangent_block().data();
    // the element axis cut over the library's threads, as binary_kernel does (a residual
    // sum of WRN-16-1 with K = 9 is 170 MB)
    run_ranges(count, 1 + x.live, elementwise_chunk, [&](std::size_t first, std::size_t last) {
        for (std::size_t i = first; i < last; ++i) {
            value[i] += sign * x.value[i];
        }
        for (std::size_t k = 0; k < x.live; ++k) {
            const Scalar* row = x.block + k * count;
            Scalar* out = block + k * count;
            for (std::size_t i = first; i < last; ++i) {
                out[i] += sign * row[i];
            }
        }
    });
}

template <class Scalar, class Rule>
dual_tensor<Scalar>& assign_broadcast(dual_tensor<Scalar>& target, operand<Scalar> x, const Rule& rule, Scalar sign,
                                      const std::string& operation) {
    const std::vector<std::size_t> shape(target.shape().begin(), target.shape().end());
    if (broadcast_shape(operation, shape, x.shape) != shape) {
        throw_shape_mismatch(operation, shape, x.shape, "the right side must broadcast to the left side's shape");
    }
    expand_operand(x, shape);
    if (x.size == target.size()) {
        add_in_place(target, x, sign, operation);
    } else {
        target = binary(operation, make_operand(target), std::move(x), rule);
    }
    return target;
}
}  // namespace fds::autodiff::detail
