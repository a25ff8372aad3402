#include "closest_name.hpp"

#include <algorithm>
#include <cctype>

namespace fds::cli {

namespace detail {

bool same_ignoring_case(char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
}

std::string lower(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

}  // namespace detail

double edit_distance(const std::string& a, const std::string& b) {
    // one row of the table at a time: previous[j] = d[i-1][j]
    std::vector<double> previous(b.size() + 1), current(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = static_cast<double>(j);
    for (std::size_t i = 1; i <= a.size(); ++i) {
        current[0] = static_cast<double>(i);
        for (std::size_t j = 1; j <= b.size(); ++j) {
            double substitution = a[i - 1] == b[j - 1]                             ? 0.0
                                  : detail::same_ignoring_case(a[i - 1], b[j - 1]) ? 0.5
                                                                                   : 1.0;
            current[j] = std::min({previous[j] + 1.0, current[j - 1] + 1.0, previous[j - 1] + substitution});
        }
        std::swap(previous, current);
    }
    return previous[b.size()];
}

std::optional<std::string> closest_name(const std::string& name, const std::vector<std::string>& candidates) {
    std::optional<std::string> best;
    double best_distance = 0.0;
    for (const std::string& candidate : candidates) {
        double distance = edit_distance(name, candidate);
        if (!best || distance < best_distance) {
            best = candidate;
            best_distance = distance;
        }
    }
    if (!best || name.empty()) return std::nullopt;
    double allowed = std::max(2.0, static_cast<double>(std::max(name.size(), best->size())) / 3.0);
    if (best_distance <= allowed) return best;
    // a prefix or fragment of a long name ("--clamp" for "--clamp_grads") is still a useful hint
    for (const std::string& candidate : candidates) {
        if (name.size() >= 3 && detail::lower(candidate).find(detail::lower(name)) != std::string::npos)
            return candidate;
    }
    return std::nullopt;
}

std::string did_you_mean(const std::string& name, const std::vector<std::string>& candidates,
                         const std::string& prefix) {
    auto best = closest_name(name, candidates);
    if (!best) return "";
    return " (did you mean '" + prefix + *best + "'?)";
}

}  // namespace fds::cli
