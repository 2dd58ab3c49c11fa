/* auth.h: who a session is and what it may do. Principals (a token, an ipc uid or a TLS
 * certificate subject) carry a role and optionally a name prefix they are confined to; a
 * session is bound to one when it connects or says hello with a token (docs/security.md). */
#ifndef BROKER_AUTH_H
#define BROKER_AUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "op.h"

/* Roles, each allowing what the ones before it allow. */
enum role { ROLE_NONE, ROLE_RO, ROLE_RW, ROLE_ADMIN };

#define AUTH_TOKEN_MIN 16  /* shortest token accepted in a config */
#define AUTH_DIGEST_LEN 32 /* SHA-256 */
#define AUTH_MAX_PRINCIPALS 4096

struct principal {
	char *name;
	enum role role;
	char *prefix;  /* NULL: every name */
	char *subject; /* a TLS client certificate's subject (RFC 2253), or NULL */
	bool has_token, has_uid;
	unsigned char digest[AUTH_DIGEST_LEN]; /* of the token: the token itself is not kept */
	uid_t uid;
};

struct auth_conf {
	struct principal *list;
	size_t n;
	enum role anonymous; /* the role of a session no principal matched */
};

/* auth_parse: appends the principals of list (a JSON array of {"name", "role", "prefix",
 * and one of "token", "uid", "subject"}) to c; where names the source in messages. 0, or -1
 * after printing what is wrong on stderr. Tokens are never printed. */
int auth_parse(const json_t *list, const char *where, struct auth_conf *c);

/* auth_load_file: auth_parse of the file at path ({"principals": [...]} or the array
 * alone), which only its owner (root or brokerd's user) may read or write. 0, or -1. */
int auth_load_file(const char *path, struct auth_conf *c);

/* auth_role_parse: "none", "ro", "rw" or "admin". 0, or -1. */
int auth_role_parse(const char *text, enum role *out);

/* auth_role_name: the role's name. */
const char *auth_role_name(enum role r);

/* auth_conf_fini: frees what auth_parse added. */
void auth_conf_fini(struct auth_conf *c);

/* auth_install: the principals sessions are checked against from now on (borrowed: c must
 * outlive every session). */
void auth_install(const struct auth_conf *c);

/* auth_rebind: after the installed principals changed in place (a reload, whose old
 * principals are still allocated), binds every session to the principal of the same name,
 * or makes it anonymous. */
void auth_rebind(void);

/* auth_connect: binds a new session to the principal its transport proves: its ipc uid
 * (has_uid), or its TLS certificate's subject (subject, or NULL). Root and brokerd's own uid
 * over ipc are admin unless a principal names them; no match: the anonymous role. */
void auth_connect(struct session *s, bool has_uid, uid_t uid, const char *subject);

/* auth_hello: binds ctx's session to the principal whose token is token (compared in
 * constant time). 0, or unauthorized (the session keeps its principal). */
int auth_hello(op_ctx *ctx, const char *token);

/* auth_describe: sets "principal", "role" and "prefix" of s's identity on obj. */
void auth_describe(const struct session *s, json_t *obj);

/* auth_refuses: whether ctx's session may not run op d on ctx's object: sets unauthorized
 * (no principal, none allowed) or forbidden (its role or prefix) on ctx. */
bool auth_refuses(op_ctx *ctx, const struct op_def *d);

/* auth_name_refused: whether ctx's session may not use the object called name (an op's
 * other name argument): sets forbidden on ctx. */
bool auth_name_refused(op_ctx *ctx, const char *name);

/* auth_prefix: the name prefix ctx's session is confined to, or NULL. */
const char *auth_prefix(const op_ctx *ctx);

/* auth_is_admin: whether ctx may see and steer other sessions (no session: brokerd). */
bool auth_is_admin(const op_ctx *ctx);

#endif
