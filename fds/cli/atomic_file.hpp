#pragma once
// Files that are either wholly old or wholly new, whenever the process is killed.
//
// The content goes to a temporary file in the same directory, which is flushed to disk (fsync)
// and then renamed over the target; rename within one file system is atomic, so a reader (or a
// resumed run after `kill -9`) sees the previous version or the new one, never a mix. The
// directory is fsynced too so that the rename itself survives a power cut.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace fds::cli {

// Replaces `path` by `content` atomically. Throws std::runtime_error naming the file and the
// system's reason on failure (the temporary file is removed).
void write_file_atomically(const std::filesystem::path& path, const std::string& content);

// The whole content of `path`, or nothing when it does not exist. Throws std::runtime_error
// naming the file when it exists but cannot be read.
std::optional<std::string> read_whole_file(const std::filesystem::path& path);

// Appends one line (a newline is added) and flushes it to disk (fsync) before returning, so a
// kill leaves every earlier line whole and at most the last one torn. Throws std::runtime_error
// naming the file on failure.
void append_line_durably(const std::filesystem::path& path, const std::string& line);

// The lines of a file written by append_line_durably; an unterminated last line (torn by a kill)
// is dropped, and removed from the file (atomically) so that the next append starts a line of
// its own. Empty when the file does not exist.
std::vector<std::string> read_whole_lines(const std::filesystem::path& path);

// Throws std::runtime_error naming the file and the reason when `path` could not be written later:
// its directory is missing or not writable, or the path is a directory. Writes nothing.
void check_file_writable(const std::filesystem::path& path);

// Temporary files left behind by a write that was killed start with this prefix (".fds-tmp.").
bool is_temporary_file_name(const std::string& file_name);

}  // namespace fds::cli
