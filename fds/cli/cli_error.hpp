#pragma once
// The errors the command-line tool reports, each with the process exit code it maps to.
// The codes are part of the interface (documented in `fds --help`), so scripts can tell a typo
// in a flag from a missing dataset from a run directory that belongs to another experiment.

#include <stdexcept>
#include <string>

namespace fds::cli {

enum class exit_code : int {
    success = 0,
    failure = 1,  // anything else: an I/O error, a diverged computation, a bug
    usage = 2,  // unknown command, flag or key; invalid value
    data = 3,  // dataset missing or unreadable
    run_directory_conflict = 4,  // --out holds a different experiment (or is not a run directory)
};

class cli_error : public std::runtime_error {
 public:
    cli_error(exit_code code, const std::string& message);
    exit_code code() const;

 private:
    exit_code code_;
};

// A usage error: an unknown name or an invalid value on the command line or in a config file.
cli_error usage_error(const std::string& message);

// ---------------------------------------------------------------------------------------------
// implementation

inline cli_error::cli_error(exit_code code, const std::string& message) : std::runtime_error(message), code_(code) {}

inline exit_code cli_error::code() const { return code_; }

inline cli_error usage_error(const std::string& message) { return cli_error(exit_code::usage, message); }

}  // namespace fds::cli
