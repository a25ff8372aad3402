// Everything of fds::autodiff: dual scalars and dual tensors with forward-mode rules for the
// operations a neural network needs, each also overloaded for plain xt::xarray.
#pragma once

#include <fds/autodiff/runtime/blas_kernel.hpp>
#include <fds/autodiff/conv_geometry.hpp>
#include <fds/autodiff/convolution.hpp>
#include <fds/autodiff/dual_scalar.hpp>
#include <fds/autodiff/dual_tensor.hpp>
#include <fds/autodiff/elementwise.hpp>
#include <fds/autodiff/gather.hpp>
#include <fds/autodiff/runtime/heap.hpp>
#include <fds/autodiff/matmul.hpp>
#include <fds/autodiff/parallel.hpp>
#include <fds/autodiff/random.hpp>
#include <fds/autodiff/reduction.hpp>
#include <fds/autodiff/runtime/reexecution.hpp>
#include <fds/autodiff/runtime.hpp>
#include <fds/autodiff/shape.hpp>
#include <fds/autodiff/tensor_traits.hpp>
