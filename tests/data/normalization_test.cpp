#define BOOST_TEST_MODULE data_normalization
#include <boost/test/unit_test.hpp>

#include <fds/data/dataset_error.hpp>
#include <fds/data/normalization.hpp>

using namespace fds::data;

BOOST_AUTO_TEST_CASE(constants_are_the_reference_ones) {
    const normalization cifar10 = normalization_for("CIFAR10");
    BOOST_TEST(cifar10.mean == (std::vector<float>{0.4914f, 0.4822f, 0.4465f}), boost::test_tools::per_element());
    BOOST_TEST(cifar10.standard_deviation == (std::vector<float>{0.2023f, 0.1994f, 0.2010f}),
               boost::test_tools::per_element());
    const normalization cifar100 = normalization_for("CIFAR100");
    BOOST_TEST(cifar100.mean == (std::vector<float>{0.5071f, 0.4867f, 0.4408f}), boost::test_tools::per_element());
    BOOST_TEST(cifar100.standard_deviation == (std::vector<float>{0.2675f, 0.2565f, 0.2761f}),
               boost::test_tools::per_element());
    for (const char* name : {"MNIST", "FashionMNIST"}) {
        const normalization gray = normalization_for(name);
        BOOST_TEST(gray.mean == std::vector<float>{0.1307f}, boost::test_tools::per_element());
        BOOST_TEST(gray.standard_deviation == std::vector<float>{0.3081f}, boost::test_tools::per_element());
    }
    BOOST_CHECK_THROW(normalization_for("SVHN"), dataset_error);
}

BOOST_AUTO_TEST_CASE(normalized_pixel_is_scaled_then_standardized_like_torchvision) {
    // ToTensor divides by 255 in float, Normalize subtracts the mean and divides by the std.
    const normalization cifar10 = normalization_for("CIFAR10");
    for (int byte : {0, 1, 128, 255}) {
        const float expected = (static_cast<float>(byte) / 255.0f - 0.4822f) / 0.1994f;
        BOOST_TEST(normalize_pixel(cifar10, 1, static_cast<std::uint8_t>(byte)) == expected);
    }
    BOOST_TEST(normalize_pixel(normalization_for("MNIST"), 0, 0) == -0.1307f / 0.3081f);
}

BOOST_AUTO_TEST_CASE(table_holds_every_channel_and_byte_value) {
    const normalization cifar100 = normalization_for("CIFAR100");
    const std::vector<float> table = normalization_table(cifar100);
    BOOST_TEST(table.size() == 3u * 256u);
    for (std::size_t channel = 0; channel < 3; ++channel)
        for (std::size_t byte = 0; byte < 256; ++byte)
            BOOST_REQUIRE(table[channel * 256 + byte] ==
                          normalize_pixel(cifar100, channel, static_cast<std::uint8_t>(byte)));
}
