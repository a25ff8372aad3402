// libFuzzer target: the IDX reader (images and labels, plain and gzip) on any bytes. A bad file
// must raise data::dataset_error; anything else (a crash, another exception, a sanitizer report)
// is a finding.
#include <cstddef>
#include <cstdint>

#include <fds/data/dataset_error.hpp>
#include <fds/data/idx_reader.hpp>

#include "fuzz_input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    // the first byte chooses what the rest is read as
    const bool images = data[0] & 1, compressed = data[0] & 2;
    const std::string path = fds::fuzz::write_input(data + 1, size - 1, compressed ? "input.gz" : "input");
    try {
        if (images)
            fds::data::read_idx_images(path);
        else
            fds::data::read_idx_labels(path, 10);
    } catch (const fds::data::dataset_error&) {}
    return 0;
}
