#include "history_record.hpp"

#include "json_number.hpp"

#include <cmath>

namespace fds::cli {

namespace detail {

nlohmann::json list_or_null(const std::vector<double>& values) {
    nlohmann::json list = nlohmann::json::array();
    for (double value : values) list.push_back(finite_or_null(value));
    return list;
}

}  // namespace detail

nlohmann::json history_record(const outer_step_record& record, const hyper_values& next) {
    using nlohmann::json;
    json line = {{"outer_step", record.outer_step},
                 {"epochs", record.epochs},
                 {"inner_steps", record.inner_steps},
                 {"seconds", record.seconds},
                 {"lr", detail::list_or_null(record.schedules_used.lr)},
                 {"mom", detail::list_or_null(record.schedules_used.mom)},
                 {"wd", detail::list_or_null(record.schedules_used.wd)}};
    json hypergrad = json::object(), delta = json::object(), step_size = json::object();
    auto add = [&](const char* name, const std::optional<std::vector<double>>& gradient,
                   const std::optional<std::vector<double>>& step, const std::vector<double>& used,
                   const std::vector<double>& after) {
        if (gradient) hypergrad[name] = detail::list_or_null(*gradient);
        if (step) step_size[name] = detail::list_or_null(*step);
        if (gradient || step) {
            std::vector<double> change(used.size());
            for (std::size_t j = 0; j < used.size() && j < after.size(); ++j) change[j] = after[j] - used[j];
            delta[name] = detail::list_or_null(change);
        }
    };
    add("lr", record.hypergrad_lr, record.step_size_lr, record.schedules_used.lr, next.lr);
    add("mom", record.hypergrad_mom, record.step_size_mom, record.schedules_used.mom, next.mom);
    add("wd", record.hypergrad_wd, record.step_size_wd, record.schedules_used.wd, next.wd);
    line["hypergrad"] = hypergrad;
    line["delta"] = delta;
    line["step_size"] = step_size;
    line["val_loss"] = finite_or_null(record.val_loss);
    line["val_acc"] = finite_or_null(record.val_acc);
    line["test_acc"] = finite_or_null(record.test_acc);
    line["train_loss"] = finite_or_null(record.train_loss);
    line["train_acc"] = finite_or_null(record.train_acc);
    line["diverged"] = record.diverged;
    line["reverted"] = record.reverted;
    if (record.reverted) line["revert_reason"] = record.revert_reason;
    return line;
}

std::string history_record_problems(const nlohmann::json& record) {
    if (!record.is_object()) return "not an object";
    for (const char* key : {"outer_step", "epochs", "inner_steps"})
        if (!record.contains(key) || !record[key].is_number_unsigned())
            return std::string("\"") + key + "\" is not a count";
    auto number_or_null = [&](const nlohmann::json& value) { return value.is_number() || value.is_null(); };
    for (const char* key : {"seconds", "val_loss", "val_acc", "test_acc"})
        if (!record.contains(key) || !number_or_null(record[key]))
            return std::string("\"") + key + "\" is not a number";
    for (const char* key : {"lr", "mom", "wd"}) {
        if (!record.contains(key) || !record[key].is_array() || record[key].empty())
            return std::string("\"") + key + "\" is not a non-empty list";
        for (const auto& value : record[key])
            if (!number_or_null(value)) return std::string("\"") + key + "\" holds a non-number";
    }
    for (const char* group : {"hypergrad", "step_size"}) {
        if (!record.contains(group) || !record[group].is_object())
            return std::string("\"") + group + "\" is not an object";
        for (const auto& [name, values] : record[group].items()) {
            if (name != "lr" && name != "mom" && name != "wd")
                return std::string("\"") + group + "\" has an unknown key \"" + name + "\"";
            if (!values.is_array() || values.size() != record[name].size())
                return std::string("\"") + group + "." + name + "\" does not have one entry per bucket";
        }
    }
    if (!record.contains("diverged") || !record["diverged"].is_boolean()) return "\"diverged\" is not a boolean";
    if (!record.contains("reverted") || !record["reverted"].is_boolean()) return "\"reverted\" is not a boolean";
    return "";
}

nlohmann::json schedules_of(const nlohmann::json& record) {
    return {{"lr", record.at("lr")}, {"mom", record.at("mom")}, {"wd", record.at("wd")}};
}

}  // namespace fds::cli
