#pragma once
// Reading a whole dataset file into memory, gzip-compressed or not.
//
// Dataset files come both plain (`train-images-idx3-ubyte`, `data_batch_1.bin`) and gzipped
// (`train-images-idx3-ubyte.gz`, as Debian's dataset-fashion-mnist ships them). zlib's gz* reader
// inflates gzip streams and passes other files through unchanged, so one function serves both;
// a damaged or cut-off gzip stream raises a dataset_error instead of returning partial bytes.

#include <cstdint>
#include <string>
#include <vector>

namespace fds::data {

// The file's bytes, inflated when the file is a gzip stream. Throws dataset_error naming the file
// when it cannot be opened or its compressed stream is damaged or truncated.
std::vector<std::uint8_t> read_file_bytes(const std::string& path);

}  // namespace fds::data
