/* sanitize.c: linked into the installed programs of a sanitized build
 * (tools/build-deb --sanitize) only.  Reports go to stderr, so to the
 * journal of whatever unit runs the program, where the integration tests
 * look for them; ASAN_OPTIONS/UBSAN_OPTIONS in the environment still win. */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

const char *__asan_default_options(void) {
        /* Leaks are the unit tests' to find: at exit, LeakSanitizer needs
         * ptrace, which the units' system call filters refuse. */
        return "abort_on_error=1:detect_leaks=0:print_summary=1";
}

const char *__ubsan_default_options(void) {
        return "print_stacktrace=1:report_error_type=1";
}
