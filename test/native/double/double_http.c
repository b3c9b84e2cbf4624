#define _POSIX_C_SOURCE 200809L
#include "double_http.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_ANSWER (64u << 20)

/* ---- JSON building ---- */

static void jb_reserve(json_buf* b, size_t more) {
    if (b->failed || b->len + more + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1) cap *= 2;
    char* grown = realloc(b->data, cap);
    if (!grown) { b->failed = 1; return; }
    b->data = grown;
    b->cap = cap;
}

static void jb_bytes(json_buf* b, const char* p, size_t n) {
    jb_reserve(b, n);
    if (b->failed) return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void jb_raw(json_buf* b, const char* text) { jb_bytes(b, text, strlen(text)); }

void jb_string(json_buf* b, const char* text) {
    jb_raw(b, "\"");
    for (const unsigned char* p = (const unsigned char*)text; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') { esc[0] = '\\'; esc[1] = (char)*p; jb_bytes(b, esc, 2); }
        else if (*p < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", *p); jb_raw(b, esc); }
        else jb_bytes(b, (const char*)p, 1);
    }
    jb_raw(b, "\"");
}

void jb_base64(json_buf* b, const unsigned char* in, size_t n) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    jb_raw(b, "\"");
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        char quad[4] = { alphabet[v >> 18 & 63], alphabet[v >> 12 & 63], i + 1 < n ? alphabet[v >> 6 & 63] : '=', i + 2 < n ? alphabet[v & 63] : '=' };
        jb_bytes(b, quad, 4);
    }
    jb_raw(b, "\"");
}

void jb_u64(json_buf* b, unsigned long long v) {
    char digits[24];
    snprintf(digits, sizeof digits, "%llu", v);
    jb_raw(b, digits);
}

void jb_free(json_buf* b) { free(b->data); memset(b, 0, sizeof *b); }

/* ---- HTTP ---- */

/* WECOM_DOUBLE_URL = http://HOST:PORT (an optional path prefix is kept) */
static int parse_url(char* host, size_t host_cap, char* port, size_t port_cap, char* prefix, size_t prefix_cap) {
    const char* url = getenv("WECOM_DOUBLE_URL");
    if (!url || strncmp(url, "http://", 7) != 0) return -1;
    const char* h = url + 7;
    const char* slash = strchr(h, '/');
    size_t authority = slash ? (size_t)(slash - h) : strlen(h);
    const char* colon = NULL;
    if (*h == '[') {                        /* [::1]:port */
        const char* close = memchr(h, ']', authority);
        if (!close) return -1;
        if ((size_t)(close - h - 1) >= host_cap) return -1;
        memcpy(host, h + 1, (size_t)(close - h - 1));
        host[close - h - 1] = '\0';
        colon = close + 1 < h + authority && close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = memchr(h, ':', authority);
        size_t n = colon ? (size_t)(colon - h) : authority;
        if (n == 0 || n >= host_cap) return -1;
        memcpy(host, h, n);
        host[n] = '\0';
    }
    size_t pn = colon ? (size_t)(h + authority - colon - 1) : 2;
    if (pn == 0 || pn >= port_cap) return -1;
    if (colon) { memcpy(port, colon + 1, pn); port[pn] = '\0'; } else strcpy(port, "80");
    const char* path = slash ? slash : "";
    size_t plen = strlen(path);
    while (plen > 0 && path[plen - 1] == '/') plen--;
    if (plen >= prefix_cap) return -1;
    memcpy(prefix, path, plen);
    prefix[plen] = '\0';
    return 0;
}

static int connect_to(const char* host, const char* port, int timeout_s) {
    struct addrinfo hints = { 0 }, *list = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &list) != 0) return -1;
    int fd = -1;
    for (struct addrinfo* ai = list; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) continue;
        struct timeval tv = { .tv_sec = timeout_s > 0 ? timeout_s : 1, .tv_usec = 0 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) { close(fd); fd = -1; }
    }
    freeaddrinfo(list);
    return fd;
}

static int send_all(int fd, const char* p, size_t n) {
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* The value of header `name` in the header block [head, end), copied into out; 0 if found. */
static int header_value(const char* head, const char* end, const char* name, char* out, size_t cap) {
    size_t nlen = strlen(name);
    for (const char* line = head; line < end;) {
        const char* eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol) eol = end;
        if ((size_t)(eol - line) > nlen && strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char* v = line + nlen + 1;
            while (v < eol && (*v == ' ' || *v == '\t')) v++;
            const char* ve = eol;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ')) ve--;
            size_t n = (size_t)(ve - v);
            if (n >= cap) return -1;
            memcpy(out, v, n);
            out[n] = '\0';
            return 0;
        }
        line = eol + 1;
    }
    return -1;
}

int http_post_json(const char* path, const char* body, size_t body_len, int timeout_s, http_reply* reply) {
    memset(reply, 0, sizeof *reply);
    reply->ret = -1;
    reply->sdk_length = -1;
    reply->finish = -1;
    char host[256], port[16], prefix[512];
    if (parse_url(host, sizeof host, port, sizeof port, prefix, sizeof prefix) != 0) return 10001;
    int fd = connect_to(host, port, timeout_s);
    if (fd < 0) return 10001;

    char head[1024];
    int hn = snprintf(head, sizeof head,
                      "POST %s%s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      prefix, path, host, port, body_len);
    if (hn <= 0 || (size_t)hn >= sizeof head || send_all(fd, head, (size_t)hn) != 0 || send_all(fd, body, body_len) != 0) {
        close(fd);
        return 10001;
    }

    size_t cap = 64 * 1024, len = 0;
    char* buf = malloc(cap);
    long long content_length = -1;
    size_t body_at = 0;
    int rc = 0;
    for (;;) {
        if (len == cap) {
            if (cap >= MAX_ANSWER) { rc = 10002; break; }
            char* grown = realloc(buf, cap * 2);
            if (!grown) { rc = 10003; break; }
            buf = grown;
            cap *= 2;
        }
        ssize_t k = recv(fd, buf + len, cap - len, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) { rc = 10001; break; }      /* timeout or reset */
        if (k == 0) break;
        len += (size_t)k;
        if (!body_at) {
            for (size_t i = len >= (size_t)k + 3 ? len - (size_t)k - 3 : 0; i + 3 < len; i++) {
                if (memcmp(buf + i, "\r\n\r\n", 4) == 0) { body_at = i + 4; break; }
            }
            if (body_at) {
                char v[32];
                if (header_value(buf, buf + body_at, "content-length", v, sizeof v) == 0) content_length = atoll(v);
            }
        }
        if (body_at && content_length >= 0 && len - body_at >= (size_t)content_length) break;
    }
    close(fd);
    if (rc == 0 && !body_at) rc = len == 0 ? 10001 : 10002;   /* nothing at all: the connection dropped */
    if (rc == 0 && content_length >= 0 && len - body_at < (size_t)content_length) rc = 10002;
    if (rc == 0 && (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0)) rc = 10002;
    if (rc != 0) { free(buf); return rc; }

    reply->status = atoi(buf + 9);
    char v[64];
    const char* hend = buf + body_at;
    if (header_value(buf, hend, "x-sdk-ret", v, sizeof v) == 0) reply->ret = atoi(v);
    if (header_value(buf, hend, "x-sdk-length", v, sizeof v) == 0) reply->sdk_length = atoll(v);
    if (header_value(buf, hend, "x-sdk-finish", v, sizeof v) == 0) reply->finish = atoi(v);
    if (header_value(buf, hend, "x-sdk-outindex", reply->out_index, sizeof reply->out_index) != 0) reply->out_index[0] = '\0';
    size_t blen = content_length >= 0 ? (size_t)content_length : len - body_at;
    memmove(buf, buf + body_at, blen);
    reply->body = buf;
    reply->body_len = blen;
    return 0;
}

void http_reply_free(http_reply* reply) {
    free(reply->body);
    reply->body = NULL;
    reply->body_len = 0;
}
