/*
 * A test double of libWeWorkFinanceSdk_C.so: the 17 functions of WeWorkFinanceSdk_C.h, serving the
 * wecom-archive simulator's data (its /sdk/chatdata, /sdk/decrypt and /sdk/media routes at
 * WECOM_DOUBLE_URL), so the native backend can archive exactly what the simulator backend does.
 *
 * It also checks its caller the way the real library punishes it: a second Init, a call before
 * Init, a call while another runs on the same sdk, a DestroySdk of a dead sdk, or a double free of a
 * Slice or MediaData abort the process. WECOM_DOUBLE_STATS receives, at each DestroySdk, how many
 * Slices and MediaData are still alive, so tests can prove every one was freed.
 */
#define _DEFAULT_SOURCE
/* Only the 17 SDK functions are exported (the build uses -fvisibility=hidden). */
#pragma GCC visibility push(default)
#include "WeWorkFinanceSdk_C.h"
#pragma GCC visibility pop

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "double_faults.h"
#include "double_http.h"

#define SDK_MAGIC 0x5344u          /* "SD" */
#define SLICE_MAGIC 0x534cu        /* "SL" */
#define MEDIA_MAGIC 0x4d44u        /* "MD" */
#define DEAD_MAGIC 0xdeadu
#define DECRYPT_TIMEOUT_S 30
#define MAX_SDKS 256

struct WeWorkFinanceSdk_t {
    unsigned magic;
    int initialised;
    int in_call;
    char* corpid;
    char* secret;
};

/* The public struct first, so a caller reading the fields directly sees the official layout. */
typedef struct slice_box { Slice_t slice; unsigned magic; } slice_box;
typedef struct media_box { MediaData_t media; unsigned magic; } media_box;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static WeWorkFinanceSdk_t* live_sdks[MAX_SDKS];
static long calls, slices_live, media_live, inits, destroys;

static void count(long* counter, long delta) { __atomic_add_fetch(counter, delta, __ATOMIC_SEQ_CST); }

static int sdk_is_live(WeWorkFinanceSdk_t* sdk) {
    int found = 0;
    pthread_mutex_lock(&registry_lock);
    for (int i = 0; i < MAX_SDKS && sdk; i++) found |= live_sdks[i] == sdk;
    pthread_mutex_unlock(&registry_lock);
    return found;
}

/* Marks the sdk busy; two callers at once on one sdk is the misuse the archive must never commit. */
static void enter_call(WeWorkFinanceSdk_t* sdk, const char* fn) {
    if (!sdk_is_live(sdk)) { fprintf(stderr, "%s: ", fn); double_die("called with an sdk that is not alive (destroyed, or never created)"); }
    if (!sdk->initialised) { fprintf(stderr, "%s: ", fn); double_die("called before a successful Init"); }
    if (__atomic_exchange_n(&sdk->in_call, 1, __ATOMIC_SEQ_CST)) { fprintf(stderr, "%s: ", fn); double_die("two calls at once on one sdk"); }
    count(&calls, 1);
}

static void leave_call(WeWorkFinanceSdk_t* sdk) { __atomic_store_n(&sdk->in_call, 0, __ATOMIC_SEQ_CST); }

static char* copy_bytes(const char* p, size_t n) {
    char* out = malloc(n + 1);
    if (!out) return NULL;
    if (n) memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

/* Turns the simulator's answer into an SDK code: its x-sdk-ret, or 10002 for a cut or odd answer. */
static int reply_code(const http_reply* r) {
    if (r->status != 200) return 10001;
    if (r->ret != 0) return r->ret < 0 ? 10002 : r->ret;
    if (r->sdk_length < 0 || (size_t)r->sdk_length != r->body_len) return 10002;
    return 0;
}

static int post(const char* path, json_buf* body, int timeout_s, http_reply* reply) {
    if (body->failed) return 10003;
    int rc = http_post_json(path, body->data, body->len, timeout_s, reply);
    if (rc == 0) rc = reply_code(reply);
    return rc;
}

static int fill_slice(Slice_t* slice, const char* bytes, size_t n) {
    char* copy = copy_bytes(bytes, n);
    if (!copy || n > 0x7fffffff) { free(copy); return 10003; }
    free(slice->buf);
    slice->buf = copy;
    slice->len = (int)n;
    return 0;
}

WeWorkFinanceSdk_t* NewSdk() {
    WeWorkFinanceSdk_t* sdk = calloc(1, sizeof *sdk);
    if (!sdk) return NULL;
    sdk->magic = SDK_MAGIC;
    pthread_mutex_lock(&registry_lock);
    int slot = -1;
    for (int i = 0; i < MAX_SDKS && slot < 0; i++) if (!live_sdks[i]) slot = i;
    if (slot >= 0) live_sdks[slot] = sdk;
    pthread_mutex_unlock(&registry_lock);
    if (slot < 0) { free(sdk); return NULL; }
    return sdk;
}

int Init(WeWorkFinanceSdk_t* sdk, const char* corpid, const char* secret) {
    if (!sdk_is_live(sdk)) double_die("Init: called with an sdk that is not alive");
    if (sdk->initialised) double_die("Init: called twice on one sdk");
    if (!corpid || !secret || !*corpid) return 10000;
    int rc = double_init_ret();
    if (rc != 0) return rc;
    sdk->corpid = strdup(corpid);
    sdk->secret = strdup(secret);
    sdk->initialised = 1;
    count(&inits, 1);
    return 0;
}

static void write_stats(void) {
    const char* path = getenv("WECOM_DOUBLE_STATS");
    if (!path || !*path) return;
    FILE* f = fopen(path, "a");
    if (!f) return;
    fprintf(f, "{\"pid\":%ld,\"calls\":%ld,\"slices_live\":%ld,\"media_live\":%ld,\"inits\":%ld,\"destroys\":%ld}\n",
            (long)getpid(), calls, slices_live, media_live, inits, destroys);
    fclose(f);
}

void DestroySdk(WeWorkFinanceSdk_t* sdk) {
    if (!sdk) return;
    pthread_mutex_lock(&registry_lock);
    int slot = -1;
    for (int i = 0; i < MAX_SDKS && slot < 0; i++) if (live_sdks[i] == sdk) slot = i;
    if (slot >= 0) live_sdks[slot] = NULL;
    pthread_mutex_unlock(&registry_lock);
    if (slot < 0) double_die("DestroySdk: the sdk is not alive (destroyed twice?)");
    if (__atomic_load_n(&sdk->in_call, __ATOMIC_SEQ_CST)) double_die("DestroySdk: called while a call is running on this sdk");
    count(&destroys, 1);
    write_stats();
    free(sdk->corpid);
    if (sdk->secret) memset(sdk->secret, 0, strlen(sdk->secret));
    free(sdk->secret);
    sdk->magic = DEAD_MAGIC;
    free(sdk);
}

int GetChatData(WeWorkFinanceSdk_t* sdk, unsigned long long seq, unsigned int limit,
                const char* proxy, const char* passwd, int timeout, Slice_t* chatDatas) {
    if (!proxy || !passwd || !chatDatas) return 10000;  /* the official demo always passes strings */
    if (limit == 0 || limit > 1000) return 10000;
    enter_call(sdk, "GetChatData");
    int rc = double_fault_at_call(OP_CHATDATA);
    if (rc == 0) {
        json_buf body = { 0 };
        jb_raw(&body, "{\"corpid\":"); jb_string(&body, sdk->corpid);
        jb_raw(&body, ",\"secret\":"); jb_string(&body, sdk->secret);
        jb_raw(&body, ",\"seq\":\""); jb_u64(&body, seq);
        jb_raw(&body, "\",\"limit\":"); jb_u64(&body, limit);
        jb_raw(&body, ",\"proxy\":"); jb_string(&body, proxy);
        jb_raw(&body, ",\"passwd\":"); jb_string(&body, passwd);
        jb_raw(&body, ",\"timeout\":"); jb_u64(&body, timeout > 0 ? (unsigned)timeout : 0);
        jb_raw(&body, "}");
        http_reply reply;
        rc = post("/sdk/chatdata", &body, timeout, &reply);
        if (rc == 0) rc = fill_slice(chatDatas, reply.body, reply.body_len);
        http_reply_free(&reply);
        jb_free(&body);
    }
    leave_call(sdk);
    return rc;
}

int DecryptData(const char* encrypt_key, const char* encrypt_msg, Slice_t* msg) {
    if (!encrypt_key || !encrypt_msg || !msg) return 10000;
    count(&calls, 1);
    int rc = double_fault_at_call(OP_DECRYPT);
    if (rc != 0) return rc;
    json_buf body = { 0 };
    jb_raw(&body, "{\"encrypt_key\":"); jb_base64(&body, (const unsigned char*)encrypt_key, strlen(encrypt_key));
    jb_raw(&body, ",\"encrypt_msg\":"); jb_string(&body, encrypt_msg);
    jb_raw(&body, "}");
    http_reply reply;
    rc = post("/sdk/decrypt", &body, DECRYPT_TIMEOUT_S, &reply);
    if (rc == 0) rc = fill_slice(msg, reply.body, reply.body_len);
    http_reply_free(&reply);
    jb_free(&body);
    return rc;
}

int GetMediaData(WeWorkFinanceSdk_t* sdk, const char* indexbuf, const char* sdkFileid,
                 const char* proxy, const char* passwd, int timeout, MediaData_t* media_data) {
    if (!indexbuf || !sdkFileid || !proxy || !passwd || !media_data) return 10000;
    enter_call(sdk, "GetMediaData");
    int rc = double_fault_at_call(OP_MEDIA);
    if (rc == 0) {
        json_buf body = { 0 };
        jb_raw(&body, "{\"corpid\":"); jb_string(&body, sdk->corpid);
        jb_raw(&body, ",\"secret\":"); jb_string(&body, sdk->secret);
        jb_raw(&body, ",\"sdkfileid\":"); jb_string(&body, sdkFileid);
        jb_raw(&body, ",\"indexbuf\":"); jb_string(&body, indexbuf);
        jb_raw(&body, ",\"proxy\":"); jb_string(&body, proxy);
        jb_raw(&body, ",\"passwd\":"); jb_string(&body, passwd);
        jb_raw(&body, ",\"timeout\":"); jb_u64(&body, timeout > 0 ? (unsigned)timeout : 0);
        jb_raw(&body, "}");
        http_reply reply;
        rc = post("/sdk/media", &body, timeout, &reply);
        if (rc == 0 && reply.finish != 0 && reply.finish != 1) rc = 10002;
        if (rc == 0) {
            char* data = copy_bytes(reply.body, reply.body_len);
            char* index = copy_bytes(reply.out_index, strlen(reply.out_index));
            if (!data || !index) { free(data); free(index); rc = 10003; }
            else {
                free(media_data->data);
                free(media_data->outindexbuf);
                media_data->data = data;
                media_data->data_len = (int)reply.body_len;
                media_data->outindexbuf = index;
                media_data->out_len = (int)strlen(index);
                media_data->is_finish = reply.finish;
            }
        }
        http_reply_free(&reply);
        jb_free(&body);
    }
    leave_call(sdk);
    return rc;
}

Slice_t* NewSlice() {
    slice_box* box = calloc(1, sizeof *box);
    if (!box) return NULL;
    box->magic = SLICE_MAGIC;
    count(&slices_live, 1);
    return &box->slice;
}

void FreeSlice(Slice_t* slice) {
    if (!slice) return;
    slice_box* box = (slice_box*)slice;
    if (box->magic != SLICE_MAGIC) double_die("FreeSlice: not a live Slice (freed twice?)");
    box->magic = DEAD_MAGIC;
    free(slice->buf);
    free(box);
    count(&slices_live, -1);
}

/* WECOM_DOUBLE_GARBLE makes the accessors lie, as a broken library could: `len` (a negative
 * length), `null` (no buffer for a non-zero length), `huge` (a length far past the buffer), `finish`
 * (is_finish 7), `index` (control bytes in outindexbuf). The archive must refuse each with 10002. */
static int garble(const char* mode) {
    const char* v = getenv("WECOM_DOUBLE_GARBLE");
    return v && strcmp(v, mode) == 0;
}

char* GetContentFromSlice(Slice_t* slice) { return !slice || garble("null") ? NULL : slice->buf; }
int GetSliceLen(Slice_t* slice) {
    if (!slice) return 0;
    if (garble("len")) return -5;
    if (garble("huge")) return 0x7ffffff0;
    if (garble("null") && slice->len == 0) return 10;
    return slice->len;
}

MediaData_t* NewMediaData() {
    media_box* box = calloc(1, sizeof *box);
    if (!box) return NULL;
    box->magic = MEDIA_MAGIC;
    count(&media_live, 1);
    return &box->media;
}

void FreeMediaData(MediaData_t* media_data) {
    if (!media_data) return;
    media_box* box = (media_box*)media_data;
    if (box->magic != MEDIA_MAGIC) double_die("FreeMediaData: not a live MediaData (freed twice?)");
    box->magic = DEAD_MAGIC;
    free(media_data->outindexbuf);
    free(media_data->data);
    free(box);
    count(&media_live, -1);
}

char* GetOutIndexBuf(MediaData_t* media_data) {
    if (media_data && garble("index") && media_data->out_len >= 2) media_data->outindexbuf[1] = '\n';
    return media_data ? media_data->outindexbuf : NULL;
}
char* GetData(MediaData_t* media_data) { return !media_data || garble("null") ? NULL : media_data->data; }
int GetDataLen(MediaData_t* media_data) {
    if (!media_data) return 0;
    if (garble("len")) return -5;
    if (garble("huge")) return media_data->data_len + 600000;
    return media_data->data_len;
}

/* Built with -DWECOM_DOUBLE_INCOMPLETE, the library lacks two functions, like a wrong or damaged
 * .so: `doctor` and the loader must name what is missing. */
#ifndef WECOM_DOUBLE_INCOMPLETE
int GetIndexLen(MediaData_t* media_data) { return media_data ? media_data->out_len : 0; }
int IsMediaDataFinish(MediaData_t* media_data) { return !media_data ? 0 : garble("finish") ? 7 : media_data->is_finish; }
#endif
