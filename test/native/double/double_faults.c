#define _DEFAULT_SOURCE
#include "double_faults.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static const char* const OP_NAMES[] = { "chatdata", "decrypt", "media" };

void double_die(const char* message) {
    fprintf(stderr, "%s\n", message);
    fflush(stderr);
    abort();
}

/* Is `op` one of the comma-separated names in WECOM_DOUBLE_OPS (all when unset)? */
static int op_selected(double_op op) {
    const char* list = getenv("WECOM_DOUBLE_OPS");
    if (!list || !*list) return 1;
    size_t n = strlen(OP_NAMES[op]);
    for (const char* p = list; (p = strstr(p, OP_NAMES[op])) != NULL; p += n) {
        int starts = p == list || p[-1] == ',';
        int ends = p[n] == '\0' || p[n] == ',';
        if (starts && ends) return 1;
    }
    return 0;
}

/* The number of this call: per process, or shared through the WECOM_DOUBLE_COUNTER file. */
static unsigned long next_call_number(void) {
    static unsigned long local;
    const char* path = getenv("WECOM_DOUBLE_COUNTER");
    if (!path || !*path) return __atomic_add_fetch(&local, 1, __ATOMIC_SEQ_CST);
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    if (fd < 0) double_die("finance double: cannot open WECOM_DOUBLE_COUNTER");
    flock(fd, LOCK_EX);
    char text[32] = { 0 };
    ssize_t got = pread(fd, text, sizeof text - 1, 0);
    unsigned long n = (got > 0 ? strtoul(text, NULL, 10) : 0) + 1;
    int len = snprintf(text, sizeof text, "%lu\n", n);
    if (pwrite(fd, text, (size_t)len, 0) != len || ftruncate(fd, len) != 0) double_die("finance double: cannot write WECOM_DOUBLE_COUNTER");
    flock(fd, LOCK_UN);
    close(fd);
    return n;
}

/* SPEC: "N" (the Nth call), "N,M,…", "every:K" (calls K, 2K, …) or "*" (every call). */
static int spec_matches(const char* spec, unsigned long n) {
    if (!spec || !*spec) return 0;
    if (strcmp(spec, "*") == 0) return 1;
    if (strncmp(spec, "every:", 6) == 0) {
        unsigned long k = strtoul(spec + 6, NULL, 10);
        return k > 0 && n % k == 0;
    }
    for (const char* p = spec; *p;) {
        char* end;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p) return 0;
        if (v == n) return 1;
        p = *end == ',' ? end + 1 : end;
        if (*end != ',' && *end != '\0') return 0;
    }
    return 0;
}

static void crash_segv(void) {
    int* volatile nowhere = NULL;
    *nowhere = 42;          /* a real invalid write, as a buggy SDK would do */
    raise(SIGSEGV);
}

int double_fault_at_call(double_op op) {
    if (!op_selected(op)) return 0;
    unsigned long n = next_call_number();

    const char* leak = getenv("WECOM_DOUBLE_LEAK");
    if (leak && *leak) {
        size_t bytes = strtoul(leak, NULL, 10);
        void* lost = malloc(bytes);
        if (lost) memset(lost, 0xab, bytes);     /* touched, so it is resident: RSS grows */
    }
    const char* slow = getenv("WECOM_DOUBLE_SLOW_MS");
    if (slow && *slow) {
        long ms = strtol(slow, NULL, 10);
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    }
    if (spec_matches(getenv("WECOM_DOUBLE_HANG"), n)) {
        for (;;) pause();
    }
    if (spec_matches(getenv("WECOM_DOUBLE_SEGV"), n)) crash_segv();
    if (spec_matches(getenv("WECOM_DOUBLE_ABORT"), n)) double_die("free(): invalid pointer");

    /* WECOM_DOUBLE_RET = CODE (every call) or CODE@SPEC */
    const char* ret = getenv("WECOM_DOUBLE_RET");
    if (ret && *ret) {
        int code = atoi(ret);
        const char* at = strchr(ret, '@');
        if (!at || spec_matches(at + 1, n)) return code;
    }
    return 0;
}

int double_init_ret(void) {
    const char* v = getenv("WECOM_DOUBLE_INIT_RET");
    if (v && strcmp(v, "segv") == 0) crash_segv();
    return v && *v ? atoi(v) : 0;
}
