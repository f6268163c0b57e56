/*
 * Minimal libzonecfg and libc zone declarations for hull's zonecfg-sys
 * (illumos usr/src/head/libzonecfg.h, usr/src/head/zone.h and the system
 * headers they include).
 *
 * Source citations: each declaration below was checked against the real
 * illumos sources cited beside it (line numbers L<n>; paths are relative to
 * the root of the illumos source tree). Git snapshots used, each a fork or
 * mirror whose history tracks the named upstream up to the date given (the
 * upstream repositories illumos/illumos-gate, TritonDataCenter/illumos-joyent
 * and omniosorg/illumos-omnios themselves were too large to fetch):
 *   illumos-gate:  jlevon/illumos-gate@4859da614b562d26b86cd0961067070cb5ed350c
 *                  (illumos-gate as of 2020-04-06). usr/src/head/libzonecfg.h
 *                  has the same lines in r1mikey/illumos-gate@bb936843191c6a154629c77053e56d3847a1d158
 *                  (illumos-gate master as of 2023-12-10; the files differ only in
 *                  the comment at L140) and usr/src/head/zone.h is identical there.
 *   illumos-joyent (SmartOS): zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1
 *                  (illumos-joyent as of 2019-12-16, the newest copy available)
 *   OmniOS:        yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c
 *                  (OmniOS master as of 2021-04-16)
 * Neither the joyent nor the OmniOS snapshot is current: later SmartOS and
 * OmniOS releases were not checked. Every declaration was checked against
 * all three trees unless its comment says otherwise. "h" below means
 * usr/src/head/libzonecfg.h and "lz.c" usr/src/lib/libzonecfg/common/libzonecfg.c.
 * "ABI-equivalent" marks a declaration whose text is not token-identical to
 * the source but has the same value, size, alignment and calling convention
 * on amd64 (e.g. an enum spelled int, ssize_t spelled long, a struct pointer
 * spelled void *, enum members written as #define macros).
 *
 * struct zone_nwiftab differs between illumos-gate (170 bytes) and SmartOS
 * and OmniOS (248 bytes): both are declared (hull_zone_nwiftab_gate,
 * hull_zone_nwiftab_joyent) and joined in hull_zone_nwiftab_buf, one zeroed
 * buffer larger than and aligned for either, which hull passes on every
 * platform; zonecfg_add_nwif takes it as void *.
 */
#ifndef HULL_VENDOR_LIBZONECFG_H
#define HULL_VENDOR_LIBZONECFG_H

#include <stdint.h>
#include <stddef.h>

/* usr/src/uts/common/sys/types.h: uint_t gate jlevon/illumos-gate@4859da614b562d26b86cd0961067070cb5ed350c L103, joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 L103, OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c L103;
 * boolean_t L194 in all three ("typedef enum { B_FALSE, B_TRUE } boolean_t;": same values, ABI-equivalent);
 * zoneid_t "typedef id_t zoneid_t;" L390 with "typedef int id_t;" L307 in all three (spelled int here: ABI-equivalent).
 * h: zone_state_t gate L179, joyent L195, OmniOS L185; zone_dochandle_t gate L177, joyent L193, OmniOS L183.
 * FILE: hull's own opaque tag standing in for stdio's FILE ("typedef __FILE FILE;" usr/src/head/iso/stdio_iso.h L93,
 * "typedef struct __FILE_TAG __FILE;" usr/src/head/stdio_tag.h L40, in all three); used only as FILE *: ABI-equivalent. */
typedef unsigned int uint_t;
typedef enum { B_FALSE = 0, B_TRUE = 1 } boolean_t;
typedef int zoneid_t;
typedef uint_t zone_state_t;
typedef struct zone_dochandle *zone_dochandle_t;
typedef struct __hull_FILE FILE;

/* ZONENAME_MAX: usr/src/uts/common/sys/zone.h gate jlevon/illumos-gate@4859da614b562d26b86cd0961067070cb5ed350c L279 (L281 in gate 2023), joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 L306, OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c L298.
 * MAXPATHLEN, MAXNAMELEN: usr/src/uts/common/sys/param.h L199, L202 in all three.
 * FSTYPSZ: usr/src/uts/common/sys/fstyp.h L37; MAX_MNTOPT_STR: usr/src/uts/common/sys/mount.h L83 (all three).
 * LIFNAMSIZ: usr/src/uts/common/net/if.h L349 ("#define LIFNAMSIZ _LIFNAMSIZ", with "#define _LIFNAMSIZ 32" L345; all three).
 * INET6_ADDRSTRLEN: usr/src/uts/common/netinet/in.h gate L1203, joyent L1210, OmniOS L1212.
 * MAXMACADDRLEN: usr/src/uts/common/sys/mac.h gate L131, joyent L140, OmniOS L148.
 * ZONE_INT32SZ: h joyent L134, OmniOS L132; not in gate (used only by the joyent/OmniOS zone_nwiftab layout). */
#define ZONENAME_MAX 64
#define MAXPATHLEN 1024
#define MAXNAMELEN 256
#define FSTYPSZ 16
#define MAX_MNTOPT_STR 1024
#define LIFNAMSIZ 32
#define INET6_ADDRSTRLEN 46
#define MAXMACADDRLEN 20
#define ZONE_INT32SZ 11

/* ZS_SHARED (0), ZS_EXCLUSIVE (1): members of "typedef enum zone_iptype { ... } zone_iptype_t;", h gate jlevon/illumos-gate@4859da614b562d26b86cd0961067070cb5ed350c L275-276
 * (enum L274-277), joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 L174-175 (L173-176), OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c L292-293 (L291-294). Written as macros: ABI-equivalent. */
#define ZS_SHARED 0
#define ZS_EXCLUSIVE 1

/* ZONE_STATE_CONFIGURED..ZONE_STATE_MOUNTED (0-7): h gate jlevon/illumos-gate@4859da614b562d26b86cd0961067070cb5ed350c L110-117, joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 L112-119, OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c L112-119. */
#define ZONE_STATE_CONFIGURED 0
#define ZONE_STATE_INCOMPLETE 1
#define ZONE_STATE_INSTALLED 2
#define ZONE_STATE_READY 3
#define ZONE_STATE_RUNNING 4
#define ZONE_STATE_SHUTTING_DOWN 5
#define ZONE_STATE_DOWN 6
#define ZONE_STATE_MOUNTED 7

/* Z_* codes hull names. */
/* h, lines gate jlevon/illumos-gate@4859da614b562d26b86cd0961067070cb5ed350c / joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 / OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c:
 *   Z_OK L57/L59/L59, Z_EMPTY_DOCUMENT L58/L60/L60, Z_NO_ENTRY L63/L65/L65, Z_BAD_HANDLE L67/L69/L69,
 *   Z_BOGUS_ZONE_NAME L64/L66/L66, Z_NOMEM L68/L70/L70, Z_INVAL L69/L71/L71, Z_ACCES L70/L72/L72,
 *   Z_NO_ZONE L73/L75/L75, Z_BAD_ZONE_STATE L78/L80/L80, Z_NAME_IN_USE L80/L82/L82, Z_SYSTEM L85/L87/L87,
 *   Z_ALIAS_DISALLOW L95/L97/L97. Same values in all three. */
#define Z_OK 0
#define Z_EMPTY_DOCUMENT 1
#define Z_NO_ENTRY 6
#define Z_BAD_HANDLE 10
#define Z_BOGUS_ZONE_NAME 7
#define Z_NOMEM 11
#define Z_INVAL 12
#define Z_ACCES 13
#define Z_NO_ZONE 16
#define Z_BAD_ZONE_STATE 21
#define Z_NAME_IN_USE 23
#define Z_SYSTEM 28
#define Z_ALIAS_DISALLOW 42

/* zone_fsopt_t: h gate jlevon/illumos-gate@4859da614b562d26b86cd0961067070cb5ed350c L181-184, joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 L197-200, OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c L187-190 (same fields). */
typedef struct zone_fsopt {
	struct zone_fsopt *zone_fsopt_next;
	char zone_fsopt_opt[MAX_MNTOPT_STR];
} zone_fsopt_t;

/* struct zone_fstab: h gate jlevon/illumos-gate@4859da614b562d26b86cd0961067070cb5ed350c L186-192, joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 L202-208, OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c L192-198 (same fields, same order). */
struct zone_fstab {
	char zone_fs_special[MAXPATHLEN];
	char zone_fs_dir[MAXPATHLEN];
	char zone_fs_type[FSTYPSZ];
	zone_fsopt_t *zone_fs_options;
	char zone_fs_raw[MAXPATHLEN];
};

/* illumos-gate: 170 bytes. */
/* hull's name for illumos-gate's struct zone_nwiftab: h gate jlevon/illumos-gate@4859da614b562d26b86cd0961067070cb5ed350c L194-199 (same lines in gate 2023),
 * fields L195-198 in the same order. Not the layout in joyent or OmniOS (see below). */
typedef struct hull_zone_nwiftab_gate {
	char zone_nwif_address[INET6_ADDRSTRLEN];
	char zone_nwif_allowed_address[INET6_ADDRSTRLEN];
	char zone_nwif_physical[LIFNAMSIZ];
	char zone_nwif_defrouter[INET6_ADDRSTRLEN];
} hull_zone_nwiftab_gate_t;

/* illumos-joyent (SmartOS) and OmniOS: 248 bytes. */
/* hull's name for the joyent/OmniOS struct zone_nwiftab: h joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 L220-229, OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c L210-219
 * (fields J L221-228, O L211-218, same order). OmniOS uses this layout too, not only SmartOS.
 * zone_nwif_attrp is "struct zone_res_attrtab *" upstream (void * here: ABI-equivalent). */
typedef struct hull_zone_nwiftab_joyent {
	char zone_nwif_address[INET6_ADDRSTRLEN];
	char zone_nwif_allowed_address[INET6_ADDRSTRLEN];
	char zone_nwif_physical[LIFNAMSIZ];
	char zone_nwif_mac[MAXMACADDRLEN];
	char zone_nwif_vlan_id[ZONE_INT32SZ];
	char zone_nwif_gnic[LIFNAMSIZ];
	char zone_nwif_defrouter[INET6_ADDRSTRLEN];
	void *zone_nwif_attrp;
} hull_zone_nwiftab_joyent_t;

/*
 * One buffer for every layout: zeroed, 8-byte aligned and larger than any,
 * with only the fields common to all (zone_nwif_physical, at offset 92 in
 * each) filled. libzonecfg reads its own layout's size from it.
 */
/* hull_zone_nwiftab_buf: hull's own union (no upstream counterpart), sized and aligned for every
 * struct zone_nwiftab layout above (gate 170 bytes / align 1; joyent and OmniOS 248 bytes / align 8). */
typedef union hull_zone_nwiftab_buf {
	hull_zone_nwiftab_gate_t gate;
	hull_zone_nwiftab_joyent_t joyent;
	uint64_t align;
	char room[512];
} hull_zone_nwiftab_buf_t;

/*
 * illumos-gate's capped-memory resource (SmartOS and OmniOS cap memory
 * with the "physical" rctl alias instead and have neither): the cap is a
 * decimal count of bytes. zonecfg_modify_mcap is not in every libzonecfg,
 * so it is looked up by hull, not bound by the loader.
 */
/* struct zone_mcaptab: h gate jlevon/illumos-gate@4859da614b562d26b86cd0961067070cb5ed350c L233-235 (same lines in gate 2023); absent from joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 and OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c.
 * hull_zonecfg_modify_mcap_fn: hull's name for a pointer to
 * "extern int zonecfg_modify_mcap(zone_dochandle_t, struct zone_mcaptab *);" h gate L435; defined in lz.c gate L7038
 * (L7040 in gate 2023); exported in usr/src/lib/libzonecfg/common/mapfile-vers gate L176.
 * Gate only: not declared in the joyent or OmniOS h and not in their mapfile-vers. */
struct zone_mcaptab {
	char zone_physmem_cap[MAXNAMELEN];
};
typedef int (*hull_zonecfg_modify_mcap_fn)(zone_dochandle_t, struct zone_mcaptab *);

/* libzonecfg */
/* h, lines gate jlevon/illumos-gate@4859da614b562d26b86cd0961067070cb5ed350c / joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 / OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c (same text in all three):
 *   zonecfg_init_handle L282/L304/L299; zonecfg_get_template_handle L285-286/L307-308/L302-303
 *   (defined lz.c L666/L698/L695); zonecfg_get_handle L283/L305/L300; zonecfg_fini_handle L289/L311/L306;
 *   zonecfg_set_name L313/L336/L330; zonecfg_set_zonepath L315/L338/L332; zonecfg_get_zonepath L314/L337/L331;
 *   zonecfg_set_brand L332/L357/L351; zonecfg_get_brand L331/L356/L350 (defined lz.c L1014/L1042/L1039,
 *   exported in usr/src/lib/libzonecfg/common/mapfile-vers L121/L124/L124);
 *   zonecfg_set_autoboot L317/L340/L334;
 *   zonecfg_set_iptype L319/L342/L336 (2nd parameter zone_iptype_t upstream; int here: ABI-equivalent);
 *   zonecfg_add_nwif L353/L387/L381 (2nd parameter struct zone_nwiftab * upstream; void * here: ABI-equivalent,
 *   provided the caller passes the platform's layout, e.g. hull_zone_nwiftab_buf);
 *   zonecfg_add_filesystem L337/L362/L356; zonecfg_add_fs_option L344/L369/L363;
 *   zonecfg_free_fs_option_list L346/L371/L365; zonecfg_set_aliased_rctl L394/L428/L422;
 *   zonecfg_save L292/L314/L309; zonecfg_destroy L290/L312/L307;
 *   setzoneent L544/L573/L566; getzoneent L545/L574/L567; endzoneent L547/L576/L569;
 *   zone_get_state L534/L561/L555; zone_state_str L536/L563/L557; zonecfg_strerror L294/L316/L311. */
zone_dochandle_t zonecfg_init_handle(void);
int zonecfg_get_template_handle(const char *, const char *, zone_dochandle_t);
int zonecfg_get_handle(const char *, zone_dochandle_t);
void zonecfg_fini_handle(zone_dochandle_t);
int zonecfg_set_name(zone_dochandle_t, char *);
int zonecfg_set_zonepath(zone_dochandle_t, char *);
int zonecfg_get_zonepath(zone_dochandle_t, char *, size_t);
int zonecfg_set_brand(zone_dochandle_t, char *);
int zonecfg_get_brand(zone_dochandle_t, char *, size_t);
int zonecfg_set_autoboot(zone_dochandle_t, boolean_t);
int zonecfg_set_iptype(zone_dochandle_t, int);
int zonecfg_add_nwif(zone_dochandle_t, void *);
int zonecfg_add_filesystem(zone_dochandle_t, struct zone_fstab *);
int zonecfg_add_fs_option(struct zone_fstab *, char *);
void zonecfg_free_fs_option_list(zone_fsopt_t *);
int zonecfg_set_aliased_rctl(zone_dochandle_t, char *, uint64_t);
int zonecfg_save(zone_dochandle_t);
int zonecfg_destroy(const char *, boolean_t);
FILE *setzoneent(void);
char *getzoneent(FILE *);
void endzoneent(FILE *);
int zone_get_state(char *, zone_state_t *);
char *zone_state_str(zone_state_t);
char *zonecfg_strerror(int);

/* libc (zone.h) */
/* usr/src/head/zone.h, lines gate jlevon/illumos-gate@4859da614b562d26b86cd0961067070cb5ed350c / joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 / OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c:
 *   getzoneidbyname L42/L43/L43; getzonenamebyid L43/L44/L44; zone_getattr L62/L66/L66; zone_list L65/L69/L69.
 * Defined in usr/src/lib/libc/port/sys/zone.c: L204/L208/L208, L210/L214/L214, L85/L89/L89, L183/L187/L187.
 * getzonenamebyid and zone_getattr return ssize_t upstream (long here: ABI-equivalent on LP64/amd64 only). */
zoneid_t getzoneidbyname(const char *);
long getzonenamebyid(zoneid_t, char *, size_t);
long zone_getattr(zoneid_t, int, void *, size_t);
int zone_list(zoneid_t *, uint_t *);

#endif
