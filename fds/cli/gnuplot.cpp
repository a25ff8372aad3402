#include "gnuplot.hpp"

#include "atomic_file.hpp"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

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

}  // namespace detail

plot_outcome draw_with_gnuplot(const std::filesystem::path& directory, const std::string& name,
                               const gnuplot_script_maker& script_for) {
    plot_outcome outcome;
    const std::filesystem::path absolute = std::filesystem::absolute(directory);
    const std::filesystem::path image = absolute / (name + ".png");
    const std::filesystem::path partial_image = absolute / (".fds-tmp." + name + ".png");
    const std::filesystem::path log = absolute / ".fds-tmp.gnuplot.log";
    write_file_atomically(absolute / (name + ".gp"), script_for(image, "pngcairo"));

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
        write_file_atomically(script, script_for(partial_image, terminal));
        const int status = detail::run_program(gnuplot, script, log);
        std::error_code ignored;
        std::filesystem::remove(script, ignored);
        if (status == 0 && std::filesystem::exists(partial_image) && std::filesystem::file_size(partial_image) > 0) {
            std::filesystem::rename(partial_image, image);
            std::filesystem::remove(log, ignored);
            outcome.image_written = true;
            return outcome;
        }
        std::ifstream messages(log);
        const std::string text((std::istreambuf_iterator<char>(messages)), std::istreambuf_iterator<char>());
        failure = status < 0 ? "could not run " + gnuplot : "gnuplot exited with " + std::to_string(status) + ": " + text;
        std::filesystem::remove(partial_image, ignored);
        std::filesystem::remove(log, ignored);
    }
    outcome.warning = name + ".png not drawn (" + failure + "); the data and " + name + ".gp are in " + absolute.string();
    return outcome;
}

}  // namespace fds::cli
