//! Every request number in shared/reference/illumos-abi.md §5.2, for both
//! kernels, checked against the encoders' output; plus the other requests
//! against the values Linux's `<linux/kvm.h>` gives.

use kvm_sys::{illumos as i, linux as l};

#[test]
fn reference_table_5_2_linux_and_illumos() {
    // (name, illumos, linux) exactly as in the reference table.
    let table: &[(&str, u32, Option<u32>)] = &[
        (
            "KVM_GET_API_VERSION",
            i::KVM_GET_API_VERSION,
            Some(l::KVM_GET_API_VERSION),
        ),
        ("KVM_CREATE_VM", i::KVM_CREATE_VM, Some(l::KVM_CREATE_VM)),
        (
            "KVM_CHECK_EXTENSION",
            i::KVM_CHECK_EXTENSION,
            Some(l::KVM_CHECK_EXTENSION),
        ),
        (
            "KVM_GET_VCPU_MMAP_SIZE",
            i::KVM_GET_VCPU_MMAP_SIZE,
            Some(l::KVM_GET_VCPU_MMAP_SIZE),
        ),
        ("KVM_CLONE", i::KVM_CLONE, None),
        (
            "KVM_CREATE_VCPU",
            i::KVM_CREATE_VCPU,
            Some(l::KVM_CREATE_VCPU),
        ),
        (
            "KVM_SET_USER_MEMORY_REGION",
            i::KVM_SET_USER_MEMORY_REGION,
            Some(l::KVM_SET_USER_MEMORY_REGION),
        ),
        ("KVM_RUN", i::KVM_RUN, Some(l::KVM_RUN)),
        ("KVM_GET_REGS", i::KVM_GET_REGS, Some(l::KVM_GET_REGS)),
        ("KVM_SET_REGS", i::KVM_SET_REGS, Some(l::KVM_SET_REGS)),
        ("KVM_GET_SREGS", i::KVM_GET_SREGS, Some(l::KVM_GET_SREGS)),
        ("KVM_SET_SREGS", i::KVM_SET_SREGS, Some(l::KVM_SET_SREGS)),
        ("KVM_INTERRUPT", i::KVM_INTERRUPT, Some(l::KVM_INTERRUPT)),
        ("KVM_GET_FPU", i::KVM_GET_FPU, Some(l::KVM_GET_FPU)),
        ("KVM_SET_CPUID2", i::KVM_SET_CPUID2, Some(l::KVM_SET_CPUID2)),
        (
            "KVM_GET_SUPPORTED_CPUID",
            i::KVM_GET_SUPPORTED_CPUID,
            Some(l::KVM_GET_SUPPORTED_CPUID),
        ),
        ("KVM_GET_MSRS", i::KVM_GET_MSRS, Some(l::KVM_GET_MSRS)),
    ];
    let expected: &[(&str, u32, Option<u32>)] = &[
        ("KVM_GET_API_VERSION", 0x2000ae00, Some(0x0000ae00)),
        ("KVM_CREATE_VM", 0x2000ae01, Some(0x0000ae01)),
        ("KVM_CHECK_EXTENSION", 0x2000ae03, Some(0x0000ae03)),
        ("KVM_GET_VCPU_MMAP_SIZE", 0x2000ae04, Some(0x0000ae04)),
        ("KVM_CLONE", 0x2000ae20, None),
        ("KVM_CREATE_VCPU", 0x2000ae41, Some(0x0000ae41)),
        ("KVM_SET_USER_MEMORY_REGION", 0x8020ae46, Some(0x4020ae46)),
        ("KVM_RUN", 0x2000ae80, Some(0x0000ae80)),
        ("KVM_GET_REGS", 0x4090ae81, Some(0x8090ae81)),
        ("KVM_SET_REGS", 0x8090ae82, Some(0x4090ae82)),
        ("KVM_GET_SREGS", 0x4038ae83, Some(0x8138ae83)),
        ("KVM_SET_SREGS", 0x8038ae84, Some(0x4138ae84)),
        ("KVM_INTERRUPT", 0x8004ae86, Some(0x4004ae86)),
        ("KVM_GET_FPU", 0x40a0ae8c, Some(0x81a0ae8c)),
        ("KVM_SET_CPUID2", 0x8008ae90, Some(0x4008ae90)),
        ("KVM_GET_SUPPORTED_CPUID", 0xc008ae05, Some(0xc008ae05)),
        ("KVM_GET_MSRS", 0xc048ae88, Some(0xc008ae88)),
    ];
    for (got, want) in table.iter().zip(expected) {
        assert_eq!(got.0, want.0);
        assert_eq!(
            got.1, want.1,
            "illumos {}: {:#x} != {:#x}",
            got.0, got.1, want.1
        );
        assert_eq!(
            got.2, want.2,
            "linux {}: {:x?} != {:x?}",
            got.0, got.2, want.2
        );
    }
}

#[test]
fn other_linux_requests_match_linux_kvm_h() {
    // Values from linux-libc-dev 6.1's <linux/kvm.h>, expanded with gcc.
    assert_eq!(l::KVM_SET_TSS_ADDR, 0xae47);
    assert_eq!(l::KVM_SET_IDENTITY_MAP_ADDR, 0x4008ae48);
    assert_eq!(l::KVM_CREATE_IRQCHIP, 0xae60);
    assert_eq!(l::KVM_IRQ_LINE, 0x4008ae61);
    assert_eq!(l::KVM_CREATE_PIT2, 0x4040ae77);
    assert_eq!(l::KVM_SET_MSRS, 0x4008ae89);
    assert_eq!(l::KVM_SET_FPU, 0x41a0ae8d);
    assert_eq!(l::KVM_GET_LAPIC, 0x8400ae8e);
    assert_eq!(l::KVM_SET_LAPIC, 0x4400ae8f);
    assert_eq!(l::KVM_GET_MP_STATE, 0x8004ae98);
    assert_eq!(l::KVM_SET_MP_STATE, 0x4004ae99);
    assert_eq!(l::KVM_NMI, 0xae9a);
    assert_eq!(l::KVM_GET_VCPU_EVENTS, 0x8040ae9f);
    assert_eq!(l::KVM_SET_VCPU_EVENTS, 0x4040aea0);
}

#[test]
fn illumos_truncates_sizes_to_eight_bits_and_swaps_direction_bits() {
    // kvm_lapic_state is 1024 bytes: the 8-bit size field keeps 0.
    assert_eq!(i::KVM_GET_LAPIC, 0x4000ae8e);
    assert_eq!(i::KVM_CREATE_PIT2, 0x8040ae77);
    // An int request: values with the top bit set are negative.
    assert!((i::KVM_SET_USER_MEMORY_REGION as i32) < 0);
    assert_eq!(i::KVM_SET_USER_MEMORY_REGION as i32, -2145341882);
}

#[test]
fn struct_sizes() {
    use core::mem::size_of;
    assert_eq!(size_of::<l::kvm_run>(), 2352);
    assert_eq!(size_of::<i::kvm_run>(), 288);
    assert_eq!(size_of::<l::kvm_msrs>(), 8);
    assert_eq!(size_of::<i::kvm_msrs>(), 1608);
    assert_eq!(size_of::<l::kvm_sregs>(), 312);
    assert_eq!(size_of::<i::kvm_sregs>(), 312);
    assert_eq!(size_of::<l::kvm_regs>(), 144);
    assert_eq!(size_of::<l::kvm_fpu>(), 416);
    assert_eq!(size_of::<l::kvm_userspace_memory_region>(), 32);
    assert_eq!(size_of::<l::kvm_vcpu_events>(), 64);
    assert_eq!(size_of::<i::kvm_vcpu_events>(), 64);
    assert_eq!(size_of::<l::kvm_lapic_state>(), 1024);
    // The exit union starts at the same offset in both layouts.
    assert_eq!(core::mem::offset_of!(l::kvm_run, __bindgen_anon_1), 32);
    assert_eq!(core::mem::offset_of!(i::kvm_run, __bindgen_anon_1), 32);
    assert_eq!(core::mem::offset_of!(l::kvm_run, exit_reason), 8);
    assert_eq!(core::mem::offset_of!(i::kvm_run, exit_reason), 8);
}

#[test]
fn irqfd_and_ioeventfd_match_linux() {
    // _IOW(KVMIO, 0x76, struct kvm_irqfd) and _IOW(KVMIO, 0x79, struct
    // kvm_ioeventfd) as <linux/kvm.h> defines them.
    assert_eq!(l::KVM_IRQFD, 0x4020_ae76);
    assert_eq!(l::KVM_IOEVENTFD, 0x4040_ae79);
    assert_eq!(core::mem::size_of::<l::kvm_irqfd>(), 32);
    assert_eq!(core::mem::size_of::<l::kvm_ioeventfd>(), 64);
}
