#include "gnuplot.hpp"

#include "atomic_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace fds::cli {

namespace detail {

std::string find_gnuplot() {
    if (const char* chosen = std::getenv("FDS_GNUPLOT")) return chosen;
    const char* path = std::getenv("PATH");
    std::stringstream directories(path ? path : "/usr/bin:/bin");
    for (std::string directory; std::getline(directories, directory, ':');) {
        std::filesystem::path candidate = std::filesystem::path(directory.empty() ? "." : directory) / "gnuplot";
        if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
    return "";
}

// Runs `program script`, its output to `log`; returns the exit status (-1: could not start).
int run_program(const std::string& program, const std::filesystem::path& script, const std::filesystem::path& log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::string script_text = script.string();
    char* arguments[] = {const_cast<char*>(program.c_str()), const_cast<char*>(script_text.c_str()), nullptr};
    pid_t child = 0;
    int started = posix_spawn(&child, program.c_str(), &actions, nullptr, arguments, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (started != 0) return -1;
    int status = 0;
    while (::waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Whether a file is a whole PNG: the signature first and the IEND chunk last, so that an image a
// full disk cut short is not taken for a picture.
bool is_complete_png(const std::filesystem::path& path) {
    static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const unsigned char end[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    std::ifstream file(path, std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    return content.size() >= 20 &&
           std::equal(signature, signature + 8, content.begin(),
                      [](unsigned char a, char b) { return a == static_cast<unsigned char>(b); }) &&
           std::equal(end, end + 12, content.end() - 12,
                      [](unsigned char a, char b) { return a == static_cast<unsigned char>(b); });
}

// The temporary script gnuplot reads: a plain write (it is removed after the run either way).
void write_script(const std::filesystem::path& path, const std::string& text) {
    std::ofstream file(path, std::ios::trunc);
    file << text;
    file.close();
    if (!file) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace detail

plot_outcome draw_with_gnuplot(const std::filesystem::path& directory, const std::string& name,
                               const gnuplot_script_maker& script_for) {
    plot_outcome outcome;
    const std::filesystem::path absolute = std::filesystem::absolute(directory);
    const std::filesystem::path image = absolute / (name + ".png");
    const std::filesystem::path partial_image = absolute / (".fds-tmp." + name + ".png");
    const std::filesystem::path log = absolute / ".fds-tmp.gnuplot.log";
    try {
        write_file_atomically(absolute / (name + ".gp"), script_for(image, "pngcairo"));
    } catch (const std::runtime_error& error) {  // a full disk, say: the run goes on without its picture
        outcome.warning = name + ".png not drawn: " + error.what();
        return outcome;
    }

    const std::string gnuplot = detail::find_gnuplot();
    if (gnuplot.empty()) {
        outcome.warning = "gnuplot not found (Debian: apt-get install gnuplot-nox); wrote " + name + ".gp in " +
                          absolute.string() + " but no " + name + ".png";
        return outcome;
    }
    // pngcairo draws smoother lines; the plain png terminal is the fallback of minimal builds
    std::string failure;
    for (const char* terminal : {"pngcairo", "png"}) {
        const std::filesystem::path script = absolute / (".fds-tmp." + name + ".gp");
        std::error_code ignored;
        try {
            detail::write_script(script, script_for(partial_image, terminal));
        } catch (const std::runtime_error& error) {
            std::filesystem::remove(script, ignored);
            outcome.warning = name + ".png not drawn: " + error.what();
            return outcome;
        }
        const int status = detail::run_program(gnuplot, script, log);
        std::filesystem::remove(script, ignored);
        const bool complete = status == 0 && detail::is_complete_png(partial_image);
        std::error_code renamed;
        if (complete) {
            std::filesystem::rename(partial_image, image, renamed);
            if (!renamed) {
                std::filesystem::remove(log, ignored);
                outcome.image_written = true;
                return outcome;
            }
        }
        std::ifstream messages(log);
        std::string text((std::istreambuf_iterator<char>(messages)), std::istreambuf_iterator<char>());
        while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
        if (status < 0)
            failure = "could not run " + gnuplot;
        else if (status != 0)
            failure = "gnuplot exited with " + std::to_string(status) + (text.empty() ? "" : ": " + text);
        else if (!complete)
            failure = "gnuplot left an incomplete image (is the disk full?)" + (text.empty() ? "" : ": " + text);
        else
            failure = "cannot rename it into place: " + renamed.message();
        std::filesystem::remove(partial_image, ignored);
        std::filesystem::remove(log, ignored);
    }
    outcome.warning =
        name + ".png not drawn (" + failure + "); the data and " + name + ".gp are in " + absolute.string();
    return outcome;
}

}  // namespace fds::cli
