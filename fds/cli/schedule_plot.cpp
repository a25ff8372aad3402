#include "schedule_plot.hpp"

#include "atomic_file.hpp"
#include "gnuplot.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>
#include <iomanip>

namespace fds::cli {

namespace detail {

const char* const hyperparameter_keys[] = {"lr", "mom", "wd"};

std::vector<double> values_of(const nlohmann::json& schedule, const std::string& key) {
    if (!schedule.contains(key) || !schedule[key].is_array() || schedule[key].empty())
        throw std::runtime_error("schedule to plot has no \"" + key + "\" values: " + schedule.dump());
    return schedule[key].get<std::vector<double>>();
}

// gnuplot single-quoted string: a quote is written twice
std::string quoted(const std::string& text) {
    std::string result = "'";
    for (char c : text) result += c == '\'' ? std::string("''") : std::string(1, c);
    return result + "'";
}

// The y range of one panel: every value of the type, with head-room above so that the bold final
// line is not drawn on the border (gnuplot's own autoscale misbehaves on tiny weight decays).
std::string y_range(const std::vector<nlohmann::json>& schedules, const std::string& key) {
    double low = std::numeric_limits<double>::infinity(), high = -low;
    for (const nlohmann::json& schedule : schedules)
        for (double value : values_of(schedule, key)) {
            low = std::min(low, value);
            high = std::max(high, value);
        }
    double span = high - low;
    if (!(span > 0)) span = std::max(std::abs(high), 1e-12);
    std::ostringstream text;
    text << std::setprecision(10) << "[" << low - 0.05 * span << ":" << high + 0.15 * span << "]";
    return text.str();
}

std::string gnuplot_script(const std::filesystem::path& data, const std::filesystem::path& image,
                           const std::string& terminal, const std::vector<nlohmann::json>& schedules) {
    const std::size_t schedule_count = schedules.size();
    std::ostringstream script;
    std::size_t final_index = schedule_count - 1;
    script
        << "set terminal " << terminal << " size 900,960\n"
        << "set output " << quoted(image.string()) << "\n"
        << "set multiplot layout 3,1 title 'FDS learned schedules: each outer step (faded, older lighter) and the final one (bold)'\n"
        << "set xrange [0:1]\nset grid\nset key top right\n"

        << "set xlabel 'fraction of the inner run'\n";
    const char* labels[] = {"learning rate", "momentum", "weight decay"};
    for (int column = 0; column < 3; ++column) {
        script << "set ylabel '" << labels[column] << "'\nset yrange "
               << y_range(schedules, hyperparameter_keys[column]) << "\n";
        std::string plot = "plot ";
        if (final_index > 0) {
            // older steps lighter: alpha byte from 0xD0 (faint) to 0x60 (stronger)
            plot += "for [i=0:" + std::to_string(final_index - 1) + "] " + quoted(data.string()) +
                    " index i using 1:" + std::to_string(column + 2) +
                    " with steps lw 1.5 lc rgb sprintf('#%02X3070C0', int(208 - 112.0*i/" +
                    std::to_string(std::max<std::size_t>(final_index - 1, 1)) + ")) notitle, ";
        }
        plot += quoted(data.string()) + " index " + std::to_string(final_index) +
                " using 1:" + std::to_string(column + 2) + " with steps lw 3.5 lc rgb '#C02020' title 'final'";
        script << plot << "\n";
    }
    script << "unset multiplot\nset output\n";
    return script.str();
}

}  // namespace detail

std::string schedule_table(const std::vector<nlohmann::json>& schedules) {
    std::ostringstream table;
    table << std::setprecision(10);
    table << "# FDS learned schedules: one block per outer step, the final schedule last\n"
          << "# columns: fraction_of_inner_run lr mom wd (bucket j of n covers [j/n, (j+1)/n))\n";
    for (std::size_t index = 0; index < schedules.size(); ++index) {
        std::vector<std::vector<double>> values;
        std::set<double> breakpoints = {1.0};
        for (const char* key : detail::hyperparameter_keys) {
            values.push_back(detail::values_of(schedules[index], key));
            for (std::size_t j = 0; j < values.back().size(); ++j)
                breakpoints.insert(static_cast<double>(j) / static_cast<double>(values.back().size()));
        }
        table << "# " << (index + 1 == schedules.size() ? "final" : "outer step " + std::to_string(index)) << "\n";
        for (double x : breakpoints) {
            table << x;
            for (const std::vector<double>& buckets : values) {
                // the bucket that starts at or before x; x = 1 closes the last bucket
                std::size_t bucket = std::min(buckets.size() - 1, static_cast<std::size_t>(x * buckets.size() + 1e-9));
                table << " " << buckets[bucket];
            }
            table << "\n";
        }
        if (index + 1 < schedules.size()) table << "\n\n";
    }
    return table.str();
}

plot_outcome plot_schedules(const std::filesystem::path& directory, const std::vector<nlohmann::json>& schedules) {
    if (schedules.empty()) return {false, "no schedule to plot yet"};
    const std::filesystem::path data = std::filesystem::absolute(directory) / "schedules.dat";
    write_file_atomically(data, schedule_table(schedules));
    return draw_with_gnuplot(directory, "schedules",
                             [&](const std::filesystem::path& image, const std::string& terminal) {
                                 return detail::gnuplot_script(data, image, terminal, schedules);
                             });
}

}  // namespace fds::cli
