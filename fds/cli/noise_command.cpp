// `fds noise`: the paper's Theorem 4.1 measured (hypergradient_noise.hpp). noise_runs runs of
// noise_steps steps on the fixed schedule of the inner_*_init options, each giving every step's
// learning-rate hypergradient in forward mode and the greedy ones (per_step_hypergradients.hpp);
// then, per sharing window, the MSE against the mean over runs, the measured correlation and
// drift, and the theorem's bound. The run directory holds config.json, history.jsonl (one line
// per finished run, so a re-run resumes after the last one), noise.json, noise.dat and
// noise.png (noise.gp beside it).

#include "commands.hpp"

#include "atomic_file.hpp"
#include "cli_error.hpp"
#include "cpu_name.hpp"
#include "dataset_loading.hpp"
#include "embedded_default.hpp"
#include "gnuplot.hpp"
#include "json_number.hpp"
#include "options.hpp"
#include "progress.hpp"
#include "run_directory.hpp"

#include <fds/hypergradient_noise.hpp>
#include <fds/per_step_hypergradients.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>

namespace fds::cli {

namespace detail {

const argument_grammar noise_grammar{"noise",
                                     {"dataset",
                                      "datasets_path",
                                      "architecture",
                                      "init_type",
                                      "init_param",
                                      "init_norm_weights",
                                      "inner_lr_init",
                                      "inner_mom_init",
                                      "inner_wd_init",
                                      "inner_lr_init_shape",
                                      "train_batch_size",
                                      "clamp_grads",
                                      "clamp_grads_range",
                                      "clamp_HZ",
                                      "clamp_HZ_range",
                                      "cutout",
                                      "cutout_length",
                                      "cutout_prob",
                                      "val_batch_size",
                                      "val_train_fraction",
                                      "val_train_overlap",
                                      "noise_runs",
                                      "noise_steps",
                                      "noise_windows",
                                      "seed",
                                      "threads"},
                                     {"config", "out"}};

std::string noise_help() {
    std::ostringstream text;
    text
        << "usage: fds noise [--noise_runs R] [--noise_steps T] [--noise_windows W...] [--out DIR] [--OPTION VALUE ...]\n\n"
        << "Measures how sharing one learning rate over W contiguous steps trades hypergradient noise for bias\n"
        << "(Theorem 4.1 of Micaelli & Storkey 2021, its Figure 2). Runs R trainings of T steps on the fixed\n"
        << "schedule of --inner_lr_init (in the shape --inner_lr_init_shape), --inner_mom_init and --inner_wd_init,\n"
        << "each with its own data order and initialization; computes every step's learning-rate hypergradient\n"
        << "of the final validation loss in forward mode (T tangents) and the greedy one-step ones; writes per\n"
        << "window W the MSE against the mean over runs, the measured correlation c and drift eps, the bound\n"
        << "((1 + c (W - 1)) / W) MSE_1 + eps^2 (W^2 - 1) / 12 and MSE_1 / W into DIR/noise.json, and draws\n"
        << "DIR/noise.png. The hypergradients are exact: --clamp_HZ is off unless given. Re-running the same\n"
        << "command resumes after the last finished run.\n\n"
        << "  --out DIR                             run directory [default runs/noise_<dataset>_<architecture>_S<seed>]\n"
        << "  --config FILE.json                    options from a JSON object with the same keys\n"
        << "  --print_config                        print the resolved config (config.json's content) and exit\n"
        << "  --json                                print only the summary, as one JSON document, on stdout;\n"
        << "                                        progress and messages go to stderr\n"
        << "  --help                                this text\n\n"
        << "Without --dataset: real Fashion-MNIST and the MLP (the embedded default), about 5 minutes on 2 cores.\n\n"
        << "Options:\n"
        << options_help(noise_grammar);
    return text.str();
}

nlohmann::json run_line(const per_step_run& run) {
    return {{"run", run.run},         {"diverged", run.diverged},           {"val_loss", finite_or_null(run.val_loss)},
            {"seconds", run.seconds}, {"hypergradient", run.hypergradient}, {"greedy", run.greedy}};
}

// The finished runs of history.jsonl, checked against the settings; errors name the file and line.
std::vector<per_step_run> read_finished_runs(const run_directory& run, std::size_t steps) {
    std::vector<per_step_run> runs;
    const std::string file = run.file("history.jsonl").string();
    for (const nlohmann::json& line : run.read_history()) {
        const std::string where = file + " line " + std::to_string(runs.size() + 1);
        per_step_run finished;
        try {
            finished.run = line.at("run").get<std::size_t>();
            finished.diverged = line.at("diverged").get<bool>();
            finished.seconds = line.at("seconds").get<double>();
            finished.val_loss = line.at("val_loss").is_null() ? std::nan("") : line.at("val_loss").get<double>();
            finished.hypergradient = line.at("hypergradient").get<std::vector<double>>();
            finished.greedy = line.at("greedy").get<std::vector<double>>();
        } catch (const nlohmann::json::exception& error) {
            throw std::runtime_error(where + ": not a run of fds noise (" + error.what() + ")");
        }
        if (finished.run != runs.size())
            throw std::runtime_error(where + ": expected run " + std::to_string(runs.size()) + ", found run " +
                                     std::to_string(finished.run));
        if (!finished.diverged && (finished.hypergradient.size() != steps || finished.greedy.size() != steps))
            throw std::runtime_error(where + ": expected " + std::to_string(steps) + " hypergradients, found " +
                                     std::to_string(finished.hypergradient.size()) + " and " +
                                     std::to_string(finished.greedy.size()) + " greedy");
        runs.push_back(std::move(finished));
    }
    return runs;
}

// Z and C hold T rows of the parameters each: refuse a run that cannot fit before it starts.
void check_tangent_memory(std::size_t steps, std::size_t parameters) {
    std::ifstream meminfo("/proc/meminfo");
    for (std::string key; meminfo >> key;) {
        double kilobytes = 0;
        meminfo >> kilobytes;
        if (key != "MemAvailable:") continue;
        const double needed = 2.0 * static_cast<double>(steps) * static_cast<double>(parameters) * sizeof(float);
        if (needed > kilobytes * 1024.0)
            throw usage_error("--noise_steps " + std::to_string(steps) + ": the tangents of " +
                              std::to_string(parameters) + " parameters need " +
                              std::to_string(static_cast<long long>(needed / 1e6)) + " MB, " +
                              std::to_string(static_cast<long long>(kilobytes / 1e3)) +
                              " MB are available; use fewer steps or a smaller model");
        return;
    }
}

nlohmann::json noise_json(const hypergradient_noise& noise) {
    nlohmann::json windows = nlohmann::json::array();
    for (const window_noise& window : noise.windows)
        windows.push_back({{"window", window.window},
                           {"buckets", window.buckets},
                           {"steps_per_bucket", window.steps_per_bucket},
                           {"mse", window.mse},
                           {"mse_standard_error", window.mse_standard_error},
                           {"variance", window.variance},
                           {"bias_squared", window.bias_squared},
                           {"relative_mse", window.relative_mse},
                           {"correlation_max", window.correlation_max},
                           {"correlation_mean", window.correlation_mean},
                           {"bound", window.bound},
                           {"predicted", window.predicted},
                           {"independent", window.independent}});
    nlohmann::json result = {{"runs", noise.runs},
                             {"steps", noise.steps},
                             {"mse_per_step", noise.mse_per_step},
                             {"signal", noise.signal},
                             {"drift_block", noise.drift_block},
                             {"drift_max", noise.drift_max},
                             {"drift_rms", noise.drift_rms},
                             {"predicted_best_window", noise.predicted_best_window},
                             {"measured_best_window", noise.measured_best_window},
                             {"windows", windows}};
    if (noise.has_greedy)
        result["greedy"] = {{"variance", noise.greedy.variance},
                            {"signal", noise.greedy.signal},
                            {"relative_mse", noise.greedy.relative_mse}};
    return result;
}

// Columns: W, relative MSE, its standard error, bound, predicted, independent (all over the signal).
std::string plot_data(const hypergradient_noise& noise) {
    std::ostringstream data;
    data << std::setprecision(8);
    for (const window_noise& window : noise.windows)
        data << window.steps_per_bucket << " " << window.relative_mse << " " << window.mse_standard_error / noise.signal
             << " " << window.bound / noise.signal << " " << window.predicted / noise.signal << " "
             << window.independent / noise.signal << "\n";
    return data.str();
}

std::string gnuplot_script(const std::filesystem::path& data, const std::filesystem::path& image,
                           const std::string& terminal, const hypergradient_noise& noise, const std::string& setup) {
    // around the measured points and the greedy level; the bounds may leave the picture
    double lowest = noise.windows.front().relative_mse, highest = lowest;
    for (const window_noise& window : noise.windows) {
        lowest = std::min(lowest, window.relative_mse);
        highest = std::max(highest, window.relative_mse);
    }
    if (noise.has_greedy) highest = std::max(highest, noise.greedy.relative_mse);
    std::ostringstream script;
    script << "set terminal " << terminal << " size 960,640\n"
           << "set output '" << image.string() << "'\n"
           << "set title 'fds noise: " << setup << ", " << noise.runs << " runs of " << noise.steps
           << " steps' noenhanced\n"
           << "set logscale xy\nset grid\nset key top left noenhanced\n"
           << "set yrange [" << lowest / 4 << ":" << highest * 20 << "]\n"
           << "set xlabel 'sharing window W (steps per learning-rate bucket)'\n"
           << "set ylabel 'hypergradient MSE / mean squared expected hypergradient'\n"
           << "plot '" << data.string()
           << "' using 1:2:3 with yerrorlines lw 2 pt 7 title 'measured MSE_W (+- s.e.)', '" << data.string()
           << "' using 1:4 with lines dt 2 lw 2 title 'Theorem 4.1 bound (max |c|, max drift)', '" << data.string()
           << "' using 1:5 with lines dt 3 lw 2 title 'the same with mean c and rms drift', '" << data.string()
           << "' using 1:6 with lines dt 4 lw 1.5 title 'MSE_1 / W (independent noise, no drift)'";
    if (noise.has_greedy)
        script << ", " << noise.greedy.relative_mse
               << " with lines lw 2 lc rgb '#c00000' title 'greedy (one-step) hypergradients'";
    script << "\nset output\n";
    return script.str();
}

std::string noise_table(const hypergradient_noise& noise) {
    std::ostringstream table;
    table << std::setprecision(3);
    table
        << "| W | MSE_W / signal | +- s.e. | bias^2 share | max abs c | mean c | bound / signal | MSE_1 / W / signal |\n"
        << "|---|---|---|---|---|---|---|---|\n";
    for (const window_noise& window : noise.windows)
        table << "| " << window.steps_per_bucket << " | " << window.relative_mse << " | "
              << window.mse_standard_error / noise.signal << " | "
              << (window.mse > 0 ? window.bias_squared / window.mse : 0.0) << " | " << window.correlation_max << " | "
              << window.correlation_mean << " | " << window.bound / noise.signal << " | "
              << window.independent / noise.signal << " |\n";
    table << "\nMSE_1 / signal " << noise.mse_per_step / noise.signal << "; best measured window "
          << noise.measured_best_window << ", predicted (6 MSE_1 / eps_rms^2)^(1/3) = " << noise.predicted_best_window;
    if (noise.has_greedy) table << "; greedy (one-step) MSE / signal " << noise.greedy.relative_mse;
    table << "\n";
    return table.str();
}

}  // namespace detail

int run_noise(const std::vector<std::string>& arguments, std::ostream& output, std::ostream& errors) {
    parsed_arguments parsed = parse_arguments(detail::noise_grammar, arguments);
    if (parsed.help) {
        output << detail::noise_help();
        return 0;
    }
    apply_embedded_default(parsed);
    // the theorem is about exact hypergradients; hypertrain's Hessian-term clamp is a heuristic
    if (!parsed.given.count("clamp_HZ")) parsed.settings.clamp_HZ = false;
    const hypertrain_settings settings = resolve_settings(parsed.settings);
    if (parsed.print_config) {
        output << run_config("noise", settings).dump(2) << "\n";
        return 0;
    }
    const std::size_t steps = settings.noise_steps;
    const std::vector<std::size_t> windows =
        settings.noise_windows.empty() ? default_noise_windows(steps) : settings.noise_windows;
    for (std::size_t window : windows)
        if (window > steps)
            throw usage_error("--noise_windows: window " + std::to_string(window) +
                              " is longer than the run (--noise_steps " + std::to_string(steps) + ")");
    if (const std::string note = apply_thread_count(settings); !note.empty()) errors << note << "\n";
    const std::string directory =
        parsed.extra.count("out")
            ? parsed.extra["out"]
            : "runs/noise_" + default_run_directory(settings.dataset, settings.architecture, settings.seed).substr(5);
    const data::dataset dataset = load_checked_dataset(settings);
    nn::network<float> network = make_network<float>(settings, dataset);
    detail::check_tangent_memory(steps, network.parameter_count());
    run_directory run(directory);
    const bool resuming = run.open(run_config("noise", settings));
    std::ostream& human = parsed.json_output ? errors : output;
    progress_reporter reporter(human, progress_stream_is_terminal(parsed.json_output),
                               std::vector<std::size_t>(settings.noise_runs, 1));
    stop_cleanly_on_signals();
    std::vector<per_step_run> runs = detail::read_finished_runs(run, steps);

    if (runs.size() < settings.noise_runs) {
        reporter.message(std::string(resuming ? "fds: resuming " : "fds: measuring hypergradient noise into ") +
                         directory + " (" + settings.dataset + ", " + settings.architecture + ", " +
                         std::to_string(settings.noise_runs) + " runs of " + std::to_string(steps) + " steps, " +
                         std::to_string(runs.size()) + " done)");
        auto progress = [&](const progress_event& event) { reporter.update(update_of(event)); };
        while (runs.size() < settings.noise_runs) {
            per_step_run measured;
            try {
                measured = measure_per_step_hypergradients(network, settings, dataset, steps, runs.size(), progress);
            } catch (const std::invalid_argument& error) {
                throw usage_error(std::string("these options cannot be measured: ") + error.what());
            }
            std::ostringstream line;
            line << "run " << measured.run + 1 << "/" << settings.noise_runs << " done in "
                 << format_duration(measured.seconds);
            if (measured.diverged)
                line << ": diverged (non-finite loss), left out of the statistics";
            else
                line << ": validation loss " << std::setprecision(4) << measured.val_loss;
            reporter.message(line.str());
            run.append_history(detail::run_line(measured));
            runs.push_back(std::move(measured));
        }
        reporter.finish();
    }

    std::vector<std::vector<double>> per_step, greedy;
    double seconds = 0.0;
    for (const per_step_run& finished : runs) {
        seconds += finished.seconds;
        if (finished.diverged) continue;
        per_step.push_back(finished.hypergradient);
        greedy.push_back(finished.greedy);
    }
    if (per_step.size() < 2)
        throw std::runtime_error(
            "only " + std::to_string(per_step.size()) + " of " + std::to_string(runs.size()) +
            " runs trained without diverging; the statistics need 2 (try a smaller --inner_lr_init)");
    const hypergradient_noise noise = measure_hypergradient_noise(per_step, greedy, windows);
    const std::string setup = settings.dataset + " " + settings.architecture;
    nlohmann::json result = detail::noise_json(noise);
    result["format"] = "fds-noise";
    result["version"] = 1;
    result["setup"] = {{"dataset", settings.dataset},
                       {"architecture", settings.architecture},
                       {"train_batch_size", settings.train_batch_size},
                       {"lr", settings.inner_lr_init},
                       {"lr_shape", settings.inner_lr_init_shape},
                       {"mom", settings.inner_mom_init},
                       {"wd", settings.inner_wd_init},
                       {"runs_diverged", runs.size() - per_step.size()},
                       {"cpu", cpu_name()}};
    result["seconds"] = seconds;
    write_file_atomically(run.file("noise.json"), result.dump(2) + "\n");
    const std::filesystem::path data = std::filesystem::absolute(run.file("noise.dat"));
    write_file_atomically(data, detail::plot_data(noise));
    const plot_outcome plot =
        draw_with_gnuplot(run.path(), "noise", [&](const std::filesystem::path& image, const std::string& terminal) {
            return detail::gnuplot_script(data, image, terminal, noise, setup);
        });
    if (!plot.image_written) reporter.message("warning: " + plot.warning);
    human << "\n"
          << detail::noise_table(noise) << "\nmeasured in " << format_duration(seconds) << "; run directory "
          << directory << " (noise.json, noise.png, history.jsonl)\n"
          << std::flush;
    if (parsed.json_output) {
        result["run_directory"] = directory;
        output << result.dump(2) << "\n" << std::flush;
    }
    return 0;
}

}  // namespace fds::cli
