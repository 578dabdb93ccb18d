/* Lifeboat plugin ABI: the only contract between the host (lifeboatd, lifeboat-agent, the
 * tests) and a component plugin loaded at run time.
 *
 * Rules (docs/plugin-guide.md, "ABI policy"):
 *  - Pure C. Only opaque handles, (pointer, length) byte buffers, integers and enums cross.
 *    Everything structured is a serialized protobuf message from sdk/proto/lifeboat/v1.
 *  - Each table starts with struct_size, abi_major, abi_minor. Fields are only appended;
 *    every appended field bumps LIFEBOAT_ABI_MINOR. A removal or a change of meaning bumps
 *    LIFEBOAT_ABI_MAJOR. tests/unit/abi_header_test.cc fails when this file changes without
 *    a bump (it pins a digest of this file per version).
 *  - The host refuses a plugin whose major differs from its own, or whose minor is greater
 *    than its own. A reader of a table checks struct_size before touching a field that was
 *    appended after the version it was built against.
 *  - Memory: a pointer passed into a call is borrowed for the duration of that call only.
 *    Output bytes are handed to the host with host->buffer_assign(out, ...), which copies;
 *    the plugin never frees host memory and the host never frees plugin memory.
 *  - No C++ exception and no longjmp crosses this boundary (the C++ SDK catches them all).
 */
#ifndef LIFEBOAT_ABI_H_
#define LIFEBOAT_ABI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LIFEBOAT_ABI_MAJOR 1
#define LIFEBOAT_ABI_MINOR 1

/* Name of the one symbol every plugin library exports. */
#define LIFEBOAT_PLUGIN_INIT_SYMBOL "lifeboat_plugin_init"

/* Canonical status codes (same numbers as google.rpc.Code / absl::StatusCode).
 * The engine acts on them: UNAVAILABLE retry with backoff, ABORTED restart the phase,
 * FAILED_PRECONDITION park the job for an operator, DATA_LOSS alert, UNIMPLEMENTED never
 * retry. */
typedef enum lb_code {
  LB_OK = 0,
  LB_CANCELLED = 1,
  LB_UNKNOWN = 2,
  LB_INVALID_ARGUMENT = 3,
  LB_DEADLINE_EXCEEDED = 4,
  LB_NOT_FOUND = 5,
  LB_ALREADY_EXISTS = 6,
  LB_PERMISSION_DENIED = 7,
  LB_RESOURCE_EXHAUSTED = 8,
  LB_FAILED_PRECONDITION = 9,
  LB_ABORTED = 10,
  LB_OUT_OF_RANGE = 11,
  LB_UNIMPLEMENTED = 12,
  LB_INTERNAL = 13,
  LB_UNAVAILABLE = 14,
  LB_DATA_LOSS = 15,
  LB_UNAUTHENTICATED = 16
} lb_code;

typedef enum lb_log_level {
  LB_LOG_TRACE = 0,
  LB_LOG_DEBUG = 1,
  LB_LOG_INFO = 2,
  LB_LOG_WARN = 3,
  LB_LOG_ERROR = 4
} lb_log_level;

/* Operations of a component plugin. Append only; a plugin answers LB_UNIMPLEMENTED to an
 * operation it does not know. Request and response message types are listed in
 * sdk/proto/lifeboat/v1/plugin.proto next to each operation. */
typedef enum lb_op {
  LB_OP_PROBE = 1,
  LB_OP_RESOLVE = 2,
  LB_OP_PREPARE = 3,
  LB_OP_CUT = 4,
  LB_OP_RELEASE = 5,
  LB_OP_PLAN_TRANSFER = 6,
  LB_OP_TRANSFER = 7,
  LB_OP_VERIFY = 8,
  LB_OP_COMMIT = 9,
  LB_OP_RESTORE = 10,
  LB_OP_EXPIRE = 11,
  LB_OP_SYNC_SECURITY = 12,
  LB_OP_FENCE = 13,
  LB_OP_UNFENCE = 14,
  /* ABI 1.1: serve a byte range of an item of a snapshot or point this instance holds to a
   * peer (ReadRequest -> ReadResponse); the bytes leave through host->emit_chunk. */
  LB_OP_READ = 15
} lb_op;

/* Opaque handles. The host owns lb_host_ctx, lb_call and lb_out; the plugin owns
 * lb_instance. */
typedef struct lb_host_ctx lb_host_ctx;
typedef struct lb_call lb_call;
typedef struct lb_out lb_out;
typedef struct lb_instance lb_instance;

/* Services the host offers to a plugin. All functions are thread-safe. */
typedef struct lb_host_api {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  /* Copies (data, size) into `out`, replacing what it held. */
  void (*buffer_assign)(lb_out* out, const uint8_t* data, size_t size);
  /* Writes one log line on behalf of the instance that owns `ctx` (may be NULL for
   * plugin-wide messages). The host adds plugin name, cluster and time. */
  void (*log)(lb_host_ctx* ctx, lb_log_level level, const char* message, size_t size);
  /* Reports progress of a long call: a serialized lifeboat.v1.Progress. */
  void (*report_progress)(lb_call* call, const uint8_t* progress, size_t size);
  /* Returns 1 once the caller wants the call to stop; the plugin then returns
   * LB_CANCELLED at the next safe point, leaving resumable state behind. */
  int32_t (*is_cancelled)(lb_call* call);
  /* Wall clock of the host, nanoseconds since the Unix epoch (UTC). Cut times are taken
   * from this clock so that they can be compared across agents. */
  int64_t (*now_unix_nanos)(lb_host_ctx* ctx);

  /* ---- ABI 1.1 (check struct_size before use: an ABI 1.0 host does not have them) ---- */

  /* Serving side of a peer read (LB_OP_READ only): hands the next `size` bytes of the
   * requested range to the reader, in order. Blocks while the reader's window is full (flow
   * control). Returns 0 to go on, 1 to stop: the reader is gone, the call was cancelled, or
   * the call is not a read; the plugin then returns LB_CANCELLED. The bytes are copied
   * before it returns. */
  int32_t (*emit_chunk)(lb_call* call, const uint8_t* data, size_t size);
  /* Reading side: reads a byte range of an item held by a peer instance of the same plugin
   * on another cluster (`request`: a serialized lifeboat.v1.PeerReadRequest). The host runs
   * LB_OP_READ on the peer (through the peers' agents, or in-process when there are none)
   * and calls on_chunk(ctx, data, size) with the bytes in order, on the calling thread;
   * `data` is valid during that call only. A non-LB_OK return of on_chunk stops the read,
   * and peer_read returns that code. Returns LB_OK when the whole range arrived. On any
   * other result the host first calls on_error(ctx, detail, size) once with a serialized
   * lifeboat.v1.StatusDetail saying why (UNAVAILABLE naming the peer when it cannot be
   * reached, CANCELLED when the call was cancelled, the serving plugin's own status); it
   * does not call on_error when on_chunk stopped the read. (An error callback rather than an
   * lb_out: lb_out is the host's, and a plugin cannot make one.) */
  lb_code (*peer_read)(lb_call* call, const uint8_t* request, size_t request_size,
                       lb_code (*on_chunk)(void* ctx, const uint8_t* data, size_t size),
                       void (*on_error)(void* ctx, const uint8_t* detail, size_t size), void* ctx);
} lb_host_api;

/* What a plugin offers. */
typedef struct lb_plugin_api {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  /* Writes a serialized lifeboat.v1.PluginDescriptor into `out`. */
  lb_code (*describe)(lb_out* out);
  /* Checks a serialized lifeboat.v1.PluginConfig without side effects. On failure writes
   * a serialized lifeboat.v1.StatusDetail into `error`. */
  lb_code (*validate)(const uint8_t* config, size_t config_size, lb_out* error);
  /* Creates an instance for one cluster from a serialized lifeboat.v1.PluginConfig.
   * `ctx` stays valid until destroy() returns. On failure *instance is untouched and a
   * serialized lifeboat.v1.StatusDetail is written into `error`. */
  lb_code (*create)(lb_host_ctx* ctx, const uint8_t* config, size_t config_size,
                    lb_instance** instance, lb_out* error);
  /* Destroys an instance. No call on it may be running. */
  void (*destroy)(lb_instance* instance);
  /* Runs one operation. `request` is the serialized request message of `op`. On LB_OK the
   * serialized response message is in `response`; otherwise `response` holds a serialized
   * lifeboat.v1.StatusDetail. Calls on one instance may run concurrently. */
  lb_code (*invoke)(lb_instance* instance, lb_call* call, lb_op op, const uint8_t* request,
                    size_t request_size, lb_out* response);
} lb_plugin_api;

/* The one entry point. Returns the plugin's table, valid until the library is unloaded,
 * or NULL when the plugin cannot work with this host (it then logs why through `host`).
 * `host` stays valid until the library is unloaded. */
typedef const lb_plugin_api* (*lb_plugin_init_fn)(const lb_host_api* host);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LIFEBOAT_ABI_H_ */
