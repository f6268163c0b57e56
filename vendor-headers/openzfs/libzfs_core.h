/*
 * Minimal libzfs_core (+ the few libzfs calls hull uses for listing,
 * properties and mounting) declarations for hull's zfs-core-sys, written for
 * this project from shared/reference/illumos-abi.md sections 1 and 2. Only
 * calls whose prototypes are the same on illumos and OpenZFS 2.x are
 * declared; enums passed by value are declared as int.
 */
#ifndef HULL_VENDOR_LIBZFS_CORE_H
#define HULL_VENDOR_LIBZFS_CORE_H

#include <stdint.h>
#include <stddef.h>

typedef unsigned int uint_t;
typedef enum { B_FALSE = 0, B_TRUE = 1 } boolean_t;
typedef struct nvlist nvlist_t;

/* libzfs_core: lzc_dataset_type (upstream spelling). */
#define LZC_DATSET_TYPE_ZFS 2
#define LZC_DATSET_TYPE_ZVOL 3

/* ZFS-specific error codes start here (zfs_errno_t). */
#define ZFS_ERR_CHECKPOINT_EXISTS 1024
#define ZFS_MAX_DATASET_NAME_LEN 256

int libzfs_core_init(void);
void libzfs_core_fini(void);
int lzc_create(const char *, int, nvlist_t *, uint8_t *, uint_t);
int lzc_clone(const char *, const char *, nvlist_t *);
int lzc_snapshot(nvlist_t *, nvlist_t *, nvlist_t **);
int lzc_destroy_snaps(nvlist_t *, boolean_t, nvlist_t **);
int lzc_destroy(const char *);
boolean_t lzc_exists(const char *);
int lzc_promote(const char *, char *, int);
int lzc_rollback_to(const char *, const char *);
int lzc_rename(const char *, const char *);

/* libzfs: opaque handles. */
typedef struct libzfs_handle libzfs_handle_t;
typedef struct zfs_handle zfs_handle_t;

#define ZFS_TYPE_FILESYSTEM (1 << 0)
#define ZFS_TYPE_SNAPSHOT (1 << 1)
#define ZFS_TYPE_VOLUME (1 << 2)
#define ZFS_TYPE_POOL (1 << 3)
#define ZFS_TYPE_BOOKMARK (1 << 4)
#define ZFS_TYPE_DATASET 7
/* ZFS_MAXPROPLEN: 1024 on illumos, 8192 on OpenZFS; size buffers for the larger. */
#define HULL_ZFS_PROPLEN 8192
#define ZPROP_INVAL (-1)

typedef int (*zfs_iter_f)(zfs_handle_t *, void *);

libzfs_handle_t *libzfs_init(void);
void libzfs_fini(libzfs_handle_t *);
int libzfs_errno(libzfs_handle_t *);
const char *libzfs_error_description(libzfs_handle_t *);
zfs_handle_t *zfs_open(libzfs_handle_t *, const char *, int);
void zfs_close(zfs_handle_t *);
const char *zfs_get_name(const zfs_handle_t *);
int zfs_get_type(const zfs_handle_t *);
int zfs_name_to_prop(const char *);
int zfs_prop_get(zfs_handle_t *, int, char *, size_t, int *, char *, size_t, boolean_t);
uint64_t zfs_prop_get_int(zfs_handle_t *, int);
int zfs_iter_filesystems(zfs_handle_t *, zfs_iter_f, void *);
int zfs_mount(zfs_handle_t *, const char *, int);
int zfs_unmount(zfs_handle_t *, const char *, int);

#endif
