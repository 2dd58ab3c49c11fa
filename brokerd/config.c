/* config.c: command-line and JSON config parsing. Command-line values win over the
 * file's; --listen on the command line replaces the file's listeners. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "mem.h"
#include "conn.h"
#include "envelope.h"
#include "url.h"

#define DEFAULT_IPC_MODE 0600
#define DEFAULT_COMPACT_RATIO 2.0
#define DEFAULT_COMPACT_MIN ((uint64_t)64 << 20)
#define DEFAULT_MAX_CLIENTS 10000

static const char usage[] =
	"Usage: brokerd [OPTIONS]\n"
	"Hosts named queues, shared state and locks for processes, over nng's wire protocol\n"
	"(see PROTOCOL.md).\n"
	"\n"
	"  -l, --listen URL        listen on URL (ipc://PATH, tcp://HOST:PORT, tls+tcp://...);\n"
	"                          repeatable; default %s\n"
	"  -c, --config PATH       read settings from a JSON file (see docs/config.md)\n"
	"      --max-message SIZE  largest request accepted, bytes or with K/M/G (default 16M)\n"
	"      --ipc-mode MODE     permissions of ipc socket files, octal (default 0600)\n"
	"      --tls-cert FILE     certificate chain (PEM) for tls+tcp:// listeners\n"
	"      --tls-key FILE      its private key (PEM)\n"
	"      --tls-ca FILE       CA certificates (PEM): tls+tcp:// clients must present a\n"
	"                          certificate one of them signed\n"
	"      --max-value SIZE    largest value a dict, list, namespace or value stores, as\n"
	"                          JSON (default 1M)\n"
	"      --max-elements N    most keys, items, attributes or slots in one object\n"
	"                          (default 1000000)\n"
	"      --max-depth N       deepest nesting of a stored value, 1 to 2048 (default 32)\n"
	"      --data-dir DIR      keep queues, pipes and shared state in DIR (which must\n"
	"                          exist) across restarts; default: in memory only\n"
	"      --fsync POLICY      always (a reply waits for its fdatasync; one per loop\n"
	"                          turn), everysec (default) or no\n"
	"      --repair            cut the data dir's log at a damaged record instead of\n"
	"                          refusing to start (what follows it is lost)\n"
	"      --compact-ratio R   compact when the log is over R times the snapshot\n"
	"                          (default 2)\n"
	"      --compact-min SIZE  ... and at least SIZE, bytes or with K/M/G (default 64M)\n"
	"      --stall-timeout S   close a connection that has not finished its handshake,\n"
	"                          or began a message and sent no more of it, after S\n"
	"                          seconds (default 10)\n"
	"      --ipc-allow-uid LIST  only these users (names or uids, comma separated) besides\n"
	"                          root and brokerd's own may connect over ipc\n"
	"      --ipc-allow-gid LIST  ... and members of these groups\n"
	"      --ipc-group GROUP   the group of ipc socket files (with --ipc-mode 0660)\n"
	"      --no-protected-mode allow tcp:// (and tls+tcp:// without --tls-ca) listeners on\n"
	"                          addresses other than loopback: anyone who can reach them\n"
	"                          can read, change and delete everything\n"
	"      --max-clients N     connections open at once (default 10000, lowered to what\n"
	"                          the open-files limit allows); more are closed at once\n"
	"      --principals-file FILE  principals (tokens, uids, certificate subjects with\n"
	"                          roles and name prefixes), mode 0600 (docs/security.md)\n"
	"      --anonymous-role ROLE  the role of a session no principal matches: none, ro,\n"
	"                          rw or admin (default admin without principals, else none)\n"
	"      --max-memory SIZE   refuse ops that store more past SIZE (out_of_memory);\n"
	"                          default half the machine's memory; 0: no limit\n"
	"      --max-reply SIZE    largest reply; larger ones are too_big (default 64M)\n"
	"      --max-session-requests N  requests in flight per session (default 4096)\n"
	"      --max-session-parked N  requests parked per session (default 4096)\n"
	"      --max-session-objects N  objects one session created that exist (default\n"
	"                          100000)\n"
	"      --metrics HOST:PORT serve Prometheus metrics at http://HOST:PORT/metrics\n"
	"                          (default: off; loopback only in protected mode)\n"
	"      --log-level LEVEL   error, warn, info or debug (default info)\n"
	"  -h, --help              show this help and exit\n"
	"  -V, --version           show the version and exit\n";

struct overrides {
	const char *max_message, *ipc_mode, *log_level, *max_value, *max_elements, *max_depth;
	const char *tls_cert, *tls_key, *tls_ca;
	const char *data_dir, *fsync, *repair, *compact_ratio, *compact_min, *max_clients;
	const char *stall_timeout, *protected_mode, *allow_uid, *allow_gid, *ipc_group;
	const char *max_memory, *max_reply, *max_requests, *max_parked, *max_objects;
	const char *principals_file, *anonymous_role, *metrics;
	char **listen;
	size_t nlisten;
};

/* The settings given as --option VALUE or as "key": "VALUE" in the file, each a string
 * until checked. A flag (an option without a value) sets its field to value. */
struct setting {
	const char *option, *key; /* key NULL: command line only */
	size_t field;             /* offsetof(struct overrides, ...) */
	const char *value;        /* a flag's value, or NULL: the option takes one */
};

#define SETTING(option, key, field)                                  \
	{                                                            \
		option, key, offsetof(struct overrides, field), NULL \
	}
static const struct setting settings[] = {
	SETTING("max-message", "max_message", max_message),
	SETTING("ipc-mode", "ipc_mode", ipc_mode),
	SETTING("log-level", "log_level", log_level),
	SETTING("max-value", "max_value", max_value),
	SETTING("max-elements", "max_elements", max_elements),
	SETTING("max-depth", "max_depth", max_depth),
	SETTING("tls-cert", "tls_cert", tls_cert),
	SETTING("tls-key", "tls_key", tls_key),
	SETTING("tls-ca", "tls_ca", tls_ca),
	SETTING("data-dir", "data_dir", data_dir),
	SETTING("fsync", "fsync", fsync),
	{"repair", NULL, offsetof(struct overrides, repair), "yes"},
	SETTING("compact-ratio", "compact_ratio", compact_ratio),
	SETTING("compact-min", "compact_min", compact_min),
	SETTING("max-clients", "max_clients", max_clients),
	SETTING("stall-timeout", "stall_timeout", stall_timeout),
	{"no-protected-mode", "protected_mode", offsetof(struct overrides, protected_mode), "no"},
	SETTING("ipc-allow-uid", "ipc_allow_uid", allow_uid),
	SETTING("ipc-allow-gid", "ipc_allow_gid", allow_gid),
	SETTING("ipc-group", "ipc_group", ipc_group),
	SETTING("max-memory", "max_memory", max_memory),
	SETTING("max-reply", "max_reply", max_reply),
	SETTING("max-session-requests", "max_session_requests", max_requests),
	SETTING("max-session-parked", "max_session_parked", max_parked),
	SETTING("max-session-objects", "max_session_objects", max_objects),
	SETTING("principals-file", "principals_file", principals_file),
	SETTING("anonymous-role", "anonymous_role", anonymous_role),
	SETTING("metrics", "metrics", metrics),
};
#define NSETTINGS (sizeof settings / sizeof *settings)

static const char **field(struct overrides *o, const struct setting *st)
{
	return (const char **)((char *)o + st->field);
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "brokerd: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	return 2;
}

/* parse_bytes: a size in bytes, or with K, M, G or T, from 1 to max. 0, or -1. */
static int parse_bytes(const char *text, unsigned long long max, unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	unsigned shift = 0;
	const char *units = "KMGT", *u = *end ? strchr(units, *end & ~0x20) : NULL;
	if (u && *u)
		shift = 10 * (unsigned)(u - units + 1), end++;
	if (errno || end == text || *end || text[0] == '-' || v == 0 || v > max >> shift)
		return -1;
	*out = v << shift;
	return 0;
}

/* parse_size: a size up to 4G (messages, values). 0, or -1. */
static int parse_size(const char *text, size_t *out)
{
	unsigned long long v;
	if (parse_bytes(text, 1ULL << 32, &v) != 0)
		return -1;
	*out = (size_t)v;
	return 0;
}

/* parse_count: a decimal integer from lo to hi. */
static int parse_count(const char *text, unsigned long long lo, unsigned long long hi,
		       unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_mode(const char *text, int *out)
{
	char *end;
	long v = strtol(text, &end, 8);
	if (end == text || *end || v < 0 || v > 0777)
		return -1;
	*out = (int)v;
	return 0;
}

static int add_listener(struct config *c, const char *url, size_t max_message, int mode)
{
	struct listen_conf *l = realloc(c->listen, (c->nlisten + 1) * sizeof *l);
	if (!l)
		return -1;
	c->listen = l;
	l[c->nlisten].url = strdup(url);
	l[c->nlisten].max_message = max_message;
	l[c->nlisten].ipc_mode = mode;
	return l[c->nlisten++].url ? 0 : -1;
}

/* file_setting: the setting whose file key is key, or NULL. */
static const struct setting *file_setting(const char *key)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (settings[i].key && !strcmp(settings[i].key, key))
			return &settings[i];
	return NULL;
}

/* load_file: reads the JSON config into *keep and fills the overrides the command line
 * left unset; unknown or mistyped keys are errors. -1 to go on, else an exit status. */
static int load_file(const char *path, struct overrides *o, json_t **keep)
{
	json_error_t err;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
	if (!root) {
		if (err.line > 0)
			fprintf(stderr, "brokerd: %s:%d: %s\n", path, err.line, err.text);
		else
			fprintf(stderr, "brokerd: %s\n", err.text);
		return 2;
	}
	*keep = root;
	if (!json_is_object(root))
		return fail("%s: the config must be a JSON object", path);
	const char *key;
	json_t *v;
	json_object_foreach (root, key, v) {
		const struct setting *st = file_setting(key);
		if ((!strcmp(key, "listen") || !strcmp(key, "principals")) && json_is_array(v))
			continue;
		if (!st || !json_is_string(v))
			return fail("config: unknown or mistyped setting '%s' (see docs/config.md)",
				    key);
		if (!*field(o, st))
			*field(o, st) = json_string_value(v);
	}
	return -1;
}

/* file_listeners: the file's "listen" entries: URL strings or {"url", "max_message",
 * "ipc_mode"} objects whose fields override the global ones. */
static int file_listeners(struct config *c, json_t *root, size_t max_message, int mode)
{
	size_t i;
	json_t *v;
	json_array_foreach (json_object_get(root, "listen"), i, v) {
		const char *url = json_is_string(v) ? json_string_value(v)
						    : json_string_value(json_object_get(v, "url"));
		const char *mm = json_string_value(json_object_get(v, "max_message"));
		const char *im = json_string_value(json_object_get(v, "ipc_mode"));
		size_t lmax = max_message;
		int lmode = mode;
		if (!url)
			return fail("config: %s", "each \"listen\" entry needs a URL string");
		if ((mm && parse_size(mm, &lmax)) || (im && parse_mode(im, &lmode)))
			return fail("config: bad max_message or ipc_mode for %s", url);
		if (add_listener(c, url, lmax, lmode))
			return fail("%s", "out of memory");
	}
	return -1;
}

/* options: getopt's table: --listen, --config, --help, --version and the settings (whose
 * val is 256 + their index). */
static void options(struct option *opts)
{
	static const struct option fixed[] = {
		{"listen", required_argument, NULL, 'l'},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
	};
	size_t n = sizeof fixed / sizeof *fixed;
	memcpy(opts, fixed, sizeof fixed);
	for (size_t i = 0; i < NSETTINGS; i++)
		opts[n + i] = (struct option){settings[i].option,
					      settings[i].value ? no_argument : required_argument,
					      NULL, 256 + (int)i};
	opts[n + NSETTINGS] = (struct option){0};
}

static int parse_args(int argc, char **argv, struct overrides *o, const char **config_path)
{
	struct option opts[NSETTINGS + 5];
	char url[512];
	int ch;
	options(opts);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "l:c:hV", opts, NULL)) != -1) {
		if (ch >= 256) {
			const struct setting *st = &settings[ch - 256];
			*field(o, st) = st->value ? st->value : optarg;
		} else if (ch == 'l') {
			o->listen = realloc(o->listen, (o->nlisten + 1) * sizeof *o->listen);
			o->listen[o->nlisten++] = optarg;
		} else if (ch == 'c') {
			*config_path = optarg;
		} else if (ch == 'h') {
			proto_default_url(url, sizeof url);
			printf(usage, url);
			return 0;
		} else if (ch == 'V') {
			printf("brokerd %s\n", BROKER_VERSION);
			return 0;
		} else {
			fprintf(stderr, "Try 'brokerd --help'.\n");
			return 2;
		}
	}
	if (optind < argc)
		return fail("unexpected argument '%s'; try 'brokerd --help'", argv[optind]);
	return -1;
}

/* parse_limits: the shared-state limits from o (defaults for those not given). 0, or 2
 * after reporting a bad one. */
static int parse_limits(const struct overrides *o, struct jval_limits *l)
{
	unsigned long long elements = PROTO_DEFAULT_MAX_ELEMENTS, depth = PROTO_DEFAULT_MAX_DEPTH;
	l->max_value = PROTO_DEFAULT_MAX_VALUE;
	if (o->max_value && parse_size(o->max_value, &l->max_value))
		return fail("max-value '%s' must be a size such as 65536, 512K or 1M",
			    o->max_value);
	if (o->max_elements && parse_count(o->max_elements, 1, 1ULL << 32, &elements))
		return fail("max-elements '%s' must be a count from 1 to 4294967296",
			    o->max_elements);
	if (o->max_depth && parse_count(o->max_depth, 1, PROTO_PARSER_MAX_DEPTH, &depth))
		return fail("max-depth '%s' must be from 1 to %d", o->max_depth,
			    PROTO_PARSER_MAX_DEPTH);
	l->max_elements = (size_t)elements;
	l->max_depth = (int)depth;
	return 0;
}

/* parse_connections: o's max_clients and stall_timeout into c (with their defaults). 0,
 * or 2 after reporting a bad one. */
static int parse_connections(const struct overrides *o, struct config *c)
{
	unsigned long long n = DEFAULT_MAX_CLIENTS;
	char *end = NULL;
	if (o->max_clients && parse_count(o->max_clients, 1, 1000000, &n))
		return fail("max-clients '%s' must be a count from 1 to 1000000", o->max_clients);
	c->max_clients = (size_t)n;
	c->stall_timeout = CONN_STALL_TIMEOUT;
	if (o->stall_timeout) {
		c->stall_timeout = strtod(o->stall_timeout, &end);
		if (end == o->stall_timeout || *end || !(c->stall_timeout >= 0.1) ||
		    c->stall_timeout > 3600)
			return fail("stall-timeout '%s' must be seconds from 0.1 to 3600",
				    o->stall_timeout);
	}
	return 0;
}

/* parse_persistence: the data dir settings of o into c. 0, or 2 after reporting a bad one. */
static int parse_persistence(const struct overrides *o, struct config *c)
{
	char *end = NULL;
	unsigned long long min = 0;
	c->fsync = JOURNAL_FSYNC_EVERYSEC;
	c->repair = o->repair != NULL;
	c->compact_ratio = DEFAULT_COMPACT_RATIO;
	c->compact_min = DEFAULT_COMPACT_MIN;
	if (o->fsync && journal_fsync_parse(o->fsync, &c->fsync))
		return fail("fsync '%s' must be always, everysec or no", o->fsync);
	if (o->compact_ratio) {
		c->compact_ratio = strtod(o->compact_ratio, &end);
		if (end == o->compact_ratio || *end || !(c->compact_ratio >= 1.1) ||
		    c->compact_ratio > 1000)
			return fail("compact-ratio '%s' must be a number from 1.1 to 1000",
				    o->compact_ratio);
	}
	if (o->compact_min && parse_bytes(o->compact_min, 1ULL << 50, &min))
		return fail("compact-min '%s' must be a size from 1 byte to 1024T, such as 65536, "
			    "512K, 64M or 16G",
			    o->compact_min);
	if (o->compact_min)
		c->compact_min = min;
	if (o->repair && !o->data_dir)
		return fail("--repair is for a data dir; none is given (--data-dir)");
	c->data_dir = o->data_dir ? strdup(o->data_dir) : NULL;
	return 0;
}

/* id_of: a user (or group when group) given by name or number; -1 when there is none. */
static long long id_of(const char *text, bool group)
{
	unsigned long long n;
	if (parse_count(text, 0, 4294967294ULL, &n) == 0)
		return (long long)n;
	if (group) {
		struct group *g = getgrnam(text);
		return g ? (long long)g->gr_gid : -1;
	}
	struct passwd *p = getpwnam(text);
	return p ? (long long)p->pw_uid : -1;
}

/* parse_ids: a comma separated list of users or groups into a new array *out of *n. 0, or
 * 2 after naming the one that does not exist. */
static int parse_ids(const char *list, bool group, unsigned **out, size_t *n)
{
	char *copy = strdup(list), *save = NULL, *one;
	*n = 0;
	*out = calloc(strlen(list) / 2 + 1, sizeof **out);
	for (one = copy ? strtok_r(copy, ",", &save) : NULL; one && *out;
	     one = strtok_r(NULL, ",", &save)) {
		long long id = id_of(one, group);
		if (id < 0) {
			fail("no %s '%s' (ipc-allow-%s)", group ? "group" : "user", one,
			     group ? "gid" : "uid");
			free(copy);
			return 2;
		}
		(*out)[(*n)++] = (unsigned)id;
	}
	free(copy);
	return *out && copy ? 0 : fail("%s", "out of memory");
}

/* parse_ipc_access: the ipc allow-lists and socket group of o into c. 0, or 2. */
static int parse_ipc_access(const struct overrides *o, struct config *c)
{
	long long g;
	c->ipc_group = (gid_t)-1;
	if (o->allow_uid && parse_ids(o->allow_uid, false, &c->allow_uids, &c->nallow_uids))
		return 2;
	if (o->allow_gid && parse_ids(o->allow_gid, true, &c->allow_gids, &c->nallow_gids))
		return 2;
	if (o->ipc_group && (g = id_of(o->ipc_group, true)) < 0)
		return fail("no group '%s' (ipc-group)", o->ipc_group);
	if (o->ipc_group)
		c->ipc_group = (gid_t)g;
	return 0;
}

/* parse_memory: max-memory ("0": none; default: half the machine's) into c. 0, or 2. */
static int parse_memory(const struct overrides *o, struct config *c)
{
	unsigned long long v;
	c->max_memory = mem_default_limit();
	if (o->max_memory && !strcmp(o->max_memory, "0"))
		c->max_memory = 0;
	else if (o->max_memory && parse_bytes(o->max_memory, 1ULL << 50, &v))
		return fail("max-memory '%s' must be a size such as 512M or 4G, or 0 for none",
			    o->max_memory);
	else if (o->max_memory)
		c->max_memory = (size_t)v;
	return 0;
}

/* parse_session_limits: what one session may hold, into c (with their defaults); the
 * reply limit is at least every listener's request limit. 0, or 2 after naming a bad one. */
static int parse_session_limits(const struct overrides *o, struct config *c)
{
	unsigned long long req = SESS_MAX_REQUESTS, park = SESS_MAX_PARKED, objs = SESS_MAX_OBJECTS;
	size_t reply = SESS_MAX_REPLY;
	if (o->max_requests && parse_count(o->max_requests, 1, 1000000, &req))
		return fail("max-session-requests '%s' must be a count from 1 to 1000000",
			    o->max_requests);
	if (o->max_parked && parse_count(o->max_parked, 1, 1000000, &park))
		return fail("max-session-parked '%s' must be a count from 1 to 1000000",
			    o->max_parked);
	if (o->max_objects && parse_count(o->max_objects, 1, 1ULL << 32, &objs))
		return fail("max-session-objects '%s' must be a count from 1 to 4294967296",
			    o->max_objects);
	if (o->max_reply && parse_size(o->max_reply, &reply))
		return fail("max-reply '%s' must be a size such as 16M", o->max_reply);
	for (size_t i = 0; i < c->nlisten; i++) {
		if (o->max_reply && reply < c->listen[i].max_message)
			return fail("max-reply must be at least the max-message of %s",
				    c->listen[i].url);
		if (reply < c->listen[i].max_message)
			reply = c->listen[i].max_message;
	}
	c->sess = (struct sess_limits){(size_t)req, (size_t)park, (size_t)objs, reply};
	return 0;
}

/* parse_auth: the principals of the file's "principals" and of the principals file, and
 * the role of sessions none of them matches (default: admin when there are no principals,
 * else none), into c. 0, or 2. */
static int parse_auth(const struct overrides *o, const json_t *file, const char *path,
		      struct config *c)
{
	const json_t *list = file ? json_object_get(file, "principals") : NULL;
	if (list && auth_parse(list, path, &c->auth) != 0)
		return 2;
	if (o->principals_file && auth_load_file(o->principals_file, &c->auth) != 0)
		return 2;
	c->auth.anonymous = c->auth.n ? ROLE_NONE : ROLE_ADMIN;
	if (o->anonymous_role && auth_role_parse(o->anonymous_role, &c->auth.anonymous) != 0)
		return fail("anonymous-role '%s' must be none, ro, rw or admin", o->anonymous_role);
	return 0;
}

/* loopback_host: whether "HOST:PORT" is this machine only. */
static bool loopback_host(const char *host)
{
	return !strncmp(host, "127.", 4) || !strncmp(host, "[::1]:", 6) ||
	       !strncmp(host, "localhost:", 10);
}

/* loopback: whether a tcp:// or tls+tcp:// URL's host is this machine only. */
static bool loopback(const char *url)
{
	return loopback_host(strstr(url, "://") + 3);
}

/* check_protected: as Redis's protected mode: a listener that other machines can reach must
 * authenticate its clients (tls+tcp:// with --tls-ca), unless protected mode is off. 0, or
 * 2 after naming the listener. */
static int check_protected(const struct overrides *o, struct config *c)
{
	if (o->protected_mode && strcmp(o->protected_mode, "yes") &&
	    strcmp(o->protected_mode, "no"))
		return fail("protected_mode '%s' must be \"yes\" or \"no\"", o->protected_mode);
	c->unprotected = o->protected_mode && !strcmp(o->protected_mode, "no");
	c->metrics = o->metrics ? strdup(o->metrics) : NULL;
	if (c->metrics && !c->unprotected && !loopback_host(c->metrics))
		return fail("metrics %s: protected mode keeps metrics (object names) on a loopback "
			    "address, such as 127.0.0.1:9464, unless --no-protected-mode",
			    c->metrics);
	for (size_t i = 0; i < c->nlisten && !c->unprotected; i++) {
		const char *url = c->listen[i].url;
		bool tcp = !strncmp(url, "tcp://", 6), tls = !strncmp(url, "tls+tcp://", 10);
		if ((tcp || (tls && !o->tls_ca)) && !loopback(url) &&
		    c->auth.anonymous != ROLE_NONE)
			return fail(
				"%s: protected mode refuses a listener other machines can reach "
				"without authenticating them: configure principals (tokens) with "
				"anonymous-role none, use tls+tcp:// with --tls-ca (client "
				"certificates), a loopback address, or --no-protected-mode",
				url);
	}
	return 0;
}

/* check_tls: keeps the TLS files of o in c; a tls+tcp:// listener needs a certificate and
 * a key. 0, or 2 after reporting what is missing. */
static int check_tls(const struct overrides *o, struct config *c)
{
	bool wanted = false;
	for (size_t i = 0; i < c->nlisten; i++)
		wanted |= strncmp(c->listen[i].url, "tls+tcp://", 10) == 0;
	if (wanted && (!o->tls_cert || !o->tls_key))
		return fail("a tls+tcp:// listener needs --tls-cert and --tls-key");
	if (!wanted && (o->tls_cert || o->tls_key || o->tls_ca))
		return fail("--tls-cert, --tls-key and --tls-ca are for tls+tcp:// listeners; "
			    "none is given");
	c->tls_cert = o->tls_cert ? strdup(o->tls_cert) : NULL;
	c->tls_key = o->tls_key ? strdup(o->tls_key) : NULL;
	c->tls_ca = o->tls_ca ? strdup(o->tls_ca) : NULL;
	return 0;
}

int config_load(struct config *c, int argc, char **argv)
{
	struct overrides o = {0};
	const char *path = NULL;
	json_t *file = NULL;
	size_t max_message = PROTO_DEFAULT_MAX_MESSAGE;
	int mode = DEFAULT_IPC_MODE, rc;
	memset(c, 0, sizeof *c);
	c->log_level = LL_INFO;
	if ((rc = parse_args(argc, argv, &o, &path)) >= 0 ||
	    (path && (rc = load_file(path, &o, &file)) >= 0))
		goto out;
	rc = 2;
	if (o.max_message && parse_size(o.max_message, &max_message)) {
		fail("max-message '%s' must be a size such as 1048576, 512K or 16M", o.max_message);
	} else if (o.ipc_mode && parse_mode(o.ipc_mode, &mode)) {
		fail("ipc-mode '%s' must be octal permission bits such as 0600", o.ipc_mode);
	} else if (o.log_level && log_level_parse(o.log_level, &c->log_level)) {
		fail("log-level '%s' must be error, warn, info or debug", o.log_level);
	} else if (parse_limits(&o, &c->limits) == 0 && parse_persistence(&o, c) == 0 &&
		   parse_connections(&o, c) == 0) {
		rc = -1;
		for (size_t i = 0; i < o.nlisten && rc < 0; i++)
			rc = add_listener(c, o.listen[i], max_message, mode) ? 2 : -1;
		if (rc < 0 && !o.nlisten && file)
			rc = file_listeners(c, file, max_message, mode);
		if (rc < 0 && !c->nlisten) {
			char url[512];
			proto_default_url(url, sizeof url);
			rc = add_listener(c, url, max_message, mode) ? 2 : -1;
		}
		if (rc < 0 && (check_tls(&o, c) != 0 || parse_auth(&o, file, path, c) != 0 ||
			       check_protected(&o, c) != 0 || parse_ipc_access(&o, c) != 0 ||
			       parse_session_limits(&o, c) != 0 || parse_memory(&o, c) != 0))
			rc = 2;
	}
out:
	free(o.listen);
	json_decref(file);
	if (rc >= 0)
		config_fini(c);
	return rc;
}

void config_fini(struct config *c)
{
	for (size_t i = 0; i < c->nlisten; i++)
		free(c->listen[i].url);
	free(c->listen);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->tls_ca);
	free(c->data_dir);
	free(c->metrics);
	c->metrics = NULL;
	free(c->allow_uids);
	free(c->allow_gids);
	auth_conf_fini(&c->auth);
	c->allow_uids = NULL;
	c->allow_gids = NULL;
	c->nallow_uids = c->nallow_gids = 0;
	c->data_dir = NULL;
	c->listen = NULL;
	c->nlisten = 0;
	c->tls_cert = c->tls_key = c->tls_ca = NULL;
}

#define SWAP(a, b)                      \
	do {                            \
		__typeof__(a) t_ = (a); \
		(a) = (b);              \
		(b) = t_;               \
	} while (0)

void config_swap_reloadable(struct config *running, struct config *fresh)
{
	SWAP(running->log_level, fresh->log_level);
	SWAP(running->limits, fresh->limits);
	SWAP(running->max_clients, fresh->max_clients);
	SWAP(running->stall_timeout, fresh->stall_timeout);
	SWAP(running->allow_uids, fresh->allow_uids);
	SWAP(running->allow_gids, fresh->allow_gids);
	SWAP(running->nallow_uids, fresh->nallow_uids);
	SWAP(running->nallow_gids, fresh->nallow_gids);
	SWAP(running->auth, fresh->auth);
	SWAP(running->sess, fresh->sess);
	SWAP(running->max_memory, fresh->max_memory);
}

static bool differ(const char *a, const char *b)
{
	return (a || b) && (!a || !b || strcmp(a, b));
}

/* listeners_differ: whether a and b listen differently. */
static bool listeners_differ(const struct config *a, const struct config *b)
{
	if (a->nlisten != b->nlisten)
		return true;
	for (size_t i = 0; i < a->nlisten; i++)
		if (strcmp(a->listen[i].url, b->listen[i].url) ||
		    a->listen[i].max_message != b->listen[i].max_message ||
		    a->listen[i].ipc_mode != b->listen[i].ipc_mode)
			return true;
	return a->ipc_group != b->ipc_group || a->unprotected != b->unprotected;
}

size_t config_restart_needed(const struct config *a, const struct config *b, char *out, size_t size)
{
	const char *what[] = {
		listeners_differ(a, b) ? "listeners" : NULL,
		differ(a->tls_cert, b->tls_cert) || differ(a->tls_key, b->tls_key) ||
				differ(a->tls_ca, b->tls_ca)
			? "TLS files"
			: NULL,
		differ(a->data_dir, b->data_dir) || a->fsync != b->fsync ||
				a->compact_ratio != b->compact_ratio ||
				a->compact_min != b->compact_min
			? "the data dir settings"
			: NULL,
		differ(a->metrics, b->metrics) ? "the metrics address" : NULL,
	};
	size_t n = 0;
	*out = 0;
	for (size_t i = 0; i < sizeof what / sizeof *what; i++)
		if (what[i])
			snprintf(out + strlen(out), size - strlen(out), "%s%s", n++ ? ", " : "",
				 what[i]);
	return n;
}
