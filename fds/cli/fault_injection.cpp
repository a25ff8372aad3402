#include "fault_injection.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>

namespace fds::cli {

namespace {

struct fault_request {
    std::string name;
    long count = 0;  // 0: no fault requested
};

fault_request requested_fault() {
    fault_request request;
    const char* text = std::getenv("FDS_FAULT_POINT");
    if (text == nullptr) return request;
    const std::string value = text;
    const std::size_t colon = value.rfind(':');
    if (colon == std::string::npos) return request;
    request.name = value.substr(0, colon);
    request.count = std::strtol(value.c_str() + colon + 1, nullptr, 10);
    return request;
}

}  // namespace

void fault_point(const char* name) {
    static const fault_request request = requested_fault();
    static long reached = 0;
    if (request.count <= 0 || request.name != name) return;
    if (++reached < request.count) return;
    std::fprintf(stderr, "fds: fault injection: SIGKILL at %s %ld\n", name, reached);
    std::fflush(stderr);
    ::kill(::getpid(), SIGKILL);
}

}  // namespace fds::cli
