/*
 * tollgate-soak: whole-machine CPU use without the kernel's tick accounting, for `npm run bench`.
 *
 * The "cyclesoak" method: one SCHED_IDLE thread pinned to each online CPU spins on a fixed chunk
 * of arithmetic and counts the chunks it completes. A SCHED_IDLE thread runs only when nothing
 * else wants its CPU (any other task preempts it at once; softirq work runs in the interrupted
 * soaker's time), so the work a soaker loses during a measurement, against its rate with the
 * testbed idle (calibrated in the same run), is the CPU time everything else took on that CPU:
 * processes, ksoftirqd, softirq and hardirq work, and the hypervisor's steal. It does not rely
 * on /proc/stat, which this VM's tick accounting under-counts.
 * Limits: a SCHED_IDLE thread still gets about 0.3% of a CPU that a nice-0 task keeps busy
 * (weight 3 against 1024), so a fully busy CPU reads about 99.7% busy; the soakers keep the CPUs
 * out of their idle states (no wake-up latency from idle while they run); a CPU shared with a
 * hyperthread sibling or cache contention from the other CPU changes the soaker's own speed.
 *
 *   soak
 * Starts the soakers, then prints one JSON line per line read on stdin:
 *   {"ns":MONOTONIC_NS,"chunks":[CPU0,CPU1,...]}
 * and exits at end of input.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define MAXCPU 256
#define CHUNK 4096 /* iterations per counted chunk: a few microseconds */

static struct { volatile uint64_t chunks; char pad[56]; } count[MAXCPU];

static void *soak(void *arg)
{
    int cpu = (int)(intptr_t)arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof set, &set)) { perror("soak: affinity"); exit(1); }
    struct sched_param sp = { 0 };
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp)) { perror("soak: SCHED_IDLE"); exit(1); }
    uint64_t x = (uint64_t)cpu + 1;
    for (;;) {
        for (int i = 0; i < CHUNK; i++) x = x * 6364136223846793005ull + 1442695040888963407ull;
        __asm__ volatile("" : "+r"(x)); /* keep the chain: the compiler may not fold the loop */
        count[cpu].chunks++;
    }
    return NULL;
}

int main(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1 || n > MAXCPU) { fprintf(stderr, "soak: %ld CPUs\n", n); return 1; }
    for (long c = 0; c < n; c++) {
        pthread_t t;
        if (pthread_create(&t, NULL, soak, (void *)(intptr_t)c)) { perror("soak: thread"); return 1; }
    }
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        printf("{\"ns\":%llu,\"chunks\":[", (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec);
        for (long c = 0; c < n; c++) printf("%s%llu", c ? "," : "", (unsigned long long)count[c].chunks);
        printf("]}\n");
        fflush(stdout);
    }
    return 0;
}
