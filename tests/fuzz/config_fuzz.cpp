// libFuzzer target: a --config file and a --schedule file through the fds program's own
// command-line path (`--print_config`, which reads and checks everything and trains nothing). Any
// input must end in an exit code with a message, never in an uncaught exception or a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>

#include <fds/cli/commands.hpp>

#include "fuzz_input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::string path = fds::fuzz::write_input(data + 1, size - 1, "input.json");
    std::ostringstream output, errors;
    int code = 0;
    switch (data[0] % 3) {
        case 0:
            code = fds::cli::run_command_line({"hypertrain", "--config", path, "--print_config"}, output, errors);
            break;
        case 1:
            code = fds::cli::run_command_line({"train", "--config", path, "--lr", "0.1", "--print_config"}, output,
                                              errors);
            break;
        default:
            code = fds::cli::run_command_line({"train", "--schedule", path, "--print_config"}, output, errors);
            break;
    }
    // 0: accepted; 2: refused as a usage error naming the file or key. Anything else is a finding.
    if (code != 0 && code != 2) std::abort();
    if (code == 2 && errors.str().find("error") == std::string::npos) std::abort();
    return 0;
}
