// Re-executing the program once with environment variables that only take effect at start-up.
//
// Some settings are read once, before main runs: OpenBLAS reads OPENBLAS_CORETYPE when it loads
// (blas_kernel.hpp), glibc reads GLIBC_TUNABLES when the process starts (heap.hpp's huge pages).
// A program that wants them without asking its user sets them and replaces itself with a fresh
// copy (/proc/self/exe, same arguments), once: all settings in one re-execution, and a guard
// variable in the new environment so it never loops.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

namespace fds::autodiff {
struct environment_setting {
    std::string name;
    std::string value;
};

// Sets `settings` and re-executes the program; does not return unless exec fails, in which
// case the settings are undone and a warning naming `settings` goes to stderr (the program
// runs on without them). Does nothing when `settings` is empty, when argv is missing, or when
// this process is itself the re-executed one.
void reexecute_with(const std::vector<environment_setting>& settings, int argc, char** argv);

// Whether this process is the copy reexecute_with started.
bool was_reexecuted();

// ---------------------------------------------------------------- implementation

namespace detail {
inline constexpr const char* reexecution_guard_variable = "FDS_RUNTIME_REEXECUTED";

// Set and not empty.
inline bool environment_is_set(const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0';
}

inline bool environment_equals(const char* name, const char* expected) {
    const char* value = std::getenv(name);
    return value != nullptr && std::strcmp(value, expected) == 0;
}
}  // namespace detail

inline bool was_reexecuted() { return detail::environment_equals(detail::reexecution_guard_variable, "1"); }

inline void reexecute_with(const std::vector<environment_setting>& settings, int argc, char** argv) {
    if (settings.empty() || argc < 1 || argv == nullptr || argv[0] == nullptr || was_reexecuted()) {
        return;
    }
    std::vector<std::optional<std::string>> previous;  // to undo; nullopt: was unset
    std::string names;
    for (const auto& setting : settings) {
        const char* old = std::getenv(setting.name.c_str());
        previous.push_back(old != nullptr ? std::optional<std::string>(old) : std::nullopt);
        setenv(setting.name.c_str(), setting.value.c_str(), 1);
        names += (names.empty() ? "" : ", ") + setting.name + "=" + setting.value;
    }
    setenv(detail::reexecution_guard_variable, "1", 1);
    std::fflush(nullptr);
    execv("/proc/self/exe", argv);
    // Still here: exec failed. Run on without the settings rather than not at all.
    std::fprintf(stderr, "fds: could not re-execute with %s (%s); running on without\n", names.c_str(),
                 std::strerror(errno));
    for (std::size_t i = 0; i < settings.size(); ++i) {
        if (previous[i]) {
            setenv(settings[i].name.c_str(), previous[i]->c_str(), 1);
        } else {
            unsetenv(settings[i].name.c_str());
        }
    }
    unsetenv(detail::reexecution_guard_variable);
}
}  // namespace fds::autodiff
