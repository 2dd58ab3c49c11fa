/* namespace.c: the namespace object, Python's Namespace: named attributes holding any
 * value, a missing one being attribute_error. Attributes are a jansson object, which keeps
 * them in the order they were first set. */
#include <stdlib.h>

#include "args.h"
#include "dispatch.h"
#include "envelope.h"
#include "jval.h"
#include "object.h"
#include "namespace.h"
#include "ops.h"

typedef struct ns_obj {
	json_t *attrs;
} ns_obj;

/* lookup: the namespace ctx names; NULL (and 0) when absent and create is false. */
static int lookup(op_ctx *ctx, bool create, ns_obj **out)
{
	object *o;
	int rc = obj_lookup(ctx, &namespace_class, create, &o);
	if (rc == 0)
		*out = o ? o->impl : NULL;
	return rc;
}

/* attr_arg: the "attr" argument: 1 to PROTO_MAX_NAME bytes (the decoder refuses NULs). */
static int attr_arg(op_ctx *ctx, const char **attr)
{
	json_t *v = json_object_get(ctx->args, "attr");
	size_t n = json_string_length(v);
	if (!json_is_string(v) || n == 0 || n > PROTO_MAX_NAME)
		return op_fail(ctx, BRK_EBADARG,
			       "argument 'attr' must be a string of 1 to %d bytes", PROTO_MAX_NAME);
	*attr = json_string_value(v);
	return 0;
}

static int missing(op_ctx *ctx, const char *attr)
{
	return op_fail(ctx, BRK_EATTR, "'Namespace' object has no attribute '%.100s'", attr);
}

static int op_get(op_ctx *ctx)
{
	ns_obj *ns = NULL;
	const char *attr = NULL;
	int rc = lookup(ctx, false, &ns);
	if (rc || (rc = attr_arg(ctx, &attr)))
		return rc;
	json_t *v = ns ? json_object_get(ns->attrs, attr) : NULL;
	return v ? op_ok(ctx, json_incref(v)) : missing(ctx, attr);
}

static int op_set(op_ctx *ctx)
{
	ns_obj *ns = NULL;
	const char *attr = NULL;
	json_t *v;
	int rc = attr_arg(ctx, &attr);
	if (rc || (rc = arg_value(ctx, "value", &v)) || (rc = jval_check(ctx, v, "the value")) ||
	    (rc = lookup(ctx, true, &ns)))
		return rc;
	bool adding = json_object_get(ns->attrs, attr) == NULL;
	if ((rc = jval_check_count(ctx, json_object_size(ns->attrs), adding)))
		return rc;
	if (json_object_set(ns->attrs, attr, v))
		return op_fail(ctx, BRK_EINTERNAL, "out of memory");
	return op_ok(ctx, json_null());
}

static int op_delete(op_ctx *ctx)
{
	ns_obj *ns = NULL;
	const char *attr = NULL;
	int rc = lookup(ctx, false, &ns);
	if (rc || (rc = attr_arg(ctx, &attr)))
		return rc;
	if (!ns || json_object_del(ns->attrs, attr) != 0)
		return missing(ctx, attr);
	return op_ok(ctx, json_null());
}

static int op_attrs(op_ctx *ctx)
{
	ns_obj *ns = NULL;
	const char *attr = NULL;
	int rc = lookup(ctx, false, &ns);
	if (rc)
		return rc;
	json_t *v, *names = json_array(); /* NULL: op_ok answers out of memory */
	json_object_foreach (ns ? ns->attrs : NULL, attr, v)
		json_array_append_new(names, json_string(attr));
	return op_ok(ctx, names);
}

static int op_read(op_ctx *ctx)
{
	ns_obj *ns = NULL;
	int rc = lookup(ctx, false, &ns);
	return rc ? rc : ns ? op_ok_container(ctx, ns->attrs) : op_ok(ctx, json_object());
}

const struct op_def namespace_ops[] = {
	{BRK_OP_NS_GET, op_get, OPF_NAME | OPF_READ, "attr"},
	{BRK_OP_NS_SET, op_set, OPF_NAME | OPF_WRITE | OPF_GROW, "attr,value"},
	{BRK_OP_NS_DELETE, op_delete, OPF_NAME | OPF_WRITE, "attr"},
	{BRK_OP_NS_ATTRS, op_attrs, OPF_NAME | OPF_READ, ""},
	{BRK_OP_NS_READ, op_read, OPF_NAME | OPF_READ, ""},
	{NULL, NULL, 0, NULL},
};

/* ---- class ---- */

static void *create(op_ctx *ctx, const char *name)
{
	(void)name;
	ns_obj *ns = calloc(1, sizeof *ns);
	if (!ns || !(ns->attrs = json_object())) {
		free(ns);
		op_fail(ctx, BRK_EINTERNAL, "out of memory");
		return NULL;
	}
	return ns;
}

static void destroy(void *impl)
{
	ns_obj *ns = impl;
	json_decref(ns->attrs);
	free(ns);
}

static size_t size(const void *impl)
{
	return json_object_size(((const ns_obj *)impl)->attrs);
}

const struct obj_class namespace_class = {
	"namespace", create, destroy, size, obj_no_waiters, obj_no_stat, obj_complete_no_waiters,
	true,        NULL,   NULL,    NULL, NULL,
};
