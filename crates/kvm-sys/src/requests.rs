// Request numbers shared by both kernels: the same `_IO*` definitions,
// expanded by each module's own encoder and structure sizes.

/// `KVM_GET_API_VERSION`
pub const KVM_GET_API_VERSION: u32 = io(0x00);
/// `KVM_CREATE_VM`
pub const KVM_CREATE_VM: u32 = io(0x01);
/// `KVM_CHECK_EXTENSION`
pub const KVM_CHECK_EXTENSION: u32 = io(0x03);
/// `KVM_GET_VCPU_MMAP_SIZE`
pub const KVM_GET_VCPU_MMAP_SIZE: u32 = io(0x04);
/// `KVM_GET_SUPPORTED_CPUID`
pub const KVM_GET_SUPPORTED_CPUID: u32 = iowr(0x05, size_of::<kvm_cpuid2>());
/// `KVM_CREATE_VCPU`
pub const KVM_CREATE_VCPU: u32 = io(0x41);
/// `KVM_SET_USER_MEMORY_REGION`
pub const KVM_SET_USER_MEMORY_REGION: u32 =
    iow(0x46, size_of::<kvm_userspace_memory_region>());
/// `KVM_SET_TSS_ADDR`
pub const KVM_SET_TSS_ADDR: u32 = io(0x47);
/// `KVM_SET_IDENTITY_MAP_ADDR`
pub const KVM_SET_IDENTITY_MAP_ADDR: u32 = iow(0x48, size_of::<u64>());
/// `KVM_CREATE_IRQCHIP`
pub const KVM_CREATE_IRQCHIP: u32 = io(0x60);
/// `KVM_IRQ_LINE`
pub const KVM_IRQ_LINE: u32 = iow(0x61, size_of::<kvm_irq_level>());
/// `KVM_CREATE_PIT2`
pub const KVM_CREATE_PIT2: u32 = iow(0x77, size_of::<kvm_pit_config>());
/// `KVM_RUN`
pub const KVM_RUN: u32 = io(0x80);
/// `KVM_GET_REGS`
pub const KVM_GET_REGS: u32 = ior(0x81, size_of::<kvm_regs>());
/// `KVM_SET_REGS`
pub const KVM_SET_REGS: u32 = iow(0x82, size_of::<kvm_regs>());
/// `KVM_GET_SREGS`
pub const KVM_GET_SREGS: u32 = ior(0x83, size_of::<kvm_sregs>());
/// `KVM_SET_SREGS`
pub const KVM_SET_SREGS: u32 = iow(0x84, size_of::<kvm_sregs>());
/// `KVM_INTERRUPT`
pub const KVM_INTERRUPT: u32 = iow(0x86, size_of::<kvm_interrupt>());
/// `KVM_GET_MSRS`
pub const KVM_GET_MSRS: u32 = iowr(0x88, size_of::<kvm_msrs>());
/// `KVM_SET_MSRS`
pub const KVM_SET_MSRS: u32 = iow(0x89, size_of::<kvm_msrs>());
/// `KVM_GET_FPU`
pub const KVM_GET_FPU: u32 = ior(0x8c, size_of::<kvm_fpu>());
/// `KVM_SET_FPU`
pub const KVM_SET_FPU: u32 = iow(0x8d, size_of::<kvm_fpu>());
/// `KVM_GET_LAPIC`
pub const KVM_GET_LAPIC: u32 = ior(0x8e, size_of::<kvm_lapic_state>());
/// `KVM_SET_LAPIC`
pub const KVM_SET_LAPIC: u32 = iow(0x8f, size_of::<kvm_lapic_state>());
/// `KVM_SET_CPUID2`
pub const KVM_SET_CPUID2: u32 = iow(0x90, size_of::<kvm_cpuid2>());
/// `KVM_GET_MP_STATE`
pub const KVM_GET_MP_STATE: u32 = ior(0x98, size_of::<kvm_mp_state>());
/// `KVM_SET_MP_STATE`
pub const KVM_SET_MP_STATE: u32 = iow(0x99, size_of::<kvm_mp_state>());
/// `KVM_NMI`
pub const KVM_NMI: u32 = io(0x9a);
/// `KVM_GET_VCPU_EVENTS`
pub const KVM_GET_VCPU_EVENTS: u32 = ior(0x9f, size_of::<kvm_vcpu_events>());
/// `KVM_SET_VCPU_EVENTS`
pub const KVM_SET_VCPU_EVENTS: u32 = iow(0xa0, size_of::<kvm_vcpu_events>());
