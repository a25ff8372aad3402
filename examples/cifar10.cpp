// CIFAR-10 with a multi-layer perceptron or a small convolutional network: (a) plain training
// with a fixed schedule, then (b) FDS learns the learning-rate, momentum and weight-decay
// schedules by forward-mode hypergradients through whole training runs, and the learned schedule
// is retrained from scratch.
//
//   cifar10 MLP ../shared/data/cifar-10-subset     (or the official cifar-10-batches-bin folder)
//   cifar10 CNN ../shared/data/cifar-10-subset

#include <cstdio>
#include <string>

#include <fds/data/dataset.hpp>
#include <fds/autodiff/runtime.hpp>
#include <fds/hyper_trainer.hpp>
#include <fds/retrain.hpp>

namespace {

// What each model is run with: the hand-picked schedule of (a) and the length of both runs.
struct recipe {
    const char* architecture;
    const char* description;
    fds::hyper_values fixed;  // lr for the first and the second half, momentum, weight decay
    int epochs;  // of every training run, and outer steps of (b)
};

const recipe recipes[] = {
    {"MLP", "3072-256-256-10", {{0.05, 0.005}, {0.9}, {5e-4}}, 5},
    {"CNN", "3 x (conv 3x3, batch norm, relu), global average pool", {{0.1, 0.01}, {0.9}, {5e-4}}, 3},
};

void print_schedule(const char* name, const std::vector<double>& values) {
    std::printf(" %s", name);
    for (double value : values) std::printf(" %.4g", value);
}

}  // namespace

int main(int argc, char** argv) try {
    fds::autodiff::prepare_runtime(argc, argv);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each line as it comes, also into a pipe or a log
    const std::string model = argc > 1 ? argv[1] : "";
    const recipe* chosen = nullptr;
    for (const recipe& candidate : recipes)
        if (model == candidate.architecture) chosen = &candidate;
    if (!chosen) {
        std::fprintf(stderr, "usage: cifar10 MLP|CNN [CIFAR-10 folder]; found model \"%s\"\n", model.c_str());
        return 2;
    }
    const std::string directory = argc > 2 ? argv[2] : "../shared/data/cifar-10-subset";
    const fds::data::dataset cifar = fds::data::load_dataset("CIFAR10", directory);

    fds::hypertrain_settings settings;
    settings.dataset = "CIFAR10";
    settings.architecture = chosen->architecture;
    settings.train_batch_size = 128;
    settings.retrain_n_epochs = chosen->epochs;
    std::printf("%s: %s\n", chosen->architecture, chosen->description);

    // (a) Plain training with the hand-picked schedule.
    const fds::retrain_result plain = fds::retrain(settings, cifar, chosen->fixed, {});
    std::printf("(a) fixed schedule, %d epochs: test accuracy %.1f%%\n", settings.retrain_n_epochs,
                100 * plain.test_acc);

    // (b) FDS: 3 lr + 1 momentum + 1 weight-decay buckets refined from the defaults (lr 0.05,
    // momentum 0.9, wd 5e-4) over outer steps of one epoch each (each outer step = one
    // differentiated training run).
    settings.n_lrs = 3;
    settings.n_inner_epochs_per_outer_steps.assign(static_cast<std::size_t>(chosen->epochs), 1);
    fds::hyper_trainer trainer(settings, cifar);
    while (!trainer.finished()) {
        const fds::outer_step_record step = trainer.run_outer_step({});
        std::printf("outer step %zu (%zu inner steps, %.0f s): val acc %.1f%%, next", step.outer_step, step.inner_steps,
                    step.seconds, 100 * step.val_acc);
        const fds::hyper_values next = trainer.current();
        print_schedule("lr", next.lr);
        print_schedule("mom", next.mom);
        print_schedule("wd", next.wd);
        std::printf("\n");
    }
    const fds::retrain_result learned = fds::retrain(settings, cifar, trainer.retrain_schedule(), {});
    std::printf("(b) learned schedule, %d epochs: test accuracy %.1f%%\n", settings.retrain_n_epochs,
                100 * learned.test_acc);
    return 0;
} catch (const std::exception& error) {
    std::fprintf(stderr, "cifar10: %s\n", error.what());
    return 1;
}
