// PyTorch state_dict names of the models of models.hpp, so that their weights load with
// `model.load_state_dict` into the same architecture in PyTorch (examples/load_fds_weights.py
// defines those modules). LeNet and WRN-16-1 carry the reference's module names (polo5/FDS
// models/lenet.py, models/wresnet.py); the MLP and the CNN, which the reference does not have,
// are one nn.Sequential named `layers`:
//
//   MLP       layers = [Flatten, Linear, ReLU, Linear, ReLU, Linear]
//   LeNet     layers = [Conv, ReLU, MaxPool, Conv, ReLU, MaxPool, Flatten, Linear, ReLU, Linear, ReLU, Linear]
//   CNN       layers = [Conv, BN, ReLU, MaxPool] x 2 + [Conv, BN, ReLU, AdaptiveAvgPool(1), Flatten, Linear]
//   WRN-16-1  conv1, block{1,2,3}.layer.{0,1}.{bn1, conv1, bn2, conv2, convShortcut}, final_bn, fc
//
// Parameters are in PyTorch's registration order already (network.hpp), so each module's
// weight (and bias) come in turn; every BatchNorm adds running_mean and running_var from the
// network's buffers, and num_batches_tracked, which this library does not count.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include <fds/nn/layer.hpp>

namespace fds::nn {

struct state_dict_entry {
    std::string name;  // "layers.3.weight", "block2.layer.0.bn1.running_var"
    shape_type shape;
    bool buffer = false;  // from the network's buffers rather than its parameters
    std::size_t offset = 0;  // into the flat parameters or buffers
};

// The entries of `architecture` (a name of model_names()) whose parameters are `specs`; throws
// std::invalid_argument when the specs do not have the architecture's modules.
std::vector<state_dict_entry> torch_state_dict(const std::string& architecture,
                                               const std::vector<parameter_spec>& specs);

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

namespace detail {

// Module paths in registration order: one per module with parameters.
inline std::vector<std::string> torch_module_paths(const std::string& architecture) {
    if (architecture == "MLP") return {"layers.1", "layers.3", "layers.5"};
    if (architecture == "LeNet") return {"layers.0", "layers.3", "layers.7", "layers.9", "layers.11"};
    if (architecture == "CNN")
        return {"layers.0", "layers.1", "layers.4", "layers.5", "layers.8", "layers.9", "layers.13"};
    if (architecture == "WRN-16-1") {
        std::vector<std::string> paths = {"conv1"};
        for (int group = 1; group <= 3; ++group)
            for (int block = 0; block < 2; ++block) {
                const std::string prefix = "block" + std::to_string(group) + ".layer." + std::to_string(block) + ".";
                for (const char* module : {"bn1", "conv1", "bn2", "conv2"}) paths.push_back(prefix + module);
                // the first block of groups 2 and 3 changes the width: a 1x1 shortcut convolution
                if (block == 0 && group > 1) paths.push_back(prefix + "convShortcut");
            }
        paths.push_back("final_bn");
        paths.push_back("fc");
        return paths;
    }
    throw std::invalid_argument("torch_state_dict: no PyTorch names for architecture '" + architecture + "'");
}

}  // namespace detail

inline std::vector<state_dict_entry> torch_state_dict(const std::string& architecture,
                                                      const std::vector<parameter_spec>& specs) {
    const std::vector<std::string> paths = detail::torch_module_paths(architecture);
    std::vector<state_dict_entry> entries;
    std::size_t module = 0, offset = 0, buffer_offset = 0;
    bool started = false;
    for (const parameter_spec& spec : specs) {
        // a module's parameters start with its weight
        if (spec.name == "weight") module += started ? 1 : 0;
        started = true;
        if (module >= paths.size())
            throw std::invalid_argument("torch_state_dict: " + architecture + " has " + std::to_string(paths.size()) +
                                        " modules with parameters, the network more");
        entries.push_back({paths[module] + "." + spec.name, spec.shape, false, offset});
        offset += spec.size();
        if (spec.role == parameter_role::norm_shift) {
            const shape_type channels = spec.shape;
            entries.push_back({paths[module] + ".running_mean", channels, true, buffer_offset});
            entries.push_back({paths[module] + ".running_var", channels, true, buffer_offset + channels[0]});
            buffer_offset += 2 * channels[0];
        }
    }
    if (module + 1 != paths.size())
        throw std::invalid_argument("torch_state_dict: " + architecture + " has " + std::to_string(paths.size()) +
                                    " modules with parameters, the network " + std::to_string(module + 1));
    return entries;
}

}  // namespace fds::nn
