/*
 * A fake of illumos libzonecfg.so.1, written for hull's tests: the
 * functions hull's LibZonecfg binds, with illumos's argument lists and
 * structs, over an in-memory zone index. It judges the ABI and the call
 * sequence hull uses, so it refuses what the real library would refuse or
 * misread. Built by tests/zone_illumos_abi.rs with `cc -shared` as one of
 * three (-DFAMILY_GATE, -DFAMILY_SMARTOS or -DFAMILY_OMNIOS; the last two
 * are the joyent-derived library, told apart by the symbols each exports);
 * line numbers below are
 * of libzonecfg.c in illumos-gate (jlevon/illumos-gate@4859da61, "G"),
 * illumos-joyent (zssfred/illumos-joyent@6e2c24e1, "J") and OmniOS
 * (yuleihua/illumos-omnios@f14b0378, "O").
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(FAMILY_GATE) && !defined(FAMILY_SMARTOS) && !defined(FAMILY_OMNIOS)
#error define FAMILY_GATE, FAMILY_SMARTOS or FAMILY_OMNIOS
#endif

typedef unsigned int uint_t;
typedef enum { B_FALSE = 0, B_TRUE = 1 } boolean_t;
typedef uint_t zone_state_t;

#define Z_OK 0
#define Z_EMPTY_DOCUMENT 1
#define Z_NO_ENTRY 6
#define Z_BAD_HANDLE 10
#define Z_INVAL 12
#define Z_NO_ZONE 16
#define Z_BAD_ZONE_STATE 21
#define Z_ALIAS_DISALLOW 42
#define MAXPATHLEN 1024
#define MAXNAMELEN 256
#define FSTYPSZ 16
#define MAX_MNTOPT_STR 1024

typedef struct zone_fsopt {
	struct zone_fsopt *zone_fsopt_next;
	char zone_fsopt_opt[MAX_MNTOPT_STR];
} zone_fsopt_t;

struct zone_fstab {
	char zone_fs_special[MAXPATHLEN];
	char zone_fs_dir[MAXPATHLEN];
	char zone_fs_type[FSTYPSZ];
	zone_fsopt_t *zone_fs_options;
	char zone_fs_raw[MAXPATHLEN];
};

#ifdef FAMILY_GATE
/* G usr/src/head/libzonecfg.h 194-199: 170 bytes, alignment 1. */
struct zone_nwiftab {
	char zone_nwif_address[46];
	char zone_nwif_allowed_address[46];
	char zone_nwif_physical[32];
	char zone_nwif_defrouter[46];
};
/* G libzonecfg.h 233-235 */
struct zone_mcaptab {
	char zone_physmem_cap[MAXNAMELEN];
};
#else
/* J libzonecfg.h 220-229, O 210-219: 248 bytes, alignment 8. */
struct zone_res_attrtab;
struct zone_nwiftab {
	char zone_nwif_address[46];
	char zone_nwif_allowed_address[46];
	char zone_nwif_physical[32];
	char zone_nwif_mac[20];
	char zone_nwif_vlan_id[11];
	char zone_nwif_gnic[32];
	char zone_nwif_defrouter[46];
	struct zone_res_attrtab *zone_nwif_attrp;
};
#endif

struct zone {
	int used;
	char name[64], zonepath[MAXPATHLEN], brand[MAXNAMELEN];
	int autoboot, exclusive;
	char nets[4][32];
	int nnets;
	char fs[4][80];
	int nfs;
	char caps[256];
	zone_state_t state;
};

struct zone_dochandle {
	int has_doc;
	struct zone z;
};
typedef struct zone_dochandle *zone_dochandle_t;

static struct zone zones[16];
static int open_handles, open_opts;
static char last_error[256];
static char described[1024];

static int
wrong(const char *why, int code)
{
	snprintf(last_error, sizeof (last_error), "%s", why);
	fprintf(stderr, "fake libzonecfg: %s\n", why);
	return (code);
}

/* Test controls, not part of libzonecfg. */
const char *fake_zonecfg_last_error(void) { return (last_error); }
int fake_zonecfg_open_handles(void) { return (open_handles); }
int fake_zonecfg_open_fs_options(void) { return (open_opts); }

static struct zone *
find(const char *name)
{
	for (int i = 0; i < 16; i++)
		if (zones[i].used && strcmp(zones[i].name, name) == 0)
			return (&zones[i]);
	return (NULL);
}

/* "brand=..;zonepath=..;..." for the zone saved as `name`, or "". */
const char *
fake_zonecfg_describe(const char *name)
{
	struct zone *z = find(name);
	described[0] = '\0';
	if (z == NULL)
		return (described);
	snprintf(described, sizeof (described),
	    "brand=%s zonepath=%s autoboot=%d exclusive=%d nets=%s,%s fs=%s caps=%s",
	    z->brand, z->zonepath, z->autoboot, z->exclusive,
	    z->nnets > 0 ? z->nets[0] : "", z->nnets > 1 ? z->nets[1] : "",
	    z->nfs > 0 ? z->fs[0] : "", z->caps);
	return (described);
}

zone_dochandle_t
zonecfg_init_handle(void)
{
	/* G 302-317: a calloc'd handle with no document. */
	open_handles++;
	return (calloc(1, sizeof (struct zone_dochandle)));
}

void
zonecfg_fini_handle(zone_dochandle_t h)
{
	if (h == NULL)
		abort();
	open_handles--;
	free(h);
}

int
zonecfg_get_template_handle(const char *template, const char *zonename,
    zone_dochandle_t h)
{
	/* G 666: loads /etc/zones/<template>.xml, then names the zone. */
	if (strcmp(template, "SUNWblank") != 0 && strcmp(template, "SUNWdefault") != 0)
		return (Z_NO_ZONE);
	memset(&h->z, 0, sizeof (h->z));
	h->has_doc = 1;
	snprintf(h->z.name, sizeof (h->z.name), "%s", zonename);
	snprintf(h->z.brand, sizeof (h->z.brand), "%s", "ipkg");
	return (Z_OK);
}

int
zonecfg_get_handle(const char *name, zone_dochandle_t h)
{
	struct zone *z = find(name);
	if (z == NULL)
		return (Z_NO_ZONE);
	h->has_doc = 1;
	h->z = *z;
	return (Z_OK);
}

/* zonecfg_check_handle: Z_BAD_HANDLE without a document (G 322-325). */
#define CHECK(h) do { if ((h) == NULL || !(h)->has_doc) \
	return (wrong("setter on a handle with no document", Z_BAD_HANDLE)); } while (0)

int
zonecfg_set_name(zone_dochandle_t h, char *name)
{
	CHECK(h);
	snprintf(h->z.name, sizeof (h->z.name), "%s", name);
	return (Z_OK);
}

int
zonecfg_set_zonepath(zone_dochandle_t h, char *p)
{
	CHECK(h);
	if (p[0] != '/')
		return (Z_INVAL);
	snprintf(h->z.zonepath, sizeof (h->z.zonepath), "%s", p);
	return (Z_OK);
}

int
zonecfg_get_zonepath(zone_dochandle_t h, char *buf, size_t len)
{
	CHECK(h);
	snprintf(buf, len, "%s", h->z.zonepath);
	return (Z_OK);
}

int
zonecfg_set_brand(zone_dochandle_t h, char *b)
{
	CHECK(h);
	snprintf(h->z.brand, sizeof (h->z.brand), "%s", b);
	return (Z_OK);
}

int
zonecfg_get_brand(zone_dochandle_t h, char *buf, size_t len)
{
	CHECK(h);
	snprintf(buf, len, "%s", h->z.brand);
	return (Z_OK);
}

int
zonecfg_set_autoboot(zone_dochandle_t h, boolean_t on)
{
	CHECK(h);
	h->z.autoboot = on == B_TRUE;
	return (Z_OK);
}

int
zonecfg_set_iptype(zone_dochandle_t h, int type)
{
	/* G 1614-1615: Z_EMPTY_DOCUMENT, not Z_BAD_HANDLE. */
	if (h == NULL || !h->has_doc)
		return (wrong("set_iptype with no document", Z_EMPTY_DOCUMENT));
	if (type != 0 && type != 1)
		return (Z_INVAL);
	h->z.exclusive = type;
	return (Z_OK);
}

static int
empty(const char *field, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (field[i] != '\0')
			return (0);
	return (1);
}

int
zonecfg_add_nwif(zone_dochandle_t h, struct zone_nwiftab *t)
{
	CHECK(h);
	/*
	 * The library reads the whole struct of its own layout: on the
	 * joyent family (J 2368, O 2275) strlen of mac, vlan_id and gnic and a
	 * walk of zone_nwif_attrp. Anything there but zeroes is either a
	 * caller's setting hull never makes or bytes read past a smaller
	 * struct.
	 */
	if (((uintptr_t)t & (_Alignof (struct zone_nwiftab) - 1)) != 0)
		return (wrong("zone_nwiftab not aligned for this layout", Z_INVAL));
	if (!empty(t->zone_nwif_address, sizeof (t->zone_nwif_address)) ||
	    !empty(t->zone_nwif_allowed_address, sizeof (t->zone_nwif_allowed_address)) ||
	    !empty(t->zone_nwif_defrouter, sizeof (t->zone_nwif_defrouter)))
		return (wrong("zone_nwiftab has bytes beyond physical", Z_INVAL));
#ifndef FAMILY_GATE
	if (!empty(t->zone_nwif_mac, sizeof (t->zone_nwif_mac)) ||
	    !empty(t->zone_nwif_vlan_id, sizeof (t->zone_nwif_vlan_id)) ||
	    !empty(t->zone_nwif_gnic, sizeof (t->zone_nwif_gnic)) ||
	    t->zone_nwif_attrp != NULL)
		return (wrong("zone_nwiftab has bytes beyond physical", Z_INVAL));
#endif
	if (memchr(t->zone_nwif_physical, '\0', sizeof (t->zone_nwif_physical)) == NULL ||
	    t->zone_nwif_physical[0] == '\0' || h->z.nnets == 4)
		return (Z_INVAL);
	snprintf(h->z.nets[h->z.nnets++], 32, "%s", t->zone_nwif_physical);
	return (Z_OK);
}

int
zonecfg_add_fs_option(struct zone_fstab *t, char *opt)
{
	zone_fsopt_t *o = calloc(1, sizeof (*o));
	snprintf(o->zone_fsopt_opt, sizeof (o->zone_fsopt_opt), "%s", opt);
	o->zone_fsopt_next = t->zone_fs_options;
	t->zone_fs_options = o;
	open_opts++;
	return (Z_OK);
}

void
zonecfg_free_fs_option_list(zone_fsopt_t *o)
{
	while (o != NULL) {
		zone_fsopt_t *next = o->zone_fsopt_next;
		free(o);
		open_opts--;
		o = next;
	}
}

int
zonecfg_add_filesystem(zone_dochandle_t h, struct zone_fstab *t)
{
	CHECK(h);
	if (strcmp(t->zone_fs_type, "lofs") != 0 || t->zone_fs_dir[0] != '/' || h->z.nfs == 4)
		return (Z_INVAL);
	snprintf(h->z.fs[h->z.nfs++], 80, "%s:%s:%s", t->zone_fs_special, t->zone_fs_dir,
	    t->zone_fs_options ? t->zone_fs_options->zone_fsopt_opt : "rw");
	return (Z_OK);
}

static void
cap(zone_dochandle_t h, const char *what, unsigned long long v)
{
	size_t n = strlen(h->z.caps);
	snprintf(h->z.caps + n, sizeof (h->z.caps) - n, "%s%s=%llu", n ? "," : "", what, v);
}

int
zonecfg_set_aliased_rctl(zone_dochandle_t h, char *alias, uint64_t v)
{
	/* G 6766 / J 7326 / O 7197; an alias not in aliases[] gives
	 * Z_ALIAS_DISALLOW (G 6774-6775). Gate's table has no "physical". */
	const char *known[] = { "max-lwps", "cpu-cap", "cpu-shares", "swap", "locked",
#ifndef FAMILY_GATE
	    "physical",
#endif
	    NULL };
	int ok = 0;
	if (h == NULL || !h->has_doc)
		return (Z_ALIAS_DISALLOW);
	for (int i = 0; known[i] != NULL; i++)
		ok |= strcmp(alias, known[i]) == 0;
	if (!ok)
		return (wrong("rctl alias not in this library's aliases[]", Z_ALIAS_DISALLOW));
	cap(h, alias, (unsigned long long)v);
	return (Z_OK);
}

#ifdef FAMILY_GATE
int
zonecfg_modify_mcap(zone_dochandle_t h, struct zone_mcaptab *t)
{
	/* G 7038; the cap is a decimal count of bytes (zonecfg.c G 4846). */
	char *end;
	unsigned long long v;
	CHECK(h);
	v = strtoull(t->zone_physmem_cap, &end, 10);
	if (*end != '\0' || end == t->zone_physmem_cap)
		return (wrong("mcap is not a decimal byte count", Z_INVAL));
	cap(h, "mcap", v);
	return (Z_OK);
}
#else
/* Exported by the joyent family only (J mapfile-vers 57, O 57). */
int
zonecfg_add_res_attr(void *list, void *attr)
{
	(void) list; (void) attr;
	return (wrong("zonecfg_add_res_attr is not called", Z_INVAL));
}
#endif

#ifdef FAMILY_SMARTOS
/* SmartOS only (J mapfile-vers 223; not in O). */
int
zonecfg_set_uuid(const char *zone, const char *root, const char *uuid)
{
	(void) zone; (void) root; (void) uuid;
	return (wrong("zonecfg_set_uuid is not called", Z_INVAL));
}
#endif

int
zonecfg_save(zone_dochandle_t h)
{
	struct zone *z;
	/* G 1311-1312 */
	CHECK(h);
	/* putzoneent needs a zonepath (getzoneent.c G 292-294). */
	if (h->z.zonepath[0] == '\0')
		return (wrong("save without a zonepath", 25 /* Z_UPDATING_INDEX */));
	/* It does not check the name: a known zone is overwritten. */
	z = find(h->z.name);
	for (int i = 0; z == NULL && i < 16; i++)
		if (!zones[i].used)
			z = &zones[i];
	if (z == NULL)
		return (Z_INVAL);
	*z = h->z;
	z->used = 1;
	z->state = 0;
	return (Z_OK);
}

int
zonecfg_destroy(const char *name, boolean_t force)
{
	struct zone *z = find(name);
	if (z == NULL)
		return (Z_NO_ZONE);
	/* G 384-388 */
	if (z->state > (force ? 2u : 0u))
		return (Z_BAD_ZONE_STATE);
	z->used = 0;
	return (Z_OK);
}

struct cursor {
	int next;
};

void *
setzoneent(void)
{
	return (calloc(1, sizeof (struct cursor)));
}

char *
getzoneent(void *f)
{
	struct cursor *c = f;
	/* The index starts with the global zone. */
	if (c->next == 0) {
		c->next = 1;
		return (strdup("global"));
	}
	while (c->next <= 16) {
		struct zone *z = &zones[c->next++ - 1];
		if (z->used)
			return (strdup(z->name));
	}
	return (NULL);
}

void
endzoneent(void *f)
{
	free(f);
}

int
zone_get_state(char *name, zone_state_t *state)
{
	struct zone *z;
	if (name == NULL || state == NULL)
		return (Z_INVAL);
	if ((z = find(name)) == NULL)
		return (Z_NO_ZONE);
	*state = z->state;
	return (Z_OK);
}

char *
zone_state_str(zone_state_t s)
{
	static char *names[] = { "configured", "incomplete", "installed", "ready",
	    "running", "shutting_down", "down", "mounted" };
	return (s < 8 ? names[s] : "unknown");
}

char *
zonecfg_strerror(int code)
{
	static char buf[64];
	snprintf(buf, sizeof (buf), "fake zonecfg error %d", code);
	return (buf);
}
