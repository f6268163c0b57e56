/*
 * Minimal illumos-kvm (SmartOS) user ABI for hull's kvm-sys (amd64 only).
 *
 * Written for this project; each declaration is checked against
 * TritonDataCenter/illumos-kvm (kvm.h, kvm_x86.h, kvm.c) as cited beside it
 * (shared/reference/illumos-abi.md section 5 was only a lead). The driver follows Linux 2.6.34: where a structure differs
 * from current Linux it is declared here in its old form. Ioctl request
 * numbers are computed by kvm-sys with the illumos <sys/ioccom.h> encoding.
 *
 * Source citations: TritonDataCenter/illumos-kvm (formerly joyent/illumos-kvm;
 * only the TritonDataCenter name is in the store) git snapshot HEAD
 * @02e260e223ba326d411b176db637751d89c640d5 (2025-04-22); the newest commit touching
 * kvm.h, kvm_x86.h or kvm_x86host.h is @1deeedfd407940627d5607861311776fd9804725.
 * The KVM driver is not part of illumos-gate, and a git snapshot of
 * illumos-joyent (zssfred/illumos-joyent @6e2c24e158594101032b0558bd67d9f1ec0b30e1)
 * has no KVM definitions under usr/src either: illumos-kvm is the only source.
 * Every struct below was compiled (gcc, x86-64 LP64) next to the upstream
 * definition: sizeof, alignment and the offset and size of every member
 * declared here are identical. Upstream spells members unsigned char /
 * unsigned short / unsigned long where this file uses uint8_t / uint16_t /
 * uint64_t (the same types on illumos amd64) and declares every struct
 * also as a typedef <name>_t.
 */
#ifndef HULL_VENDOR_ILLUMOS_KVM_H
#define HULL_VENDOR_ILLUMOS_KVM_H

#include <stdint.h>

/* TritonDataCenter/illumos-kvm kvm.h @02e260e223ba326d411b176db637751d89c640d5 L43 (KVM_API_VERSION), L282 (KVMIO); kvm_x86host.h L47 (KVM_MAX_VCPUS) */
/* KVM_MAX_MSR_ENTRIES is a hull helper name (no such macro upstream) for the fixed
 * array length in struct kvm_msrs: TritonDataCenter/illumos-kvm kvm_x86.h @02e260e223ba326d411b176db637751d89c640d5 L155 (entries[100]) */
#define KVM_API_VERSION 12
#define KVMIO 0xAE
#define KVM_MAX_VCPUS 64
#define KVM_MAX_MSR_ENTRIES 100

/* Page offsets inside the 3-page vCPU mapping. */
/* TritonDataCenter/illumos-kvm kvm_x86host.h @02e260e223ba326d411b176db637751d89c640d5 L54, L52, L53; used by kvm.c L2136 (KVM_GET_VCPU_MMAP_SIZE = ptob(KVM_VCPU_MMAP_LENGTH)) */
#define KVM_VCPU_MMAP_LENGTH 3
#define KVM_PIO_PAGE_OFFSET 1
#define KVM_COALESCED_MMIO_PAGE_OFFSET 2

/* Exit reasons 0-17 have the Linux numbering. */
/* TritonDataCenter/illumos-kvm kvm.h @02e260e223ba326d411b176db637751d89c640d5 L98-110, L114-115 (13-15 S390_SIEIC/S390_RESET/DCR at L111-113 are not declared here) */
#define KVM_EXIT_UNKNOWN 0
#define KVM_EXIT_EXCEPTION 1
#define KVM_EXIT_IO 2
#define KVM_EXIT_HYPERCALL 3
#define KVM_EXIT_DEBUG 4
#define KVM_EXIT_HLT 5
#define KVM_EXIT_MMIO 6
#define KVM_EXIT_IRQ_WINDOW_OPEN 7
#define KVM_EXIT_SHUTDOWN 8
#define KVM_EXIT_FAIL_ENTRY 9
#define KVM_EXIT_INTR 10
#define KVM_EXIT_SET_TPR 11
#define KVM_EXIT_TPR_ACCESS 12
#define KVM_EXIT_NMI 16
#define KVM_EXIT_INTERNAL_ERROR 17

/* TritonDataCenter/illumos-kvm kvm.h @02e260e223ba326d411b176db637751d89c640d5 L153-154 */
#define KVM_EXIT_IO_IN 0
#define KVM_EXIT_IO_OUT 1

/* TritonDataCenter/illumos-kvm kvm.h @02e260e223ba326d411b176db637751d89c640d5 L307 (IRQCHIP), L308 (HLT), L310 (USER_MEMORY), L311 (SET_TSS_ADDR), L313 (EXT_CPUID), L315 (NR_VCPUS), L316 (NR_MEMSLOTS), L320 (MP_STATE), L355 (PIT2), L363 (VCPU_EVENTS) */
#define KVM_CAP_IRQCHIP 0
#define KVM_CAP_HLT 1
#define KVM_CAP_USER_MEMORY 3
#define KVM_CAP_SET_TSS_ADDR 4
#define KVM_CAP_EXT_CPUID 7
#define KVM_CAP_NR_VCPUS 9
#define KVM_CAP_NR_MEMSLOTS 10
#define KVM_CAP_MP_STATE 14
#define KVM_CAP_PIT2 33
#define KVM_CAP_VCPU_EVENTS 41

/* TritonDataCenter/illumos-kvm kvm_x86.h @02e260e223ba326d411b176db637751d89c640d5 L33 (KVM_NR_INTERRUPTS), L96 (KVM_APIC_REG_SIZE) */
#define KVM_NR_INTERRUPTS 256
#define KVM_APIC_REG_SIZE 0x400

/* TritonDataCenter/illumos-kvm kvm.h @02e260e223ba326d411b176db637751d89c640d5 L54-60 (32 bytes) */
struct kvm_userspace_memory_region {
	uint32_t slot;
	uint32_t flags;
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
};

/* TritonDataCenter/illumos-kvm kvm_x86.h @02e260e223ba326d411b176db637751d89c640d5 L86-93 (144 bytes) */
struct kvm_regs {
	uint64_t rax, rbx, rcx, rdx;
	uint64_t rsi, rdi, rsp, rbp;
	uint64_t r8, r9, r10, r11;
	uint64_t r12, r13, r14, r15;
	uint64_t rip, rflags;
};

/* TritonDataCenter/illumos-kvm kvm_x86.h @02e260e223ba326d411b176db637751d89c640d5 L101-109 (24 bytes) */
struct kvm_segment {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint8_t type;
	uint8_t present, dpl, db, s, l, g, avl;
	uint8_t unusable;
	uint8_t padding;
};

/* TritonDataCenter/illumos-kvm kvm_x86.h @02e260e223ba326d411b176db637751d89c640d5 L111-115 (16 bytes) */
struct kvm_dtable {
	uint64_t base;
	uint16_t limit;
	uint16_t padding[3];
};

/* TritonDataCenter/illumos-kvm kvm_x86.h @02e260e223ba326d411b176db637751d89c640d5 L118-127 (312 bytes; interrupt_bitmap is unsigned long upstream = uint64_t on amd64) */
struct kvm_sregs {
	struct kvm_segment cs, ds, es, fs, gs, ss;
	struct kvm_segment tr, ldt;
	struct kvm_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer;
	uint64_t apic_base;
	uint64_t interrupt_bitmap[(KVM_NR_INTERRUPTS + 63) / 64];
};

/* TritonDataCenter/illumos-kvm kvm_x86.h @02e260e223ba326d411b176db637751d89c640d5 L130-142 (416 bytes) */
struct kvm_fpu {
	uint8_t fpr[8][16];
	uint16_t fcw;
	uint16_t fsw;
	uint8_t ftwx;
	uint8_t pad1;
	uint16_t last_opcode;
	uint64_t last_ip;
	uint64_t last_dp;
	uint8_t xmm[16][16];
	uint32_t mxcsr;
	uint32_t pad2;
};

/* TritonDataCenter/illumos-kvm kvm_x86.h @02e260e223ba326d411b176db637751d89c640d5 L180-189 (40 bytes) */
struct kvm_cpuid_entry2 {
	uint32_t function;
	uint32_t index;
	uint32_t flags;
	uint32_t eax;
	uint32_t ebx;
	uint32_t ecx;
	uint32_t edx;
	uint32_t padding[3];
};

/* TritonDataCenter/illumos-kvm kvm_x86.h @02e260e223ba326d411b176db637751d89c640d5 L197-201 (upstream entries[0], GNU zero-length array; entries[] here has the same layout, 8-byte header) */
struct kvm_cpuid2 {
	uint32_t nent;
	uint32_t padding;
	struct kvm_cpuid_entry2 entries[];
};

/* TritonDataCenter/illumos-kvm kvm.h @02e260e223ba326d411b176db637751d89c640d5 L225-228 */
struct kvm_interrupt {
	uint32_t irq;
};

/* TritonDataCenter/illumos-kvm kvm.h @02e260e223ba326d411b176db637751d89c640d5 L91-94 (64 bytes) */
struct kvm_pit_config {
	uint32_t flags;
	uint32_t pad[15];
};

/* TritonDataCenter/illumos-kvm kvm.h @02e260e223ba326d411b176db637751d89c640d5 L67-78 (anonymous union as upstream) */
struct kvm_irq_level {
	union {
		uint32_t irq;
		int32_t status;
	};
	uint32_t level;
};

/* TritonDataCenter/illumos-kvm kvm_x86.h @02e260e223ba326d411b176db637751d89c640d5 L97-99 */
struct kvm_lapic_state {
	char regs[KVM_APIC_REG_SIZE];
};

/* TritonDataCenter/illumos-kvm kvm_x86.h @02e260e223ba326d411b176db637751d89c640d5 L144-148 (16 bytes) */
struct kvm_msr_entry {
	uint32_t index;
	uint32_t reserved;
	uint64_t data;
};

/* illumos copies the whole fixed array in and out (1608 bytes). */
/* TritonDataCenter/illumos-kvm kvm_x86.h @02e260e223ba326d411b176db637751d89c640d5 L151-156; kvm.c L1971-1974 copies sizeof (struct kvm_msrs) for KVM_GET_MSRS/KVM_SET_MSRS */
struct kvm_msrs {
	uint32_t nmsrs;
	uint32_t pad;
	struct kvm_msr_entry entries[KVM_MAX_MSR_ENTRIES];
};

/* TritonDataCenter/illumos-kvm kvm.h @02e260e223ba326d411b176db637751d89c640d5 L265-267 */
struct kvm_mp_state {
	uint32_t mp_state;
};

/* The 2.6.34 form: no smi/triple_fault/payload, 10 reserved words. */
/* TritonDataCenter/illumos-kvm kvm_x86.h @02e260e223ba326d411b176db637751d89c640d5 L261-284 (64 bytes) */
struct kvm_vcpu_events {
	struct {
		uint8_t injected;
		uint8_t nr;
		uint8_t has_error_code;
		uint8_t pad;
		uint32_t error_code;
	} exception;
	struct {
		uint8_t injected;
		uint8_t nr;
		uint8_t soft;
		uint8_t pad;
	} interrupt;
	struct {
		uint8_t injected;
		uint8_t pending;
		uint8_t masked;
		uint8_t pad;
	} nmi;
	uint32_t sipi_vector;
	uint32_t flags;
	uint32_t reserved[10];
};

/* The shared vCPU page: the 2.6.34-era layout (288 bytes). */
/* TritonDataCenter/illumos-kvm kvm.h @02e260e223ba326d411b176db637751d89c640d5 L122-200. The union here declares a subset of the upstream members: debug (L161-163), hypercall (L172-178), tpr_access (L180-184) and dcr (L186-190) are omitted; the union size is fixed by padding[256] (L198) on both, so the layout is unchanged */
struct kvm_run {
	uint8_t request_interrupt_window;
	uint8_t padding1[7];
	uint32_t exit_reason;
	uint8_t ready_for_interrupt_injection;
	uint8_t if_flag;
	uint8_t padding2[2];
	uint64_t cr8;
	uint64_t apic_base;
	union {
		struct {
			uint64_t hardware_exit_reason;
		} hw;
		struct {
			uint64_t hardware_entry_failure_reason;
		} fail_entry;
		struct {
			uint32_t exception;
			uint32_t error_code;
		} ex;
		struct {
			uint8_t direction;
			uint8_t size;
			uint16_t port;
			uint32_t count;
			uint64_t data_offset;
		} io;
		struct {
			uint64_t phys_addr;
			uint8_t data[8];
			uint32_t len;
			uint8_t is_write;
		} mmio;
		struct {
			uint32_t suberror;
			uint32_t ndata;
			uint64_t data[16];
		} internal;
		char padding[256];
	};
};

#endif
