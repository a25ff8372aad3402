// libFuzzer target: the CIFAR-10 and CIFAR-100 binary readers on any bytes. A bad file must raise
// data::dataset_error; anything else is a finding.
#include <cstddef>
#include <cstdint>

#include <fds/data/cifar_reader.hpp>
#include <fds/data/dataset_error.hpp>

#include "fuzz_input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::string path = fds::fuzz::write_input(data + 1, size - 1, "data_batch.bin");
    try {
        switch (data[0] % 3) {
            case 0:
                fds::data::read_cifar10_file(path);
                break;
            case 1:
                fds::data::read_cifar100_file(path, fds::data::cifar100_labels::fine);
                break;
            default:
                fds::data::read_cifar100_file(path, fds::data::cifar100_labels::coarse);
                break;
        }
    } catch (const fds::data::dataset_error&) {}
    return 0;
}
