/*
 * Minimal libzonecfg and libc zone declarations for hull's zonecfg-sys,
 * written for this project from shared/reference/illumos-abi.md section 3
 * (illumos-gate libzonecfg.h @d2a70789, zone.h; illumos-joyent variants).
 *
 * struct zone_nwiftab differs between illumos-gate and SmartOS: both are
 * declared (hull_zone_nwiftab_gate, hull_zone_nwiftab_joyent) and the
 * caller picks one at run time; zonecfg_add_nwif takes it as void *.
 */
#ifndef HULL_VENDOR_LIBZONECFG_H
#define HULL_VENDOR_LIBZONECFG_H

#include <stdint.h>
#include <stddef.h>

typedef unsigned int uint_t;
typedef enum { B_FALSE = 0, B_TRUE = 1 } boolean_t;
typedef int zoneid_t;
typedef uint_t zone_state_t;
typedef struct zone_dochandle *zone_dochandle_t;
typedef struct __hull_FILE FILE;

#define ZONENAME_MAX 64
#define MAXPATHLEN 1024
#define MAXNAMELEN 256
#define FSTYPSZ 16
#define MAX_MNTOPT_STR 1024
#define LIFNAMSIZ 32
#define INET6_ADDRSTRLEN 46
#define MAXMACADDRLEN 20
#define ZONE_INT32SZ 11

#define ZS_SHARED 0
#define ZS_EXCLUSIVE 1

#define ZONE_STATE_CONFIGURED 0
#define ZONE_STATE_INCOMPLETE 1
#define ZONE_STATE_INSTALLED 2
#define ZONE_STATE_READY 3
#define ZONE_STATE_RUNNING 4
#define ZONE_STATE_SHUTTING_DOWN 5
#define ZONE_STATE_DOWN 6
#define ZONE_STATE_MOUNTED 7

/* Z_* codes hull names. */
#define Z_OK 0
#define Z_NO_ENTRY 6
#define Z_BOGUS_ZONE_NAME 7
#define Z_NOMEM 11
#define Z_INVAL 12
#define Z_ACCES 13
#define Z_NO_ZONE 16
#define Z_BAD_ZONE_STATE 21
#define Z_NAME_IN_USE 23
#define Z_SYSTEM 28

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

/* illumos-gate: 170 bytes. */
typedef struct hull_zone_nwiftab_gate {
	char zone_nwif_address[INET6_ADDRSTRLEN];
	char zone_nwif_allowed_address[INET6_ADDRSTRLEN];
	char zone_nwif_physical[LIFNAMSIZ];
	char zone_nwif_defrouter[INET6_ADDRSTRLEN];
} hull_zone_nwiftab_gate_t;

/* illumos-joyent (SmartOS): 248 bytes. */
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

/* libzonecfg */
zone_dochandle_t zonecfg_init_handle(void);
int zonecfg_get_handle(const char *, zone_dochandle_t);
void zonecfg_fini_handle(zone_dochandle_t);
int zonecfg_set_name(zone_dochandle_t, char *);
int zonecfg_set_zonepath(zone_dochandle_t, char *);
int zonecfg_get_zonepath(zone_dochandle_t, char *, size_t);
int zonecfg_set_brand(zone_dochandle_t, char *);
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
zoneid_t getzoneidbyname(const char *);
long getzonenamebyid(zoneid_t, char *, size_t);
long zone_getattr(zoneid_t, int, void *, size_t);
int zone_list(zoneid_t *, uint_t *);

#endif
