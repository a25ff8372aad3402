#define BOOST_TEST_MODULE fds_schedule
#include <boost/test/unit_test.hpp>

#include <fds/schedule.hpp>

using fds::hyper_type;

BOOST_AUTO_TEST_CASE(bucket_index_is_floor_of_n_t_over_t_total) {
    // 7 buckets over 10 steps: floor(7 t / 10) = 0 0 1 2 2 3 4 4 5 6
    const std::size_t expected[] = {0, 0, 1, 2, 2, 3, 4, 4, 5, 6};
    for (std::size_t t = 0; t < 10; ++t) BOOST_TEST(fds::bucket_index(7, t, 10) == expected[t]);
    // every bucket of an evenly divisible run covers exactly T / n steps
    std::vector<std::size_t> counts(4, 0);
    for (std::size_t t = 0; t < 100; ++t) ++counts[fds::bucket_index(4, t, 100)];
    for (std::size_t c : counts) BOOST_TEST(c == 25u);
    BOOST_CHECK_THROW(fds::bucket_index(4, 100, 100), std::out_of_range);
}

BOOST_AUTO_TEST_CASE(hypers_at_reads_the_bucket_values_of_each_type) {
    fds::hyper_values schedules{{0.1, 0.2, 0.3, 0.4}, {0.5, 0.9}, {1e-4}};
    const auto early = fds::hypers_at(schedules, 0, 8);
    BOOST_TEST(early.lr == 0.1);
    BOOST_TEST(early.mom == 0.5);
    BOOST_TEST(early.wd == 1e-4);
    const auto late = fds::hypers_at(schedules, 7, 8);
    BOOST_TEST(late.lr == 0.4);
    BOOST_TEST(late.lr_bucket == 3u);
    BOOST_TEST(late.mom == 0.9);
    BOOST_TEST(late.mom_bucket == 1u);
    BOOST_TEST(late.bucket(hyper_type::wd) == 0u);
}

BOOST_AUTO_TEST_CASE(slots_are_ordered_by_first_use_so_live_slots_are_a_prefix) {
    // 4 lr, 2 mom, 1 wd over 8 steps: lr buckets start at 0 2 4 6, mom at 0 4, wd at 0.
    fds::tangent_layout layout({4, 2, 1}, {true, true, true}, 8);
    BOOST_TEST(layout.tangent_count() == 7u);
    BOOST_TEST(layout.slot(hyper_type::lr, 0) == 0u);
    BOOST_TEST(layout.slot(hyper_type::mom, 0) == 1u);
    BOOST_TEST(layout.slot(hyper_type::wd, 0) == 2u);
    BOOST_TEST(layout.slot(hyper_type::lr, 1) == 3u);
    BOOST_TEST(layout.slot(hyper_type::lr, 2) == 4u);
    BOOST_TEST(layout.slot(hyper_type::mom, 1) == 5u);
    BOOST_TEST(layout.slot(hyper_type::lr, 3) == 6u);
    const std::size_t expected_live[] = {3, 3, 4, 4, 6, 6, 7, 7};
    for (std::size_t t = 0; t < 8; ++t) {
        BOOST_TEST(layout.live_slots(t) == expected_live[t]);
        // every bucket used at step t has a slot inside the live prefix
        for (hyper_type type : {hyper_type::lr, hyper_type::mom, hyper_type::wd}) {
            const std::size_t bucket = fds::bucket_index(layout.bucket_count(type), t, 8);
            BOOST_TEST(layout.slot(type, bucket) < layout.live_slots(t));
        }
    }
    for (std::size_t slot = 0; slot < layout.tangent_count(); ++slot) {
        const auto& owner = layout.owner(slot);
        BOOST_TEST(layout.slot(owner.type, owner.bucket) == slot);
    }
}

BOOST_AUTO_TEST_CASE(unlearned_types_own_no_slot) {
    fds::tangent_layout layout({3, 1, 1}, {true, false, true}, 9);
    BOOST_TEST(layout.tangent_count() == 4u);
    BOOST_TEST(layout.slot(hyper_type::mom, 0) == fds::tangent_layout::no_slot);
    BOOST_TEST(layout.slot(hyper_type::wd, 0) == 1u);
    BOOST_TEST(layout.live_slots(0) == 2u);
}

BOOST_AUTO_TEST_CASE(buckets_no_step_uses_get_the_last_slots) {
    // 7 buckets over 3 steps: steps use buckets 0, 2, 4
    fds::tangent_layout layout({7, 1, 1}, {true, false, false}, 3);
    BOOST_TEST(layout.slot(hyper_type::lr, 0) == 0u);
    BOOST_TEST(layout.slot(hyper_type::lr, 2) == 1u);
    BOOST_TEST(layout.slot(hyper_type::lr, 4) == 2u);
    BOOST_TEST(layout.live_slots(2) == 3u);
    BOOST_TEST(layout.first_use_step(6) == 3u);
}

BOOST_AUTO_TEST_CASE(bad_layouts_are_rejected_with_a_message) {
    BOOST_CHECK_THROW(fds::tangent_layout({0, 1, 1}, {true, true, true}, 10), std::invalid_argument);
    BOOST_CHECK_THROW(fds::tangent_layout({1, 1, 1}, {true, true, true}, 0), std::invalid_argument);
    BOOST_CHECK_THROW(fds::hypers_at(fds::hyper_values{{}, {0.0}, {0.0}}, 0, 4), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_layout_can_learn_single_buckets) {
    // only lr bucket 2 of 4 and the wd bucket: two slots, lr2 first used at step 4, wd at 0
    fds::tangent_layout layout({4, 2, 1},
                               std::vector<std::vector<bool>>{{false, false, true, false}, {false, false}, {true}}, 8);
    BOOST_TEST(layout.tangent_count() == 2u);
    BOOST_TEST(layout.slot(hyper_type::wd, 0) == 0u);
    BOOST_TEST(layout.slot(hyper_type::lr, 2) == 1u);
    BOOST_TEST(layout.slot(hyper_type::lr, 0) == fds::tangent_layout::no_slot);
    BOOST_TEST(!layout.learned(hyper_type::mom));
    BOOST_TEST(layout.live_slots(3) == 1u);
    BOOST_TEST(layout.live_slots(4) == 2u);
}
