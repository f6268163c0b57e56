/*
 * A fake of illumos libdladm.so.1, written for hull's tests: the functions
 * hull's LibDladm binds, with illumos's argument lists and structs, over an
 * in-memory table of links. It exists to judge the ABI hull calls with, so
 * it checks what a real libdladm would silently misread. Built by
 * tests/vnic_illumos_abi.rs with `cc -shared`, in one of three generations
 * of dladm_vnic_create (-DGENERATION=14, 15 or 6); see CITATIONS below.
 *
 * The declarations are those of vendor-headers/illumos/libdladm.h, which
 * cites each one. Line numbers below are of illumos-gate as
 * r1mikey/illumos-gate@bb936843191c6a154629c77053e56d3847a1d158 ("G",
 * 2023-12; gate's own history), illumos-joyent as
 * zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 ("J")
 * and OmniOS as yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c
 * ("O"), under usr/src/lib/libdladm/common/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned int uint_t;
typedef unsigned char uchar_t;
typedef enum { B_FALSE = 0, B_TRUE = 1 } boolean_t;
typedef uint32_t datalink_id_t;
typedef uint64_t datalink_media_t;
typedef uint32_t vrid_t;
typedef int dladm_status_t;
typedef int datalink_class_t;
typedef int dladm_prop_type_t;

enum {
	DLADM_STATUS_OK = 0, DLADM_STATUS_BADARG = 1, DLADM_STATUS_FAILED = 2,
	DLADM_STATUS_NOTSUP = 4, DLADM_STATUS_NOTFOUND = 5,
	DLADM_STATUS_BADVAL = 6, DLADM_STATUS_EXIST = 8
};
#define DLADM_OPT_ACTIVE 0x1
#define DLADM_OPT_ANCHOR 0x20
#define DATALINK_CLASS_PHYS 0x01
#define DATALINK_CLASS_VNIC 0x08
#define DATALINK_CLASS_ETHERSTUB 0x10
#define DLADM_PROP_VAL_CURRENT 1
#define DLADM_PROP_VAL_MAX 128
#define MAXLINKNAMELEN 32
#define MAXMACADDRLEN 20
#define DLADM_WALK_CONTINUE (-1)
/* sizeof (dladm_vnic_attr_t) on illumos-gate, amd64 (MRP_NCPUS 256). */
#define VNIC_ATTR_SIZE 15480

typedef struct dladm_errlist {
	uint_t el_count;
	uint_t el_alloc;
	char **el_errs;
} dladm_errlist_t;

/* The fake's own property list (opaque to callers). */
typedef struct dladm_arg_list {
	char text[256];
} dladm_arg_list_t;

struct dladm_handle {
	int magic;
};
typedef struct dladm_handle *dladm_handle_t;

struct link {
	char name[MAXLINKNAMELEN];
	datalink_id_t id, over;
	datalink_class_t class;
	uchar_t mac[6];
	uint16_t vid;
	uint_t mtu;
};
static struct link links[64] = {
	{ "net0", 1, 0, DATALINK_CLASS_PHYS, { 0 }, 0, 1500 },
};
static int nlinks = 1;
static datalink_id_t next_id = 100;
static int open_handles, outstanding_errs;
static dladm_status_t fail_next;
static char fail_msg[128];
static char last_error[256];

static dladm_status_t
wrong(const char *why, dladm_status_t st)
{
	snprintf(last_error, sizeof (last_error), "%s", why);
	fprintf(stderr, "fake libdladm: %s\n", why);
	return (st);
}

/* Test controls, not part of libdladm. */
void fake_dladm_fail_next_create(dladm_status_t st, const char *msg)
{
	fail_next = st;
	snprintf(fail_msg, sizeof (fail_msg), "%s", msg);
}
int fake_dladm_open_handles(void) { return (open_handles); }
int fake_dladm_outstanding_errors(void) { return (outstanding_errs); }
const char *fake_dladm_last_error(void) { return (last_error); }

static struct link *
by_name(const char *n)
{
	for (int i = 0; i < nlinks; i++)
		if (strcmp(links[i].name, n) == 0)
			return (&links[i]);
	return (NULL);
}

static struct link *
by_id(datalink_id_t id)
{
	for (int i = 0; i < nlinks; i++)
		if (links[i].id == id)
			return (&links[i]);
	return (NULL);
}

dladm_status_t
dladm_open(dladm_handle_t *h)
{
	*h = calloc(1, sizeof (**h));
	(*h)->magic = 0x646c;
	open_handles++;
	return (DLADM_STATUS_OK);
}

void
dladm_close(dladm_handle_t h)
{
	if (h == NULL || h->magic != 0x646c)
		abort();
	h->magic = 0;
	free(h);
	open_handles--;
}

const char *
dladm_status2str(dladm_status_t st, char *buf)
{
	/* DLADM_STRSIZE: 2048 on illumos-joyent, so fill what joyent may. */
	memset(buf, ' ', 2047);
	buf[2047] = '\0';
	snprintf(buf, 2048, "fake status %d", st);
	return (buf);
}

dladm_status_t
dladm_name2info(dladm_handle_t h, const char *name, datalink_id_t *id,
    uint32_t *flags, datalink_class_t *class, uint32_t *media)
{
	struct link *l = by_name(name);
	(void) h;
	if (l == NULL)
		return (DLADM_STATUS_NOTFOUND);
	if (id) *id = l->id;
	if (flags) *flags = DLADM_OPT_ACTIVE;
	if (class) *class = l->class;
	if (media) *media = 4; /* DL_ETHER */
	return (DLADM_STATUS_OK);
}

dladm_status_t
dladm_datalink_id2info(dladm_handle_t h, datalink_id_t id, uint32_t *flags,
    datalink_class_t *class, uint32_t *media, char *name, size_t len)
{
	struct link *l = by_id(id);
	(void) h;
	if (l == NULL)
		return (DLADM_STATUS_NOTFOUND);
	if (flags) *flags = DLADM_OPT_ACTIVE;
	if (class) *class = l->class;
	if (media) *media = 4;
	if (name) snprintf(name, len, "%s", l->name);
	return (DLADM_STATUS_OK);
}

dladm_status_t
dladm_walk_datalink_id(int (*fn)(dladm_handle_t, datalink_id_t, void *),
    dladm_handle_t h, void *arg, datalink_class_t class,
    datalink_media_t media, uint32_t flags)
{
	(void) media; (void) flags;
	for (int i = 0; i < nlinks; i++)
		if ((links[i].class & class) != 0 &&
		    fn(h, links[i].id, arg) != DLADM_WALK_CONTINUE)
			break;
	return (DLADM_STATUS_OK);
}

boolean_t dladm_valid_linkname(const char *n) { return (strlen(n) < MAXLINKNAMELEN); }

dladm_status_t
dladm_parse_link_props(char *text, dladm_arg_list_t **out, boolean_t novalues)
{
	(void) novalues;
	*out = calloc(1, sizeof (**out));
	snprintf((*out)->text, sizeof ((*out)->text), "%s", text);
	return (DLADM_STATUS_OK);
}

void dladm_free_props(dladm_arg_list_t *l) { free(l); }

static __attribute__((unused)) dladm_status_t
create(dladm_handle_t h, const char *name, datalink_id_t over, int mac_type,
    uchar_t *mac, uint_t mac_len, uint16_t vid, datalink_id_t *out,
    dladm_arg_list_t *props, uint32_t flags)
{
	struct link *l;
	if (h == NULL || h->magic != 0x646c)
		return (wrong("bad handle", DLADM_STATUS_BADARG));
	/*
	 * A VNIC is created active: libdlvnic.c G L425 (J L421, O L423)
	 * `if ((flags & DLADM_OPT_ACTIVE) == 0) return (DLADM_STATUS_NOTSUP);`.
	 */
	if ((flags & DLADM_OPT_ACTIVE) == 0)
		return (wrong("flags without DLADM_OPT_ACTIVE", DLADM_STATUS_NOTSUP));
	/*
	 * The create-time list is extracted into mac_resource_props_t by
	 * dladm_link_proplist_extract (linkprop.c G L4944), which looks only at
	 * rsrc_prop_table[] (G L1022-1035: maxbw, priority, cpus, pool,
	 * protection, allowed-ips, ..., no mtu). gate and OmniOS then drop
	 * `mtu` silently and joyent applies it (J L549-575); the fake refuses
	 * it, so a caller that relies on either is caught.
	 */
	if (props != NULL && strstr(props->text, "mtu") != NULL)
		return (wrong("mtu in the create-time property list", DLADM_STATUS_NOTSUP));
	if (mac_type == 0 /* FIXED */ && (mac == NULL || mac_len != 6))
		return (wrong("fixed MAC without 6 bytes", DLADM_STATUS_BADARG));
	if (by_name(name) != NULL)
		return (DLADM_STATUS_EXIST);
	if (nlinks == 64)
		return (DLADM_STATUS_FAILED);
	l = &links[nlinks++];
	memset(l, 0, sizeof (*l));
	snprintf(l->name, sizeof (l->name), "%s", name);
	l->id = next_id++;
	l->over = over;
	l->class = (flags & DLADM_OPT_ANCHOR) ? DATALINK_CLASS_ETHERSTUB :
	    DATALINK_CLASS_VNIC;
	if (mac_type == 0)
		memcpy(l->mac, mac, 6);
	l->vid = vid;
	l->mtu = 1500;
	if (out != NULL)
		*out = l->id;
	return (DLADM_STATUS_OK);
}

#if GENERATION == 15 || GENERATION == 6
static __attribute__((unused)) dladm_status_t
take(dladm_errlist_t *errs)
{
	/* A dladm_errlist_t the caller has initialised (all zero). */
	if ((uintptr_t)errs < 4096 || ((uintptr_t)errs & 7) != 0)
		return (wrong("errs is not a pointer (arguments shifted?)", DLADM_STATUS_BADARG));
	if (errs->el_count != 0 || errs->el_alloc != 0 || errs->el_errs != NULL)
		return (wrong("errs not initialised", DLADM_STATUS_BADARG));
	return (DLADM_STATUS_OK);
}

static __attribute__((unused)) dladm_status_t
injected(dladm_errlist_t *errs)
{
	dladm_status_t st = fail_next;
	if (st == DLADM_STATUS_OK)
		return (st);
	fail_next = DLADM_STATUS_OK;
	errs->el_errs = calloc(4, sizeof (char *));
	errs->el_alloc = 4;
	errs->el_errs[errs->el_count++] = strdup(fail_msg);
	outstanding_errs++;
	return (st);
}

void
dladm_errlist_reset(dladm_errlist_t *errs)
{
	for (uint_t i = 0; i < errs->el_count; i++)
		free(errs->el_errs[i]);
	if (errs->el_errs != NULL)
		outstanding_errs--;
	free(errs->el_errs);
	memset(errs, 0, sizeof (*errs));
}
#endif

#if GENERATION == 14
dladm_status_t
dladm_vnic_create(dladm_handle_t h, const char *name, datalink_id_t over,
    int mac_type, uchar_t *mac, uint_t mac_len, int *slot, uint_t prefix_len,
    uint16_t vid, vrid_t vrid, int af, datalink_id_t *out,
    dladm_arg_list_t *props, uint32_t flags)
{
	(void) slot; (void) prefix_len; (void) vrid; (void) af;
	return (create(h, name, over, mac_type, mac, mac_len, vid, out, props, flags));
}
#elif GENERATION == 15
dladm_status_t
dladm_vnic_create(dladm_handle_t h, const char *name, datalink_id_t over,
    int mac_type, uchar_t *mac, uint_t mac_len, int *slot, uint_t prefix_len,
    uint16_t vid, vrid_t vrid, int af, datalink_id_t *out,
    dladm_arg_list_t *props, dladm_errlist_t *errs, uint32_t flags)
{
	dladm_status_t st;
	(void) slot; (void) prefix_len; (void) vrid; (void) af;
	if ((st = take(errs)) != DLADM_STATUS_OK || (st = injected(errs)) != DLADM_STATUS_OK)
		return (st);
	return (create(h, name, over, mac_type, mac, mac_len, vid, out, props, flags));
}
#elif GENERATION == 6
typedef struct dladm_vnic_attr { char opaque[VNIC_ATTR_SIZE]; } dladm_vnic_attr_t;
dladm_status_t
dladm_vnic_modify(dladm_handle_t h, datalink_id_t id, dladm_vnic_attr_t *attr,
    dladm_arg_list_t *props, dladm_errlist_t *errs, uint32_t flags)
{
	(void) h; (void) id; (void) attr; (void) props; (void) errs; (void) flags;
	return (wrong("dladm_vnic_modify is not called", DLADM_STATUS_BADARG));
}
dladm_status_t
dladm_vnic_create(dladm_handle_t h, const char *name, dladm_vnic_attr_t *attr,
    dladm_arg_list_t *props, dladm_errlist_t *errs, uint32_t flags)
{
	(void) h; (void) name; (void) attr; (void) props; (void) errs; (void) flags;
	return (wrong("the 6-argument generation must not be called", DLADM_STATUS_BADARG));
}
#else
#error GENERATION must be 14, 15 or 6
#endif

dladm_status_t
dladm_vnic_delete(dladm_handle_t h, datalink_id_t id, uint32_t flags)
{
	(void) h;
	if ((flags & DLADM_OPT_ACTIVE) == 0)
		return (wrong("delete without DLADM_OPT_ACTIVE", DLADM_STATUS_BADARG));
	for (int i = 0; i < nlinks; i++) {
		if (links[i].id == id && links[i].class != DATALINK_CLASS_PHYS) {
			links[i] = links[--nlinks];
			return (DLADM_STATUS_OK);
		}
	}
	return (DLADM_STATUS_NOTFOUND);
}

/*
 * Writes a whole dladm_vnic_attr_t of illumos-gate's size: its head (the
 * fields hull reads), then a pattern over the rest, as the real
 * mac_resource_props_t fills it.
 */
dladm_status_t
dladm_vnic_info(dladm_handle_t h, datalink_id_t id, void *attr, uint32_t flags)
{
	struct link *l = by_id(id);
	uchar_t *p = attr;
	(void) h; (void) flags;
	if (l == NULL || (l->class != DATALINK_CLASS_VNIC && l->class != DATALINK_CLASS_ETHERSTUB))
		return (DLADM_STATUS_NOTFOUND);
	if (((uintptr_t)attr & 7) != 0)
		return (wrong("attr buffer not 8-byte aligned", DLADM_STATUS_BADARG));
	memset(p, 0xa5, VNIC_ATTR_SIZE);
	memcpy(p + 0, &l->id, 4);
	memcpy(p + 4, &l->over, 4);
	memset(p + 8, 0, 8);            /* va_mac_addr_type FIXED, va_mac_len */
	p[12] = 6;
	memset(p + 16, 0, MAXMACADDRLEN);
	memcpy(p + 16, l->mac, 6);
	memset(p + 36, 0xff, 4);        /* va_mac_slot -1 */
	memset(p + 40, 0, 4);           /* va_mac_prefix_len */
	memcpy(p + 44, &l->vid, 2);
	return (DLADM_STATUS_OK);
}

dladm_status_t
dladm_set_linkprop(dladm_handle_t h, datalink_id_t id, const char *name,
    char **vals, uint_t nvals, uint_t flags)
{
	struct link *l = by_id(id);
	char *end;
	unsigned long v;
	(void) h;
	if (l == NULL)
		return (DLADM_STATUS_NOTFOUND);
	if ((flags & DLADM_OPT_ACTIVE) == 0)
		return (wrong("set_linkprop without DLADM_OPT_ACTIVE", DLADM_STATUS_BADARG));
	if (strcmp(name, "mtu") != 0)
		return (DLADM_STATUS_NOTSUP);
	if (vals == NULL || nvals != 1)
		return (wrong("mtu takes one value", DLADM_STATUS_BADARG));
	v = strtoul(vals[0], &end, 10);
	if (*end != '\0' || v < 576 || v > 9000)
		return (DLADM_STATUS_BADVAL);
	l->mtu = (uint_t)v;
	return (DLADM_STATUS_OK);
}

dladm_status_t
dladm_get_linkprop(dladm_handle_t h, datalink_id_t id, dladm_prop_type_t type,
    const char *name, char **vals, uint_t *count)
{
	struct link *l = by_id(id);
	(void) h;
	if (l == NULL)
		return (DLADM_STATUS_NOTFOUND);
	if (type != DLADM_PROP_VAL_CURRENT || strcmp(name, "mtu") != 0)
		return (DLADM_STATUS_NOTSUP);
	if (count == NULL || *count < 1 || vals == NULL || vals[0] == NULL)
		return (wrong("get_linkprop without room for a value", DLADM_STATUS_BADARG));
	snprintf(vals[0], DLADM_PROP_VAL_MAX, "%u", l->mtu);
	*count = 1;
	return (DLADM_STATUS_OK);
}
