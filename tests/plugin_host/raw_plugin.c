/* A plugin written straight against the C table, without the SDK, so that it can break the
 * contract on purpose. What it breaks is chosen at compile time:
 *   RAW_TABLE_MAJOR / RAW_TABLE_MINOR  the version its table reports (default: the host's)
 *   RAW_MINOR_AHEAD                    report the host's minor + 1
 *   RAW_RETURN_NULL                    the entry point returns NULL (after logging why)
 *   RAW_SMALL_TABLE                    struct_size covers the version header only
 *   RAW_BAD_DESCRIBE                   describe answers junk bytes
 *   RAW_MARK_LOADED=<env var>          a constructor sets <env var>=1 when the library loads
 * When it loads, its instances answer every operation wrongly (see invoke below). */
#include <lifeboat/abi.h>
#include <stdlib.h>
#include <string.h>

#ifndef RAW_NAME
#define RAW_NAME "raw"
#endif
#ifndef RAW_TABLE_MAJOR
#define RAW_TABLE_MAJOR LIFEBOAT_ABI_MAJOR
#endif
#ifndef RAW_TABLE_MINOR
#ifdef RAW_MINOR_AHEAD
#define RAW_TABLE_MINOR (LIFEBOAT_ABI_MINOR + 1)
#else
#define RAW_TABLE_MINOR LIFEBOAT_ABI_MINOR
#endif
#endif

#define RAW_EXPORT __attribute__((visibility("default")))

static const lb_host_api* g_host;

/* A varint tag cut short: no protobuf message parses from it. */
static const uint8_t kJunk[] = {0xff, 0xff, 0xff, 0xff};

#ifdef RAW_MARK_LOADED
__attribute__((constructor)) static void mark_loaded(void) { setenv(RAW_MARK_LOADED, "1", 1); }
#endif

#ifndef RAW_BAD_DESCRIBE
/* Appends field `field` as a length-delimited string (shorter than 128 bytes). */
static size_t put_string(uint8_t* buf, size_t at, unsigned field, const char* s) {
  size_t n = strlen(s);
  buf[at++] = (uint8_t)((field << 3) | 2);
  buf[at++] = (uint8_t)n;
  memcpy(buf + at, s, n);
  return at + n;
}

/* Appends field `field` as a varint. */
static size_t put_varint(uint8_t* buf, size_t at, unsigned field, unsigned v) {
  buf[at++] = (uint8_t)(field << 3);
  while (v >= 0x80) {
    buf[at++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  buf[at++] = (uint8_t)v;
  return at;
}
#endif

static lb_code describe(lb_out* out) {
#ifdef RAW_BAD_DESCRIBE
  g_host->buffer_assign(out, kJunk, sizeof kJunk);
#else
  /* A lifeboat.v1.PluginDescriptor: name=1, version=2, component=3, abi_major=7, abi_minor=8. */
  uint8_t buf[256];
  size_t n = 0;
  n = put_string(buf, n, 1, RAW_NAME);
  n = put_string(buf, n, 2, "1.0.0");
  n = put_string(buf, n, 3, "raw");
  n = put_varint(buf, n, 7, RAW_TABLE_MAJOR);
  n = put_varint(buf, n, 8, RAW_TABLE_MINOR);
  g_host->buffer_assign(out, buf, n);
#endif
  return LB_OK;
}

static lb_code validate(const uint8_t* config, size_t size, lb_out* error) {
  (void)config;
  (void)size;
  (void)error;
  return LB_OK;
}

static int g_instance;

static lb_code create(lb_host_ctx* ctx, const uint8_t* config, size_t size, lb_instance** instance,
                      lb_out* error) {
  (void)ctx;
  (void)config;
  (void)size;
  (void)error;
  *instance = (lb_instance*)&g_instance;
  return LB_OK;
}

static void destroy(lb_instance* instance) { (void)instance; }

static lb_code invoke(lb_instance* instance, lb_call* call, lb_op op, const uint8_t* request,
                      size_t request_size, lb_out* response) {
  (void)instance;
  (void)call;
  (void)request;
  (void)request_size;
  switch (op) {
    case LB_OP_PROBE: /* OK, but the response is junk */
      g_host->buffer_assign(response, kJunk, sizeof kJunk);
      return LB_OK;
    case LB_OP_RESOLVE: /* a code outside the canonical set */
      return (lb_code)99;
    case LB_OP_CUT: /* a failure whose StatusDetail is junk */
      g_host->buffer_assign(response, kJunk, sizeof kJunk);
      return LB_UNAVAILABLE;
    case LB_OP_PREPARE: /* a failure with no detail at all */
      g_host->buffer_assign(response, NULL, 0);
      return LB_ABORTED;
    default:
      g_host->buffer_assign(response, NULL, 0);
      return LB_UNIMPLEMENTED;
  }
}

static const lb_plugin_api kTable = {
#ifdef RAW_SMALL_TABLE
    sizeof(uint32_t) + 2 * sizeof(uint16_t),
#else
    sizeof(lb_plugin_api),
#endif
    RAW_TABLE_MAJOR,
    RAW_TABLE_MINOR,
    describe,
    validate,
    create,
    destroy,
    invoke,
};

RAW_EXPORT const lb_plugin_api* lifeboat_plugin_init(const lb_host_api* host) {
#ifdef RAW_RETURN_NULL
  static const char kWhy[] = "refusing this host on purpose";
  host->log(NULL, LB_LOG_WARN, kWhy, sizeof kWhy - 1);
  (void)&kTable;
  return NULL;
#else
  g_host = host;
  return &kTable;
#endif
}
