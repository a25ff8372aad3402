// libFuzzer target: restoring a hyper-trainer (and its outer optimizers) from any JSON, as
// `fds hypertrain` does from checkpoint.json. A checkpoint that does not fit must be refused with
// std::runtime_error or std::invalid_argument naming the key; a raw JSON exception, a crash or a
// sanitizer report is a finding, and so is a restored trainer whose state cannot be written back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include <fds/hyper_trainer.hpp>
#include <fds/nn/models.hpp>

#include "../fds/synthetic_dataset.hpp"

namespace {

fds::basic_hyper_trainer<double>& fresh_trainer() {
    static const fds::data::dataset dataset = fds::testing::synthetic_dataset(60, 20, 1);
    static const fds::hypertrain_settings settings = [] {
        fds::hypertrain_settings s;
        s.dataset = "MNIST";
        s.n_lrs = 3;
        s.n_inner_epochs_per_outer_steps = {1, 1};
        s.train_batch_size = 20;
        s.val_batch_size = 20;
        s.val_train_fraction = 0.2;
        return s;
    }();
    static fds::basic_hyper_trainer<double> trainer(settings, dataset, fds::nn::make_mlp<double>(1, 4, 4, 3, {8}));
    static const nlohmann::json pristine = trainer.checkpoint();
    trainer.restore(pristine);
    return trainer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const nlohmann::json checkpoint = nlohmann::json::parse(data, data + size, nullptr, false);
    if (checkpoint.is_discarded()) return 0;
    fds::basic_hyper_trainer<double>& trainer = fresh_trainer();
    try {
        trainer.restore(checkpoint);
    } catch (const std::runtime_error&) {
        return 0;
    } catch (const std::invalid_argument&) {
        return 0;
    }
    // accepted: the restored state must be whole
    const nlohmann::json written = trainer.checkpoint();
    if (trainer.current().lr.size() != 3 || written.dump().empty()) std::abort();
    return 0;
}
