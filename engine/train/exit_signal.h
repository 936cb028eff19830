// SIGTERM/SIGINT handling for training: the first signal asks the loop to save and exit at the
// end of the current iteration; a second one ends the process at once.
#pragma once

namespace me {

void install_exit_signal_handler();
bool exit_signal_received();

}  // namespace me
