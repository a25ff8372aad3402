#pragma once
// A test hook that kills the program at a named point, so that tests of crash safety know where
// each kill landed. With FDS_FAULT_POINT=NAME:N in the environment, the N-th call of
// fault_point(NAME) prints "fds: fault injection: SIGKILL at NAME N" to stderr and sends the
// process SIGKILL, as `kill -9` at that moment would; without it, fault_point only compares names.
// The points: outer_step_history (an outer step's history line written, its checkpoint not yet),
// outer_step_done (its checkpoint written), atomic_write (a file's temporary copy written, not
// yet renamed), append_line (half of a line appended), retrain_epoch (a retraining epoch's
// checkpoint written).

namespace fds::cli {

void fault_point(const char* name);

}  // namespace fds::cli
