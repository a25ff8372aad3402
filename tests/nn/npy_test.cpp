#define BOOST_TEST_MODULE nn_npy
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <fstream>
#include <iterator>

#include <fds/nn/npy.hpp>

using namespace fds::nn;

namespace {
std::string temporary(const std::string& name) { return "nn_npy_test_" + name + ".npy"; }
std::string read_bytes(const std::string& path) {
    std::ifstream stream(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(stream), {});
}
}  // namespace

BOOST_AUTO_TEST_CASE(npy_file_has_the_exact_numpy_version_1_layout) {
    const xt::xarray<float> array{{1.0f, 2.0f, 3.0f}, {4.0f, 5.0f, 6.0f}};
    save_npy(temporary("layout"), array);
    const std::string bytes = read_bytes(temporary("layout"));
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    // magic, version 1.0, little-endian uint16 header length; data starts at a multiple of 64
    header.append(128 - 10 - header.size() - 1, ' ');
    header += '\n';
    const std::string expected_prefix =
        std::string("\x93NUMPY\x01\x00", 8) + std::string(1, char(header.size())) + std::string(1, '\0') + header;
    BOOST_REQUIRE_EQUAL(bytes.size(), 128u + 6 * 4);
    BOOST_CHECK(bytes.substr(0, 128) == expected_prefix);
    float second;
    std::memcpy(&second, bytes.data() + 128 + 4, 4);
    BOOST_CHECK_EQUAL(second, 2.0f);
    std::remove(temporary("layout").c_str());
}

BOOST_AUTO_TEST_CASE(npy_round_trips_every_supported_type_and_shape) {
    const xt::xarray<double> matrix{{1.5, -2.25}, {3.0, 1e-300}};
    save_npy(temporary("double"), matrix);
    BOOST_CHECK(load_npy<double>(temporary("double")) == matrix);
    const xt::xarray<float> vector{1.0f, 2.0f, 3.0f};
    save_npy(temporary("vector"), vector);
    BOOST_CHECK(read_bytes(temporary("vector")).find("'shape': (3,), }") != std::string::npos);
    BOOST_CHECK(load_npy<float>(temporary("vector")) == vector);
    xt::xarray<float> scalar = xt::xarray<float>::from_shape({});
    scalar() = 7.0f;
    save_npy(temporary("scalar"), scalar);
    BOOST_CHECK(read_bytes(temporary("scalar")).find("'shape': (), }") != std::string::npos);
    BOOST_CHECK_EQUAL(load_npy<float>(temporary("scalar")).dimension(), 0u);
    BOOST_CHECK_EQUAL(load_npy<float>(temporary("scalar"))(), 7.0f);
    const xt::xarray<std::int32_t> labels{3, 1, 4};
    save_npy(temporary("int"), labels);
    BOOST_CHECK(load_npy<std::int32_t>(temporary("int")) == labels);
    for (const char* name : {"double", "vector", "scalar", "int"}) std::remove(temporary(name).c_str());
}

BOOST_AUTO_TEST_CASE(npy_reads_numpy_written_fixtures) {
    // written by numpy.save in scripts/make_nn_fixtures.py
    const auto loss = load_npy<float>(std::string(FDS_NN_FIXTURES) + "/cross_entropy_loss.npy");
    BOOST_CHECK_EQUAL(loss.dimension(), 0u);
    const auto labels = load_npy<std::int32_t>(std::string(FDS_NN_FIXTURES) + "/cross_entropy_labels.npy");
    BOOST_CHECK((labels == xt::xarray<std::int32_t>{0, 4, 2, 2, 1, 3}));
}

BOOST_AUTO_TEST_CASE(npy_errors_name_the_file_and_the_mismatch) {
    save_npy(temporary("typed"), xt::xarray<float>{1.0f});
    try {
        load_npy<double>(temporary("typed"));
        BOOST_FAIL("expected an exception");
    } catch (const std::runtime_error& error) {
        const std::string message = error.what();
        BOOST_CHECK(message.find(temporary("typed")) != std::string::npos);
        BOOST_CHECK(message.find("<f8") != std::string::npos && message.find("<f4") != std::string::npos);
    }
    BOOST_CHECK_THROW(load_npy<float>("does_not_exist.npy"), std::runtime_error);
    std::ofstream(temporary("garbage")) << "not a numpy file at all";
    BOOST_CHECK_THROW(load_npy<float>(temporary("garbage")), std::runtime_error);
    std::remove(temporary("typed").c_str());
    std::remove(temporary("garbage").c_str());
}
