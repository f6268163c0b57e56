/*
 * Minimal libzfs_core (+ the few libzfs calls hull uses for listing,
 * properties and mounting) declarations for hull's zfs-core-sys, written for
 * this project; each one is checked against the real sources cited beside it
 * (shared/reference/illumos-abi.md sections 1 and 2 were only leads). Only
 * calls whose prototypes are the same on illumos and OpenZFS 2.x are
 * declared; enums passed by value are declared as int.
 *
 * Source citations (checked against git snapshots; line numbers L<n>):
 *   OpenZFS HEAD = openzfs/zfs @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db
 *     (OpenZFS prefixes each prototype with a visibility macro, e.g.
 *     _LIBZFS_CORE_H / _LIBZFS_H / _SYS_FS_ZFS_H; that does not change the ABI).
 *   illumos-gate = illumos-gate commits as found in the history of
 *     zssfred/illumos-joyent (a TritonDataCenter/illumos-joyent fork, HEAD
 *     @6e2c24e158594101032b0558bd67d9f1ec0b30e1). libzfs_core.h is the same
 *     (same lines) in tsoome/illumos-gate @08a01e8290c6814726ce220a139e15438a51f5ca.
 * "MISMATCH (type only)" below marks where hull spells an upstream enum type
 * as int: C enums are int-sized on illumos and Linux amd64, so the ABI is the
 * same, but the declared type differs from the source.
 */
#ifndef HULL_VENDOR_LIBZFS_CORE_H
#define HULL_VENDOR_LIBZFS_CORE_H

#include <stdint.h>
#include <stddef.h>

/* openzfs/zfs lib/libspl/include/sys/stdtypes.h @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db L23; illumos-gate usr/src/uts/common/sys/types.h @1f0c5e612d8dfd7d1a8f4487cef753357b9909f5 L103 */
typedef unsigned int uint_t;
/* openzfs/zfs lib/libspl/include/sys/stdtypes.h @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db L16-19; illumos-gate usr/src/uts/common/sys/types.h @1f0c5e612d8dfd7d1a8f4487cef753357b9909f5 L194 ({ B_FALSE, B_TRUE }, same values) */
typedef enum { B_FALSE = 0, B_TRUE = 1 } boolean_t;
/* opaque form of: openzfs/zfs include/sys/nvpair.h @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db L76-82; illumos-gate usr/src/uts/common/sys/nvpair.h @2ec7644aab2a726a64681fa66c6db8731b160de1 L90-96 */
typedef struct nvlist nvlist_t;

/* libzfs_core: lzc_dataset_type (upstream spelling). */
/* enum lzc_dataset_type members (ZVOL implicitly 3), declared here as macros:
 * openzfs/zfs include/libzfs_core.h @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db L43-46;
 * illumos-gate usr/src/lib/libzfs_core/common/libzfs_core.h @084fd14f7c3336eb67ee283cabad2da8998b00d6 L48-51 */
#define LZC_DATSET_TYPE_ZFS 2
#define LZC_DATSET_TYPE_ZVOL 3

/* ZFS-specific error codes start here (zfs_errno_t). */
/* first member of zfs_errno_t: openzfs/zfs include/sys/fs/zfs.h @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db L1793 (enum L1792-1823);
 * illumos-gate usr/src/uts/common/sys/fs/zfs.h @4348eb901228d2f8fa50bb132a34248e8662074e L1154 (enum L1153-1162;
 * members 1024-1028 agree with OpenZFS; from 1029 on the two enums differ) */
#define ZFS_ERR_CHECKPOINT_EXISTS 1024
/* openzfs/zfs include/sys/fs/zfs.h @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db L78; illumos-gate usr/src/uts/common/sys/fs/zfs.h @4348eb901228d2f8fa50bb132a34248e8662074e L82 */
#define ZFS_MAX_DATASET_NAME_LEN 256

/* openzfs/zfs include/libzfs_core.h @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db L34-35 (init, fini), L49-50 (lzc_create),
 *   L51 (clone), L48 (snapshot), L53 (destroy_snaps), L126 (destroy), L120 (exists), L52 (promote),
 *   L123 (rollback_to), L125 (rename);
 * illumos-gate usr/src/lib/libzfs_core/common/libzfs_core.h @084fd14f7c3336eb67ee283cabad2da8998b00d6 L42-43 (init, fini),
 *   L55-56 (lzc_create), L57 (clone), L54 (snapshot), L59 (destroy_snaps), L111 (destroy), L103 (exists),
 *   L58 (promote), L106 (rollback_to), L110 (rename). All identical on both apart from the note on lzc_create. */
int libzfs_core_init(void);
void libzfs_core_fini(void);
/* MISMATCH (type only, ABI-equivalent): 2nd parameter is 'enum lzc_dataset_type' upstream (both). */
int lzc_create(const char *, int, nvlist_t *, uint8_t *, uint_t);
int lzc_clone(const char *, const char *, nvlist_t *);
int lzc_snapshot(nvlist_t *, nvlist_t *, nvlist_t **);
int lzc_destroy_snaps(nvlist_t *, boolean_t, nvlist_t **);
int lzc_destroy(const char *);
boolean_t lzc_exists(const char *);
int lzc_promote(const char *, char *, int);
int lzc_rollback_to(const char *, const char *);
int lzc_rename(const char *, const char *);
/* lzc_receive: openzfs/zfs include/libzfs_core.h @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db L95-96
 *   (zfs-2.1.11 @ccd100dd3c372e0557beec830fb269b421152e14 L96-97, same tokens); illumos-gate
 *   usr/src/lib/libzfs_core/common/libzfs_core.h (r1mikey/illumos-gate @bb936843191c6a154629c77053e56d3847a1d158
 *   L92-93; jlevon/illumos-gate @4859da614b562d26b86cd0961067070cb5ed350c L92-93). Same prototype on both,
 *   (snapname, props, origin, B, B, fd), BUT the two boolean_t arguments are named the other way round:
 *   OpenZFS lib/libzfs_core/libzfs_core.c L1304-1305 is (..., force, raw, fd); illumos-gate
 *   usr/src/lib/libzfs_core/common/libzfs_core.c L859-860 (r1mikey) / L810-811 (jlevon) is
 *   (..., raw, force, fd). hull passes B_FALSE for both, so the swap cannot bite it. */
int lzc_receive(const char *, nvlist_t *, const char *, boolean_t, boolean_t, int);

/* libzfs: opaque handles. */
/* openzfs/zfs include/libzfs.h @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db L200, L198; illumos-gate usr/src/lib/libzfs/common/libzfs.h @084fd14f7c3336eb67ee283cabad2da8998b00d6 L205, L203 */
typedef struct libzfs_handle libzfs_handle_t;
typedef struct zfs_handle zfs_handle_t;

/* zfs_type_t members, declared here as macros:
 * openzfs/zfs include/sys/fs/zfs.h @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db L46-50 (enum L44-52; OpenZFS also has
 *   ZFS_TYPE_INVALID = 0 and ZFS_TYPE_VDEV = 1 << 5); ZFS_TYPE_DATASET L68-69 = FILESYSTEM|VOLUME|SNAPSHOT = 7;
 * illumos-gate usr/src/uts/common/sys/fs/zfs.h @4348eb901228d2f8fa50bb132a34248e8662074e L52-56 (enum L51-57);
 *   ZFS_TYPE_DATASET L73-74 */
#define ZFS_TYPE_FILESYSTEM (1 << 0)
#define ZFS_TYPE_SNAPSHOT (1 << 1)
#define ZFS_TYPE_VOLUME (1 << 2)
#define ZFS_TYPE_POOL (1 << 3)
#define ZFS_TYPE_BOOKMARK (1 << 4)
#define ZFS_TYPE_DATASET 7
/* ZFS_MAXPROPLEN: 1024 on illumos, 8192 on OpenZFS; size buffers for the larger. */
/* hull helper modelled on ZFS_MAXPROPLEN: openzfs/zfs include/libzfs.h @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db L47
 * (= ZAP_MAXVALUELEN, include/sys/fs/zfs.h L76: 1024 * 8); illumos-gate usr/src/lib/libzfs/common/libzfs.h
 * @084fd14f7c3336eb67ee283cabad2da8998b00d6 L54 (= MAXPATHLEN, usr/src/uts/common/sys/param.h
 * @3c4c5929f4f5a266089758e0d018685b379767ad L199: 1024) */
#define HULL_ZFS_PROPLEN 8192
/* zfs_prop_t member, declared here as a macro: openzfs/zfs include/sys/fs/zfs.h @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db L88
 * (OpenZFS aliases ZPROP_USERPROP = ZPROP_INVAL, L89); illumos-gate usr/src/uts/common/sys/fs/zfs.h @4348eb901228d2f8fa50bb132a34248e8662074e L92 */
#define ZPROP_INVAL (-1)

/* openzfs/zfs include/libzfs.h @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db L723; illumos-gate usr/src/lib/libzfs/common/libzfs.h @084fd14f7c3336eb67ee283cabad2da8998b00d6 L619 */
typedef int (*zfs_iter_f)(zfs_handle_t *, void *);

/* openzfs/zfs include/libzfs.h @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db L209-210 (init, fini), L220 (errno),
 *   L223 (error_description), L535 (zfs_open), L537 (zfs_close), L540 (get_name), L538 (get_type),
 *   L565-566 (zfs_prop_get), L582 (prop_get_int), L728 (iter_filesystems), L965 (zfs_mount), L967 (zfs_unmount);
 *   zfs_name_to_prop is in include/sys/fs/zfs.h L516;
 * illumos-gate usr/src/lib/libzfs/common/libzfs.h @084fd14f7c3336eb67ee283cabad2da8998b00d6 L210-211, L221, L223,
 *   L478, L480, L482, L481, L505-506, L521, L623, L802, L803; zfs_name_to_prop is in
 *   usr/src/uts/common/sys/fs/zfs.h @4348eb901228d2f8fa50bb132a34248e8662074e L300.
 * (illumos-joyent's libzfs.h adds EZFS_PROPCACHED/libzfs_set_cachedprops, shifting these lines by 1-2; same prototypes.) */
libzfs_handle_t *libzfs_init(void);
void libzfs_fini(libzfs_handle_t *);
int libzfs_errno(libzfs_handle_t *);
const char *libzfs_error_description(libzfs_handle_t *);
zfs_handle_t *zfs_open(libzfs_handle_t *, const char *, int);
void zfs_close(zfs_handle_t *);
const char *zfs_get_name(const zfs_handle_t *);
/* MISMATCH (type only, ABI-equivalent): returns zfs_type_t upstream (both). */
int zfs_get_type(const zfs_handle_t *);
/* MISMATCH (type only, ABI-equivalent): returns zfs_prop_t upstream (both). */
int zfs_name_to_prop(const char *);
/* MISMATCH (type only, ABI-equivalent): upstream (both) is (zfs_handle_t *, zfs_prop_t, char *, size_t,
 * zprop_source_t *, char *, size_t, boolean_t); 2nd is int here, 5th is int * here. */
int zfs_prop_get(zfs_handle_t *, int, char *, size_t, int *, char *, size_t, boolean_t);
/* MISMATCH (type only, ABI-equivalent): 2nd parameter is zfs_prop_t upstream (both). */
uint64_t zfs_prop_get_int(zfs_handle_t *, int);
int zfs_iter_filesystems(zfs_handle_t *, zfs_iter_f, void *);
int zfs_mount(zfs_handle_t *, const char *, int);
int zfs_unmount(zfs_handle_t *, const char *, int);
/* zfs_get_user_props: openzfs/zfs include/libzfs.h @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db L587
 *   (zfs-2.1.11 @ccd100dd3c372e0557beec830fb269b421152e14 L518); illumos-gate usr/src/lib/libzfs/common/libzfs.h
 *   (r1mikey/illumos-gate @bb936843191c6a154629c77053e56d3847a1d158 L501; jlevon/illumos-gate
 *   @4859da614b562d26b86cd0961067070cb5ed350c L498). The list belongs to the handle (not freed by the
 *   caller); each entry is an nvlist with "value" and "source" strings (ZPROP_VALUE / ZPROP_SOURCE:
 *   openzfs include/sys/fs/zfs.h L358-359; illumos-gate usr/src/uts/common/sys/fs/zfs.h L254-255). */
nvlist_t *zfs_get_user_props(zfs_handle_t *);

#endif
