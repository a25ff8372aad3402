#include "cpu_name.hpp"

#include <algorithm>
#include <fstream>
#include <thread>

namespace fds::cli {

std::string cpu_name() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);)
        if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
            std::string name = line.substr(line.find(':') + 1);
            name.erase(0, name.find_first_not_of(' '));
            return name + " (" + std::to_string(std::max(1u, std::thread::hardware_concurrency())) + " threads)";
        }
    return "unknown CPU";
}

}  // namespace fds::cli
