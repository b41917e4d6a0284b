/* sandbox.h: what sdflow-serve may do once its model is loaded. */
#pragma once

/* No new privileges, no capabilities, and a seccomp allow-list of the
 * system calls that serving HTTP on already-open sockets needs.  Spawning
 * a process or a thread, or executing a program, kills the process; other
 * calls not on the list fail with EPERM.  Returns 0 or a negative errno. */
int sandbox_serve(void);
