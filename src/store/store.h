/* store.h — kswarm's SQLite database: the transcript of swarm messages (and, later, the
 * other tables of history), with a schema version table and forward-only migrations.
 * The database runs in WAL mode (readers never block the writer), with a busy timeout and
 * foreign keys on. synchronous=NORMAL: a committed append survives the process being killed
 * (kill -9); a power loss may take back the last commits, never corrupt the file (FULL,
 * an fsync per append, measured 1.7 ms instead of 0.17 ms per publish; bench/bus.c).
 * ":memory:" opens a private in-memory database (tests); a "file:" URI is accepted
 * ("file:/var/lib/kswarm/kswarm.db?mode=ro" for a read-only view).
 * Threads: a struct store may be used from several threads; a mutex serializes its calls
 * (its prepared statements are cached and shared).
 * Ownership: store_open returns a store the caller closes with store_close. Messages passed
 * to callbacks are borrowed and valid during the call only; store_msg_get fills a message
 * the caller releases with swarm_msg_release. Errors name the SQLite error. */
#ifndef KS_STORE_H
#define KS_STORE_H

#include <stddef.h>
#include <stdint.h>

struct ks_err;
struct swarm_msg;
struct swarm_subject;
struct store;

/* The schema version this code migrates to. */
#define STORE_SCHEMA_VERSION 3
/* Milliseconds a call waits for another connection's lock before failing. */
#define STORE_BUSY_TIMEOUT_MS 5000

/* Open (creating when missing) and migrate the database at path. */
int store_open(const char *path, struct store **out, struct ks_err *err);
void store_close(struct store *s);
/* The schema version of the open database. */
int store_schema_version(struct store *s, int *version, struct ks_err *err);
/* The journal mode SQLite reports ("wal", or "memory" for ":memory:"); into out. */
int store_journal_mode(struct store *s, char *out, size_t outlen, struct ks_err *err);

/* Append m to the transcript in one transaction. m->id must be set and unique. When m->seq
 * is 0 SQLite picks the next one and m->seq is set to it; otherwise m->seq is used (the bus
 * gives id "m<seq>" and seq together). */
int store_append_msg(struct store *s, struct swarm_msg *m, struct ks_err *err);
/* The highest seq in the transcript (0 when empty). */
int store_last_seq(struct store *s, int64_t *seq, struct ks_err *err);

/* Called once per message; return nonzero to stop (that value is returned by the caller). */
typedef int (*store_msg_cb)(const struct swarm_msg *m, void *ctx);
/* Messages with seq > since_seq in seq order, at most limit (0: no limit). */
int store_msgs_since(struct store *s, int64_t since_seq, int limit, store_msg_cb cb,
		     void *ctx, struct ks_err *err);
/* The message with this id; KS_ENOTFOUND when none. */
int store_msg_get(struct store *s, const char *id, struct swarm_msg *out, struct ks_err *err);
/* Messages about this subject (kind, namespace and name all equal), in seq order, at most
 * limit (0: no limit). */
int store_msgs_about(struct store *s, const struct swarm_subject *subject, int limit,
		     store_msg_cb cb, void *ctx, struct ks_err *err);

#endif
