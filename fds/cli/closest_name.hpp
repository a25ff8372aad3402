#pragma once
// Suggesting the valid name a user probably meant ("--n_lr" -> "--n_lrs").
//
// Levenshtein distance: the fewest single-character insertions, deletions and substitutions that
// turn one string into the other, by the usual dynamic programme
//   d[i][j] = min(d[i-1][j] + 1, d[i][j-1] + 1, d[i-1][j-1] + [a_i != b_j]).
// Case differences count half of a substitution so that "fashionmnist" still finds "FashionMNIST"
// ahead of a name that differs in one real letter.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace fds::cli {

// Edit distance between a and b where a substitution that only changes letter case costs 0.5.
double edit_distance(const std::string& a, const std::string& b);

// The candidate nearest to `name`, if it is near enough to be a plausible typo: within
// max(2, length/3) edits, or when one name contains the other. Ties go to the earlier candidate.
std::optional<std::string> closest_name(const std::string& name, const std::vector<std::string>& candidates);

// " (did you mean 'X'?)" or "" when nothing is close; `prefix` is prepended to the suggestion ("--").
std::string did_you_mean(const std::string& name, const std::vector<std::string>& candidates,
                         const std::string& prefix = "");

}  // namespace fds::cli
