#include "options.hpp"

#include "cli_error.hpp"
#include "closest_name.hpp"

#include <fds/nn/model_names.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <type_traits>

namespace fds::cli {

namespace detail {

using nlohmann::json;

std::string describe(const json& value) {
    if (value.is_string()) return "'" + value.get<std::string>() + "'";
    return value.dump();
}

// Numeric ranges: "in (0, 1)", ">= 1" and friends, checked on the parsed value.
struct numeric_range {
    double low = -std::numeric_limits<double>::infinity();
    double high = std::numeric_limits<double>::infinity();
    bool low_inclusive = true;
    bool high_inclusive = true;

    bool contains(double x) const {
        if (!std::isfinite(x)) return false;
        bool above = low_inclusive ? x >= low : x > low;
        bool below = high_inclusive ? x <= high : x < high;
        return above && below;
    }
};

std::string format_number(double x) {
    std::ostringstream text;
    text << x;
    return text.str();
}

std::string describe_range(const numeric_range& range, bool integer) {
    std::string what = integer ? "an integer" : "a number";
    bool bounded_below = std::isfinite(range.low);
    bool bounded_above = std::isfinite(range.high);
    if (bounded_below && bounded_above)
        return what + " in " + (range.low_inclusive ? "[" : "(") + format_number(range.low) + ", " +
               format_number(range.high) + (range.high_inclusive ? "]" : ")");
    if (bounded_below) return what + (range.low_inclusive ? " >= " : " > ") + format_number(range.low);
    if (bounded_above) return what + (range.high_inclusive ? " <= " : " < ") + format_number(range.high);
    return what;
}

numeric_range at_least(double low) { return {low, std::numeric_limits<double>::infinity(), true, true}; }
numeric_range above(double low) { return {low, std::numeric_limits<double>::infinity(), false, true}; }
numeric_range open_unit() { return {0.0, 1.0, false, false}; }
numeric_range closed_unit() { return {0.0, 1.0, true, true}; }
numeric_range everything() { return {}; }

std::string join(const std::vector<std::string>& words, const std::string& separator) {
    std::string text;
    for (std::size_t i = 0; i < words.size(); ++i) text += (i ? separator : "") + words[i];
    return text;
}

// An option stored in field `member` of hypertrain_settings; its kind follows the field's type.
template <class Field>
option_spec field_option(const std::string& name, Field hypertrain_settings::*member, const std::string& help,
                         numeric_range range = everything()) {
    option_spec option;
    option.name = name;
    option.help = help;
    option.assign = [member](hypertrain_settings& settings, const json& value) {
        settings.*member = value.get<Field>();
    };
    option.read = [member](const hypertrain_settings& settings) { return json(settings.*member); };
    if constexpr (std::is_same_v<Field, bool>) {
        option.kind = value_kind::boolean;
        option.is_valid = [](const json&) { return true; };
    } else if constexpr (std::is_same_v<Field, std::string>) {
        option.kind = value_kind::text;
        option.is_valid = [](const json&) { return true; };
    } else if constexpr (std::is_same_v<Field, std::vector<std::size_t>>) {
        option.kind = value_kind::integer_list;
        // "an integer >= 1" -> "a non-empty list of integers >= 1"
        option.valid_values = "a non-empty list of integers" + describe_range(range, true).substr(10);
        option.is_valid = [range](const json& value) {
            if (value.empty()) return false;
            for (const json& entry : value)
                if (!range.contains(entry.get<double>())) return false;
            return true;
        };
    } else {
        option.kind = std::is_integral_v<Field> ? value_kind::integer : value_kind::real;
        // unsigned fields never hold a negative number, whatever range was given
        if constexpr (std::is_unsigned_v<Field>) range.low = std::max(range.low, 0.0);
        option.valid_values = describe_range(range, std::is_integral_v<Field>);
        option.is_valid = [range](const json& value) { return range.contains(value.get<double>()); };
    }
    return option;
}

option_spec choice_option(const std::string& name, std::string hypertrain_settings::*member, const std::string& help,
                          const std::vector<std::string>& choices) {
    option_spec option = field_option(name, member, help);
    option.valid_values = "one of " + join(choices, ", ");
    option.choices = choices;
    option.is_valid = [choices](const json& value) {
        return std::find(choices.begin(), choices.end(), value.get<std::string>()) != choices.end();
    };
    return option;
}

std::vector<option_spec> make_setting_options() {
    using S = hypertrain_settings;
    std::vector<option_spec> options;
    auto add = [&](option_spec option) { options.push_back(std::move(option)); };
    // main
    add(field_option("learn_lr", &S::learn_lr, "learn the learning-rate schedule"));
    add(field_option("learn_mom", &S::learn_mom, "learn the momentum schedule"));
    add(field_option("learn_wd", &S::learn_wd, "learn the weight-decay schedule"));
    // a bucket per inner step is the finest schedule; a million covers any run and fits in memory
    const numeric_range bucket_counts{1, 1e6, true, true};
    add(field_option("n_lrs", &S::n_lrs, "learning-rate buckets shared by contiguous inner steps", bucket_counts));
    add(field_option("n_moms", &S::n_moms, "momentum buckets", bucket_counts));
    add(field_option("n_wds", &S::n_wds, "weight-decay buckets", bucket_counts));
    add(choice_option("dataset", &S::dataset, "dataset", dataset_names()));
    add(field_option("n_inner_epochs_per_outer_steps", &S::n_inner_epochs_per_outer_steps,
                     "epochs of the inner run of each outer step (one entry per outer step)", at_least(1)));
    add(choice_option("pruning_mode", &S::pruning_mode, "which inner steps skip the tangent (Z) work",
                      {"alternate", "truncate"}));
    add(field_option("pruning_ratio", &S::pruning_ratio, "fraction of inner steps that skip the tangent work",
                     closed_unit()));
    // architecture
    add(choice_option("architecture", &S::architecture, "model", architecture_names()));
    add(choice_option("init_type", &S::init_type, "weight initialization",
                      {"normal", "xavier", "kaiming", "orthogonal", "zero", "default"}));
    add(field_option("init_param", &S::init_param, "initialization gain or standard deviation"));
    add(field_option("init_norm_weights", &S::init_norm_weights, "initial BatchNorm gamma"));
    // inner loop
    add(field_option("inner_lr_init", &S::inner_lr_init, "initial learning rate of every bucket", at_least(0)));
    add(field_option("inner_mom_init", &S::inner_mom_init, "initial momentum of every bucket",
                     {0.0, 1.0, true, false}));
    add(field_option("inner_wd_init", &S::inner_wd_init, "initial weight decay of every bucket", at_least(0)));
    add(choice_option("inner_lr_init_shape", &S::inner_lr_init_shape,
                      "initial learning rates: constant, or cosine from inner_lr_init over the buckets",
                      {"cosine", "constant"}));
    add(field_option("train_batch_size", &S::train_batch_size, "training batch size", at_least(1)));
    add(field_option("clamp_grads", &S::clamp_grads, "clamp each inner gradient to +/- clamp_grads_range"));
    add(field_option("clamp_grads_range", &S::clamp_grads_range, "inner gradient clamp", above(0)));
    add(field_option("cutout", &S::cutout, "cutout augmentation (CIFAR)"));
    add(field_option("cutout_length", &S::cutout_length, "cutout square side in pixels", at_least(1)));
    add(field_option("cutout_prob", &S::cutout_prob, "probability of applying cutout", closed_unit()));
    // outer loop
    add(field_option("val_batch_size", &S::val_batch_size, "validation batch size", at_least(1)));
    add(field_option("val_train_fraction", &S::val_train_fraction,
                     "fraction of the training set held out for validation", open_unit()));
    add(field_option("val_train_overlap", &S::val_train_overlap, "validation images also stay in the training set"));
    add(field_option("hypergradient_runs", &S::hypergradient_runs,
                     "inner runs per outer step (own batch order and initialization each), hypergradients averaged",
                     {1, 64, true, true}));
    add(field_option("fixed_validation_split", &S::fixed_validation_split,
                     "one validation split for every outer step (false: a new one each, as the reference)"));
    add(field_option("lr_init_step_size", &S::lr_init_step_size, "initial outer step of the learning rates", above(0)));
    add(field_option("mom_init_step_size", &S::mom_init_step_size, "initial outer step of the momentums", above(0)));
    add(field_option("wd_init_step_size", &S::wd_init_step_size, "initial outer step of the weight decays", above(0)));
    add(field_option("lr_step_decay", &S::lr_step_decay, "outer step multiplier on a hypergradient sign flip",
                     open_unit()));
    add(field_option("mom_step_decay", &S::mom_step_decay, "same, momentum", open_unit()));
    add(field_option("wd_step_decay", &S::wd_step_decay, "same, weight decay", open_unit()));
    add(field_option("clamp_HZ", &S::clamp_HZ, "clamp the Hessian-times-Z term"));
    add(field_option("clamp_HZ_range", &S::clamp_HZ_range, "Hessian-times-Z clamp", above(0)));
    add(field_option("converged_frac", &S::converged_frac,
                     "stop when every outer step is below this fraction of its hyperparameter", open_unit()));
    add(choice_option("outer_optimizer", &S::outer_optimizer,
                      "outer update: rprop (per-bucket growing steps on a log scale), sign (the reference's) or adam",
                      {"rprop", "sign", "adam"}));
    add(field_option("rprop_step", &S::rprop_step, "rprop: initial step, a fraction of each value", above(0)));
    add(field_option("rprop_growth", &S::rprop_growth, "rprop: step multiplier while a bucket's sign holds",
                     at_least(1)));
    add(field_option("rprop_max_step", &S::rprop_max_step, "rprop: largest step (log scale)", above(0)));
    add(field_option("adam_lr", &S::adam_lr, "Adam step, in units of each hyperparameter type", above(0)));
    add(field_option("hyper_ranges", &S::hyper_ranges,
                     "keep lr >= 0, wd >= 0, 0 <= mom < 1 (false: the reference's unbounded sign rule)"));
    add(field_option("revert_below", &S::revert_below,
                     "a diverged outer step, or one below this fraction of the best validation accuracy, goes back "
                     "to the best values with smaller steps (0: never)",
                     {0.0, 1.0, true, false}));
    // greedy alternatives
    add(choice_option(
        "method", &S::method,
        "fds hypertrain: fds, hd (hypergradient descent, one step) or greedy (FDS over greedy_horizon steps)",
        {"fds", "hd", "greedy"}));
    add(field_option("greedy_horizon", &S::greedy_horizon, "greedy: inner steps per hypergradient and update",
                     at_least(1)));
    add(field_option(
        "hd_lr_beta", &S::hd_lr_beta,
        "hd: step of the multiplicative rule on the learning rate (per step, times the hypergradient's cosine)",
        closed_unit()));
    add(field_option(
        "hd_mom_beta", &S::hd_mom_beta,
        "hd: step of the multiplicative rule on the 1 - momentum (per step, times the hypergradient's cosine)",
        closed_unit()));
    add(field_option(
        "hd_wd_beta", &S::hd_wd_beta,
        "hd: step of the multiplicative rule on the weight decay (per step, times the hypergradient's cosine)",
        closed_unit()));
    // other
    add(field_option("retrain_from_scratch", &S::retrain_from_scratch,
                     "retrain from scratch with the learned schedule on the whole training set"));
    add(choice_option("retrain_schedule", &S::retrain_schedule,
                      "schedule to retrain with: best (highest validation accuracy) or final (the reference's)",
                      {"best", "final"}));
    add(field_option("retrain_n_epochs", &S::retrain_n_epochs,
                     "retraining epochs (-1: the last entry of n_inner_epochs_per_outer_steps)", at_least(-1)));
    add(field_option("retrain_attempts", &S::retrain_attempts,
                     "trainings allowed when a retraining diverges (each next one with the next best schedule)",
                     at_least(1)));
    // black-box search (fds search)
    add(choice_option("search_method", &S::search_method,
                      "fds search: random, hyperband or hand (cosine, lr0 in {0.01, 0.03, 0.1})",
                      {"random", "hyperband", "hand"}));
    add(field_option("search_trials", &S::search_trials, "fds search: random search's configurations", at_least(1)));
    add(field_option("search_seconds_budget", &S::search_seconds_budget,
                     "fds search: random search starts no trial after this many seconds of trials (0: no limit)",
                     at_least(0)));
    add(field_option("search_max_epochs", &S::search_max_epochs,
                     "fds search: epochs of a full-length trial, Hyperband's R (0: retrain_n_epochs)", at_least(0)));
    add(field_option("search_eta", &S::search_eta, "fds search: Hyperband keeps 1/eta per rung", above(1)));
    add(field_option("search_lr_min", &S::search_lr_min, "fds search: lower end of lr (log-uniform)", above(0)));
    add(field_option("search_lr_max", &S::search_lr_max, "fds search: upper end of lr", above(0)));
    add(field_option("search_mom_min", &S::search_mom_min, "fds search: lower end of momentum (uniform)",
                     {0.0, 1.0, true, false}));
    add(field_option("search_mom_max", &S::search_mom_max, "fds search: upper end of momentum",
                     {0.0, 1.0, true, false}));
    add(field_option("search_wd_min", &S::search_wd_min, "fds search: lower end of wd (log-uniform)", above(0)));
    add(field_option("search_wd_max", &S::search_wd_max, "fds search: upper end of wd", above(0)));
    // hypergradient noise (fds noise)
    add(field_option("noise_runs", &S::noise_runs, "fds noise: runs (data order and initialization drawn for each)",
                     at_least(2)));
    add(field_option("noise_steps", &S::noise_steps, "fds noise: inner steps of a run, each its own lr bucket",
                     at_least(1)));
    option_spec windows = field_option("noise_windows", &S::noise_windows,
                                       "fds noise: sharing windows in steps, each at most noise_steps", at_least(1));
    // no window given: the default windows 1 2 5 10 25 50 ... noise_steps
    windows.valid_values = "a list of integers >= 1 (empty: 1 2 5 10 25 50 ... noise_steps)";
    windows.is_valid = [](const json& value) {
        for (const json& entry : value)
            if (entry.get<double>() < 1) return false;
        return true;
    };
    add(windows);
    add(field_option("datasets_path", &S::datasets_path, "dataset directory (empty: the dataset's default place)"));
    add(field_option("seed", &S::seed, "seed of every random choice", at_least(0)));
    add(field_option("threads", &S::threads, "worker threads (0: all cores)", at_least(0)));
    return options;
}

// Strict text -> number conversions: the whole word must be the number.
std::optional<long long> parse_integer(const std::string& word) {
    if (word.empty()) return std::nullopt;
    errno = 0;
    char* end = nullptr;
    long long value = std::strtoll(word.c_str(), &end, 10);
    if (errno != 0 || end != word.c_str() + word.size()) return std::nullopt;
    return value;
}

std::optional<double> parse_real(const std::string& word) {
    if (word.empty() || std::isspace(static_cast<unsigned char>(word[0]))) return std::nullopt;
    errno = 0;
    char* end = nullptr;
    double value = std::strtod(word.c_str(), &end);
    if (errno != 0 || end != word.c_str() + word.size() || !std::isfinite(value)) return std::nullopt;
    return value;
}

std::string kind_wording(value_kind kind) {
    switch (kind) {
        case value_kind::boolean:
            return "a boolean (true/false, yes/no, 1/0)";
        case value_kind::integer:
            return "an integer";
        case value_kind::real:
            return "a number";
        case value_kind::text:
            return "a string";
        case value_kind::integer_list:
            return "a list of integers";
    }
    return "";
}

json checked(const option_spec& option, json value, const std::string& source) {
    if (!option.is_valid(value)) {
        std::string expected = option.valid_values.empty() ? kind_wording(option.kind) : option.valid_values;
        std::string found = describe(value);
        std::string hint;
        // a misspelt choice ("lenet") gets the nearest valid one
        if (value.is_string() && !option.choices.empty()) hint = did_you_mean(value.get<std::string>(), option.choices);
        throw usage_error(source + " must be " + expected + ", found " + found + hint);
    }
    return value;
}

}  // namespace detail

const std::vector<std::string>& dataset_names() {
    static const std::vector<std::string> names = {"CIFAR10", "CIFAR100", "MNIST", "FashionMNIST"};
    return names;
}

const std::vector<std::string>& architecture_names() { return nn::model_names(); }

const std::vector<option_spec>& setting_options() {
    static const std::vector<option_spec> options = detail::make_setting_options();
    return options;
}

const option_spec* find_setting_option(const std::string& name) {
    for (const option_spec& option : setting_options())
        if (option.name == name) return &option;
    return nullptr;
}

std::vector<std::string> setting_names() {
    std::vector<std::string> names;
    for (const option_spec& option : setting_options()) names.push_back(option.name);
    return names;
}

std::optional<bool> parse_boolean(const std::string& text) {
    std::string word = text;
    for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (word == "yes" || word == "true" || word == "t" || word == "y" || word == "1") return true;
    if (word == "no" || word == "false" || word == "f" || word == "n" || word == "0") return false;
    return std::nullopt;
}

nlohmann::json parse_option_value(const option_spec& option, const std::vector<std::string>& words,
                                  const std::string& source) {
    using nlohmann::json;
    auto wrong_kind = [&](const std::string& found) {
        return usage_error(source + " expects " + detail::kind_wording(option.kind) + ", found '" + found + "'");
    };
    if (option.kind != value_kind::integer_list && words.size() != 1) {
        if (words.empty())
            throw usage_error(source + " expects " + detail::kind_wording(option.kind) + ", found nothing");
        throw usage_error(source + " takes one value, found " + std::to_string(words.size()) + ": '" +
                          detail::join(words, " ") + "'");
    }
    json value;
    switch (option.kind) {
        case value_kind::boolean: {
            auto parsed = parse_boolean(words[0]);
            if (!parsed) throw wrong_kind(words[0]);
            value = *parsed;
            break;
        }
        case value_kind::integer: {
            auto parsed = detail::parse_integer(words[0]);
            if (!parsed) throw wrong_kind(words[0]);
            value = *parsed;
            break;
        }
        case value_kind::real: {
            auto parsed = detail::parse_real(words[0]);
            if (!parsed) throw wrong_kind(words[0]);
            value = *parsed;
            break;
        }
        case value_kind::text:
            value = words[0];
            break;
        case value_kind::integer_list: {
            value = json::array();
            for (const std::string& word : words) {
                // "1,10,10" is accepted as well as "1 10 10"
                std::stringstream parts(word);
                for (std::string part; std::getline(parts, part, ',');) {
                    if (part.empty()) continue;
                    auto parsed = detail::parse_integer(part);
                    if (!parsed) throw wrong_kind(part);
                    value.push_back(*parsed);
                }
            }
            break;
        }
    }
    return detail::checked(option, value, source);
}

nlohmann::json convert_option_value(const option_spec& option, const nlohmann::json& value, const std::string& source) {
    using nlohmann::json;
    auto wrong_kind = [&] {
        return usage_error(source + " expects " + detail::kind_wording(option.kind) + ", found " +
                           detail::describe(value));
    };
    auto integral = [](const json& number) {
        return number.is_number_integer() ||
               (number.is_number_float() && std::isfinite(number.get<double>()) &&
                number.get<double>() == std::floor(number.get<double>()) && std::abs(number.get<double>()) < 9e15);
    };
    json converted;
    switch (option.kind) {
        case value_kind::boolean:
            if (value.is_boolean())
                converted = value;
            else if (value.is_string() && parse_boolean(value.get<std::string>()))
                converted = *parse_boolean(value.get<std::string>());
            else if (value.is_number_integer() && (value.get<long long>() == 0 || value.get<long long>() == 1))
                converted = value.get<long long>() == 1;
            else
                throw wrong_kind();
            break;
        case value_kind::integer:
            if (!value.is_number() || !integral(value)) throw wrong_kind();
            converted =
                value.is_number_integer() ? value.get<long long>() : static_cast<long long>(value.get<double>());
            break;
        case value_kind::real:
            if (!value.is_number()) throw wrong_kind();
            converted = value.get<double>();
            break;
        case value_kind::text:
            if (!value.is_string()) throw wrong_kind();
            converted = value;
            break;
        case value_kind::integer_list:
            converted = json::array();
            if (value.is_number() && integral(value))
                converted.push_back(static_cast<long long>(value.get<double>()));
            else if (value.is_array()) {
                for (const json& entry : value) {
                    if (!entry.is_number() || !integral(entry)) throw wrong_kind();
                    converted.push_back(entry.is_number_integer() ? entry.get<long long>()
                                                                  : static_cast<long long>(entry.get<double>()));
                }
            } else
                throw wrong_kind();
            break;
    }
    return detail::checked(option, converted, source);
}

nlohmann::json settings_to_json(const hypertrain_settings& settings) {
    nlohmann::json object = nlohmann::json::object();
    for (const option_spec& option : setting_options()) object[option.name] = option.read(settings);
    return object;
}

void apply_settings_json(hypertrain_settings& settings, const nlohmann::json& object, const std::string& source_file,
                         const std::set<std::string>& ignored_keys) {
    if (!object.is_object())
        throw usage_error("config file " + source_file + " must hold a JSON object, found " +
                          std::string(object.type_name()));
    for (const auto& [key, value] : object.items()) {
        if (ignored_keys.count(key)) continue;
        const option_spec* option = find_setting_option(key);
        if (!option)
            throw usage_error("config file " + source_file + ": unknown key '" + key + "'" +
                              did_you_mean(key, setting_names()));
        option->assign(settings, convert_option_value(*option, value, "key '" + key + "' in " + source_file));
    }
}

nlohmann::json read_config_file(const std::string& path) {
    std::error_code ignored;
    if (std::filesystem::is_directory(path, ignored))
        throw usage_error("config file " + path + " is a directory; expected a JSON file (a run's config.json)");
    std::ifstream file(path);
    if (!file) throw usage_error("config file " + path + " cannot be opened");
    // no option nests deeper than a list; a deeper document is refused while it is read, before
    // anything recursive (its destruction, an error message) meets it
    constexpr int deepest = 32;
    const nlohmann::json::parser_callback_t depth_limit = [&](int depth, nlohmann::json::parse_event_t,
                                                              nlohmann::json&) {
        if (depth > deepest)
            throw usage_error("config file " + path + " nests deeper than " + std::to_string(deepest) +
                              " levels; expected an object of option keys");
        return true;
    };
    nlohmann::json object;
    try {
        object = nlohmann::json::parse(file, depth_limit);
    } catch (const nlohmann::json::parse_error& error) {
        throw usage_error("config file " + path + " is not valid JSON: " + error.what());
    } catch (const nlohmann::json::out_of_range& error) {
        throw usage_error("config file " + path + " holds a number out of range: " + error.what());
    }
    if (object.is_object() && object.contains("settings") && object["settings"].is_object()) return object["settings"];
    return object;
}

hypertrain_settings resolve_settings(hypertrain_settings settings) {
    // "dir/" and "dir" name one directory, so one experiment
    while (settings.datasets_path.size() > 1 && settings.datasets_path.back() == '/') settings.datasets_path.pop_back();
    if (settings.n_inner_epochs_per_outer_steps.empty())
        throw usage_error("--n_inner_epochs_per_outer_steps must be a non-empty list of integers >= 1, found []");
    if (settings.retrain_n_epochs < 0)
        settings.retrain_n_epochs = static_cast<int>(settings.n_inner_epochs_per_outer_steps.back());
    if (settings.rprop_max_step < settings.rprop_step)
        throw usage_error("--rprop_max_step must be >= --rprop_step, found " +
                          detail::format_number(settings.rprop_max_step) + " < " +
                          detail::format_number(settings.rprop_step));
    if (settings.outer_optimizer == "rprop") {
        const std::pair<const char*, double> starts[] = {{"lr", settings.inner_lr_init},
                                                         {"wd", settings.inner_wd_init}};
        for (const auto& [name, start] : starts) {
            const bool learned = std::string(name) == "lr" ? settings.learn_lr : settings.learn_wd;
            if (learned && !(start > 0))
                throw usage_error(std::string("--inner_") + name + "_init " + detail::format_number(start) +
                                  ": the rprop outer optimizer moves " + name +
                                  " on a log scale and needs a start > 0 (or --outer_optimizer sign, "
                                  "which learns from 0 as the reference)");
        }
    }
    if (!settings.learn_lr && !settings.learn_mom && !settings.learn_wd)
        throw usage_error(
            "--learn_lr, --learn_mom and --learn_wd are all false: nothing to learn (set at least one to true)");
    return settings;
}

std::vector<std::string> differing_settings(const nlohmann::json& recorded, const nlohmann::json& requested,
                                            const std::set<std::string>& ignored_keys) {
    std::vector<std::string> differences;
    std::set<std::string> keys;
    for (const auto& item : recorded.items()) keys.insert(item.key());
    for (const auto& item : requested.items()) keys.insert(item.key());
    // an option added after the run was recorded, at its default, leaves the experiment as it was
    static const nlohmann::json defaults = settings_to_json(hypertrain_settings{});
    for (const std::string& key : keys) {
        if (ignored_keys.count(key)) continue;
        if (!recorded.contains(key) && requested.contains(key) && defaults.contains(key) &&
            requested[key] == defaults[key])
            continue;
        nlohmann::json old_value = recorded.contains(key) ? recorded[key] : nlohmann::json("(absent)");
        nlohmann::json new_value = requested.contains(key) ? requested[key] : nlohmann::json("(absent)");
        bool same = old_value == new_value;
        // 0.1 written and read back may differ in the last bit on other libraries: compare numbers by value
        if (!same && old_value.is_number() && new_value.is_number())
            same = std::abs(old_value.get<double>() - new_value.get<double>()) <=
                   1e-15 * std::max(std::abs(old_value.get<double>()), std::abs(new_value.get<double>()));
        if (!same) differences.push_back(key + ": " + old_value.dump() + " -> " + new_value.dump());
    }
    return differences;
}

parsed_arguments parse_arguments(const argument_grammar& grammar, const std::vector<std::string>& arguments) {
    parsed_arguments parsed;
    std::vector<std::string> accepted_settings = grammar.settings.empty() ? setting_names() : grammar.settings;
    std::vector<std::string> all_names = accepted_settings;
    all_names.insert(all_names.end(), grammar.extra_options.begin(), grammar.extra_options.end());
    all_names.push_back("help");
    auto is_accepted_setting = [&](const std::string& name) {
        return std::find(accepted_settings.begin(), accepted_settings.end(), name) != accepted_settings.end();
    };
    auto is_extra = [&](const std::string& name) {
        return std::find(grammar.extra_options.begin(), grammar.extra_options.end(), name) !=
               grammar.extra_options.end();
    };

    // Split into (name, values): a flag takes the words up to the next "--flag".
    struct flag_words {
        std::string name;
        std::vector<std::string> values;
        bool inline_value;
    };
    std::vector<flag_words> flags;
    for (std::size_t i = 0; i < arguments.size(); ++i) {
        const std::string& word = arguments[i];
        if (word == "-h") {
            flags.push_back({"help", {}, false});
            continue;
        }
        if (word.rfind("--", 0) != 0 || word.size() == 2)
            throw usage_error("fds " + grammar.command + ": unexpected argument '" + word +
                              "' (options look like --name value)");
        std::string name = word.substr(2);
        flag_words flag{name, {}, false};
        auto equals = name.find('=');
        if (equals != std::string::npos) {
            flag.name = name.substr(0, equals);
            flag.values.push_back(name.substr(equals + 1));
            flag.inline_value = true;
        } else {
            while (i + 1 < arguments.size() && arguments[i + 1].rfind("--", 0) != 0 && arguments[i + 1] != "-h")
                flag.values.push_back(arguments[++i]);
        }
        flags.push_back(flag);
    }

    // Names first, so that a typo is reported before any value is interpreted.
    for (const flag_words& flag : flags) {
        if (flag.name == "help" || flag.name == "print_config" || flag.name == "json" || is_extra(flag.name) ||
            is_accepted_setting(flag.name))
            continue;
        std::string message = "fds " + grammar.command + ": unknown option '--" + flag.name + "'";
        throw usage_error(message + did_you_mean(flag.name, all_names, "--"));
    }

    // The config file comes first whatever its position: flags override it.
    for (const flag_words& flag : flags) {
        if (flag.name != "config" || !is_extra("config")) continue;
        if (flag.values.size() != 1) throw usage_error("--config takes one file name");
        nlohmann::json object = read_config_file(flag.values[0]);
        if (!object.is_object())
            throw usage_error("config file " + flag.values[0] + " must hold a JSON object of options");
        for (const auto& item : object.items()) {
            if (!is_accepted_setting(item.key()) && find_setting_option(item.key()))
                continue;  // a setting this command does not use (e.g. `fds info` reading a run's config)
            parsed.given.insert(item.key());
        }
        hypertrain_settings from_file = parsed.settings;
        apply_settings_json(from_file, object, flag.values[0]);
        parsed.settings = from_file;
        parsed.extra["config"] = flag.values[0];
    }

    for (const flag_words& flag : flags) {
        if (flag.name == "help") {
            parsed.help = true;
        } else if (flag.name == "print_config") {
            parsed.print_config = true;
        } else if (flag.name == "json") {
            parsed.json_output = true;
        } else if (flag.name == "config") {
            continue;
        } else if (is_extra(flag.name)) {
            if (flag.values.size() != 1)
                throw usage_error("--" + flag.name + " takes one value, found " + std::to_string(flag.values.size()));
            parsed.extra[flag.name] = flag.values[0];
        } else {
            const option_spec& option = *find_setting_option(flag.name);
            std::vector<std::string> values = flag.values;
            // a bare boolean flag ("--cutout") means true
            if (option.kind == value_kind::boolean && values.empty() && !flag.inline_value) values = {"true"};
            option.assign(parsed.settings, parse_option_value(option, values, "--" + flag.name));
            parsed.given.insert(flag.name);
        }
    }
    return parsed;
}

std::string options_help(const argument_grammar& grammar) {
    std::ostringstream text;
    hypertrain_settings defaults;
    std::vector<std::string> accepted = grammar.settings.empty() ? setting_names() : grammar.settings;
    for (const std::string& name : accepted) {
        const option_spec& option = *find_setting_option(name);
        std::string value_name;
        switch (option.kind) {
            case value_kind::boolean:
                value_name = " BOOL";
                break;
            case value_kind::integer:
                value_name = " N";
                break;
            case value_kind::real:
                value_name = " X";
                break;
            case value_kind::text:
                value_name = " NAME";
                break;
            case value_kind::integer_list:
                value_name = " N...";
                break;
        }
        nlohmann::json default_value = option.read(defaults);
        std::string shown =
            default_value.is_string() ? "'" + default_value.get<std::string>() + "'" : default_value.dump();
        if (option.kind == value_kind::integer_list) {
            shown.clear();
            for (const auto& entry : default_value) shown += (shown.empty() ? "" : " ") + entry.dump();
        }
        std::string flag = "  --" + option.name + value_name;
        text << flag << std::string(flag.size() < 40 ? 40 - flag.size() : 1, ' ') << option.help << " [default "
             << shown << (option.valid_values.empty() ? "" : "; " + option.valid_values) << "]\n";
    }
    return text.str();
}

}  // namespace fds::cli
