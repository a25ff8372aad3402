#include <fds/data/dataset.hpp>

#include <fds/data/class_names.hpp>
#include <fds/data/idx_reader.hpp>

#include <xtensor/xbuilder.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>

namespace fds::data {

namespace detail {

namespace filesystem = std::filesystem;

bool file_exists(const filesystem::path& path) {
    std::error_code error;
    return filesystem::is_regular_file(path, error);
}

// Why `path` cannot be used although something is there (a directory in place of a file, a
// symlink loop, no permission to look), or "" when it is a file or simply absent.
std::string unusable_reason(const filesystem::path& path) {
    std::error_code error;
    const filesystem::file_status status = filesystem::status(path, error);
    if (error && error != std::errc::no_such_file_or_directory) return error.message();
    if (filesystem::is_directory(status)) return "it is a directory, not a file";
    if (filesystem::exists(status) && !filesystem::is_regular_file(status)) return "it is not a regular file";
    return "";
}

// The folders searched, in order: the directory itself, then the layouts the dataset is
// commonly unpacked into.
std::vector<filesystem::path> search_folders(const std::string& name, const std::string& directory) {
    const filesystem::path root(directory);
    if (name == "CIFAR10") {
        return {root, root / "cifar-10-batches-bin", root / "CIFAR10" / "cifar-10-batches-bin", root / "CIFAR10"};
    }
    if (name == "CIFAR100") {
        return {root, root / "cifar-100-binary", root / "CIFAR100" / "cifar-100-binary", root / "CIFAR100"};
    }
    if (name == "MNIST") {
        return {root, root / "MNIST" / "raw", root / "mnist"};
    }
    return {root, root / "FashionMNIST" / "raw", root / "fashion-mnist"};
}

std::string folder_list(const std::vector<filesystem::path>& folders) {
    std::string text;
    for (std::size_t index = 0; index < folders.size(); ++index) {
        text += (index == 0 ? "" : ", ") + folders[index].string();
    }
    return text;
}

// An IDX file under its official name, plain or gzipped; empty path if neither exists.
filesystem::path find_idx_file(const filesystem::path& folder, const std::string& stem) {
    for (const std::string& candidate : {stem, stem + ".gz"}) {
        if (file_exists(folder / candidate)) {
            return folder / candidate;
        }
    }
    return {};
}

// The first searched folder holding `marker`, or throws naming the file and every folder tried.
filesystem::path find_folder(const std::string& name, const std::string& directory,
                             const std::vector<std::string>& markers) {
    std::error_code error;
    if (!filesystem::is_directory(directory, error)) {
        if (error && error != std::errc::no_such_file_or_directory)
            throw dataset_error(name + ": directory " + directory + " cannot be used: " + error.message() + ". " +
                                dataset_source_hint(name));
        throw dataset_error(name + ": directory " + directory + " does not exist (or is not a " + "directory). " +
                            dataset_source_hint(name));
    }
    const std::vector<filesystem::path> folders = search_folders(name, directory);
    for (const filesystem::path& folder : folders) {
        for (const std::string& marker : markers) {
            if (file_exists(folder / marker)) {
                return folder;
            }
            if (const std::string reason = unusable_reason(folder / marker); !reason.empty())
                throw dataset_error(name + ": " + (folder / marker).string() + " cannot be read: " + reason);
        }
    }
    std::string wanted;
    for (std::size_t index = 0; index < markers.size(); ++index) {
        wanted += (index == 0 ? "" : " or ") + markers[index];
    }
    throw dataset_error(name + ": file " + wanted + " not found; searched " + folder_list(folders) + ". " +
                        dataset_source_hint(name));
}

xt::xarray<std::uint8_t> concatenate_images(const std::vector<cifar_records>& parts) {
    std::size_t count = 0;
    for (const cifar_records& part : parts) {
        count += part.labels.size();
    }
    auto images = xt::xarray<std::uint8_t>::from_shape({count, cifar_channels, cifar_side, cifar_side});
    std::uint8_t* destination = images.data();
    for (const cifar_records& part : parts) {
        destination = std::copy(part.images.data(), part.images.data() + part.images.size(), destination);
    }
    return images;
}

xt::xarray<int> concatenate_labels(const std::vector<cifar_records>& parts) {
    std::size_t count = 0;
    for (const cifar_records& part : parts) {
        count += part.labels.size();
    }
    auto labels = xt::xarray<int>::from_shape({count});
    int* destination = labels.data();
    for (const cifar_records& part : parts) {
        destination = std::copy(part.labels.data(), part.labels.data() + part.labels.size(), destination);
    }
    return labels;
}

std::vector<std::string> class_names_from(const filesystem::path& file, std::vector<std::string> built_in) {
    return file_exists(file) ? read_class_names_file(file.string(), built_in.size()) : built_in;
}

dataset load_cifar10(const std::string& directory) {
    const filesystem::path folder = find_folder("CIFAR10", directory, {"test_batch.bin", "data_batch_1.bin"});
    dataset result;
    result.name = "CIFAR10";
    result.classes = 10;
    result.directory = folder.string();
    std::vector<cifar_records> train_parts;
    for (int batch = 1; batch <= 5; ++batch) {
        const filesystem::path file = folder / ("data_batch_" + std::to_string(batch) + ".bin");
        if (file_exists(file)) {
            train_parts.push_back(read_cifar10_file(file.string()));
        }
    }
    if (train_parts.empty()) {
        throw dataset_error("CIFAR10: no training file data_batch_1.bin..data_batch_5.bin found in " + folder.string() +
                            ". " + dataset_source_hint("CIFAR10"));
    }
    const filesystem::path test_file = folder / "test_batch.bin";
    if (!file_exists(test_file)) {
        throw dataset_error("CIFAR10: file test_batch.bin not found in " + folder.string() + ". " +
                            dataset_source_hint("CIFAR10"));
    }
    result.train_images = concatenate_images(train_parts);
    result.train_labels = concatenate_labels(train_parts);
    cifar_records test = read_cifar10_file(test_file.string());
    result.test_images = std::move(test.images);
    result.test_labels = std::move(test.labels);
    result.class_names = class_names_from(folder / "batches.meta.txt", cifar10_class_names());
    return result;
}

dataset load_cifar100(const std::string& directory, cifar100_labels labels) {
    const filesystem::path folder = find_folder("CIFAR100", directory, {"train.bin", "test.bin"});
    dataset result;
    result.name = "CIFAR100";
    result.directory = folder.string();
    for (const char* file : {"train.bin", "test.bin"}) {
        if (!file_exists(folder / file)) {
            throw dataset_error(std::string("CIFAR100: file ") + file + " not found in " + folder.string() + ". " +
                                dataset_source_hint("CIFAR100"));
        }
    }
    cifar_records train = read_cifar100_file((folder / "train.bin").string(), labels);
    cifar_records test = read_cifar100_file((folder / "test.bin").string(), labels);
    result.train_images = std::move(train.images);
    result.train_labels = std::move(train.labels);
    result.test_images = std::move(test.images);
    result.test_labels = std::move(test.labels);
    if (labels == cifar100_labels::fine) {
        result.classes = 100;
        result.class_names = class_names_from(folder / "fine_label_names.txt", cifar100_fine_class_names());
    } else {
        result.classes = 20;
        result.class_names = class_names_from(folder / "coarse_label_names.txt", cifar100_coarse_class_names());
    }
    return result;
}

// MNIST and Fashion-MNIST share file names and layout.
dataset load_idx_dataset(const std::string& name, const std::string& directory) {
    const std::string stems[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                                  "t10k-labels-idx1-ubyte"};
    const filesystem::path folder =
        find_folder(name, directory, {stems[2], stems[2] + ".gz", stems[0], stems[0] + ".gz"});
    filesystem::path files[4];
    for (int index = 0; index < 4; ++index) {
        files[index] = find_idx_file(folder, stems[index]);
        if (files[index].empty()) {
            throw dataset_error(name + ": file " + stems[index] + " (or " + stems[index] + ".gz) not found in " +
                                folder.string() + ". " + dataset_source_hint(name));
        }
    }
    dataset result;
    result.name = name;
    result.classes = 10;
    result.directory = folder.string();
    result.class_names = name == "MNIST" ? mnist_class_names() : fashion_mnist_class_names();
    result.train_images = read_idx_images(files[0].string());
    result.train_labels = read_idx_labels(files[1].string(), result.classes);
    result.test_images = read_idx_images(files[2].string());
    result.test_labels = read_idx_labels(files[3].string(), result.classes);

    const auto check_counts = [](const filesystem::path& images_file, std::size_t images,
                                 const filesystem::path& labels_file, std::size_t labels) {
        if (images != labels) {
            throw dataset_error("image and label counts differ: " + images_file.string() + " holds " +
                                std::to_string(images) + " images but " + labels_file.string() + " holds " +
                                std::to_string(labels) + " labels (expected one label per image)");
        }
    };
    check_counts(files[0], result.train_images.shape()[0], files[1], result.train_labels.size());
    check_counts(files[2], result.test_images.shape()[0], files[3], result.test_labels.size());
    if (result.train_images.shape()[2] != result.test_images.shape()[2] ||
        result.train_images.shape()[3] != result.test_images.shape()[3]) {
        throw dataset_error("image sizes differ: " + files[0].string() + " holds " +
                            std::to_string(result.train_images.shape()[2]) + "x" +
                            std::to_string(result.train_images.shape()[3]) + " images but " + files[2].string() +
                            " holds " + std::to_string(result.test_images.shape()[2]) + "x" +
                            std::to_string(result.test_images.shape()[3]) + " images");
    }
    return result;
}

}  // namespace detail

std::string canonical_dataset_name(const std::string& name) {
    std::string key;
    for (char character : name) {
        if (character != '-' && character != '_') {
            key += static_cast<char>(std::tolower(static_cast<unsigned char>(character)));
        }
    }
    if (key == "cifar10") return "CIFAR10";
    if (key == "cifar100") return "CIFAR100";
    if (key == "mnist") return "MNIST";
    if (key == "fashionmnist") return "FashionMNIST";
    throw dataset_error("unknown dataset \"" + name + "\": expected one of CIFAR10, CIFAR100, MNIST, FashionMNIST");
}

std::string default_dataset_directory(const std::string& name) {
    return canonical_dataset_name(name) == "FashionMNIST" ? "/usr/share/datasets/fashion-mnist" : "";
}

std::string dataset_source_hint(const std::string& name) {
    const std::string canonical = canonical_dataset_name(name);
    if (canonical == "CIFAR10") {
        return "Get CIFAR-10 in its binary version from "
               "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz and give the directory "
               "it unpacks into (cifar-10-batches-bin/ or its parent).";
    }
    if (canonical == "CIFAR100") {
        return "Get CIFAR-100 in its binary version from "
               "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz and give the directory "
               "it unpacks into (cifar-100-binary/ or its parent).";
    }
    if (canonical == "MNIST") {
        return "Get MNIST's four IDX files (train-images-idx3-ubyte.gz, ...) from "
               "http://yann.lecun.com/exdb/mnist/ (mirror: "
               "https://ossci-datasets.s3.amazonaws.com/mnist/) and give their directory.";
    }
    return "Install the Debian/Ubuntu package dataset-fashion-mnist (files in "
           "/usr/share/datasets/fashion-mnist), or get the four IDX files from "
           "https://github.com/zalandoresearch/fashion-mnist (data/fashion/) and give their "
           "directory.";
}

dataset load_dataset(const std::string& name, const std::string& directory, cifar100_labels labels) {
    const std::string canonical = canonical_dataset_name(name);
    std::string folder = directory.empty() ? default_dataset_directory(canonical) : directory;
    if (folder.empty()) {
        throw dataset_error(canonical + ": no directory given and the dataset has no default " + "location. " +
                            dataset_source_hint(canonical));
    }
    if (canonical == "CIFAR10") return detail::load_cifar10(folder);
    if (canonical == "CIFAR100") return detail::load_cifar100(folder, labels);
    return detail::load_idx_dataset(canonical, folder);
}

}  // namespace fds::data
