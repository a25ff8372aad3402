#define BOOST_TEST_MODULE nn_conv2d
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <numeric>
#include <utility>
#include <vector>

#include <xtensor/xview.hpp>

#include <fds/nn/conv2d.hpp>

#include "layer_check.hpp"

using namespace fds::nn;

BOOST_AUTO_TEST_CASE(conv2d_gradients_match_central_difference) {
    testing::check_gradient_by_central_difference(conv2d(2, 3, 3, 2, 1, true), {2, 2, 5, 6}, mode::training, 1);
    testing::check_gradient_by_central_difference(conv2d(1, 2, 2, 1, 0, false), {2, 1, 4, 4}, mode::training, 2);
    // stride 1, output rows of 8 doubles: the products of direct_convolution.hpp, without and with padding
    testing::check_gradient_by_central_difference(conv2d(2, 3, 3, 1, 0, true), {2, 2, 5, 10}, mode::training, 4);
    testing::check_gradient_by_central_difference(conv2d(2, 3, 3, 1, 1, true), {2, 2, 3, 8}, mode::training, 6);
}

BOOST_AUTO_TEST_CASE(conv2d_dual_tangents_match_central_difference_of_gradients) {
    testing::check_dual_tangents_by_central_difference(conv2d(2, 3, 3, 2, 1, true), {2, 2, 5, 6}, mode::training, 3);
    testing::check_dual_tangents_by_central_difference(conv2d(2, 3, 3, 1, 0, true), {2, 2, 5, 10}, mode::training, 5);
    testing::check_dual_tangents_by_central_difference(conv2d(2, 3, 3, 1, 1, true), {2, 2, 3, 8}, mode::training, 7);
}

BOOST_AUTO_TEST_CASE(conv2d_with_stride_and_padding_matches_pytorch) {
    testing::check_pytorch_parity(conv2d(3, 4, 3, 2, 1, true), "conv_stride2_pad1", mode::training);
}

BOOST_AUTO_TEST_CASE(conv2d_without_bias_matches_pytorch) {
    testing::check_pytorch_parity(conv2d(2, 3, 5, 1, 0, false), "conv_nobias", mode::training);
}

BOOST_AUTO_TEST_CASE(conv2d_output_shape_follows_pytorch_formula) {
    // floor((H + 2 padding - kernel) / stride) + 1
    BOOST_CHECK((conv2d(3, 4, 3, 2, 1).output_shape({3, 7, 6}) == shape_type{4, 4, 3}));
    BOOST_CHECK_THROW(conv2d(3, 4, 3).output_shape({2, 7, 6}), std::invalid_argument);
    BOOST_CHECK_THROW(conv2d(3, 4, 9).output_shape({3, 7, 6}), std::invalid_argument);
}

namespace {

using dual = fds::autodiff::dual_tensor<double>;

dual random_dual(const shape_type& shape, std::size_t tangents, std::uint64_t seed) {
    fds::autodiff::random_source random(seed);
    auto fill = [&](xt::xarray<double> a) {
        for (auto& x : a) x = random.normal();
        return a;
    };
    shape_type block_shape{tangents};
    block_shape.insert(block_shape.end(), shape.begin(), shape.end());
    return dual(fill(xt::xarray<double>::from_shape(shape)), fill(xt::xarray<double>::from_shape(block_shape)),
                tangents);
}

void check_close(const dual& a, const dual& b, const std::string& what) {
    BOOST_TEST_CONTEXT(what) {
        BOOST_REQUIRE(a.shape() == b.shape());
        BOOST_REQUIRE(a.live_tangents() == b.live_tangents());
        BOOST_TEST(xt::allclose(a.value(), b.value(), 1e-13, 1e-13));
        BOOST_TEST(xt::allclose(a.live_tangent_block(), b.live_tangent_block(), 1e-13, 1e-13));
    }
}

}  // namespace

// The kernels cut the batch into chunks of images whose im2col columns fit in cache; the weight
// gradients sum over the chunks. Any chunking must give the whole-batch result (to rounding).
// For both ways of computing the products: im2col + GEMM (stride 2, padding 1) and
// direct_convolution.hpp (stride 1, output rows of 4 doubles; without and with padding).
BOOST_AUTO_TEST_CASE(conv2d_kernels_give_the_whole_batch_result_in_any_chunking) {
    const std::size_t tangents = 3;
    //                                      N  C  H  W  O  K  stride padding OH OW
    for (detail::conv_shape whole :
         {detail::conv_shape{{7, 2, 6, 5, 3, 3, 2, 1, 3, 3}}, detail::conv_shape{{7, 2, 5, 6, 3, 3, 1, 0, 3, 4}},
          detail::conv_shape{{7, 2, 5, 4, 3, 3, 1, 1, 5, 4}}}) {
        BOOST_TEST_CONTEXT("stride " << whole.stride << ", padding " << whole.padding << ", output width "
                                     << whole.out_width) {
            BOOST_TEST((detail::algorithm_for<double>(detail::convolution_product::forward, whole) !=
                        detail::convolution_algorithm::columns) == (whole.stride == 1));
            whole.chunk_bytes = std::size_t{1} << 30;
            const dual x = random_dual({7, 2, whole.height, whole.width}, tangents, 1);
            const dual weight = random_dual({3, 2 * 3 * 3}, tangents, 2);
            const dual bias = random_dual({3}, tangents, 3);
            const dual g = random_dual({7, 3, whole.out_height, whole.out_width}, tangents, 4);
            const dual expected_output = detail::conv_forward(x, weight, &bias, whole);
            dual expected_weight, expected_bias, expected_input;
            detail::conv_backward(g, x, weight, true, true, whole, expected_weight, expected_bias, expected_input);

            const std::size_t image_bytes = whole.patch() * whole.positions() * sizeof(double);
            for (std::size_t images_per_chunk : {1, 3}) {
                detail::conv_shape chunked = whole;
                chunked.chunk_bytes = images_per_chunk * image_bytes;
                BOOST_TEST_CONTEXT("images per chunk " << images_per_chunk) {
                    BOOST_TEST(detail::chunk_images(chunked, sizeof(double)) == images_per_chunk);
                    check_close(detail::conv_forward(x, weight, &bias, chunked), expected_output, "output");
                    dual weight_gradient, bias_gradient, input_gradient;
                    detail::conv_backward(g, x, weight, true, true, chunked, weight_gradient, bias_gradient,
                                          input_gradient);
                    check_close(weight_gradient, expected_weight, "weight gradient");
                    check_close(bias_gradient, expected_bias, "bias gradient");
                    check_close(input_gradient, expected_input, "input gradient");
                }
            }
        }
    }
}

// The chunks cover the batch in order, as few as the largest size allows, with sizes within one
// image of each other.
BOOST_AUTO_TEST_CASE(conv2d_chunks_cover_the_batch_in_the_fewest_even_chunks) {
    for (std::size_t batch : {1, 2, 3, 7, 37, 256}) {
        for (std::size_t largest : {1, 2, 3, 7, 14, 64, 300}) {
            BOOST_TEST_CONTEXT("batch " << batch << ", at most " << largest << " images per chunk") {
                const detail::chunk_plan plan(batch, largest);
                std::size_t next = 0, smallest = batch, biggest = 0;
                for (std::size_t chunk = 0; chunk < plan.count; ++chunk) {
                    BOOST_TEST(plan.first(chunk) == next);
                    next += plan.images(chunk);
                    smallest = std::min(smallest, plan.images(chunk));
                    biggest = std::max(biggest, plan.images(chunk));
                }
                BOOST_TEST(next == batch);
                BOOST_TEST(smallest >= 1u);
                BOOST_TEST(biggest <= largest);
                BOOST_TEST(biggest - smallest <= 1u);
                BOOST_TEST(plan.count == (batch + largest - 1) / largest);
            }
        }
    }
}

namespace {

// Plays two threads against the dealer: `slow` finishes its first chunk only after the other has
// taken every chunk it can. Returns the chunks in the order they were handed out.
std::vector<std::size_t> deal_with_a_slow_thread(std::size_t chunks, detail::chunk_sums sums) {
    detail::chunk_dealer dealer(chunks, sums);
    std::vector<std::size_t> order;
    const std::size_t slow = dealer.take(chunks);
    if (slow < chunks) order.push_back(slow);
    for (std::size_t chunk = dealer.take(chunks); chunk < chunks; chunk = dealer.take(chunk)) order.push_back(chunk);
    for (std::size_t chunk = dealer.take(slow); chunk < chunks; chunk = dealer.take(chunk)) order.push_back(chunk);
    return order;
}

}  // namespace

// Every chunk goes out once. With sums, an accumulator's chunks go out in chunk order and never
// while another thread sums into it, so a thread held up in one chunk holds up only that
// accumulator's chunks: the other thread runs every other chunk meanwhile.
BOOST_AUTO_TEST_CASE(conv2d_chunk_dealer_keeps_each_accumulators_order_and_lets_a_free_thread_on) {
    using detail::chunk_accumulators;
    for (std::size_t chunks : {1, 2, 3, 4, 5, 9, 38, 256}) {
        BOOST_TEST_CONTEXT(chunks << " chunks") {
            const auto summed = deal_with_a_slow_thread(chunks, detail::chunk_sums::into_accumulators);
            const auto free = deal_with_a_slow_thread(chunks, detail::chunk_sums::none);
            for (const auto* order : {&summed, &free}) {
                std::vector<std::size_t> sorted = *order;
                std::sort(sorted.begin(), sorted.end());
                std::vector<std::size_t> all(chunks);
                std::iota(all.begin(), all.end(), std::size_t{0});
                BOOST_TEST(sorted == all, boost::test_tools::per_element());
            }
            std::size_t previous[chunk_accumulators];
            std::fill(previous, previous + chunk_accumulators, chunks);
            for (std::size_t chunk : summed) {
                const std::size_t a = chunk % chunk_accumulators;
                BOOST_TEST((previous[a] == chunks || previous[a] < chunk));
                previous[a] = chunk;
            }
            // the slow thread's first chunk is 0; only the later chunks of accumulator 0 wait for it
            std::size_t taken_meanwhile = 0;
            for (std::size_t i = 1; i < summed.size() && summed[i] % chunk_accumulators != 0; ++i) ++taken_meanwhile;
            const std::size_t behind_the_slow_one = chunks > 0 ? (chunks - 1) / chunk_accumulators : 0;
            BOOST_TEST(taken_meanwhile == chunks - 1 - behind_the_slow_one);
            // without sums the free thread takes every other chunk at once, in order
            BOOST_TEST(free.size() == chunks);
            for (std::size_t i = 1; i < free.size(); ++i) BOOST_TEST(free[i] == i);
        }
    }
}

// The first layer of a network is told nobody reads dL/dx: the parameter gradients stay the same.
BOOST_AUTO_TEST_CASE(conv2d_skipping_the_input_gradient_keeps_the_parameter_gradients) {
    detail::conv_shape shape{{4, 2, 6, 5, 3, 3, 1, 1, 6, 5}};
    const dual x = random_dual({4, 2, 6, 5}, 2, 5);
    const dual weight = random_dual({3, 18}, 2, 6);
    const dual g = random_dual({4, 3, 6, 5}, 2, 7);
    dual weight_full, bias_full, input_full, weight_skip, bias_skip, input_skip;
    detail::conv_backward(g, x, weight, true, true, shape, weight_full, bias_full, input_full);
    detail::conv_backward(g, x, weight, true, false, shape, weight_skip, bias_skip, input_skip);
    check_close(weight_skip, weight_full, "weight gradient");
    check_close(bias_skip, bias_full, "bias gradient");
    BOOST_TEST(input_skip.size() == 0u);
    BOOST_TEST(input_full.size() == 4u * 2 * 6 * 5);
}

// With two threads the chunks run on two threads, handed out as the threads become free; the sums
// are grouped so that the result is the same, bit for bit, as on one thread, in every run.
BOOST_AUTO_TEST_CASE(conv2d_kernels_give_bitwise_the_same_result_on_one_and_two_threads) {
    // output rows of 5 doubles (im2col + GEMM), and of 4 (direct_convolution.hpp), unpadded and padded
    for (detail::conv_shape shape :
         {detail::conv_shape{{9, 2, 6, 5, 3, 3, 1, 1, 6, 5}}, detail::conv_shape{{9, 2, 5, 6, 3, 3, 1, 0, 3, 4}},
          detail::conv_shape{{9, 2, 6, 4, 3, 3, 1, 1, 6, 4}}}) {
        shape.chunk_bytes = 2 * shape.patch() * shape.positions() * sizeof(double);  // 5 chunks
        const dual x = random_dual({9, 2, shape.height, shape.width}, 2, 8);
        const dual weight = random_dual({3, 18}, 2, 9);
        const dual bias = random_dual({3}, 2, 10);
        const dual g = random_dual({9, 3, shape.out_height, shape.out_width}, 2, 11);
        const std::size_t threads = fds::autodiff::thread_count();
        std::vector<std::vector<dual>> results;
        for (std::size_t run_threads : {1, 2, 2, 2, 2, 2}) {
            fds::autodiff::set_thread_count(run_threads);
            dual weight_gradient, bias_gradient, input_gradient;
            detail::conv_backward(g, x, weight, true, true, shape, weight_gradient, bias_gradient, input_gradient);
            results.push_back(
                {detail::conv_forward(x, weight, &bias, shape), weight_gradient, bias_gradient, input_gradient});
        }
        fds::autodiff::set_thread_count(threads);
        for (std::size_t run = 1; run < results.size(); ++run) {
            for (std::size_t i = 0; i < results[0].size(); ++i) {
                BOOST_TEST_CONTEXT("padding " << shape.padding << ", output width " << shape.out_width << ", run "
                                              << run << ", result " << i) {
                    BOOST_TEST((results[0][i].value() == results[run][i].value()));
                    BOOST_TEST((results[0][i].live_tangent_block() == results[run][i].live_tangent_block()));
                }
            }
        }
    }
}

namespace {

// tangent k of a dual (zeros where it is not live)
xt::xarray<double> tangent_of(const dual& a, std::size_t k) {
    if (k >= a.live_tangents()) return xt::zeros<double>(a.value().shape());
    return xt::xarray<double>(xt::view(a.live_tangent_block(), k));
}

}  // namespace

// On duals every product follows the product rule, whatever the operands' live tangent counts:
// Y_k = conv(dX_k, W) + conv(X, dW_k), (dL/dW)_k = G_k * X + G * dX_k, (dL/dX)_k = W^T dG_k +
// dW_k^T G, each term a plain convolution (tested on its own above). The shape runs every
// Winograd kernel (3x3, stride 1, padding 1, 8x8 outputs, 16 channels) with X and dX_k side by
// side, [W; dW_k] and [dG_k; G]; the live counts take every branch: both terms, one, none.
BOOST_AUTO_TEST_CASE(conv2d_dual_products_follow_the_product_rule_for_any_live_tangents) {
    //                        N  C   H  W  O  K  stride padding OH OW
    const detail::conv_shape s{{2, 16, 8, 8, 3, 3, 1, 1, 8, 8}};
    BOOST_REQUIRE(detail::algorithm_for<double>(detail::convolution_product::weight_gradient, s) ==
                  detail::convolution_algorithm::winograd);
    const std::size_t slots = 3;
    for (const auto& [input_live, weight_live, gradient_live] :
         std::vector<std::array<std::size_t, 3>>{{2, 1, 3}, {1, 2, 0}, {0, 3, 2}, {3, 3, 3}}) {
        BOOST_TEST_CONTEXT("live tangents: input " << input_live << ", weight " << weight_live << ", gradient "
                                                   << gradient_live) {
            auto with_live = [&](const dual& full, std::size_t live) {
                return dual(full.value(), xt::xarray<double>(xt::view(full.live_tangent_block(), xt::range(0, live))),
                            slots);
            };
            const dual x = with_live(random_dual({2, 16, 8, 8}, slots, 21), input_live);
            const dual w = with_live(random_dual({3, 16 * 9}, slots, 22), weight_live);
            const dual g = with_live(random_dual({2, 3, 8, 8}, slots, 23), gradient_live);
            const dual y = detail::conv_forward(x, w, static_cast<const dual*>(nullptr), s);
            dual weight_gradient, bias_gradient, input_gradient;
            detail::conv_backward(g, x, w, false, true, s, weight_gradient, bias_gradient, input_gradient);

            auto forward = [&](const xt::xarray<double>& images, const xt::xarray<double>& weights) {
                return detail::conv_forward(images, weights, static_cast<const xt::xarray<double>*>(nullptr), s);
            };
            auto backward = [&](const xt::xarray<double>& gradient, const xt::xarray<double>& images,
                                const xt::xarray<double>& weights) {
                xt::xarray<double> dw, db, dx;
                detail::conv_backward(gradient, images, weights, false, true, s, dw, db, dx);
                return std::pair{dw, dx};
            };
            BOOST_TEST(xt::allclose(y.value(), forward(x.value(), w.value()), 1e-13, 1e-13));
            for (std::size_t k = 0; k < slots; ++k) {
                BOOST_TEST_CONTEXT("tangent " << k) {
                    const xt::xarray<double> dx = tangent_of(x, k), dw = tangent_of(w, k), dg = tangent_of(g, k);
                    BOOST_TEST(
                        xt::allclose(tangent_of(y, k), forward(dx, w.value()) + forward(x.value(), dw), 1e-13, 1e-13));
                    const auto [dg_x, dg_w] = backward(dg, x.value(), w.value());
                    const auto [g_dx, g_dw] = backward(g.value(), dx, dw);
                    BOOST_TEST(xt::allclose(tangent_of(weight_gradient, k), dg_x + g_dx, 1e-13, 1e-13));
                    BOOST_TEST(xt::allclose(tangent_of(input_gradient, k), dg_w + g_dw, 1e-13, 1e-13));
                }
            }
        }
    }
}
