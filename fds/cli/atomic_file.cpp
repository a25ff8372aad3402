#include "atomic_file.hpp"

#include "fault_injection.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

namespace fds::cli {

namespace detail {

const std::string temporary_prefix = ".fds-tmp.";

std::runtime_error system_error(const std::string& what, const std::filesystem::path& path) {
    return std::runtime_error(what + " " + path.string() + ": " + std::strerror(errno));
}

void fsync_directory(const std::filesystem::path& directory) {
    int descriptor = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY);
    if (descriptor < 0) return;  // some file systems refuse to open directories; the rename still happened
    ::fsync(descriptor);
    ::close(descriptor);
}

// Writes all of `content` (write may take less than asked, or be interrupted); on failure closes
// the descriptor and throws naming `path`.
void write_all(int descriptor, const std::string& content, const std::filesystem::path& path) {
    const char* data = content.data();
    std::size_t remaining = content.size();
    while (remaining > 0) {
        ssize_t written = ::write(descriptor, data, remaining);
        if (written < 0) {
            if (errno == EINTR) continue;
            auto error = system_error("cannot write", path);
            ::close(descriptor);
            throw error;
        }
        data += written;
        remaining -= static_cast<std::size_t>(written);
    }
}

}  // namespace detail

void check_file_writable(const std::filesystem::path& path) {
    std::error_code error;
    if (path.empty()) throw std::runtime_error("cannot write to an empty file name");
    if (std::filesystem::is_directory(path, error))
        throw std::runtime_error("cannot write " + path.string() + ": it is a directory");
    const std::filesystem::path directory = path.parent_path().empty() ? "." : path.parent_path();
    if (!std::filesystem::is_directory(directory, error))
        throw std::runtime_error("cannot write " + path.string() + ": its directory " + directory.string() +
                                 " does not exist");
    if (::access(directory.c_str(), W_OK) != 0)
        throw detail::system_error("cannot write into the directory", directory);
}

bool is_temporary_file_name(const std::string& file_name) { return file_name.rfind(detail::temporary_prefix, 0) == 0; }

void write_file_atomically(const std::filesystem::path& path, const std::string& content) {
    std::filesystem::path directory = path.parent_path();
    std::filesystem::path temporary =
        directory / (detail::temporary_prefix + path.filename().string() + "." + std::to_string(::getpid()));
    int descriptor = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (descriptor < 0) throw detail::system_error("cannot create", temporary);
    try {
        detail::write_all(descriptor, content, temporary);
    } catch (const std::runtime_error&) {
        ::unlink(temporary.c_str());
        throw;
    }
    if (::fsync(descriptor) != 0 || ::close(descriptor) != 0) {
        auto error = detail::system_error("cannot flush", temporary);
        ::unlink(temporary.c_str());
        throw error;
    }
    fault_point("atomic_write");
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
        auto error = detail::system_error("cannot rename " + temporary.string() + " to", path);
        ::unlink(temporary.c_str());
        throw error;
    }
    detail::fsync_directory(directory);
}

void append_line_durably(const std::filesystem::path& path, const std::string& line) {
    int descriptor = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (descriptor < 0) throw detail::system_error("cannot open", path);
    const std::string whole = line + "\n";
    const std::size_t half = whole.size() / 2;
    detail::write_all(descriptor, whole.substr(0, half), path);
    fault_point("append_line");  // a torn line, as a kill during the write leaves
    detail::write_all(descriptor, whole.substr(half), path);
    if (::fsync(descriptor) != 0 || ::close(descriptor) != 0) throw detail::system_error("cannot flush", path);
}

std::vector<std::string> read_whole_lines(const std::filesystem::path& path) {
    std::vector<std::string> lines;
    std::optional<std::string> content = read_whole_file(path);
    if (!content) return lines;
    std::size_t begin = 0;
    for (std::size_t end; (end = content->find('\n', begin)) != std::string::npos; begin = end + 1)
        lines.push_back(content->substr(begin, end - begin));
    if (begin < content->size()) write_file_atomically(path, content->substr(0, begin));  // a torn last line
    return lines;
}

std::optional<std::string> read_whole_file(const std::filesystem::path& path) {
    std::error_code error;
    if (!std::filesystem::exists(path, error)) return std::nullopt;
    std::ifstream file(path, std::ios::binary);
    if (!file) throw std::runtime_error("cannot read " + path.string());
    std::ostringstream content;
    content << file.rdbuf();
    return content.str();
}

}  // namespace fds::cli
