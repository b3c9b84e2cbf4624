/*
 * What the double does wrong on purpose, chosen by environment variables read at each call
 * (see README.md beside this file). A "call" is one GetChatData, DecryptData or GetMediaData whose
 * operation is listed in WECOM_DOUBLE_OPS (all three by default); calls are numbered from 1, per
 * process, or across processes when WECOM_DOUBLE_COUNTER names a file.
 */
#ifndef WECOM_DOUBLE_FAULTS_H
#define WECOM_DOUBLE_FAULTS_H

typedef enum double_op { OP_CHATDATA, OP_DECRYPT, OP_MEDIA } double_op;

/* Counts the call and carries out the fault asked for at this call: returns 0 to go on, or an SDK
 * code to return at once. Does not return when the fault is a crash, an abort or a hang. */
int double_fault_at_call(double_op op);

/* The code Init should return (WECOM_DOUBLE_INIT_RET), 0 by default; "segv" crashes Init. */
int double_init_ret(void);

/* Stops the process with `message` on stderr, as glibc does on a detected misuse. */
void double_die(const char* message) __attribute__((noreturn));

#endif
