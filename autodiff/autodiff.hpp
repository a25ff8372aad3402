// Everything of fds::autodiff: dual scalars and dual tensors with forward-mode rules for the
// operations a neural network needs, each also overloaded for plain xt::xarray.
#pragma once

#include <autodiff/blas_kernel.hpp>
#include <autodiff/convolution.hpp>
#include <autodiff/dual_scalar.hpp>
#include <autodiff/dual_tensor.hpp>
#include <autodiff/elementwise.hpp>
#include <autodiff/gather.hpp>
#include <autodiff/heap.hpp>
#include <autodiff/matmul.hpp>
#include <autodiff/parallel.hpp>
#include <autodiff/reduction.hpp>
#include <autodiff/reexecution.hpp>
#include <autodiff/runtime.hpp>
#include <autodiff/shape.hpp>
#include <autodiff/tensor_traits.hpp>
