/* auth.c: principals from the config, binding sessions to them, and the role and prefix
 * check every request passes before it runs. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "log.h"
#include "object.h"
#include "session.h"

static const char *const role_names[] = {"none", "ro", "rw", "admin"};
static const struct auth_conf no_principals = {.anonymous = ROLE_ADMIN};
static const struct auth_conf *conf = &no_principals;
/* root and brokerd's own user over ipc, when no principal names them */
static const struct principal root_principal = {.name = "root", .role = ROLE_ADMIN};
static const struct principal self_principal = {.name = "brokerd", .role = ROLE_ADMIN};

static int bad(const char *where, size_t i, const char *what)
{
	fprintf(stderr, "brokerd: %s: principals[%zu]: %s\n", where, i, what);
	return -1;
}

int auth_role_parse(const char *text, enum role *out)
{
	for (size_t r = 0; r < sizeof role_names / sizeof *role_names; r++)
		if (text && !strcmp(text, role_names[r])) {
			*out = (enum role)r;
			return 0;
		}
	return -1;
}

const char *auth_role_name(enum role r)
{
	return role_names[r];
}

static void digest(const char *token, size_t len, unsigned char out[AUTH_DIGEST_LEN])
{
	unsigned int n = AUTH_DIGEST_LEN;
	if (EVP_Digest(token, len, out, &n, EVP_sha256(), NULL) != 1)
		abort(); /* SHA-256 is always there: not something input can cause */
}

/* parse_uid: a principal's "uid", a number or a user name. 0, or -1. */
static int parse_uid(const json_t *v, uid_t *out)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) < (json_int_t)UINT32_MAX) {
		*out = (uid_t)json_integer_value(v);
		return 0;
	}
	struct passwd *p = json_is_string(v) ? getpwnam(json_string_value(v)) : NULL;
	if (!p)
		return -1;
	*out = p->pw_uid;
	return 0;
}

/* parse_credential: the one credential of principal e into p. NULL, or what is wrong. */
static const char *parse_credential(const json_t *e, struct principal *p)
{
	const json_t *token = json_object_get(e, "token"), *uid = json_object_get(e, "uid"),
		     *subject = json_object_get(e, "subject");
	if (!!token + !!uid + !!subject != 1)
		return "needs exactly one of \"token\", \"uid\" and \"subject\"";
	if (token && (!json_is_string(token) || json_string_length(token) < AUTH_TOKEN_MIN))
		return "\"token\" must be a string of at least 16 characters";
	if (uid && parse_uid(uid, &p->uid) != 0)
		return "\"uid\" must be a uid or the name of a user that exists";
	if (subject && (!json_is_string(subject) || !json_string_length(subject)))
		return "\"subject\" must be a certificate subject such as \"CN=worker,O=Example\"";
	if (token)
		digest(json_string_value(token), json_string_length(token), p->digest);
	p->has_token = token != NULL;
	p->has_uid = uid != NULL;
	p->subject = subject ? strdup(json_string_value(subject)) : NULL;
	return NULL;
}

/* parse_one: principal e into p. NULL, or what is wrong. */
static const char *parse_one(const json_t *e, struct principal *p)
{
	const char *key, *name = json_string_value(json_object_get(e, "name"));
	const char *prefix = json_string_value(json_object_get(e, "prefix"));
	json_t *v;
	if (!json_is_object(e))
		return "must be an object";
	json_object_foreach ((json_t *)e, key, v)
		if (strcmp(key, "name") && strcmp(key, "role") && strcmp(key, "prefix") &&
		    strcmp(key, "token") && strcmp(key, "uid") && strcmp(key, "subject"))
			return "takes only name, role, prefix, and token, uid or subject";
	if (!name || !*name || strlen(name) > 64)
		return "needs \"name\", a string of 1 to 64 characters";
	if (auth_role_parse(json_string_value(json_object_get(e, "role")), &p->role) != 0 ||
	    p->role == ROLE_NONE)
		return "needs \"role\": \"admin\", \"rw\" or \"ro\"";
	if (json_object_get(e, "prefix") && (!prefix || !*prefix))
		return "\"prefix\" must be a non-empty string";
	const char *why = parse_credential(e, p);
	p->name = strdup(name);
	p->prefix = prefix ? strdup(prefix) : NULL;
	return why;
}

int auth_parse(const json_t *list, const char *where, struct auth_conf *c)
{
	size_t i;
	json_t *e;
	if (!json_is_array(list))
		return bad(where, 0, "\"principals\" must be an array");
	if (c->n + json_array_size(list) > AUTH_MAX_PRINCIPALS)
		return bad(where, json_array_size(list), "too many principals (at most 4096)");
	struct principal *grown = realloc(c->list, (c->n + json_array_size(list)) * sizeof *grown);
	if (!grown && json_array_size(list))
		return bad(where, 0, "out of memory");
	c->list = grown;
	json_array_foreach (list, i, e) {
		struct principal *p = memset(&c->list[c->n++], 0, sizeof *p);
		const char *why = parse_one(e, p);
		if (why)
			return bad(where, i, why);
		for (size_t k = 0; k + 1 < c->n; k++)
			if (!strcmp(c->list[k].name, p->name))
				return bad(where, i, "another principal has this name");
	}
	return 0;
}

/* file_private: whether the principals file at fd is safe to trust: owned by root or by
 * brokerd's user, and no one else may read or write it. */
static bool file_private(int fd, const char *path)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "brokerd: %s: not a regular file\n", path);
		return false;
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 077)) {
		fprintf(stderr,
			"brokerd: %s holds secrets: it must belong to root or brokerd's user and "
			"be readable by its owner only (chmod 600); it is mode %04o, uid %u\n",
			path, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
		return false;
	}
	return true;
}

int auth_load_file(const char *path, struct auth_conf *c)
{
	json_error_t err;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "brokerd: %s: %s\n", path, strerror(errno));
		return -1;
	}
	json_t *root =
		file_private(fd, path) ? json_loadfd(fd, JSON_REJECT_DUPLICATES, &err) : NULL;
	close(fd);
	if (!root)
		return -1;
	const json_t *list = json_is_object(root) ? json_object_get(root, "principals") : root;
	int rc = auth_parse(list, path, c);
	json_decref(root);
	return rc;
}

void auth_conf_fini(struct auth_conf *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->list[i].name);
		free(c->list[i].prefix);
		free(c->list[i].subject);
	}
	free(c->list);
	c->list = NULL;
	c->n = 0;
}

void auth_install(const struct auth_conf *c)
{
	conf = c ? c : &no_principals;
}

static void bind_to(session *s, const struct principal *p)
{
	s->principal = p;
	s->role = p ? p->role : conf->anonymous;
}

void auth_connect(session *s, bool has_uid, uid_t uid, const char *subject)
{
	const struct principal *found = NULL;
	for (size_t i = 0; i < conf->n && !found; i++) {
		const struct principal *p = &conf->list[i];
		if ((has_uid && p->has_uid && p->uid == uid) ||
		    (subject && p->subject && !strcmp(p->subject, subject)))
			found = p;
	}
	if (!found && has_uid && uid == 0)
		found = &root_principal;
	else if (!found && has_uid && uid == geteuid())
		found = &self_principal;
	bind_to(s, found);
}

int auth_hello(op_ctx *ctx, const char *token)
{
	unsigned char d[AUTH_DIGEST_LEN];
	const struct principal *found = NULL;
	digest(token, strlen(token), d);
	for (size_t i = 0; i < conf->n; i++) /* no early exit: every comparison is made */
		if (conf->list[i].has_token && !CRYPTO_memcmp(d, conf->list[i].digest, sizeof d))
			found = &conf->list[i];
	if (!found) {
		if (ctx->sess->bad_hellos++ ==
		    0) /* once a session: a client cannot flood the log */
			log_warn("session %llu (%s): hello with a token no principal has",
				 (unsigned long long)ctx->sess->id, ctx->sess->peer);
		return op_fail(ctx, BRK_EUNAUTHORIZED, "no principal has this token");
	}
	bind_to(ctx->sess, found);
	return 0;
}

void auth_describe(const session *s, json_t *obj)
{
	const struct principal *p = s->principal;
	json_object_set_new(obj, "principal", p ? json_string(p->name) : json_null());
	json_object_set_new(obj, "role", json_string(auth_role_name(s->role)));
	json_object_set_new(obj, "prefix", p && p->prefix ? json_string(p->prefix) : json_null());
}

/* needed: the role op d asks for. */
static enum role needed(const struct op_def *d)
{
	if (d->flags & OPF_OPEN)
		return ROLE_NONE;
	if (d->flags & OPF_ADMIN)
		return ROLE_ADMIN;
	return d->flags & (OPF_READ | OPF_RO) ? ROLE_RO : ROLE_RW;
}

const char *auth_prefix(const op_ctx *ctx)
{
	const struct principal *p = ctx->sess ? ctx->sess->principal : NULL;
	return p ? p->prefix : NULL;
}

bool auth_name_refused(op_ctx *ctx, const char *name)
{
	const char *prefix = auth_prefix(ctx);
	if (!prefix || !name || !strncmp(name, prefix, strlen(prefix)))
		return false;
	op_fail(ctx, BRK_EFORBIDDEN, "principal '%s' may use only names that start with '%s'",
		ctx->sess->principal->name, prefix);
	return true;
}

/* made_here: whether ctx names an object its session created (OPF_MINE ops: a Manager
 * deletes the objects it made when it closes, with role rw). */
static bool made_here(const op_ctx *ctx)
{
	const object *o = ctx->name ? obj_find(ctx->name) : NULL;
	return o && o->creator == ctx->sess->id;
}

bool auth_refuses(op_ctx *ctx, const struct op_def *d)
{
	enum role need = needed(d);
	const session *s = ctx->sess;
	if (s && need == ROLE_ADMIN && (d->flags & OPF_MINE) && s->role >= ROLE_RW &&
	    made_here(ctx))
		need = ROLE_RW;
	if (!s || s->role >= need)
		return auth_name_refused(ctx, ctx->name);
	if (s->role == ROLE_NONE)
		op_fail(ctx, BRK_EUNAUTHORIZED, "%s: authenticate first (hello with a token)",
			d->name);
	else
		op_fail(ctx, BRK_EFORBIDDEN, "%s needs role %s; principal '%s' has role %s",
			d->name, auth_role_name(need),
			s->principal ? s->principal->name : "(anonymous)", auth_role_name(s->role));
	return true;
}

bool auth_is_admin(const op_ctx *ctx)
{
	return !ctx->sess || ctx->sess->role == ROLE_ADMIN;
}

/* rebind: s keeps its principal when one of that name is still configured (with its new
 * role and prefix); else it is anonymous. root and brokerd's own user stay admin. */
static void rebind(session *s, void *arg)
{
	const struct principal *was = s->principal, *now = NULL;
	(void)arg;
	if (was == &root_principal || was == &self_principal)
		return;
	for (size_t i = 0; was && i < conf->n && !now; i++)
		if (!strcmp(conf->list[i].name, was->name))
			now = &conf->list[i];
	bind_to(s, now);
}

void auth_rebind(void)
{
	sess_foreach(rebind, NULL);
}
