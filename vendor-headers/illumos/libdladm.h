/*
 * Minimal libdladm declarations for hull's dladm-sys, written for this
 * project from shared/reference/illumos-abi.md section 4 (illumos-gate /
 * OmniOS libdladm.h, libdllink.h, libdlvnic.h; SmartOS assumed identical).
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

typedef unsigned int uint_t;
typedef unsigned char uchar_t;
typedef enum { B_FALSE = 0, B_TRUE = 1 } boolean_t;
typedef uint32_t datalink_id_t;
typedef uint64_t datalink_media_t;
/* vrid_t: an integer from the VRRP headers; width unverified (?). Passed by
 * value as 0 (VRRP_VRID_NONE), so its width does not change the call. */
typedef uint32_t vrid_t;

struct dladm_handle;
typedef struct dladm_handle *dladm_handle_t;
typedef struct dladm_arg_list dladm_arg_list_t;

#define DATALINK_INVALID_LINKID 0
#define MAXLINKNAMELEN 32
#define MAXMACADDRLEN 20
#define ETHERADDRL 6
#define DLADM_STRSIZE 256
#define HULL_VNIC_ATTR_BUFSIZE 16384

#define DLADM_OPT_ACTIVE 0x00000001
#define DLADM_OPT_PERSIST 0x00000002
#define DLADM_OPT_ANCHOR 0x00000020
#define DLADM_OPT_VLAN 0x00000040
#define DLADM_WALK_TERMINATE 0
#define DLADM_WALK_CONTINUE (-1)

#define VNIC_MAC_ADDR_TYPE_FIXED 0
#define VNIC_MAC_ADDR_TYPE_RANDOM 1
#define VNIC_MAC_ADDR_TYPE_AUTO 3
#define VRRP_VRID_NONE 0

#define DATALINK_CLASS_PHYS 0x01
#define DATALINK_CLASS_VLAN 0x02
#define DATALINK_CLASS_AGGR 0x04
#define DATALINK_CLASS_VNIC 0x08
#define DATALINK_CLASS_ETHERSTUB 0x10
/* ((datalink_media_t)(((datalink_media_t)0x01) << 32)), written so bindgen can read it */
#define DATALINK_ANY_MEDIATYPE 0x100000000ULL

/* dladm_status_t: the values hull names (the order is ABI). */
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

/* The leading, release-independent fields of dladm_vnic_attr_t. */
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

dladm_status_t dladm_open(dladm_handle_t *);
void dladm_close(dladm_handle_t);
const char *dladm_status2str(dladm_status_t, char *);
dladm_status_t dladm_name2info(dladm_handle_t, const char *, datalink_id_t *, uint32_t *, datalink_class_t *, uint32_t *);
dladm_status_t dladm_datalink_id2info(dladm_handle_t, datalink_id_t, uint32_t *, datalink_class_t *, uint32_t *, char *, size_t);
dladm_status_t dladm_walk_datalink_id(int (*)(dladm_handle_t, datalink_id_t, void *), dladm_handle_t, void *, datalink_class_t, datalink_media_t, uint32_t);
boolean_t dladm_valid_linkname(const char *);
dladm_status_t dladm_vnic_create(dladm_handle_t, const char *, datalink_id_t, int, uchar_t *, uint_t, int *, uint_t, uint16_t, vrid_t, int, datalink_id_t *, dladm_arg_list_t *, uint32_t);
dladm_status_t dladm_vnic_delete(dladm_handle_t, datalink_id_t, uint32_t);
dladm_status_t dladm_vnic_info(dladm_handle_t, datalink_id_t, void *, uint32_t);
dladm_status_t dladm_parse_link_props(char *, dladm_arg_list_t **, boolean_t);
void dladm_free_props(dladm_arg_list_t *);

#endif
