/* hog.c: a process that uses a resource on purpose, for the enforcement tier.
 *   hog mem MB SECONDS   allocate and touch MB MiB, then sleep
 *   hog cpu SECONDS      spin on one CPU
 *   hog fork N           start up to N children; print how many started */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
        if (argc == 4 && strcmp(argv[1], "mem") == 0) {
                size_t mb = strtoul(argv[2], NULL, 10);
                for (size_t i = 0; i < mb; i++) {
                        char *p = malloc(1 << 20);
                        if (!p)
                                return 1;
                        memset(p, 1, 1 << 20);
                }
                printf("allocated %zu MiB\n", mb);
                fflush(stdout);
                sleep((unsigned) atoi(argv[3]));
                return 0;
        }
        if (argc == 3 && strcmp(argv[1], "cpu") == 0) {
                double end = now() + atof(argv[2]);
                volatile unsigned long x = 0;
                while (now() < end)
                        for (int i = 0; i < 100000; i++)
                                x++;
                return 0;
        }
        if (argc == 3 && strcmp(argv[1], "fork") == 0) {
                int n = atoi(argv[2]), ok = 0;
                pid_t kids[1024];
                for (int i = 0; i < n && i < 1024; i++) {
                        pid_t p = fork();
                        if (p == 0) {
                                pause();
                                _exit(0);
                        }
                        if (p < 0)
                                break;
                        kids[ok++] = p;
                }
                printf("forked %d\n", ok);
                fflush(stdout);
                for (int i = 0; i < ok; i++) {
                        kill(kids[i], SIGKILL);
                        waitpid(kids[i], NULL, 0);
                }
                return 0;
        }
        fprintf(stderr, "usage: hog mem MB SECONDS | cpu SECONDS | fork N\n");
        return 2;
}
