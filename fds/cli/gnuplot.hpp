#pragma once
// Pictures drawn by gnuplot (`gnuplot` on PATH, or $FDS_GNUPLOT when set): NAME.gp is written
// beside NAME.png so a user can redraw or restyle it. Without gnuplot the script is still
// written and the caller gets a warning, not an error: the run itself is unaffected.

#include <filesystem>
#include <functional>
#include <string>

namespace fds::cli {

struct plot_outcome {
    bool image_written = false;
    std::string warning;  // why the image was not drawn, when it was not
};

// The script drawing into `image` with gnuplot terminal `terminal` ("pngcairo" or "png").
using gnuplot_script_maker =
    std::function<std::string(const std::filesystem::path& image, const std::string& terminal)>;

// Draws directory/NAME.png (written atomically), trying pngcairo then png.
plot_outcome draw_with_gnuplot(const std::filesystem::path& directory, const std::string& name,
                               const gnuplot_script_maker& script_for);

}  // namespace fds::cli
