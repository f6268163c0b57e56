/*
 * Minimal libdladm declarations for hull's dladm-sys (illumos libdladm.h,
 * libdllink.h, libdlvnic.h and the kernel headers they include).
 *
 * Source citations: each declaration below was checked against the real
 * illumos sources cited beside it (line numbers L<n>; paths are relative to
 * the root of the illumos source tree). Git snapshots used, each a fork or
 * mirror whose history tracks the named upstream up to the date given (the
 * upstream repositories illumos/illumos-gate, TritonDataCenter/illumos-joyent
 * and omniosorg/illumos-omnios themselves were too large to fetch):
 *   illumos-gate:  r1mikey/illumos-gate@bb936843191c6a154629c77053e56d3847a1d158
 *                  (illumos-gate master as of 2023-12-10; it contains gate
 *                  commit 36589d6bb0cdae89e166b57b0d64ae56d53247d9, "13500
 *                  Want support for overlay networks", 2022-02-22)
 *   illumos-joyent (SmartOS): zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1
 *                  (illumos-joyent as of 2019-12-16, the newest copy available)
 *   OmniOS:        yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c
 *                  (OmniOS master as of 2021-04-16)
 * Older illumos-gate, for the 14-argument dladm_vnic_create only:
 *   jlevon/illumos-gate@4859da614b562d26b86cd0961067070cb5ed350c (2020-04-06) and
 *   gwr/illumos-gate@746f551ddc191f00808cd4121966c1ee42d5b74f (2013-10-09).
 * Neither the joyent nor the OmniOS snapshot is current: later SmartOS and
 * OmniOS releases were not checked. Every declaration was checked against
 * all three trees unless its comment says otherwise.
 * "ABI-equivalent" marks a declaration whose text is not token-identical to
 * the source but has the same value, size, alignment and calling convention
 * on amd64 (e.g. an enum type spelled int: C enums are int-sized on illumos
 * amd64; enum members written here as #define macros with the same values).
 *
 * dladm_vnic_attr_t embeds mac_resource_props_t, which is large and changes
 * between releases, so it is not declared: dladm_vnic_info is given an
 * opaque buffer of HULL_VNIC_ATTR_BUFSIZE bytes and only its leading scalar
 * fields (hull_vnic_attr_head_t, identical in every release) are read.
 */
#ifndef HULL_VENDOR_LIBDLADM_H
#define HULL_VENDOR_LIBDLADM_H

#include <stdint.h>
#include <stddef.h>

/* uint_t, uchar_t: usr/src/uts/common/sys/types.h: gate r1mikey/illumos-gate@bb936843191c6a154629c77053e56d3847a1d158 L104, L102; joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 L103, L101; OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c L103, L101 */
typedef unsigned int uint_t;
typedef unsigned char uchar_t;
/* boolean_t: usr/src/uts/common/sys/types.h: gate r1mikey/illumos-gate@bb936843191c6a154629c77053e56d3847a1d158 L215 ({ B_FALSE = 0, B_TRUE = 1, _B_FALSE = 0, _B_TRUE = 1 });
 * joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 L194 and OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c L194 ({ B_FALSE, B_TRUE }). ABI-equivalent, not token-identical: same values, int-sized. */
typedef enum { B_FALSE = 0, B_TRUE = 1 } boolean_t;
/* datalink_id_t: usr/src/uts/common/sys/types.h: gate r1mikey/illumos-gate@bb936843191c6a154629c77053e56d3847a1d158 L416; joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 L384; OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c L384 */
typedef uint32_t datalink_id_t;
/* datalink_media_t: usr/src/uts/common/sys/dls_mgmt.h: gate r1mikey/illumos-gate@bb936843191c6a154629c77053e56d3847a1d158 L68; joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 L66; OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c L66 */
typedef uint64_t datalink_media_t;
/* vrid_t: usr/src/uts/common/sys/types.h: gate r1mikey/illumos-gate@bb936843191c6a154629c77053e56d3847a1d158 L417; joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 L385; OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c L385
 * ("typedef uint32_t vrid_t;" in all three, so the width is verified: uint32_t). */
typedef uint32_t vrid_t;

/* usr/src/lib/libdladm/common/libdladm.h: struct dladm_handle / dladm_handle_t: gate r1mikey/illumos-gate@bb936843191c6a154629c77053e56d3847a1d158 L214-215; joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 L211-212; OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c L208-209.
 * dladm_arg_list_t: opaque form of "typedef struct dladm_arg_list { ... } dladm_arg_list_t;" (same tag): gate L239-243; joyent L236-240; OmniOS L233-237. */
struct dladm_handle;
typedef struct dladm_handle *dladm_handle_t;
typedef struct dladm_arg_list dladm_arg_list_t;

/* DATALINK_INVALID_LINKID: usr/src/uts/common/sys/mac.h: gate r1mikey/illumos-gate@bb936843191c6a154629c77053e56d3847a1d158 L68; joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 L67; OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c L68.
 * MAXLINKNAMELEN: usr/src/uts/common/sys/param.h L209 in all three.
 * MAXMACADDRLEN: usr/src/uts/common/sys/mac.h: gate L148; joyent L140; OmniOS L148.
 * ETHERADDRL: usr/src/uts/common/sys/ethernet.h: gate L40; joyent L39; OmniOS L39 (spelled "(6)" there: same value). */
#define DATALINK_INVALID_LINKID 0
#define MAXLINKNAMELEN 32
#define MAXMACADDRLEN 20
#define ETHERADDRL 6
/* 256 on illumos-gate and OmniOS, 2048 on illumos-joyent: the larger. */
/* DLADM_STRSIZE: usr/src/lib/libdladm/common/libdladm.h: gate r1mikey/illumos-gate@bb936843191c6a154629c77053e56d3847a1d158 L51 (256); joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 L50 (2048,
 * since joyent commit 868d62fdba8df95378d6e17a5b6154e3fd228de9, OS-5215, 2016-03-18); OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c L50 (256).
 * MISMATCH (deliberate, safe): differs from gate and OmniOS (256). It only sizes buffers hull allocates
 * for dladm_status2str, which writes at most the platform's own DLADM_STRSIZE (snprintf in
 * usr/src/lib/libdladm/common/libdladm.c: gate L455, joyent L459, OmniOS L457). */
#define DLADM_STRSIZE 2048
/*
 * sizeof(dladm_vnic_attr_t) on amd64: the largest known layout, and the
 * buffer hull passes to dladm_vnic_info, with room for a release that grows
 * it (twice the largest; checked at compile time in dladm-sys).
 */
/* HULL_VNIC_ATTR_SIZE_*: hull's own names (no upstream macro) for sizeof(dladm_vnic_attr_t) on amd64, computed
 * with a gcc x86-64 layout model of: dladm_vnic_attr_t, usr/src/lib/libdladm/common/libdlvnic.h L40-53 (all three);
 * mac_resource_props_t, usr/src/uts/common/sys/mac_flow.h (inside "#pragma pack(4)": gate r1mikey/illumos-gate@bb936843191c6a154629c77053e56d3847a1d158 L74-259,
 * joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 L73-268, OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c L74-259; struct ends gate L230, joyent L239, OmniOS L230),
 * with MRP_NCPUS = 256 (gate L96, OmniOS L96) or 128 (joyent L95); joyent's mac_protect_t has two extra
 * uint32_t fields (mp_allcids, mp_dynamic, joyent L191-192).
 *   _GATE 15480: gate and OmniOS (MRP_NCPUS 256).
 *   _JOYENT 12928: joyent as of 2019-12 (MRP_NCPUS 128 plus the two extra fields).
 *   _MAX 15488: joyent with MRP_NCPUS 256 (gate 3714f7be8e09c39a0ea7ce7ef44cb495ce250913, 13218, 2020-12-16)
 *     and the two extra fields: computed only; no joyent tree with that combination was available to check.
 * HULL_VNIC_ATTR_BUFSIZE: hull's own buffer size (no upstream counterpart); not derived from any source. */
#define HULL_VNIC_ATTR_SIZE_GATE 15480
#define HULL_VNIC_ATTR_SIZE_JOYENT 12928
#define HULL_VNIC_ATTR_SIZE_MAX 15488
#define HULL_VNIC_ATTR_BUFSIZE 32768

/* usr/src/lib/libdladm/common/libdladm.h: DLADM_OPT_ACTIVE, _PERSIST, _ANCHOR, _VLAN: gate r1mikey/illumos-gate@bb936843191c6a154629c77053e56d3847a1d158 L86, L87, L91, L92;
 * joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 L85, L86, L90, L91; OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c L81, L82, L86, L87.
 * DLADM_WALK_TERMINATE, _CONTINUE: gate L97-98; joyent L96-97; OmniOS L91-92 (CONTINUE is spelled "-1" there: same value). */
#define DLADM_OPT_ACTIVE 0x00000001
#define DLADM_OPT_PERSIST 0x00000002
#define DLADM_OPT_ANCHOR 0x00000020
#define DLADM_OPT_VLAN 0x00000040
#define DLADM_WALK_TERMINATE 0
#define DLADM_WALK_CONTINUE (-1)

/* VNIC_MAC_ADDR_TYPE_*: members of enum vnic_mac_addr_type_t, usr/src/uts/common/sys/vnic.h L90-98, same lines in
 * gate r1mikey/illumos-gate@bb936843191c6a154629c77053e56d3847a1d158, joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 and OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c: UNKNOWN = -1 L91, FIXED (0) L92, RANDOM (1) L93, FACTORY (2) L94, AUTO (3) L95.
 * Enum members written as macros (ABI-equivalent).
 * VRRP_VRID_NONE: usr/src/lib/libvrrpadm/common/netinet/vrrp.h L61 in all three. */
#define VNIC_MAC_ADDR_TYPE_FIXED 0
#define VNIC_MAC_ADDR_TYPE_RANDOM 1
#define VNIC_MAC_ADDR_TYPE_AUTO 3
#define VRRP_VRID_NONE 0

/* DATALINK_CLASS_*: members of enum datalink_class_t, usr/src/uts/common/sys/dls_mgmt.h: gate r1mikey/illumos-gate@bb936843191c6a154629c77053e56d3847a1d158 L43-47 (enum L42-54);
 * joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 L42-46 (enum L41-52); OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c L42-46 (enum L41-52). Enum members written as macros (ABI-equivalent).
 * DATALINK_ANY_MEDIATYPE: dls_mgmt.h gate L70-71; joyent L68-69; OmniOS L68-69. */
#define DATALINK_CLASS_PHYS 0x01
#define DATALINK_CLASS_VLAN 0x02
#define DATALINK_CLASS_AGGR 0x04
#define DATALINK_CLASS_VNIC 0x08
#define DATALINK_CLASS_ETHERSTUB 0x10
/* ((datalink_media_t)(((datalink_media_t)0x01) << 32)), written so bindgen can read it */
#define DATALINK_ANY_MEDIATYPE 0x100000000ULL

/* dladm_status_t: the values hull names (the order is ABI). */
/* Members of enum dladm_status_t (value counted by position), usr/src/lib/libdladm/common/libdladm.h, lines
 * gate r1mikey/illumos-gate@bb936843191c6a154629c77053e56d3847a1d158 / joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 / OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c:
 *   OK 0 L104/L103/L98, BADARG 1 L105/L104/L99, FAILED 2 L106/L105/L100, NOTSUP 4 L108/L107/L102,
 *   NOTFOUND 5 L109/L108/L103, BADVAL 6 L110/L109/L104, NOMEM 7 L111/L110/L105, EXIST 8 L112/L111/L106,
 *   LINKINVAL 9 L113/L112/L107, DENIED 13 L117/L116/L111, MACADDRINVAL 20 L124/L123/L118,
 *   LINKBUSY 24 L128/L127/L122, VIDINVAL 25 L129/L128/L123, INVALIDMACADDR 34 L138/L137/L132,
 *   INVALID_MTU 84 L188/L187/L182.
 * Enum members written as macros (ABI-equivalent). Values from 85 on differ between the trees (not declared here).
 * dladm_status_t: "typedef enum { ... } dladm_status_t;" libdladm.h gate L103-192, joyent L102-189, OmniOS L97-186.
 * datalink_class_t: "typedef enum { ... } datalink_class_t;" usr/src/uts/common/sys/dls_mgmt.h gate L42-54,
 * joyent L41-52, OmniOS L41-52. Both enums spelled int here: ABI-equivalent, not token-identical. */
#define DLADM_STATUS_OK 0
#define DLADM_STATUS_BADARG 1
#define DLADM_STATUS_FAILED 2
#define DLADM_STATUS_NOTSUP 4
#define DLADM_STATUS_NOTFOUND 5
#define DLADM_STATUS_BADVAL 6
#define DLADM_STATUS_NOMEM 7
#define DLADM_STATUS_EXIST 8
#define DLADM_STATUS_LINKINVAL 9
#define DLADM_STATUS_DENIED 13
#define DLADM_STATUS_MACADDRINVAL 20
#define DLADM_STATUS_LINKBUSY 24
#define DLADM_STATUS_VIDINVAL 25
#define DLADM_STATUS_INVALIDMACADDR 34
#define DLADM_STATUS_INVALID_MTU 84
typedef int dladm_status_t;
typedef int datalink_class_t;

/* dladm_prop_type_t */
/* usr/src/lib/libdladm/common/libdllink.h: "typedef enum { DLADM_PROP_VAL_CURRENT = 1, ... } dladm_prop_type_t;"
 * gate r1mikey/illumos-gate@bb936843191c6a154629c77053e56d3847a1d158 L57-63 (CURRENT L58); joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 L58-64 (CURRENT L59); OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c L57-63 (CURRENT L58).
 * dladm_prop_type_t spelled int and CURRENT written as a macro: ABI-equivalent, not token-identical.
 * DLADM_PROP_VAL_MAX: libdllink.h gate L82; joyent L83; OmniOS L82 ("#define DLADM_PROP_VAL_MAX 128"). */
typedef int dladm_prop_type_t;
#define DLADM_PROP_VAL_CURRENT 1
#define DLADM_PROP_VAL_MAX 128

/* The leading, release-independent fields of dladm_vnic_attr_t. */
/* Models the first eight fields of "typedef struct dladm_vnic_attr { ... } dladm_vnic_attr_t;",
 * usr/src/lib/libdladm/common/libdlvnic.h L40-53, same text and lines in gate r1mikey/illumos-gate@bb936843191c6a154629c77053e56d3847a1d158, joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 and OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c
 * (also in jlevon/illumos-gate@4859da614b562d26b86cd0961067070cb5ed350c); fields L41-48. Omitted: va_force L49, va_vrid L50, va_af L51, va_resource_props L52.
 * va_mac_addr_type is vnic_mac_addr_type_t upstream (int here: ABI-equivalent). Offsets 0/4/8/12/16/36/40/44
 * agree with the upstream layout on amd64 (gcc x86-64 layout model). */
typedef struct hull_vnic_attr_head {
	datalink_id_t va_vnic_id;
	datalink_id_t va_link_id;
	int va_mac_addr_type;
	uint_t va_mac_len;
	uchar_t va_mac_addr[MAXMACADDRLEN];
	int va_mac_slot;
	uint_t va_mac_prefix_len;
	uint16_t va_vid;
} hull_vnic_attr_head_t;

/* usr/src/lib/libdladm/common/libdladm.h: dladm_open L218, dladm_close L219, dladm_status2str L269 in gate r1mikey/illumos-gate@bb936843191c6a154629c77053e56d3847a1d158;
 * L215, L216, L266 in joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1; L212, L213, L263 in OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c. dladm_status2str's buffer must hold DLADM_STRSIZE.
 * usr/src/lib/libdladm/common/libdllink.h: dladm_name2info gate L170-172, joyent L171-173, OmniOS L170-172;
 * dladm_datalink_id2info gate L173-175, joyent L177-179, OmniOS L173-175; dladm_walk_datalink_id gate L176-178,
 * joyent L180-182, OmniOS L176-178 (datalink_class_t and dladm_status_t spelled via the int typedefs above:
 * ABI-equivalent).
 * dladm_valid_linkname: libdladm.h gate L274, joyent L271, OmniOS L268. */
dladm_status_t dladm_open(dladm_handle_t *);
void dladm_close(dladm_handle_t);
const char *dladm_status2str(dladm_status_t, char *);
dladm_status_t dladm_name2info(dladm_handle_t, const char *, datalink_id_t *, uint32_t *, datalink_class_t *, uint32_t *);
dladm_status_t dladm_datalink_id2info(dladm_handle_t, datalink_id_t, uint32_t *, datalink_class_t *, uint32_t *, char *, size_t);
dladm_status_t dladm_walk_datalink_id(int (*)(dladm_handle_t, datalink_id_t, void *), dladm_handle_t, void *, datalink_class_t, datalink_media_t, uint32_t);
boolean_t dladm_valid_linkname(const char *);
/*
 * dladm_vnic_create has had three ABI generations (14, 15 and 6 arguments)
 * under one symbol, so it is not declared as a prototype (a loader would
 * bind it with one fixed signature). hull looks it up itself, only after
 * telling the generation apart by symbols, and calls it through this type:
 * the 15-argument form with an error list between proplist and flags.
 */
/* dladm_vnic_create in usr/src/lib/libdladm/common/libdlvnic.h:
 *   15 arguments: L55-59 in gate r1mikey/illumos-gate@bb936843191c6a154629c77053e56d3847a1d158, joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 and OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c; definition
 *     usr/src/lib/libdladm/common/libdlvnic.c gate L402, joyent L399, OmniOS L400.
 *   14 arguments (no dladm_errlist_t *): L55-58 in jlevon/illumos-gate@4859da614b562d26b86cd0961067070cb5ed350c
 *     and in gwr/illumos-gate@746f551ddc191f00808cd4121966c1ee42d5b74f.
 *   6 arguments: only hrosenfeld/illumos-omnios@2485a2419b01cbc8e5397835087731447c5ca6f4 libdlvnic.h L55-57
 *     (a 2026 fork change; seen with read_file only, not in gate, joyent or OmniOS).
 * dladm_errlist_t: usr/src/lib/libdladm/common/libdladm.h gate r1mikey/illumos-gate@bb936843191c6a154629c77053e56d3847a1d158 L245-249; joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 L242-246;
 *   OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c L239-243 (fields el_count, el_alloc, el_errs, same text in all three; absent from the 14-argument-era gate).
 * hull_dladm_vnic_create_errlist_fn: hull's name for a pointer to the 15-argument dladm_vnic_create above; its 4th
 *   parameter is vnic_mac_addr_type_t upstream (int here: ABI-equivalent).
 * hull_dladm_errlist_reset_fn: hull's name for a pointer to "extern void dladm_errlist_reset(dladm_errlist_t *);",
 *   libdladm.h gate L320, joyent L317, OmniOS L313; defined in usr/src/lib/libdladm/common/libdladm.c gate L1337,
 *   joyent L1359, OmniOS L1333; exported in usr/src/lib/libdladm/common/mapfile-vers L276 in all three. */
typedef struct dladm_errlist {
	uint_t el_count;
	uint_t el_alloc;
	char **el_errs;
} dladm_errlist_t;
typedef dladm_status_t (*hull_dladm_vnic_create_errlist_fn)(dladm_handle_t, const char *, datalink_id_t, int, uchar_t *, uint_t, int *, uint_t, uint16_t, vrid_t, int, datalink_id_t *, dladm_arg_list_t *, dladm_errlist_t *, uint32_t);
typedef void (*hull_dladm_errlist_reset_fn)(dladm_errlist_t *);
/* usr/src/lib/libdladm/common/libdlvnic.h: dladm_vnic_delete L61-62, dladm_vnic_info L63-64, same lines in gate r1mikey/illumos-gate@bb936843191c6a154629c77053e56d3847a1d158,
 * joyent zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1 and OmniOS yuleihua/illumos-omnios@f14b03783dcaab9fe850b14af83b535183e01d3c. dladm_vnic_info takes dladm_vnic_attr_t * upstream (void * here: ABI-equivalent).
 * usr/src/lib/libdladm/common/libdladm.h: dladm_parse_link_props gate L289-290, joyent L287-288, OmniOS L283-284;
 * dladm_free_props gate L291, joyent L289, OmniOS L285.
 * usr/src/lib/libdladm/common/libdllink.h: dladm_set_linkprop gate L126-127, joyent L127-128, OmniOS L126-127;
 * dladm_get_linkprop gate L128-129, joyent L129-130, OmniOS L128-129 (dladm_prop_type_t spelled via the int typedef:
 * ABI-equivalent). Both are defined in usr/src/lib/libdladm/common/linkprop.c (set gate L1245, joyent L1097,
 * OmniOS L1094; get gate L1365, joyent L1201, OmniOS L1213). */
dladm_status_t dladm_vnic_delete(dladm_handle_t, datalink_id_t, uint32_t);
dladm_status_t dladm_vnic_info(dladm_handle_t, datalink_id_t, void *, uint32_t);
dladm_status_t dladm_parse_link_props(char *, dladm_arg_list_t **, boolean_t);
void dladm_free_props(dladm_arg_list_t *);
dladm_status_t dladm_set_linkprop(dladm_handle_t, datalink_id_t, const char *, char **, uint_t, uint_t);
dladm_status_t dladm_get_linkprop(dladm_handle_t, datalink_id_t, dladm_prop_type_t, const char *, char **, uint_t *);

#endif
