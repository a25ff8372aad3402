#include "run_directory.hpp"

#include "atomic_file.hpp"
#include "cli_error.hpp"
#include "options.hpp"

#include <cerrno>
#include <cstring>
#include <map>
#include <sstream>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace fds::cli {

const std::set<std::string>& settings_ignored_on_resume() {
    static const std::set<std::string> keys = {"threads"};
    return keys;
}

namespace {
const char* const lock_file_name = ".fds-lock";
}

run_directory::run_directory(std::filesystem::path directory) : directory_(std::move(directory)) {}

run_directory::~run_directory() {
    if (lock_descriptor_ >= 0) ::close(lock_descriptor_);  // releases the lock
}

void run_directory::lock() {
    const std::string path = file(lock_file_name).string();
    lock_descriptor_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_descriptor_ < 0)
        throw std::runtime_error("cannot open the lock file " + path + ": " + std::strerror(errno));
    if (::flock(lock_descriptor_, LOCK_EX | LOCK_NB) != 0) {
        const int error = errno;
        ::close(lock_descriptor_);
        lock_descriptor_ = -1;
        if (error == EWOULDBLOCK)
            throw cli_error(exit_code::run_directory_conflict, "another fds process is working in " +
                                                                   directory_.string() + " (it holds " + path +
                                                                   "); wait for it to finish or use another --out");
        throw std::runtime_error("cannot lock " + path + ": " + std::strerror(error));
    }
    // no writer is left alive in the directory: what a killed one left half-written goes
    for (const auto& entry : std::filesystem::directory_iterator(directory_))
        if (is_temporary_file_name(entry.path().filename().string())) {
            std::error_code ignored;
            std::filesystem::remove(entry.path(), ignored);
        }
}

const std::filesystem::path& run_directory::path() const { return directory_; }

std::filesystem::path run_directory::file(const std::string& name) const { return directory_ / name; }

bool run_directory::open(const nlohmann::json& config) {
    if (directory_.empty()) throw usage_error("--out must name a directory, found \"\"");
    std::error_code error;
    if (std::filesystem::exists(directory_, error) && !std::filesystem::is_directory(directory_, error))
        throw cli_error(exit_code::run_directory_conflict,
                        "--out " + directory_.string() + " exists and is not a directory");
    if (std::filesystem::is_directory(directory_, error)) lock();
    std::optional<nlohmann::json> recorded = read_config();
    if (recorded) {
        if (!recorded->contains("settings") || !(*recorded)["settings"].is_object())
            throw cli_error(exit_code::run_directory_conflict,
                            file("config.json").string() + " has no \"settings\" object: not a run directory of fds");
        std::vector<std::string> differences =
            differing_settings((*recorded)["settings"], config.at("settings"), settings_ignored_on_resume());
        if (recorded->value("command", "") != config.value("command", ""))
            differences.insert(differences.begin(), "command: " + recorded->value("command", std::string("(absent)")) +
                                                        " -> " + config.value("command", std::string("(absent)")));
        if (!differences.empty()) {
            std::string message = "run directory " + directory_.string() +
                                  " holds a different experiment; differing options (recorded -> requested):";
            for (const std::string& difference : differences) message += "\n  " + difference;
            message += "\nuse another --out, or the recorded options to resume it";
            throw cli_error(exit_code::run_directory_conflict, message);
        }
        return true;
    }
    if (std::filesystem::exists(directory_, error)) {
        for (const auto& entry : std::filesystem::directory_iterator(directory_)) {
            if (entry.path().filename() == lock_file_name) continue;
            throw cli_error(exit_code::run_directory_conflict,
                            "--out " + directory_.string() + " is not empty and has no config.json (found " +
                                entry.path().filename().string() + "): not a run directory of fds");
        }
    }
    std::filesystem::create_directories(directory_, error);
    if (error) throw std::runtime_error("cannot create run directory " + directory_.string() + ": " + error.message());
    if (lock_descriptor_ < 0) lock();
    write_json("config.json", config);
    return false;
}

std::optional<nlohmann::json> run_directory::read_config() const { return read_json("config.json"); }

std::vector<nlohmann::json> run_directory::read_history() const {
    std::vector<nlohmann::json> records;
    std::size_t line_number = 0;
    for (const std::string& line : read_whole_lines(file("history.jsonl"))) {
        ++line_number;
        if (line.empty()) continue;
        try {
            records.push_back(nlohmann::json::parse(line));
        } catch (const nlohmann::json::parse_error& error) {
            throw std::runtime_error(file("history.jsonl").string() + " line " + std::to_string(line_number) +
                                     " is not valid JSON: " + error.what());
        }
    }
    return records;
}

void run_directory::append_history(const nlohmann::json& record) const {
    append_line_durably(file("history.jsonl"), record.dump());
}

void run_directory::write_history(const std::vector<nlohmann::json>& records) const {
    std::string content;
    for (const nlohmann::json& record : records) content += record.dump() + "\n";
    write_file_atomically(file("history.jsonl"), content);
}

std::optional<nlohmann::json> run_directory::read_checkpoint() const { return read_json("checkpoint.json"); }

void run_directory::write_checkpoint(const nlohmann::json& checkpoint) const {
    write_json("checkpoint.json", checkpoint);
}

std::optional<nlohmann::json> run_directory::read_summary() const { return read_json("summary.json"); }

void run_directory::write_summary(const nlohmann::json& summary) const { write_json("summary.json", summary); }

std::optional<nlohmann::json> run_directory::read_json(const std::string& name) const {
    std::optional<std::string> content = read_whole_file(file(name));
    if (!content) return std::nullopt;
    try {
        return nlohmann::json::parse(*content);
    } catch (const nlohmann::json::parse_error& error) {
        throw std::runtime_error(file(name).string() + " is not valid JSON: " + error.what());
    }
}

void run_directory::write_json(const std::string& name, const nlohmann::json& value) const {
    write_file_atomically(file(name), value.dump(2) + "\n");
}

std::vector<nlohmann::json> reconcile_history(const std::vector<nlohmann::json>& records, std::size_t next_outer_step) {
    std::map<std::size_t, nlohmann::json> by_step;
    for (const nlohmann::json& record : records) {
        if (!record.is_object() || !record.contains("outer_step") || !record["outer_step"].is_number_unsigned())
            throw std::runtime_error("history.jsonl holds a line without a non-negative \"outer_step\": " +
                                     record.dump());
        std::size_t step = record["outer_step"].get<std::size_t>();
        if (step < next_outer_step) by_step[step] = record;
    }
    std::vector<nlohmann::json> kept;
    for (std::size_t step = 0; step < next_outer_step; ++step) {
        auto found = by_step.find(step);
        if (found == by_step.end())
            throw std::runtime_error("history.jsonl has no line for outer step " + std::to_string(step) +
                                     " although checkpoint.json says " + std::to_string(next_outer_step) +
                                     " outer steps are finished");
        kept.push_back(found->second);
    }
    return kept;
}

std::string default_run_directory(const std::string& dataset, const std::string& architecture, std::uint64_t seed) {
    return "runs/" + dataset + "_" + architecture + "_S" + std::to_string(seed);
}

}  // namespace fds::cli
