/*
 * Minimal illumos-kvm (SmartOS) user ABI for hull's kvm-sys (amd64 only).
 *
 * Written for this project from the facts in TritonDataCenter/illumos-kvm
 * (kvm.h, kvm_x86.h, kvm.c) as summarised in shared/reference/illumos-abi.md
 * section 5. The driver follows Linux 2.6.34: where a structure differs
 * from current Linux it is declared here in its old form. Ioctl request
 * numbers are computed by kvm-sys with the illumos <sys/ioccom.h> encoding.
 */
#ifndef HULL_VENDOR_ILLUMOS_KVM_H
#define HULL_VENDOR_ILLUMOS_KVM_H

#include <stdint.h>

#define KVM_API_VERSION 12
#define KVMIO 0xAE
#define KVM_MAX_VCPUS 64
#define KVM_MAX_MSR_ENTRIES 100

/* Page offsets inside the 3-page vCPU mapping. */
#define KVM_VCPU_MMAP_LENGTH 3
#define KVM_PIO_PAGE_OFFSET 1
#define KVM_COALESCED_MMIO_PAGE_OFFSET 2

/* Exit reasons 0-17 have the Linux numbering. */
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

#define KVM_EXIT_IO_IN 0
#define KVM_EXIT_IO_OUT 1

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

#define KVM_NR_INTERRUPTS 256
#define KVM_APIC_REG_SIZE 0x400

struct kvm_userspace_memory_region {
	uint32_t slot;
	uint32_t flags;
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
};

struct kvm_regs {
	uint64_t rax, rbx, rcx, rdx;
	uint64_t rsi, rdi, rsp, rbp;
	uint64_t r8, r9, r10, r11;
	uint64_t r12, r13, r14, r15;
	uint64_t rip, rflags;
};

struct kvm_segment {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint8_t type;
	uint8_t present, dpl, db, s, l, g, avl;
	uint8_t unusable;
	uint8_t padding;
};

struct kvm_dtable {
	uint64_t base;
	uint16_t limit;
	uint16_t padding[3];
};

struct kvm_sregs {
	struct kvm_segment cs, ds, es, fs, gs, ss;
	struct kvm_segment tr, ldt;
	struct kvm_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer;
	uint64_t apic_base;
	uint64_t interrupt_bitmap[(KVM_NR_INTERRUPTS + 63) / 64];
};

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

struct kvm_cpuid2 {
	uint32_t nent;
	uint32_t padding;
	struct kvm_cpuid_entry2 entries[];
};

struct kvm_interrupt {
	uint32_t irq;
};

struct kvm_pit_config {
	uint32_t flags;
	uint32_t pad[15];
};

struct kvm_irq_level {
	union {
		uint32_t irq;
		int32_t status;
	};
	uint32_t level;
};

struct kvm_lapic_state {
	char regs[KVM_APIC_REG_SIZE];
};

struct kvm_msr_entry {
	uint32_t index;
	uint32_t reserved;
	uint64_t data;
};

/* illumos copies the whole fixed array in and out (1608 bytes). */
struct kvm_msrs {
	uint32_t nmsrs;
	uint32_t pad;
	struct kvm_msr_entry entries[KVM_MAX_MSR_ENTRIES];
};

struct kvm_mp_state {
	uint32_t mp_state;
};

/* The 2.6.34 form: no smi/triple_fault/payload, 10 reserved words. */
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
