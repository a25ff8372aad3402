#include <fds/data/class_names.hpp>

#include <fds/data/dataset_error.hpp>

#include <fstream>

namespace fds::data {

std::vector<std::string> cifar10_class_names() {
    return {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
}

std::vector<std::string> cifar100_fine_class_names() {
    return {"apple",      "aquarium_fish", "baby",         "bear",       "beaver",      "bed",         "bee",
            "beetle",     "bicycle",       "bottle",       "bowl",       "boy",         "bridge",      "bus",
            "butterfly",  "camel",         "can",          "castle",     "caterpillar", "cattle",      "chair",
            "chimpanzee", "clock",         "cloud",        "cockroach",  "couch",       "crab",        "crocodile",
            "cup",        "dinosaur",      "dolphin",      "elephant",   "flatfish",    "forest",      "fox",
            "girl",       "hamster",       "house",        "kangaroo",   "keyboard",    "lamp",        "lawn_mower",
            "leopard",    "lion",          "lizard",       "lobster",    "man",         "maple_tree",  "motorcycle",
            "mountain",   "mouse",         "mushroom",     "oak_tree",   "orange",      "orchid",      "otter",
            "palm_tree",  "pear",          "pickup_truck", "pine_tree",  "plain",       "plate",       "poppy",
            "porcupine",  "possum",        "rabbit",       "raccoon",    "ray",         "road",        "rocket",
            "rose",       "sea",           "seal",         "shark",      "shrew",       "skunk",       "skyscraper",
            "snail",      "snake",         "spider",       "squirrel",   "streetcar",   "sunflower",   "sweet_pepper",
            "table",      "tank",          "telephone",    "television", "tiger",       "tractor",     "train",
            "trout",      "tulip",         "turtle",       "wardrobe",   "whale",       "willow_tree", "wolf",
            "woman",      "worm"};
}

std::vector<std::string> cifar100_coarse_class_names() {
    return {"aquatic_mammals",
            "fish",
            "flowers",
            "food_containers",
            "fruit_and_vegetables",
            "household_electrical_devices",
            "household_furniture",
            "insects",
            "large_carnivores",
            "large_man-made_outdoor_things",
            "large_natural_outdoor_scenes",
            "large_omnivores_and_herbivores",
            "medium_mammals",
            "non-insect_invertebrates",
            "people",
            "reptiles",
            "small_mammals",
            "trees",
            "vehicles_1",
            "vehicles_2"};
}

std::vector<std::string> mnist_class_names() { return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}; }

std::vector<std::string> fashion_mnist_class_names() {
    return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
}

std::vector<std::string> read_class_names_file(const std::string& path, std::size_t expected_count) {
    std::ifstream file(path);
    if (!file) {
        throw dataset_error("cannot open class-name file " + path);
    }
    std::vector<std::string> names;
    std::string line;
    const char* white_space = " \t\r\n";
    while (std::getline(file, line)) {
        const std::size_t first = line.find_first_not_of(white_space);
        if (first == std::string::npos) {
            continue;
        }
        const std::size_t last = line.find_last_not_of(white_space);
        names.push_back(line.substr(first, last - first + 1));
    }
    if (names.size() != expected_count) {
        throw dataset_error("class-name file " + path + " has the wrong number of names: " + "expected " +
                            std::to_string(expected_count) + ", found " + std::to_string(names.size()));
    }
    return names;
}

}  // namespace fds::data
