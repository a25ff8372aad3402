// Elementwise operations on dual tensors and their forward-mode rules.
//
// A binary operation y = f(a, b) has tangents dy_k = f_a(a, b) da_k + f_b(a, b) db_k, computed for
// each live slot k < L = max(L_a, L_b) (a dead slot of one operand contributes an exact zero, as the
// dense computation would). Operands broadcast as in xtensor (numpy rules); the tangent of a
// broadcast operand broadcasts along with its value.
//
// Each operation's rule sits next to its definition:
//   elementwise/arithmetic.hpp  + - * / (and negation, += and -=)
//   elementwise/functions.hpp   exp log sqrt pow tanh sigmoid relu abs square clamp,
//                               clamp_tangents, positive_mask
//   elementwise/extrema.hpp     maximum minimum
//   elementwise/kernels.hpp     the loops, broadcasting and operand kinds they share
//
// Every operation is overloaded for plain xt::xarray<Scalar> too, so model code is one template
// over the tensor type. Plain-with-plain arithmetic is xtensor's own.
// A plain operand next to a dual one must be an evaluated xt::xarray<Scalar>, not an unevaluated
// xtensor expression (xtensor's operator templates would take the pair); call the named
// functions qualified (autodiff::exp(x)) so xtensor's are not found by argument lookup.
#pragma once

#include <fds/autodiff/elementwise/arithmetic.hpp>
#include <fds/autodiff/elementwise/extrema.hpp>
#include <fds/autodiff/elementwise/functions.hpp>
