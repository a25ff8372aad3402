// The per-channel sums of batch norm (means, variances and the backward's A and B, with their
// tangents): the batch's [N, C, H, W] values read channel group by channel group, every sum in
// double, in an order that depends only on the shape.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <vector>

#include <fds/autodiff/autodiff.hpp>

#include <fds/nn/kernels/vector32.hpp>

namespace fds::nn::detail {

template <class Scalar>
struct batch_norm_geometry {
    std::size_t batch, channels, plane;
    std::size_t size() const { return batch * channels * plane; }
    std::size_t count() const { return batch * plane; }
};

// Consecutive channels [first, last) processed together. A channel is one short run per sample
// (short in the CNN); the runs of neighbouring channels lie side by side, so a group's passes read
// one longer contiguous run per sample, which the hardware prefetchers follow.
struct channel_group {
    std::size_t first, last;
    std::size_t size() const { return last - first; }
};

// Channels per group: as many as keep one row of the group (all its samples) within 2 MB, so the
// rows a tangent's sums pass reads are still in the L3 cache for its element pass (a few such
// rows per thread).
template <class Scalar>
std::size_t group_channels(const batch_norm_geometry<Scalar>& g) {
    constexpr std::size_t row_bytes = std::size_t{2} << 20;
    return std::max<std::size_t>(1, row_bytes / std::max<std::size_t>(1, g.count() * sizeof(Scalar)));
}

// Applies f(channel in group, offset, length) to each run of the group, sample by sample.
template <class Scalar, class Function>
void for_group(const batch_norm_geometry<Scalar>& g, channel_group group, Function&& f) {
    for (std::size_t n = 0; n < g.batch; ++n) {
        for (std::size_t c = group.first; c < group.last; ++c)
            f(c - group.first, (n * g.channels + c) * g.plane, g.plane);
    }
}

// Runs body(group) for groups covering every channel, the channels split into contiguous ranges
// over the library's threads once the batch is large enough to pay for a hand-over, each range
// cut into groups (channels are independent: the result depends on neither split).
template <class Scalar, class Body>
void for_channel_groups(const batch_norm_geometry<Scalar>& g, Body&& body) {
    const std::size_t per_group = group_channels(g);
    autodiff::run_ranges(g.channels, g.count(), 1, [&](std::size_t first, std::size_t last) {
        for (std::size_t c = first; c < last; c += per_group) body(channel_group{c, std::min(last, c + per_group)});
    });
}

// The terms a channel sum adds, in double: at(l, i) one term, eight_at(l, i) the eight from i on,
// for channel l of the group.
// a[i], or with Masked a[i] positive[i]: a gradient through the relu after batch norm
template <class Scalar, bool Masked = false>
struct entry_term {
    const Scalar* a;
    const std::uint8_t* positive = nullptr;
    Scalar entry(std::size_t i) const { return Masked ? a[i] * Scalar(positive[i]) : a[i]; }
    eight_values<Scalar> eight(std::size_t i) const {
        if constexpr (Masked) {
            return load_eight(a + i) * load_eight_flags<Scalar>(positive + i);
        } else {
            return load_eight(a + i);
        }
    }
    double at(std::size_t, std::size_t i) const { return entry(i); }
    eight_values<double> eight_at(std::size_t, std::size_t i) const { return widen(eight(i)); }
    void prefetch(std::size_t i) const {
        __builtin_prefetch(a + i);
        if (Masked) __builtin_prefetch(positive + i);
    }
};

// a[i] b[i], rounded to Scalar, a an entry_term (masked or not)
template <class Scalar, bool Masked = false>
struct product_term {
    entry_term<Scalar, Masked> a;
    const Scalar* b;
    double at(std::size_t, std::size_t i) const { return static_cast<double>(a.entry(i) * b[i]); }
    eight_values<double> eight_at(std::size_t, std::size_t i) const { return widen(a.eight(i) * load_eight(b + i)); }
    void prefetch(std::size_t i) const {
        a.prefetch(i);
        __builtin_prefetch(b + i);
    }
};

template <class Scalar>
struct centered_square_term {  // (a[i] - means[l])^2
    const Scalar* a;
    const double* means;  // per channel of the group
    double at(std::size_t l, std::size_t i) const {
        const double centered = a[i] - means[l];
        return centered * centered;
    }
    eight_values<double> eight_at(std::size_t l, std::size_t i) const {
        eight_values<double> e = widen(load_eight(a + i));
        for (auto& v : e.v) {
            v -= broadcast_vector(means[l]);
            v *= v;
        }
        return e;
    }
    void prefetch(std::size_t i) const { __builtin_prefetch(a + i); }
};

// The sums of each term over each channel of a group, in double, all in one pass over the group
// (a dual step reads each tangent row once instead of once per sum). Eight independent partial
// sums per term and channel: one serial chain of double additions is bound by the add latency,
// while independent lanes vectorize. Each sum's order depends only on the plane and batch sizes,
// not on the grouping.
// Each run of a sample sits on its own memory pages, where the hardware prefetchers start cold:
// the pass prefetches each term's line at the same position a few samples ahead, at least 2 KB of
// run ahead.
template <class Scalar, class... Terms>
std::vector<std::array<double, sizeof...(Terms)>> group_sums(const batch_norm_geometry<Scalar>& g, channel_group group,
                                                             const Terms... terms) {
    constexpr std::size_t count = sizeof...(Terms);
    constexpr std::size_t line = 64 / sizeof(Scalar);
    const std::size_t run = group.size() * g.plane;
    const std::size_t samples_ahead = std::max<std::size_t>(1, 2048 / (run * sizeof(Scalar)));
    const std::size_t ahead = samples_ahead * g.channels * g.plane;
    std::vector<std::array<eight_values<double>, count>> partial(group.size());
    std::vector<std::array<double, count>> sums(group.size());
    for_group(g, group, [&](std::size_t l, std::size_t offset, std::size_t length) {
        const std::size_t end = offset + length;
        const bool prefetch = offset + ahead < g.size();
        auto& lanes = partial[l];
        std::size_t i = offset;
        for (; i + 8 <= end; i += 8) {
            if (prefetch && i % line == 0) (terms.prefetch(i + ahead), ...);
            std::size_t t = 0;
            ((lanes[t++] += terms.eight_at(l, i)), ...);
        }
        for (; i < end; ++i) {
            std::size_t t = 0;
            ((sums[l][t++] += terms.at(l, i)), ...);
        }
    });
    for (std::size_t l = 0; l < group.size(); ++l) {
        for (std::size_t t = 0; t < count; ++t) {
            for (const auto& v : partial[l][t].v) {
                for (std::size_t lane = 0; lane < vector32_lanes<double>; ++lane) sums[l][t] += v[lane];
            }
        }
    }
    return sums;
}

}  // namespace fds::nn::detail
