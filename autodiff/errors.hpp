// The messages of the exceptions autodiff raises: every one names the operation and both
// shapes or both tangent counts, so a mismatch deep inside a model says what met what.
#pragma once

#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>

namespace fds::autodiff::detail {
// "[3, 4]" for any shape-like sequence.
template <class Shape>
std::string shape_string(const Shape& shape);

// "name: shapes [3, 4] and [5, 2] do not match" plus an optional reason.
template <class ShapeA, class ShapeB>
[[noreturn]] void throw_shape_mismatch(const std::string& operation, const ShapeA& a, const ShapeB& b,
                                       const std::string& reason = "");

// Two dual operands must carry the same number K of tangent slots.
void check_tangent_counts(const std::string& operation, std::size_t a, std::size_t b);

// ---------------------------------------------------------------- implementation

template <class Shape>
std::string shape_string(const Shape& shape) {
    std::ostringstream out;
    out << '[';
    bool first = true;
    for (auto extent : shape) {
        out << (first ? "" : ", ") << extent;
        first = false;
    }
    out << ']';
    return out.str();
}

template <class ShapeA, class ShapeB>
void throw_shape_mismatch(const std::string& operation, const ShapeA& a, const ShapeB& b, const std::string& reason) {
    std::string message = operation + ": shapes " + shape_string(a) + " and " + shape_string(b) + " do not match";
    if (!reason.empty()) {
        message += " (" + reason + ")";
    }
    throw std::invalid_argument(message);
}

inline void check_tangent_counts(const std::string& operation, std::size_t a, std::size_t b) {
    if (a != b) {
        throw std::invalid_argument(operation + ": tangent counts " + std::to_string(a) + " and " + std::to_string(b) +
                                    " do not match");
    }
}
}  // namespace fds::autodiff::detail
