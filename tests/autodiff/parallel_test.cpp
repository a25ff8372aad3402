#define BOOST_TEST_MODULE autodiff_parallel
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fds/autodiff/blas.hpp>
#include <fds/autodiff/parallel.hpp>
#include <fds/autodiff/random.hpp>

using namespace fds::autodiff;

namespace {

// Sets the thread count for one scope and restores the previous one.
struct thread_count_scope {
    explicit thread_count_scope(std::size_t threads) : previous(thread_count()) { set_thread_count(threads); }
    ~thread_count_scope() { set_thread_count(previous); }
    std::size_t previous;
};

std::vector<double> random_values(std::size_t count, unsigned seed) {
    random_source random(seed);
    std::vector<double> values(count);
    for (auto& value : values) value = random.normal();
    return values;
}

}  // namespace

BOOST_AUTO_TEST_CASE(set_thread_count_sets_the_count_and_one_is_the_least) {
    thread_count_scope scope(3);
    BOOST_TEST(thread_count() == 3u);
    set_thread_count(0);
    BOOST_TEST(thread_count() == 1u);
}

BOOST_AUTO_TEST_CASE(run_parts_runs_every_part_once_on_up_to_the_thread_count) {
    for (std::size_t threads : {1, 2, 4}) {
        thread_count_scope scope(threads);
        for (std::size_t parts : {0, 1, 2, 3, 17, 1000}) {
            std::vector<std::atomic<int>> runs(parts);
            std::mutex ids_mutex;
            std::set<std::thread::id> ids;
            run_parts(parts, [&](std::size_t part) {
                runs[part].fetch_add(1);
                std::lock_guard<std::mutex> lock(ids_mutex);
                ids.insert(std::this_thread::get_id());
            });
            BOOST_TEST_CONTEXT("threads " << threads << ", parts " << parts) {
                for (std::size_t part = 0; part < parts; ++part) BOOST_TEST(runs[part].load() == 1);
                BOOST_TEST(ids.size() <= threads);
            }
        }
    }
}

// With two threads a loop of slow parts really runs on two (the helper takes parts).
BOOST_AUTO_TEST_CASE(two_threads_share_a_loop_of_slow_parts) {
    thread_count_scope scope(2);
    std::mutex ids_mutex;
    std::set<std::thread::id> ids;
    run_parts(8, [&](std::size_t) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // 0.4 s serially: ample time for a helper to wake
        std::lock_guard<std::mutex> lock(ids_mutex);
        ids.insert(std::this_thread::get_id());
    });
    BOOST_TEST(ids.size() == 2u);
}

// Thousands of loops in a row, the helpers between spinning and sleeping: none is lost.
BOOST_AUTO_TEST_CASE(many_short_loops_in_a_row_all_complete) {
    thread_count_scope scope(2);
    std::atomic<long> total{0};
    for (int loop = 0; loop < 20000; ++loop) {
        run_parts(2, [&](std::size_t part) { total.fetch_add(static_cast<long>(part) + 1); });
        if (loop % 5000 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));  // let helpers sleep
    }
    BOOST_TEST(total.load() == 20000L * 3);
}

BOOST_AUTO_TEST_CASE(a_loop_inside_a_part_runs_serially_on_that_thread) {
    thread_count_scope scope(2);
    std::atomic<int> inner_runs{0};
    std::atomic<int> foreign_threads{0};
    run_parts(4, [&](std::size_t) {
        const auto outer = std::this_thread::get_id();
        run_parts(3, [&](std::size_t) {
            inner_runs.fetch_add(1);
            if (std::this_thread::get_id() != outer) foreign_threads.fetch_add(1);
        });
    });
    BOOST_TEST(inner_runs.load() == 12);
    BOOST_TEST(foreign_threads.load() == 0);
}

BOOST_AUTO_TEST_CASE(an_exception_of_a_part_is_rethrown_after_all_parts_ran) {
    thread_count_scope scope(2);
    std::atomic<int> runs{0};
    BOOST_CHECK_THROW(run_parts(8,
                                [&](std::size_t part) {
                                    runs.fetch_add(1);
                                    if (part == 3) throw std::runtime_error("part 3");
                                }),
                      std::runtime_error);
    BOOST_TEST(runs.load() == 8);
    // the pool still works
    std::atomic<int> after{0};
    run_parts(5, [&](std::size_t) { after.fetch_add(1); });
    BOOST_TEST(after.load() == 5);
}

BOOST_AUTO_TEST_CASE(loops_from_two_threads_at_once_both_complete) {
    thread_count_scope scope(2);
    std::atomic<long> first{0}, second{0};
    auto work = [](std::atomic<long>& total) {
        for (int loop = 0; loop < 2000; ++loop) run_parts(4, [&](std::size_t part) { total.fetch_add(part); });
    };
    std::thread other([&] { work(second); });
    work(first);
    other.join();
    BOOST_TEST(first.load() == 2000L * 6);
    BOOST_TEST(second.load() == 2000L * 6);
}

BOOST_AUTO_TEST_CASE(run_ranges_covers_the_range_once_in_granule_aligned_cuts) {
    for (std::size_t threads : {1, 2, 3}) {
        thread_count_scope scope(threads);
        for (std::size_t count : {0, 5, 1000, 100000, 100001}) {
            std::vector<std::atomic<int>> visits(count);
            std::mutex cuts_mutex;
            std::vector<std::pair<std::size_t, std::size_t>> cuts;
            run_ranges(count, 1, 64, [&](std::size_t begin, std::size_t end) {
                for (std::size_t i = begin; i < end; ++i) visits[i].fetch_add(1);
                std::lock_guard<std::mutex> lock(cuts_mutex);
                cuts.emplace_back(begin, end);
            });
            BOOST_TEST_CONTEXT("threads " << threads << ", count " << count) {
                for (std::size_t i = 0; i < count; ++i) BOOST_TEST(visits[i].load() == 1);
                for (const auto& [begin, end] : cuts) {
                    BOOST_TEST(begin % 64 == 0u);
                    BOOST_TEST((end % 64 == 0u || end == count));
                }
                // below parallel_pass_work the caller runs it whole
                if (count < parallel_pass_work) BOOST_TEST(cuts.size() <= 1u);
                BOOST_TEST(cuts.size() <= threads);
            }
        }
    }
}

// Double GEMMs cut into blocks over any number of threads equal one call bit for bit (the
// fixed-order kernel sums every entry the same way); float GEMMs cut over threads agree with the
// double product to float rounding. Shapes cut by rows (m > n) and by columns, with transposes.
BOOST_AUTO_TEST_CASE(gemms_cut_over_threads_equal_one_thread) {
    struct product {
        std::size_t m, n, k;
        bool transpose_a, transpose_b;
    };
    for (const product p : {product{300, 40, 70, false, false}, product{40, 300, 70, true, false},
                            product{129, 257, 33, false, true}, product{257, 129, 65, true, true}}) {
        const auto a = random_values(p.m * p.k, 1);
        const auto b = random_values(p.k * p.n, 2);
        const auto c0 = random_values(p.m * p.n, 3);
        const std::size_t lda = p.transpose_a ? p.m : p.k, ldb = p.transpose_b ? p.k : p.n;
        std::vector<std::vector<double>> results;
        for (std::size_t threads : {1, 2, 3}) {
            thread_count_scope scope(threads);
            std::vector<double> c = c0;
            detail::gemm(p.transpose_a, p.transpose_b, p.m, p.n, p.k, 0.5, a.data(), lda, b.data(), ldb, 2.0, c.data(),
                         p.n);
            results.push_back(c);
        }
        BOOST_TEST_CONTEXT("product " << p.m << "x" << p.n << "x" << p.k) {
            BOOST_TEST((results[0] == results[1]));
            BOOST_TEST((results[0] == results[2]));
            // float on two threads against the double result
            std::vector<float> af(a.begin(), a.end()), bf(b.begin(), b.end()), cf(c0.begin(), c0.end());
            thread_count_scope scope(2);
            detail::gemm(p.transpose_a, p.transpose_b, p.m, p.n, p.k, 0.5f, af.data(), lda, bf.data(), ldb, 2.0f,
                         cf.data(), p.n);
            double worst = 0;
            for (std::size_t i = 0; i < cf.size(); ++i) worst = std::max(worst, std::abs(cf[i] - results[0][i]));
            BOOST_TEST(worst < 1e-4);
        }
    }
}
