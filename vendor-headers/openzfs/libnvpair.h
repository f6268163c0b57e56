/*
 * Minimal libnvpair declarations for hull's nvpair-sys, written for this
 * project; each one is checked against the real sources cited beside it
 * (shared/reference/illumos-abi.md section 1.5 was only a lead). The functions
 * and constants are the same on illumos and OpenZFS (OpenZFS 2.2 added
 * const qualifiers, which do not change the ABI; the older non-const forms
 * are declared here).
 *
 * Source citations (checked against git snapshots; line numbers L<n>):
 *   OpenZFS HEAD  = openzfs/zfs @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db
 *   OpenZFS 2.1   = openzfs/zfs tag zfs-2.1.16 @a7186651d3306debca6b4f72797239eea61db36c
 *   illumos-gate  = illumos-gate commits as found in the history of
 *                   zssfred/illumos-joyent (a TritonDataCenter/illumos-joyent
 *                   fork, HEAD @6e2c24e158594101032b0558bd67d9f1ec0b30e1);
 *                   illumos-joyent HEAD carries the identical sys/nvpair.h blob.
 * <libnvpair.h> (OpenZFS include/libnvpair.h; illumos
 * usr/src/lib/libnvpair/libnvpair.h) only adds printing helpers; every
 * declaration below comes from <sys/nvpair.h>, which it includes.
 */
#ifndef HULL_VENDOR_LIBNVPAIR_H
#define HULL_VENDOR_LIBNVPAIR_H

#include <stdint.h>

/* openzfs/zfs lib/libspl/include/sys/stdtypes.h @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db L23; illumos-gate usr/src/uts/common/sys/types.h @1f0c5e612d8dfd7d1a8f4487cef753357b9909f5 L103 */
typedef unsigned int uint_t;
/* openzfs/zfs lib/libspl/include/sys/stdtypes.h @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db L16-19 (B_FALSE = 0, B_TRUE = 1); illumos-gate usr/src/uts/common/sys/types.h @1f0c5e612d8dfd7d1a8f4487cef753357b9909f5 L194 ({ B_FALSE, B_TRUE }, same values; L192 spells them _B_FALSE/_B_TRUE under __XOPEN_OR_POSIX) */
typedef enum { B_FALSE = 0, B_TRUE = 1 } boolean_t;

/* openzfs/zfs include/sys/nvpair.h @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db L85, L92-93; illumos-gate usr/src/uts/common/sys/nvpair.h @2ec7644aab2a726a64681fa66c6db8731b160de1 L99, L106-107 */
#define NV_VERSION 0
#define NV_UNIQUE_NAME 0x1
#define NV_UNIQUE_NAME_TYPE 0x2

/* Opaque: only ever handled through pointers. */
/* Upstream defines both structs in full (nvlist_t is 24 bytes); hull keeps them opaque.
 * openzfs/zfs include/sys/nvpair.h @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db L76-82 (nvlist_t), L64-73 (nvpair_t);
 * illumos-gate usr/src/uts/common/sys/nvpair.h @2ec7644aab2a726a64681fa66c6db8731b160de1 L90-96 (nvlist_t), L78-87 (nvpair_t) */
typedef struct nvlist nvlist_t;
typedef struct nvpair nvpair_t;

/* openzfs/zfs include/sys/nvpair.h @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db L28-62; illumos-gate usr/src/uts/common/sys/nvpair.h @2ec7644aab2a726a64681fa66c6db8731b160de1 L42-76.
 * Same members in the same order on both (DONTCARE = -1 ... DOUBLE = 27). Upstream
 * declares DATA_TYPE_DOUBLE only when !_KERNEL (OpenZFS: && !_STANDALONE), i.e. in
 * userland, which is what hull is. */
typedef enum {
	DATA_TYPE_DONTCARE = -1,
	DATA_TYPE_UNKNOWN = 0,
	DATA_TYPE_BOOLEAN,
	DATA_TYPE_BYTE,
	DATA_TYPE_INT16,
	DATA_TYPE_UINT16,
	DATA_TYPE_INT32,
	DATA_TYPE_UINT32,
	DATA_TYPE_INT64,
	DATA_TYPE_UINT64,
	DATA_TYPE_STRING,
	DATA_TYPE_BYTE_ARRAY,
	DATA_TYPE_INT16_ARRAY,
	DATA_TYPE_UINT16_ARRAY,
	DATA_TYPE_INT32_ARRAY,
	DATA_TYPE_UINT32_ARRAY,
	DATA_TYPE_INT64_ARRAY,
	DATA_TYPE_UINT64_ARRAY,
	DATA_TYPE_STRING_ARRAY,
	DATA_TYPE_HRTIME,
	DATA_TYPE_NVLIST,
	DATA_TYPE_NVLIST_ARRAY,
	DATA_TYPE_BOOLEAN_VALUE,
	DATA_TYPE_INT8,
	DATA_TYPE_UINT8,
	DATA_TYPE_BOOLEAN_ARRAY,
	DATA_TYPE_INT8_ARRAY,
	DATA_TYPE_UINT8_ARRAY,
	DATA_TYPE_DOUBLE
} data_type_t;

/*
 * Prototypes: all from <sys/nvpair.h>. Each line below is token-for-token the
 * illumos-gate form and the OpenZFS 2.1 form; "HEAD:" gives the OpenZFS HEAD
 * line, where marked (c) the prototype gained const qualifiers in 2.2
 * (ABI-identical).
 *   openzfs/zfs include/sys/nvpair.h @a7186651d3306debca6b4f72797239eea61db36c (zfs-2.1.16)
 *   openzfs/zfs include/sys/nvpair.h @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db (HEAD)
 *   illumos-gate usr/src/uts/common/sys/nvpair.h @2ec7644aab2a726a64681fa66c6db8731b160de1
 *                              2.1.16  HEAD      illumos-gate
 *   nvlist_alloc               L151    L143      L155
 *   nvlist_free                L152    L144      L156
 *   nvlist_add_boolean         L168    L161      L172
 *   nvlist_add_boolean_value   L169    L162      L173
 *   nvlist_add_int32           L175    L168      L179
 *   nvlist_add_uint64          L178    L171      L182
 *   nvlist_add_string          L179    L172      L183
 *   nvlist_add_nvlist          L180    L173 (c)  L184
 *   nvlist_lookup_int32        L209    L218 (c)  L213
 *   nvlist_lookup_uint64       L212    L224 (c)  L216
 *   nvlist_lookup_string       L213    L226 (c)  L217
 *   nvlist_lookup_nvlist       L214    L228      L218
 *   nvlist_exists              L238    L265 (c)  L242
 *   nvlist_next_nvpair         L242    L269 (c)  L246
 *   nvpair_name                L244    L271 (c)  L248
 *   nvpair_type                L245    L272 (c)  L249
 *   nvpair_value_int32         L253    L280 (c)  L257
 *   nvpair_value_uint64        L256    L283 (c)  L260
 *   nvpair_value_string        L257    L284 (c)  L261
 *   nvpair_value_nvlist        L258    L285      L262
 */
int nvlist_alloc(nvlist_t **, uint_t, int);
void nvlist_free(nvlist_t *);
int nvlist_add_boolean(nvlist_t *, const char *);
int nvlist_add_boolean_value(nvlist_t *, const char *, boolean_t);
int nvlist_add_int32(nvlist_t *, const char *, int32_t);
int nvlist_add_uint64(nvlist_t *, const char *, uint64_t);
int nvlist_add_string(nvlist_t *, const char *, const char *);
int nvlist_add_nvlist(nvlist_t *, const char *, nvlist_t *);
int nvlist_lookup_int32(nvlist_t *, const char *, int32_t *);
int nvlist_lookup_uint64(nvlist_t *, const char *, uint64_t *);
int nvlist_lookup_string(nvlist_t *, const char *, char **);
int nvlist_lookup_nvlist(nvlist_t *, const char *, nvlist_t **);
boolean_t nvlist_exists(nvlist_t *, const char *);
nvpair_t *nvlist_next_nvpair(nvlist_t *, nvpair_t *);
char *nvpair_name(nvpair_t *);
data_type_t nvpair_type(nvpair_t *);
int nvpair_value_int32(nvpair_t *, int32_t *);
int nvpair_value_uint64(nvpair_t *, uint64_t *);
int nvpair_value_string(nvpair_t *, char **);
int nvpair_value_nvlist(nvpair_t *, nvlist_t **);

#endif
