#pragma once
// The options of `fds hypertrain` and `fds train`: one table, read by the command-line parser,
// the config-file reader, the config writer and the help text, so the four never disagree.
//
// Every hyper-training option has the name and default of the reference's flag (polo5/FDS
// main.py, mirrored by fds::hypertrain_settings). Values come from, in increasing priority:
// the defaults, the file given by --config (a JSON object with the same keys, or a run's
// config.json), and the flags. Boolean flags take true/false, yes/no, t/f, y/n or 1/0 as the
// reference's str2bool; --n_inner_epochs_per_outer_steps takes several integers.

#include <fds/hypertrain_settings.hpp>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fds::cli {

enum class value_kind { boolean, integer, real, text, integer_list };

// One settable option: how to parse it, what values are valid, how to read and write it.
struct option_spec {
    std::string name;  // the flag without "--", and the config-file key
    value_kind kind;
    std::string help;
    std::string valid_values;  // human wording of the valid range, "" when any value of the kind is valid
    std::vector<std::string> choices;  // the valid names of a text option with a fixed set of values
    // Whether `value` (already of the option's kind) lies in the valid range.
    std::function<bool(const nlohmann::json& value)> is_valid;
    std::function<void(hypertrain_settings&, const nlohmann::json& value)> assign;
    std::function<nlohmann::json(const hypertrain_settings&)> read;
};

// Every field of hypertrain_settings, in the order of the reference's argparse block.
const std::vector<option_spec>& setting_options();
const option_spec* find_setting_option(const std::string& name);
std::vector<std::string> setting_names();

// Valid names of the choice options (also used by `fds info`).
const std::vector<std::string>& dataset_names();
const std::vector<std::string>& architecture_names();

// The reference's str2bool: yes/true/t/y/1 and no/false/f/n/0, any case.
std::optional<bool> parse_boolean(const std::string& text);

// Parses the text of one flag value into JSON of the option's kind, then checks its range.
// `source` names where the value came from ("--n_lrs") for the error message.
// Throws cli_error(usage) naming the source, the expected kind or range, and the value found.
nlohmann::json parse_option_value(const option_spec& option, const std::vector<std::string>& words,
                                  const std::string& source);

// Converts a JSON value from a config file to the option's kind (accepting e.g. "yes" or 1 for
// a boolean, an integer or a list for a list) and checks its range; errors name the source.
nlohmann::json convert_option_value(const option_spec& option, const nlohmann::json& value, const std::string& source);

// Settings <-> JSON object with one key per option.
nlohmann::json settings_to_json(const hypertrain_settings& settings);
// Applies every key of `object` onto `settings`; unknown keys are errors naming the key, the file
// and the closest valid key. Keys named in `ignored_keys` are skipped silently.
void apply_settings_json(hypertrain_settings& settings, const nlohmann::json& object, const std::string& source_file,
                         const std::set<std::string>& ignored_keys = {});

// Reads a config file: either an object of option keys or a run's config.json (whose options
// sit under "settings"). Errors (missing file, bad JSON, unknown key, bad value) name the file.
nlohmann::json read_config_file(const std::string& path);

// Checks that hold between options, and resolves the reference's conventions
// (retrain_n_epochs = -1 means the last entry of the budget list).
hypertrain_settings resolve_settings(hypertrain_settings settings);

// Keys whose values differ between two settings objects, each as "key: old -> new". A key missing
// from `recorded` (an option newer than the recorded run) counts as the same when `requested`
// holds its default.
std::vector<std::string> differing_settings(const nlohmann::json& recorded, const nlohmann::json& requested,
                                            const std::set<std::string>& ignored_keys);

// A parsed command line of a subcommand.
struct parsed_arguments {
    hypertrain_settings settings;
    std::map<std::string, std::string> extra;  // values of the subcommand's own options (out, schedule, ...)
    std::set<std::string> given;  // option names set by the config file or a flag
    bool help = false;
    bool print_config = false;  // --print_config: print the resolved config and exit
    bool json_output = false;  // --json: the summary as the one JSON document on stdout, the rest on stderr
};

// What a subcommand accepts besides help: a subset of the settings (empty = all) and its own
// options, each taking one text value ("config" is always understood as the config file).
struct argument_grammar {
    std::string command;  // for messages: "hypertrain"
    std::vector<std::string> settings;  // accepted setting names; empty = every setting
    std::vector<std::string> extra_options;  // e.g. {"config", "out"}
};

parsed_arguments parse_arguments(const argument_grammar& grammar, const std::vector<std::string>& arguments);

// The option lines of the help text, one per accepted option with default and valid range.
std::string options_help(const argument_grammar& grammar);

}  // namespace fds::cli
