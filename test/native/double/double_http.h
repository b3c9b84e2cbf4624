/*
 * The smallest HTTP/1.1 client the double needs: one POST of a JSON body to the simulator named by
 * WECOM_DOUBLE_URL (http://HOST:PORT), one connection per call, the answer read by its length.
 */
#ifndef WECOM_DOUBLE_HTTP_H
#define WECOM_DOUBLE_HTTP_H

#include <stddef.h>

typedef struct http_reply {
    int status;              /* HTTP status code */
    int ret;                 /* x-sdk-ret: the SDK code the simulator answered */
    long long sdk_length;    /* x-sdk-length: the full length of the SDK output, -1 if absent */
    char out_index[1024];    /* x-sdk-outindex (GetMediaData) */
    int finish;              /* x-sdk-finish: 0 or 1, -1 if absent */
    char* body;
    size_t body_len;
} http_reply;

/* Returns 0 with `reply` filled, or the SDK code for what went wrong: 10001 when the simulator
 * cannot be reached or does not answer within timeout_s, 10002 when the answer is malformed. */
int http_post_json(const char* path, const char* body, size_t body_len, int timeout_s, http_reply* reply);
void http_reply_free(http_reply* reply);

/* A growable byte buffer for building JSON bodies. */
typedef struct json_buf {
    char* data;
    size_t len;
    size_t cap;
    int failed;
} json_buf;

void jb_raw(json_buf* b, const char* text);
void jb_string(json_buf* b, const char* text);      /* a JSON string, escaped */
void jb_base64(json_buf* b, const unsigned char* bytes, size_t n); /* a JSON string of base64 */
void jb_u64(json_buf* b, unsigned long long v);
void jb_free(json_buf* b);

#endif
