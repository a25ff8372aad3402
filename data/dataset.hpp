#pragma once
// A labelled image dataset in memory, and loading one by name from a directory.
//
//   fds::data::dataset fashion = fds::data::load_dataset("FashionMNIST", "");
//   fds::data::dataset cifar = fds::data::load_dataset("CIFAR10", "/data/cifar-10-batches-bin");
//
// Supported names and files (searched in the directory, then in the official archive's
// sub-folder and in torchvision's layout):
//   CIFAR10       data_batch_1.bin..data_batch_5.bin (those present), test_batch.bin
//                 [cifar-10-batches-bin/, CIFAR10/cifar-10-batches-bin/]
//   CIFAR100      train.bin, test.bin [cifar-100-binary/, CIFAR100/cifar-100-binary/]
//   MNIST         train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
//                 t10k-labels-idx1-ubyte, each plain or .gz [MNIST/raw/, mnist/]
//   FashionMNIST  the same IDX names [FashionMNIST/raw/, fashion-mnist/]; default directory
//                 /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist)

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include <fds/data/cifar_reader.hpp>
#include <fds/data/dataset_error.hpp>

namespace fds::data {

struct dataset {
    std::string name;  // CIFAR10, CIFAR100, MNIST or FashionMNIST
    xt::xarray<std::uint8_t> train_images;  // [N, C, H, W] raw bytes
    xt::xarray<std::uint8_t> test_images;  // [M, C, H, W]
    xt::xarray<int> train_labels;  // [N], each in 0..classes-1
    xt::xarray<int> test_labels;  // [M]
    std::size_t classes = 0;
    std::vector<std::string> class_names;  // classes names, indexed by label
    std::string directory;  // where the files were found (empty if built in memory)
};

// The canonical name (CIFAR10, CIFAR100, MNIST, FashionMNIST) of a name written in any case,
// with or without '-' or '_' ("cifar-10", "fashion_mnist"). Throws dataset_error for others.
std::string canonical_dataset_name(const std::string& name);

// Where the dataset is read from when no directory is given ("" if it has no default location).
std::string default_dataset_directory(const std::string& name);

// Where to get the dataset, for error messages and help text.
std::string dataset_source_hint(const std::string& name);

// Loads a dataset; directory "" means default_dataset_directory(name). CIFAR100 keeps its fine
// labels unless `labels` asks for the coarse ones. Throws dataset_error (see dataset_error.hpp).
dataset load_dataset(const std::string& name, const std::string& directory,
                     cifar100_labels labels = cifar100_labels::fine);

}  // namespace fds::data
