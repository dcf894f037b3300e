/* store_db.h — for the store's own table modules (store/plans.c ...), not for other callers:
 * the SQLite handle under the store's mutex. store__lock takes the mutex and returns the
 * handle; every path must end with store__unlock. Statements prepared on it are the
 * caller's to finalize before unlocking. */
#ifndef KS_STORE_DB_H
#define KS_STORE_DB_H

#include <sqlite3.h>

struct store;

sqlite3 *store__lock(struct store *s);
void store__unlock(struct store *s);
const char *store__path(const struct store *s);

#endif
