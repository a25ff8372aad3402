#pragma once
// Fuzz-target helper: the readers under test take file names, so each input is written to a file
// of the process's own in /dev/shm (memory, when present) or the temporary directory.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace fds::fuzz {

inline std::filesystem::path input_directory() {
    static const std::filesystem::path directory = [] {
        const std::filesystem::path base = std::filesystem::is_directory("/dev/shm")
                                               ? std::filesystem::path("/dev/shm")
                                               : std::filesystem::temp_directory_path();
        std::filesystem::path own = base / ("fds-fuzz-" + std::to_string(::getpid()));
        std::filesystem::create_directories(own);
        return own;
    }();
    return directory;
}

// Writes the input as `name` in the directory above and returns its path.
inline std::string write_input(const std::uint8_t* data, std::size_t size, const std::string& name) {
    const std::filesystem::path path = input_directory() / name;
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    return path.string();
}

}  // namespace fds::fuzz
