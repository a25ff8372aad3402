#pragma once
// The machine a figure was measured on, for the files that record figures.

#include <string>

namespace fds::cli {

// "<model name of /proc/cpuinfo> (<N> threads)", or "unknown CPU".
std::string cpu_name();

}  // namespace fds::cli
