#define BOOST_TEST_MODULE options
#include <boost/test/unit_test.hpp>

#include <fds/cli/cli_error.hpp>
#include <fds/cli/options.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace fds::cli;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const argument_grammar hypertrain_grammar{"hypertrain", {}, {"config", "out"}};

parsed_arguments parse(const std::vector<std::string>& arguments) {
    return parse_arguments(hypertrain_grammar, arguments);
}

// The usage error message of parsing `arguments`, failing the test when there is none.
std::string usage_message(const std::vector<std::string>& arguments) {
    try {
        parse(arguments);
    } catch (const cli_error& error) {
        BOOST_TEST(static_cast<int>(error.code()) == 2);
        return error.what();
    }
    BOOST_FAIL("expected a usage error");
    return "";
}

bool contains(const std::string& text, const std::string& part) {
    bool found = text.find(part) != std::string::npos;
    if (!found) BOOST_TEST_MESSAGE("'" << part << "' not in: " << text);
    return found;
}

fs::path write_temporary(const std::string& name, const std::string& content) {
    fs::path path = fs::temp_directory_path() / ("fds_cli_options_" + std::to_string(::getpid()) + "_" + name);
    std::ofstream(path) << content;
    return path;
}

}  // namespace

BOOST_AUTO_TEST_CASE(no_flags_give_the_reference_defaults) {
    parsed_arguments parsed = parse({});
    BOOST_TEST(settings_to_json(parsed.settings) == settings_to_json(fds::hypertrain_settings{}));
    BOOST_TEST(parsed.settings.n_lrs == 7u);
    BOOST_TEST(parsed.settings.dataset == "CIFAR10");
    BOOST_TEST(parsed.settings.n_inner_epochs_per_outer_steps.size() == 10u);
    BOOST_TEST(parsed.given.empty());
}

BOOST_AUTO_TEST_CASE(every_reference_flag_is_an_option) {
    // the hyper-training flags of polo5/FDS main.py (logging, worker and GPU flags have no meaning here)
    for (const char* name : {"learn_lr",
                             "learn_mom",
                             "learn_wd",
                             "n_lrs",
                             "n_moms",
                             "n_wds",
                             "dataset",
                             "n_inner_epochs_per_outer_steps",
                             "pruning_mode",
                             "pruning_ratio",
                             "architecture",
                             "init_type",
                             "init_param",
                             "init_norm_weights",
                             "inner_lr_init",
                             "inner_mom_init",
                             "inner_wd_init",
                             "train_batch_size",
                             "clamp_grads",
                             "clamp_grads_range",
                             "cutout",
                             "cutout_length",
                             "cutout_prob",
                             "val_batch_size",
                             "val_train_fraction",
                             "val_train_overlap",
                             "lr_init_step_size",
                             "mom_init_step_size",
                             "wd_init_step_size",
                             "lr_step_decay",
                             "mom_step_decay",
                             "wd_step_decay",
                             "clamp_HZ",
                             "clamp_HZ_range",
                             "converged_frac",
                             "retrain_from_scratch",
                             "retrain_n_epochs",
                             "datasets_path",
                             "seed",
                             "threads"})
        BOOST_TEST(find_setting_option(name) != nullptr, name);
}

BOOST_AUTO_TEST_CASE(flags_set_their_settings) {
    parsed_arguments parsed = parse({"--n_lrs",
                                     "5",
                                     "--learn_mom",
                                     "false",
                                     "--lr_step_decay",
                                     "0.25",
                                     "--dataset",
                                     "FashionMNIST",
                                     "--architecture",
                                     "LeNet",
                                     "--n_inner_epochs_per_outer_steps",
                                     "1",
                                     "2",
                                     "3",
                                     "--seed",
                                     "42",
                                     "--inner_lr_init=0.01",
                                     "--out",
                                     "runs/x",
                                     "--threads",
                                     "2",
                                     "--pruning_mode",
                                     "truncate"});
    const fds::hypertrain_settings& s = parsed.settings;
    BOOST_TEST(s.n_lrs == 5u);
    BOOST_TEST(!s.learn_mom);
    BOOST_TEST(s.lr_step_decay == 0.25);
    BOOST_TEST(s.dataset == "FashionMNIST");
    BOOST_TEST(s.architecture == "LeNet");
    BOOST_TEST((s.n_inner_epochs_per_outer_steps == std::vector<std::size_t>{1, 2, 3}));
    BOOST_TEST(s.seed == 42u);
    BOOST_TEST(s.inner_lr_init == 0.01);
    BOOST_TEST(s.threads == 2u);
    BOOST_TEST(s.pruning_mode == "truncate");
    BOOST_TEST(parsed.extra.at("out") == "runs/x");
    BOOST_TEST(parsed.given.count("n_lrs") == 1u);
    BOOST_TEST(parsed.given.count("n_moms") == 0u);
}

BOOST_AUTO_TEST_CASE(budget_list_accepts_spaces_commas_and_equals) {
    BOOST_TEST((parse({"--n_inner_epochs_per_outer_steps", "1,10,10"}).settings.n_inner_epochs_per_outer_steps ==
                std::vector<std::size_t>{1, 10, 10}));
    BOOST_TEST((parse({"--n_inner_epochs_per_outer_steps=2,3"}).settings.n_inner_epochs_per_outer_steps ==
                std::vector<std::size_t>{2, 3}));
    BOOST_TEST(
        (parse({"--n_inner_epochs_per_outer_steps", "4", "--n_lrs", "2"}).settings.n_inner_epochs_per_outer_steps ==
         std::vector<std::size_t>{4}));
}

BOOST_AUTO_TEST_CASE(booleans_accept_the_words_of_str2bool) {
    for (const char* word : {"true", "True", "TRUE", "t", "yes", "y", "1"})
        BOOST_TEST(parse({"--cutout", word}).settings.cutout, word);
    for (const char* word : {"false", "False", "f", "no", "n", "0"})
        BOOST_TEST(!parse({"--clamp_grads", word}).settings.clamp_grads, word);
    BOOST_TEST(parse({"--cutout"}).settings.cutout);  // a bare boolean flag means true
    BOOST_TEST(contains(usage_message({"--learn_lr", "maybe"}), "--learn_lr expects a boolean"));
    BOOST_TEST(contains(usage_message({"--learn_lr", "maybe"}), "'maybe'"));
}

BOOST_AUTO_TEST_CASE(unknown_flag_names_it_and_the_closest_valid_flag) {
    std::string message = usage_message({"--n_lr", "3"});
    BOOST_TEST(contains(message, "unknown option '--n_lr'"));
    BOOST_TEST(contains(message, "did you mean '--n_lrs'"));
    BOOST_TEST(contains(usage_message({"--lr_step_decy", "0.5"}), "'--lr_step_decay'"));
    BOOST_TEST(contains(usage_message({"--ouy", "x"}), "'--out'"));
    BOOST_TEST(contains(usage_message({"stray"}), "unexpected argument 'stray'"));
}

BOOST_AUTO_TEST_CASE(bucket_counts_outside_one_to_a_million_name_the_flag_and_range) {
    for (const char* flag : {"--n_lrs", "--n_moms", "--n_wds"}) {
        BOOST_TEST(
            contains(usage_message({flag, "0"}), std::string(flag) + " must be an integer in [1, 1e+06], found 0"));
        // before any allocation: two billion buckets used to end in std::bad_alloc
        BOOST_TEST(contains(usage_message({flag, "2000000000"}), "[1, 1e+06], found 2000000000"));
    }
    BOOST_TEST(contains(usage_message({"--n_lrs", "-3"}), "an integer in [1, 1e+06], found -3"));
    BOOST_TEST(contains(usage_message({"--n_lrs", "2.5"}), "--n_lrs expects an integer, found '2.5'"));
}

BOOST_AUTO_TEST_CASE(step_decay_outside_the_open_unit_interval_is_refused) {
    for (const char* flag : {"--lr_step_decay", "--mom_step_decay", "--wd_step_decay"})
        for (const char* value : {"0", "1", "1.5", "-0.5"})
            BOOST_TEST(contains(usage_message({flag, value}), std::string(flag) + " must be a number in (0, 1)"));
    BOOST_TEST(parse({"--lr_step_decay", "0.999"}).settings.lr_step_decay == 0.999);
}

BOOST_AUTO_TEST_CASE(fractions_outside_the_open_unit_interval_are_refused) {
    BOOST_TEST(contains(usage_message({"--val_train_fraction", "0"}),
                        "--val_train_fraction must be a number in (0, 1), found 0"));
    BOOST_TEST(contains(usage_message({"--val_train_fraction", "1"}), "(0, 1)"));
    BOOST_TEST(contains(usage_message({"--converged_frac", "2"}), "--converged_frac must be a number in (0, 1)"));
    BOOST_TEST(contains(usage_message({"--pruning_ratio", "1.5"}), "--pruning_ratio must be a number in [0, 1]"));
    BOOST_TEST(contains(usage_message({"--inner_mom_init", "1"}), "[0, 1)"));
    BOOST_TEST(contains(usage_message({"--val_train_fraction", "nan"}), "expects a number"));
}

BOOST_AUTO_TEST_CASE(empty_budget_list_is_refused) {
    BOOST_TEST(contains(usage_message({"--n_inner_epochs_per_outer_steps"}),
                        "--n_inner_epochs_per_outer_steps must be a non-empty list of integers >= 1"));
    BOOST_TEST(
        contains(usage_message({"--n_inner_epochs_per_outer_steps", "1", "0"}), "non-empty list of integers >= 1"));
}

BOOST_AUTO_TEST_CASE(unknown_dataset_and_architecture_list_the_valid_names) {
    std::string message = usage_message({"--dataset", "fashionmnist"});
    BOOST_TEST(
        contains(message, "--dataset must be one of CIFAR10, CIFAR100, MNIST, FashionMNIST, found 'fashionmnist'"));
    BOOST_TEST(contains(message, "did you mean 'FashionMNIST'"));
    message = usage_message({"--architecture", "lenet"});
    BOOST_TEST(contains(message, "one of MLP, LeNet, CNN, WRN-16-1"));
    BOOST_TEST(contains(message, "did you mean 'LeNet'"));
    BOOST_TEST(contains(usage_message({"--pruning_mode", "alternating"}), "did you mean 'alternate'"));
    BOOST_TEST(contains(usage_message({"--init_type", "he"}), "one of normal, xavier, kaiming"));
    BOOST_TEST(parse({"--init_type", "orthogonal"}).settings.init_type == "orthogonal");  // the reference's choices
}

BOOST_AUTO_TEST_CASE(one_valued_flag_with_two_values_is_refused) {
    BOOST_TEST(contains(usage_message({"--n_lrs", "3", "4"}), "--n_lrs takes one value, found 2"));
}

BOOST_AUTO_TEST_CASE(config_file_sets_values_and_flags_override_it) {
    fs::path config = write_temporary("config.json", R"({"n_lrs": 3, "dataset": "MNIST", "learn_wd": "no",
        "n_inner_epochs_per_outer_steps": [2, 4], "lr_step_decay": 0.3})");
    parsed_arguments parsed = parse({"--n_lrs", "9", "--config", config.string()});
    BOOST_TEST(parsed.settings.n_lrs == 9u);  // the flag wins even when written before --config
    BOOST_TEST(parsed.settings.dataset == "MNIST");
    BOOST_TEST(!parsed.settings.learn_wd);
    BOOST_TEST((parsed.settings.n_inner_epochs_per_outer_steps == std::vector<std::size_t>{2, 4}));
    BOOST_TEST(parsed.settings.lr_step_decay == 0.3);
    BOOST_TEST(parsed.given.count("dataset") == 1u);
    fs::remove(config);
}

BOOST_AUTO_TEST_CASE(config_file_errors_name_the_file_and_key) {
    fs::path unknown = write_temporary("unknown.json", R"({"n_lr": 3})");
    std::string message = usage_message({"--config", unknown.string()});
    BOOST_TEST(contains(message, unknown.string()));
    BOOST_TEST(contains(message, "unknown key 'n_lr'"));
    BOOST_TEST(contains(message, "did you mean 'n_lrs'"));

    fs::path bad_value = write_temporary("bad_value.json", R"({"wd_step_decay": 1.0})");
    message = usage_message({"--config", bad_value.string()});
    BOOST_TEST(contains(message, "key 'wd_step_decay' in " + bad_value.string() + " must be a number in (0, 1)"));

    fs::path bad_kind = write_temporary("bad_kind.json", R"({"n_lrs": "seven"})");
    BOOST_TEST(contains(usage_message({"--config", bad_kind.string()}), "expects an integer, found 'seven'"));

    fs::path not_json = write_temporary("not_json.json", "{\"n_lrs\": ");
    BOOST_TEST(contains(usage_message({"--config", not_json.string()}), "is not valid JSON"));

    BOOST_TEST(
        contains(usage_message({"--config", "/nonexistent/fds.json"}), "/nonexistent/fds.json cannot be opened"));
    for (const fs::path& path : {unknown, bad_value, bad_kind, not_json}) fs::remove(path);
}

BOOST_AUTO_TEST_CASE(config_round_trip_reproduces_every_setting) {
    fds::hypertrain_settings original = parse({"--n_lrs", "4", "--n_moms", "2", "--learn_wd", "false", "--dataset",
                                               "FashionMNIST", "--n_inner_epochs_per_outer_steps", "1", "3", "--seed",
                                               "7", "--lr_init_step_size", "0.0123456789", "--datasets_path", "/tmp/d"})
                                            .settings;
    json written = settings_to_json(original);
    fs::path flat = write_temporary("flat.json", written.dump(2));
    fs::path nested = write_temporary("nested.json", json{{"program", "fds"}, {"settings", written}}.dump(2));
    BOOST_TEST(settings_to_json(parse({"--config", flat.string()}).settings) == written);
    BOOST_TEST(settings_to_json(parse({"--config", nested.string()}).settings) == written);
    BOOST_TEST(written.size() == setting_options().size());
    fs::remove(flat);
    fs::remove(nested);
}

BOOST_AUTO_TEST_CASE(resolving_applies_the_reference_conventions) {
    fds::hypertrain_settings settings;
    settings.n_inner_epochs_per_outer_steps = {1, 5, 8};
    settings.retrain_n_epochs = -1;
    BOOST_TEST(resolve_settings(settings).retrain_n_epochs == 8);
    settings.learn_lr = settings.learn_mom = settings.learn_wd = false;
    BOOST_CHECK_THROW(resolve_settings(settings), cli_error);
}

BOOST_AUTO_TEST_CASE(differing_settings_name_each_key_with_both_values) {
    json recorded = settings_to_json(fds::hypertrain_settings{});
    fds::hypertrain_settings changed;
    changed.n_lrs = 3;
    changed.dataset = "MNIST";
    changed.threads = 1;
    std::vector<std::string> differences = differing_settings(recorded, settings_to_json(changed), {"threads"});
    BOOST_TEST(differences.size() == 2u);
    BOOST_TEST(differences[0] == "dataset: \"CIFAR10\" -> \"MNIST\"");
    BOOST_TEST(differences[1] == "n_lrs: 7 -> 3");
}

BOOST_AUTO_TEST_CASE(help_lists_every_option_with_default_and_range) {
    std::string help = options_help(hypertrain_grammar);
    for (const option_spec& option : setting_options()) BOOST_TEST(contains(help, "--" + option.name + " "));
    BOOST_TEST(contains(help, "[default 7; an integer in [1, 1e+06]]"));
    BOOST_TEST(contains(help, "[default 1 10 10 10 10 10 10 10 10 10;"));
    BOOST_TEST(parse({"--help"}).help);
    BOOST_TEST(parse({"-h"}).help);
}

BOOST_AUTO_TEST_CASE(a_restricted_grammar_refuses_other_settings) {
    argument_grammar info{"info", {"dataset", "datasets_path"}, {}};
    BOOST_TEST(parse_arguments(info, {"--dataset", "MNIST"}).settings.dataset == "MNIST");
    try {
        parse_arguments(info, {"--n_lrs", "3"});
        BOOST_FAIL("expected a usage error");
    } catch (const cli_error& error) {
        BOOST_TEST(contains(error.what(), "fds info: unknown option '--n_lrs'"));
    }
}

BOOST_AUTO_TEST_CASE(an_option_newer_than_the_recorded_run_is_the_same_experiment_at_its_default) {
    json recorded = settings_to_json(fds::hypertrain_settings{});
    recorded.erase("retrain_attempts");
    BOOST_TEST(differing_settings(recorded, settings_to_json(fds::hypertrain_settings{}), {}).empty());
    fds::hypertrain_settings changed;
    changed.retrain_attempts = 1;
    const std::vector<std::string> differences = differing_settings(recorded, settings_to_json(changed), {});
    BOOST_REQUIRE(differences.size() == 1u);
    BOOST_TEST(differences[0] == "retrain_attempts: \"(absent)\" -> 1");
}

BOOST_AUTO_TEST_CASE(a_config_nested_too_deep_or_a_directory_is_refused_by_name) {
    const fs::path deep = fs::temp_directory_path() / ("fds_options_deep_" + std::to_string(::getpid()) + ".json");
    std::ofstream(deep) << "{\"dataset\": " << std::string(100000, '[') << std::string(100000, ']') << "}";
    try {
        read_config_file(deep.string());
        BOOST_FAIL("a config nested 100,000 levels deep was accepted");
    } catch (const cli_error& error) {
        BOOST_TEST((error.code() == exit_code::usage));
        BOOST_TEST(std::string(error.what()).find(deep.string() + " nests deeper than") != std::string::npos,
                   error.what());
    }
    fs::remove(deep);
    const fs::path directory = fs::temp_directory_path();
    try {
        read_config_file(directory.string());
        BOOST_FAIL("a directory was read as a config file");
    } catch (const cli_error& error) {
        BOOST_TEST(std::string(error.what()).find("is a directory") != std::string::npos, error.what());
    }
}
