#define BOOST_TEST_MODULE closest_name
#include <boost/test/unit_test.hpp>

#include <fds/cli/closest_name.hpp>

using namespace fds::cli;

BOOST_AUTO_TEST_CASE(edit_distance_counts_insertions_deletions_and_substitutions) {
    BOOST_TEST(edit_distance("", "") == 0.0);
    BOOST_TEST(edit_distance("kitten", "sitting") == 3.0);  // k->s, e->i, +g
    BOOST_TEST(edit_distance("n_lr", "n_lrs") == 1.0);
    BOOST_TEST(edit_distance("abc", "") == 3.0);
    BOOST_TEST(edit_distance("flaw", "lawn") == 2.0);
}

BOOST_AUTO_TEST_CASE(edit_distance_is_symmetric) {
    BOOST_TEST(edit_distance("clamp_HZ_range", "clamp_grads_range") ==
               edit_distance("clamp_grads_range", "clamp_HZ_range"));
}

BOOST_AUTO_TEST_CASE(a_case_only_difference_costs_half_an_edit) {
    BOOST_TEST(edit_distance("lenet", "LeNet") == 1.0);  // l->L, n->N
    BOOST_TEST(edit_distance("fashionmnist", "FashionMNIST") == 3.0);  // six case changes
}

BOOST_AUTO_TEST_CASE(closest_name_finds_the_intended_option) {
    std::vector<std::string> names = {"n_lrs", "n_moms", "n_wds", "learn_lr", "lr_step_decay", "clamp_HZ_range"};
    BOOST_TEST(*closest_name("n_lr", names) == "n_lrs");
    BOOST_TEST(*closest_name("n_mom", names) == "n_moms");
    BOOST_TEST(*closest_name("lr_step_decy", names) == "lr_step_decay");
    BOOST_TEST(*closest_name("clamp_hz_range", names) == "clamp_HZ_range");
}

BOOST_AUTO_TEST_CASE(closest_name_prefers_case_variants_of_choices) {
    std::vector<std::string> datasets = {"CIFAR10", "CIFAR100", "MNIST", "FashionMNIST"};
    BOOST_TEST(*closest_name("fashionmnist", datasets) == "FashionMNIST");
    BOOST_TEST(*closest_name("cifar10", datasets) == "CIFAR10");
    BOOST_TEST(*closest_name("mnist", datasets) == "MNIST");
}

BOOST_AUTO_TEST_CASE(closest_name_gives_nothing_for_an_unrelated_word) {
    std::vector<std::string> names = {"n_lrs", "n_moms", "seed"};
    BOOST_TEST(!closest_name("architecture_of_the_model", names).has_value());
    BOOST_TEST(did_you_mean("zzzzzzzzz", names).empty());
    BOOST_TEST(did_you_mean("sed", names, "--") == " (did you mean '--seed'?)");
}
