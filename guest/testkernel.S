/*
 * hull's boot-protocol test kernel: a flat bzImage-format image that proves a
 * VMM followed the Linux x86 64-bit boot protocol.
 *
 * Entered in 64-bit mode at load address + 0x200 with RSI = zero page, it
 * prints over the 16550 UART at 0x3f8:
 *
 *   hull-testkernel
 *   cmdline: <the command line>
 *   initrd: addr=0x... size=0x... fnv1a=0x...   (FNV-1a 32 of the initrd's bytes)
 *   e820: 0x<addr> 0x<size> 0x<type>           (one line per entry)
 *
 * then, unless the command line asks otherwise, "reset" and a reset request
 * through the i8042 (0xfe to port 0x64). With "hull.halt" on the command line
 * it prints "halt" and halts with interrupts disabled; with "hull.spin" it
 * prints "spin" and loops forever (for timeout tests). With "hull.echo" it
 * prints "echo", then reads the UART (polling the line status register's
 * data-ready bit) and writes back each byte it receives, until a '.',
 * then resets.
 *
 * With "hull.blk" it drives the first virtio-blk device announced as
 * "virtio_mmio.device=<size>@0x<base>:<irq>" (virtio 1.x over MMIO, one
 * split queue of 8, polled): it checks MagicValue, Version 2 and DeviceID 2
 * as Linux's virtio_mmio driver does, negotiates VERSION_1, prints
 * "blk: capacity=0x...", then, as asked:
 *   hull.blkread=N      reads sectors 0..N and prints "blk: read status=0x..
 *                       fnv1a=0x.." (FNV-1a 32 of the N * 512 bytes; with
 *                       hull.blknosum the checksum is skipped, and with
 *                       hull.blkreps=K the read is done K times, for
 *                       the benchmark)
 *   hull.blkwrite=S:P   writes sector S filled with byte P (both decimal)
 *                       and prints "blk: write status=0x.."
 *   hull.blkid          prints "blk: id=<serial>" (GET_ID)
 *   hull.blkbadq        offers a queue size of 3 and prints the device
 *                       status it reads back ("blk: badq status=0x..");
 *                       on DEVICE_NEEDS_RESET it gives the device up as
 *                       Linux's virtio core does (status FAILED, printed
 *                       as "blk: gave up status=0x.."), then notifies the
 *                       dead queue once more, as a hostile guest might
 * and resets. A device it refuses prints "blk: bad magic", "blk: bad
 * version" or "blk: bad device id".
 *
 * With "hull.net" it drives the first virtio-net device named on the
 * command line the same way (DeviceID 1, VERSION_1 and MAC negotiated),
 * posts one receive buffer, sends one broadcast frame of ethertype 0x88b5
 * from the MAC in the device's configuration with the payload given by
 * "hull.netsend=<text>" (up to a space), prints "net: sent", waits for the
 * first frame it receives and prints "net: recv <payload>" (up to a NUL),
 * then resets. With "hull.netflood=B" it sends B batches of 256 full-size
 * frames instead (the ring filled once, one notification per batch) and
 * prints "net: flood done", for the benchmark.
 *
 * With "hull.irq" as well, the device's completions are taken as
 * interrupts instead of polled: the 8259s are masked, an IDT is loaded, the
 * local APIC enabled and the I/O APIC pin of the device's line (from the
 * command line) routed to vector 0x30, edge-triggered. The driver then
 * halts (sti; hlt) until the used index moves, so a used buffer that raises
 * no interrupt hangs it; the handler reads InterruptStatus, writes it to
 * InterruptACK and signals EOI. Before the reset it prints "irq: count=0x..
 * status=0x.." (interrupts taken, InterruptStatus bits seen). With
 * "hull.echo hull.irq" the UART's receive interrupt (IER bit 0, ISA line 4)
 * is used the same way: the guest reads nothing until input has raised
 * IRQ 4, then drains the FIFO and halts again. An unexpected vector prints "unexpected
 * interrupt" and halts with interrupts off.
 *
 * Guest kernel mode is emulated on the machines this is tested on (about
 * 1.7 M instructions/s), so it does as little as it can: no UART status
 * polling, one pass over the initrd.
 *
 * Built by the hull crate's build.rs: as --64, then objcopy -O binary. All
 * code is position independent (RIP-relative), so the image works wherever
 * a loader puts it. Assembled with --defsym ELF=1 it leaves out the
 * real-mode part and is linked into an ELF executable whose entry point is
 * startup_64 (the ELF vmlinux path).
 */
	.intel_syntax noprefix
	.text
	.globl	startup_64
start_of_text:
.ifndef ELF
start:
	.code16
	/* Boot sector: a 16-bit boot is not supported. */
	cli
	hlt
	jmp	start

	/* Setup header, boot protocol 2.15 (Documentation/arch/x86/boot.rst). */
	.org	0x1f1
setup_sects:		.byte	1		/* real-mode part: 2 sectors */
root_flags:		.word	0
syssize:		.long	(payload_end - payload + 15) / 16
ram_size:		.word	0
vid_mode:		.word	0xffff
root_dev:		.word	0
boot_flag:		.word	0xaa55
	.org	0x200
jump:			.byte	0xeb, realmode_entry - jump - 2
header:			.ascii	"HdrS"
version:		.word	0x020f
realmode_swtch:		.long	0
start_sys_seg:		.word	0x1000
kernel_version:		.word	0
type_of_loader:		.byte	0
loadflags:		.byte	0x01		/* LOADED_HIGH */
setup_move_size:	.word	0x8000
code32_start:		.long	0x100000
ramdisk_image:		.long	0
ramdisk_size:		.long	0
bootsect_kludge:	.long	0
heap_end_ptr:		.word	0
ext_loader_ver:		.byte	0
ext_loader_type:	.byte	0
cmd_line_ptr:		.long	0
initrd_addr_max:	.long	0x7fffffff
kernel_alignment:	.long	0x200000
relocatable_kernel:	.byte	0
min_alignment:		.byte	12
xloadflags:		.word	0x0001		/* XLF_KERNEL_64 */
cmdline_size:		.long	2047
hardware_subarch:	.long	0
hardware_subarch_data:	.quad	0
payload_offset:		.long	0
payload_length:		.long	0
setup_data:		.quad	0
pref_address:		.quad	0x100000
init_size:		.long	stack_top - payload
handover_offset:	.long	0
kernel_info_offset:	.long	0

realmode_entry:
	cli
	hlt
	jmp	realmode_entry

	/* Protected-mode part: file offset 0x400, loaded at code32_start. */
	.org	0x400
.endif
payload:
	.code32
	/* 32-bit entry: not supported. */
	cli
	hlt
	jmp	payload

	.org	payload - start_of_text + 0x200
	.code64
startup_64:
	cli
	lea	rsp, [rip + stack_top]
	mov	rbx, rsi			/* rbx = zero page */
	mov	dword ptr [IRQ_MODE], 0

	lea	rsi, [rip + msg_banner]
	call	puts

	/* Command line: cmd_line_ptr (0x228) | ext_cmd_line_ptr (0x0c8) << 32. */
	lea	rsi, [rip + msg_cmdline]
	call	puts
	mov	eax, [rbx + 0x228]
	mov	edx, [rbx + 0x0c8]
	shl	rdx, 32
	or	rax, rdx
	mov	r15, rax
	test	rax, rax
	jz	1f
	mov	rsi, rax
	call	puts
1:	call	newline

	/* initrd: ramdisk_image (0x218) / ramdisk_size (0x21c), ext_* at 0x0c0 / 0x0c4. */
	mov	eax, [rbx + 0x218]
	mov	edx, [rbx + 0x0c0]
	shl	rdx, 32
	or	rax, rdx
	mov	r12, rax
	mov	eax, [rbx + 0x21c]
	mov	edx, [rbx + 0x0c4]
	shl	rdx, 32
	or	rax, rdx
	mov	r13, rax
	lea	rsi, [rip + msg_initrd]
	call	puts
	mov	rax, r12
	call	hex64
	lea	rsi, [rip + msg_size]
	call	puts
	mov	rax, r13
	call	hex64
	lea	rsi, [rip + msg_fnv]
	call	puts
	mov	eax, 0x811c9dc5
	mov	rsi, r12
	mov	rcx, r13
	test	rcx, rcx
	jz	3f
2:	movzx	edx, byte ptr [rsi]
	xor	eax, edx
	imul	eax, eax, 0x01000193
	inc	rsi
	dec	rcx
	jnz	2b
3:	call	hex32
	call	newline

	/* e820 map: e820_entries (0x1e8), table at 0x2d0, 20-byte entries. */
	movzx	r14d, byte ptr [rbx + 0x1e8]
	lea	rbp, [rbx + 0x2d0]
4:	test	r14, r14
	jz	5f
	lea	rsi, [rip + msg_e820]
	call	puts
	mov	rax, [rbp]
	call	hex64
	call	space
	mov	rax, [rbp + 8]
	call	hex64
	call	space
	mov	eax, [rbp + 16]
	call	hex32
	call	newline
	add	rbp, 20
	dec	r14
	jmp	4b

5:	mov	rdi, r15
	lea	rsi, [rip + opt_net]
	call	contains
	test	eax, eax
	jnz	do_net
	mov	rdi, r15
	lea	rsi, [rip + opt_blk]
	call	contains
	test	eax, eax
	jnz	do_blk
	mov	rdi, r15
	lea	rsi, [rip + opt_echo]
	call	contains
	test	eax, eax
	jnz	do_echo
	mov	rdi, r15
	lea	rsi, [rip + opt_halt]
	call	contains
	test	eax, eax
	jnz	do_halt
	mov	rdi, r15
	lea	rsi, [rip + opt_spin]
	call	contains
	test	eax, eax
	jnz	do_spin

	lea	rsi, [rip + msg_reset]
	call	puts
	mov	al, 0xfe			/* i8042: pulse the reset line */
	out	0x64, al
6:	hlt
	jmp	6b

do_echo:
	lea	rsi, [rip + msg_echo]
	call	puts
	mov	edi, 4				/* COM1's ISA line */
	xor	esi, esi
	call	maybe_irq
	cmp	dword ptr [IRQ_MODE], 0
	je	2f
	/* With hull.irq: read only after an interrupt, then drain the FIFO. */
	mov	dx, 0x3f9			/* IER: received data available */
	mov	al, 1
	out	dx, al
	xor	r14d, r14d			/* interrupts seen */
1:	mov	eax, r14d
	call	irq_wait
	mov	r14d, [IRQ_COUNT]
3:	mov	dx, 0x3fd
	in	al, dx
	test	al, 1
	jz	1b
	mov	dx, 0x3f8
	in	al, dx
	out	dx, al
	cmp	al, '.'
	jne	3b
	jmp	4f
2:	mov	dx, 0x3fd			/* line status: bit 0, data ready */
	in	al, dx
	test	al, 1
	jz	2b
	mov	dx, 0x3f8			/* receive buffer */
	in	al, dx
	out	dx, al
	cmp	al, '.'
	jne	2b
4:	call	newline
	jmp	blk_done

/* ---- virtio-blk over MMIO, polled ---- */
	.set	VQ_DESC,	0x300000
	.set	VQ_AVAIL,	0x300100
	.set	VQ_USED,	0x301000
	.set	BLK_HDR,	0x302000
	.set	BLK_STATUS,	0x302100
	.set	BLK_DATA,	0x400000

do_blk:
	mov	edi, 2				/* block device */
	lea	rdx, [rip + msg_baddevice]
	call	vdev_probe			/* r12 = the device's window */
	test	rsi, rsi
	jnz	blk_fail
	mov	dword ptr [r12 + 0x24], 1
	mov	dword ptr [r12 + 0x20], 1
	mov	dword ptr [r12 + 0x24], 0
	mov	dword ptr [r12 + 0x20], 0
	mov	dword ptr [r12 + 0x70], 0xb	/* FEATURES_OK */
	mov	eax, [r12 + 0x70]
	test	eax, 8
	jz	blk_featfail
	mov	dword ptr [r12 + 0x30], 0	/* queue 0 */
	mov	eax, [r12 + 0x34]
	cmp	eax, 8
	jb	blk_qsmall
	mov	rdi, r15
	lea	rsi, [rip + opt_blkbadq]
	call	contains
	test	eax, eax
	jnz	blk_badq
	xor	edi, edi
	mov	esi, 8
	mov	edx, VQ_DESC
	mov	ecx, VQ_AVAIL
	mov	r8d, VQ_USED
	call	vq_ready
	mov	dword ptr [r12 + 0x70], 0xf	/* DRIVER_OK */
	xor	r13d, r13d			/* r13 = next avail index */
	mov	edi, [DEV_IRQ]
	mov	rsi, r12
	call	maybe_irq
	lea	rsi, [rip + msg_blkcap]
	call	puts
	mov	rax, [r12 + 0x100]		/* config: capacity */
	call	hex64
	call	newline

	/* hull.blkwrite=S:P */
	mov	rdi, r15
	lea	rsi, [rip + opt_blkwrite]
	call	find_after
	test	rax, rax
	jz	1f
	mov	rsi, rax
	call	parse_dec
	mov	r14, rax			/* sector */
	inc	rsi				/* past ':' */
	call	parse_dec
	mov	rdi, BLK_DATA
	mov	ecx, 512
	rep stosb				/* fill with the pattern (al) */
	mov	edi, 1				/* VIRTIO_BLK_T_OUT */
	mov	rsi, r14
	mov	edx, 512
	xor	ecx, ecx			/* data read by the device */
	call	blk_req
	mov	r14, rax
	lea	rsi, [rip + msg_blkwrite]
	call	puts
	mov	rax, r14
	call	hex8
	call	newline
1:
	/* hull.blkread=N (K times with hull.blkreps=K) */
	mov	r10d, 1
	mov	rdi, r15
	lea	rsi, [rip + opt_blkreps]
	call	find_after
	test	rax, rax
	jz	6f
	mov	rsi, rax
	call	parse_dec
	test	rax, rax
	jz	6f
	mov	r10, rax
6:	mov	rdi, r15
	lea	rsi, [rip + opt_blkread]
	call	find_after
	test	rax, rax
	jz	2f
	mov	rsi, rax
	call	parse_dec
	mov	r14, rax			/* sectors */
	xor	edi, edi			/* VIRTIO_BLK_T_IN */
	xor	esi, esi
	mov	rdx, r14
	shl	rdx, 9
	mov	ecx, 2				/* data written by the device */
	call	blk_req
	push	rax
	lea	rsi, [rip + msg_blkread]
	call	puts
	pop	rax
	call	hex8
	lea	rsi, [rip + msg_fnv]
	call	puts
	mov	rdi, r15
	lea	rsi, [rip + opt_blknosum]
	call	contains
	mov	r8d, eax
	mov	eax, 0x811c9dc5
	test	r8d, r8d
	jnz	4f				/* hull.blknosum: no checksum */
	mov	rsi, BLK_DATA
	mov	rcx, r14
	shl	rcx, 9
	test	rcx, rcx
	jz	4f
3:	movzx	edx, byte ptr [rsi]
	xor	eax, edx
	imul	eax, eax, 0x01000193
	inc	rsi
	dec	rcx
	jnz	3b
4:	call	hex32
	call	newline
	dec	r10
	jnz	6b
2:
	/* hull.blkid */
	mov	rdi, r15
	lea	rsi, [rip + opt_blkid]
	call	contains
	test	eax, eax
	jz	blk_done
	mov	rdi, BLK_DATA
	xor	eax, eax
	mov	ecx, 21
	rep stosb
	mov	edi, 8				/* VIRTIO_BLK_T_GET_ID */
	xor	esi, esi
	mov	edx, 20
	mov	ecx, 2
	call	blk_req
	lea	rsi, [rip + msg_blkid]
	call	puts
	mov	rsi, BLK_DATA
	call	puts
	call	newline
	jmp	blk_done

blk_badq:
	mov	dword ptr [r12 + 0x38], 3	/* not a power of two */
	mov	dword ptr [r12 + 0x44], 1
	lea	rsi, [rip + msg_blkbadq]
	call	puts
	mov	eax, [r12 + 0x70]
	push	rax
	call	hex8
	call	newline
	pop	rax
	test	eax, 0x40			/* DEVICE_NEEDS_RESET */
	jz	blk_done
	or	eax, 0x80			/* FAILED: the driver gives up */
	mov	[r12 + 0x70], eax
	mov	dword ptr [r12 + 0x50], 0	/* and pokes the dead queue */
	lea	rsi, [rip + msg_blkgaveup]
	call	puts
	mov	eax, [r12 + 0x70]
	call	hex8
	call	newline
	jmp	blk_done

blk_featfail:	lea	rsi, [rip + msg_featfail]
	jmp	blk_fail
blk_qsmall:	lea	rsi, [rip + msg_qsmall]
blk_fail:
	call	puts
blk_done:
	cmp	dword ptr [IRQ_MODE], 0
	je	1f
	lea	rsi, [rip + msg_irqcount]
	call	puts
	mov	eax, [IRQ_COUNT]
	call	hex32
	lea	rsi, [rip + msg_irqstatus]
	call	puts
	mov	eax, [IRQ_ISR]
	call	hex8
	call	newline
1:	lea	rsi, [rip + msg_reset]
	call	puts
	mov	al, 0xfe
	out	0x64, al
5:	hlt
	jmp	5b

/* ---- virtio-net over MMIO, polled ---- */
	.set	RXQ_DESC,	0x310000
	.set	RXQ_AVAIL,	0x310100
	.set	RXQ_USED,	0x311000
	.set	TXQ_DESC,	0x350000		/* 256 entries */
	.set	TXQ_AVAIL,	0x351000
	.set	TXQ_USED,	0x352000
	.set	NET_RXBUF,	0x330000
	.set	NET_TXBUF,	0x340000

do_net:
	mov	edi, 1				/* network card */
	lea	rdx, [rip + msg_net_baddevice]
	call	vdev_probe
	test	rsi, rsi
	jnz	blk_fail
	mov	dword ptr [r12 + 0x14], 0
	mov	eax, [r12 + 0x10]
	test	eax, 0x20			/* VIRTIO_NET_F_MAC */
	jz	net_nomac
	mov	dword ptr [r12 + 0x24], 1
	mov	dword ptr [r12 + 0x20], 1
	mov	dword ptr [r12 + 0x24], 0
	mov	dword ptr [r12 + 0x20], 0x20
	mov	dword ptr [r12 + 0x70], 0xb
	mov	eax, [r12 + 0x70]
	test	eax, 8
	jz	blk_featfail
	/* receiveq1 */
	xor	edi, edi
	mov	esi, 8
	mov	edx, RXQ_DESC
	mov	ecx, RXQ_AVAIL
	mov	r8d, RXQ_USED
	call	vq_ready
	/* transmitq1: 256 entries, for hull.netflood */
	mov	dword ptr [r12 + 0x30], 1
	mov	eax, [r12 + 0x34]
	cmp	eax, 256
	jb	blk_qsmall
	mov	edi, 1
	mov	esi, 256
	mov	edx, TXQ_DESC
	mov	ecx, TXQ_AVAIL
	mov	r8d, TXQ_USED
	call	vq_ready
	mov	dword ptr [r12 + 0x70], 0xf
	mov	edi, [DEV_IRQ]
	mov	rsi, r12
	call	maybe_irq
	/* One receive buffer. */
	mov	qword ptr [RXQ_DESC], NET_RXBUF
	mov	dword ptr [RXQ_DESC + 8], 2048
	mov	word ptr [RXQ_DESC + 12], 2	/* WRITE */
	mov	word ptr [RXQ_DESC + 14], 0
	mov	word ptr [RXQ_AVAIL + 4], 0
	mov	word ptr [RXQ_AVAIL + 2], 1
	mov	dword ptr [r12 + 0x50], 0
	/* The frame: a zero virtio_net_hdr_v1, broadcast, our MAC, 0x88b5. */
	mov	rdi, NET_TXBUF
	xor	eax, eax
	mov	ecx, 2048
	rep stosb
	mov	rdi, NET_TXBUF + 12
	mov	al, 0xff
	mov	ecx, 6
	rep stosb
	mov	ecx, 6
	xor	edx, edx
1:	mov	al, [r12 + 0x100 + rdx]		/* config: mac */
	mov	[NET_TXBUF + 18 + rdx], al
	inc	edx
	dec	ecx
	jnz	1b
	mov	byte ptr [NET_TXBUF + 24], 0x88
	mov	byte ptr [NET_TXBUF + 25], 0xb5
	mov	rdi, r15
	lea	rsi, [rip + opt_netsend]
	call	find_after
	mov	rdi, NET_TXBUF + 26
	test	rax, rax
	jz	3f
	mov	rsi, rax
2:	mov	al, [rsi]
	cmp	al, ' '
	jbe	3f
	mov	[rdi], al
	inc	rsi
	inc	rdi
	jmp	2b
3:	mov	rdi, r15
	lea	rsi, [rip + opt_netflood]
	call	find_after
	test	rax, rax
	jnz	net_flood
	/* 12 + 14 + at least 46 payload bytes */
	mov	qword ptr [TXQ_DESC], NET_TXBUF
	mov	dword ptr [TXQ_DESC + 8], 12 + 14 + 64
	mov	word ptr [TXQ_DESC + 12], 0
	mov	word ptr [TXQ_DESC + 14], 0
	mov	word ptr [TXQ_AVAIL + 4], 0
	mov	word ptr [TXQ_AVAIL + 2], 1
	mov	dword ptr [r12 + 0x50], 1
	mov	rdi, TXQ_USED + 2
	mov	esi, 1
	call	wait_idx
	lea	rsi, [rip + msg_netsent]
	call	puts
	mov	rdi, RXQ_USED + 2
	mov	esi, 1
	call	wait_idx
	lea	rsi, [rip + msg_netrecv]
	call	puts
	mov	byte ptr [NET_RXBUF + 2047], 0
	mov	rsi, NET_RXBUF + 12 + 14
	call	puts
	call	newline
	jmp	blk_done

/* hull.netflood=B: B batches of 256 full-size frames (12 + 1514 bytes),
 * all 256 descriptors pointing at the one frame. The avail ring is filled
 * once: slot i always names descriptor i, so each batch only moves the
 * index by 256 and notifies once, and the guest's own cost per batch stays
 * constant (guest kernel mode is emulated here, and filling 256 slots per
 * batch cost more than the device's 256 writes). */
net_flood:
	mov	rsi, rax
	call	parse_dec
	mov	r14, rax			/* batches */
	xor	ecx, ecx
1:	mov	rdx, rcx
	shl	rdx, 4
	mov	qword ptr [TXQ_DESC + rdx], NET_TXBUF
	mov	dword ptr [TXQ_DESC + rdx + 8], 12 + 1514
	mov	dword ptr [TXQ_DESC + rdx + 12], 0	/* flags, next */
	inc	ecx
	cmp	ecx, 256
	jb	1b
	xor	ecx, ecx
3:	mov	word ptr [TXQ_AVAIL + 4 + rcx * 2], cx
	inc	ecx
	cmp	ecx, 256
	jb	3b
	xor	r13d, r13d			/* avail index */
2:	test	r14, r14
	jz	5f
	add	r13d, 256
	mov	word ptr [TXQ_AVAIL + 2], r13w
	mov	dword ptr [r12 + 0x50], 1
	mov	rdi, TXQ_USED + 2
	mov	esi, r13d
	call	wait_idx
	dec	r14
	jmp	2b
5:	lea	rsi, [rip + msg_netflood]
	call	puts
	jmp	blk_done

net_nomac:	lea	rsi, [rip + msg_net_nomac]
	jmp	blk_fail

/* vdev_probe: r12 = the window of the first "virtio_mmio.device=<size>@
 * 0x<base>:<irq>" on the command line, checked as Linux's virtio_mmio
 * driver checks it (MagicValue "virt", Version 2, DeviceID edi), then reset,
 * ACKNOWLEDGE and DRIVER set, with VERSION_1 among the device's features
 * 32..63. Returns rsi = 0, or the message to print: rdx on a wrong device
 * id. */
vdev_probe:
	push	rdi
	push	rdx
	mov	rdi, r15
	lea	rsi, [rip + opt_vdev]
	call	find_after
	test	rax, rax
	jz	1f
	mov	rdi, rax
	lea	rsi, [rip + str_at0x]
	call	find_after
	test	rax, rax
	jz	1f
	mov	rsi, rax
	call	parse_hex
	mov	r12, rax
	inc	rsi				/* past ':' */
	call	parse_dec
	mov	[DEV_IRQ], eax
	pop	rdx
	pop	rdi
	lea	rsi, [rip + msg_badmagic]
	cmp	dword ptr [r12], 0x74726976
	jne	9f
	lea	rsi, [rip + msg_badversion]
	cmp	dword ptr [r12 + 4], 2
	jne	9f
	mov	rsi, rdx
	cmp	[r12 + 8], edi
	jne	9f
	mov	dword ptr [r12 + 0x70], 0	/* reset */
	mov	dword ptr [r12 + 0x70], 1	/* ACKNOWLEDGE */
	mov	dword ptr [r12 + 0x70], 3	/* DRIVER */
	mov	dword ptr [r12 + 0x14], 1	/* device features 32..63 */
	lea	rsi, [rip + msg_nov1]
	test	dword ptr [r12 + 0x10], 1	/* VERSION_1 */
	jz	9f
	xor	esi, esi
	ret
1:	pop	rdx
	pop	rdi
	lea	rsi, [rip + msg_blknone]
9:	ret

/* vq_ready: queue edi of the device at r12 with esi entries, its rings at
 * edx (descriptors), ecx (available) and r8d (used), all below 4 GiB;
 * then QueueReady. */
vq_ready:
	mov	[r12 + 0x30], edi		/* QueueSel */
	mov	[r12 + 0x38], esi		/* QueueNum */
	mov	[r12 + 0x80], edx
	mov	dword ptr [r12 + 0x84], 0
	mov	[r12 + 0x90], ecx
	mov	dword ptr [r12 + 0x94], 0
	mov	[r12 + 0xa0], r8d
	mov	dword ptr [r12 + 0xa4], 0
	mov	dword ptr [r12 + 0x44], 1	/* QueueReady */
	ret

/* blk_req: one request on queue 0 of the device at r12: edi = type,
 * rsi = sector, edx = data length (at BLK_DATA), ecx = the data
 * descriptor's WRITE flag (2) or 0. Waits for the used ring; returns the
 * status byte in eax. r13 is the next avail index. */
blk_req:
	mov	dword ptr [BLK_HDR], edi
	mov	dword ptr [BLK_HDR + 4], 0
	mov	qword ptr [BLK_HDR + 8], rsi
	mov	byte ptr [BLK_STATUS], 0xff
	mov	qword ptr [VQ_DESC], BLK_HDR
	mov	dword ptr [VQ_DESC + 8], 16
	mov	word ptr [VQ_DESC + 12], 1	/* NEXT */
	mov	word ptr [VQ_DESC + 14], 1
	mov	qword ptr [VQ_DESC + 16], BLK_DATA
	mov	dword ptr [VQ_DESC + 24], edx
	mov	eax, ecx
	or	eax, 1
	mov	word ptr [VQ_DESC + 28], ax
	mov	word ptr [VQ_DESC + 30], 2
	mov	qword ptr [VQ_DESC + 32], BLK_STATUS
	mov	dword ptr [VQ_DESC + 40], 1
	mov	word ptr [VQ_DESC + 44], 2	/* WRITE */
	mov	word ptr [VQ_DESC + 46], 0
	mov	eax, r13d
	and	eax, 7
	mov	word ptr [VQ_AVAIL + 4 + rax * 2], 0	/* head: descriptor 0 */
	inc	r13d
	mov	word ptr [VQ_AVAIL + 2], r13w
	mov	dword ptr [r12 + 0x50], 0	/* QueueNotify */
	mov	rdi, VQ_USED + 2
	mov	esi, r13d
	call	wait_idx
	movzx	eax, byte ptr [BLK_STATUS]
	ret

/* find_after: rax = the address just after the first occurrence in the
 * string at rdi (may be 0) of the one at rsi, or 0. */
find_after:
	xor	eax, eax
	test	rdi, rdi
	jz	9f
1:	mov	r8, rdi
	mov	r9, rsi
2:	mov	cl, [r9]
	test	cl, cl
	jz	8f
	cmp	cl, [r8]
	jne	3f
	inc	r8
	inc	r9
	jmp	2b
3:	cmp	byte ptr [rdi], 0
	je	9f
	inc	rdi
	jmp	1b
8:	mov	rax, r8
9:	ret

/* parse_hex / parse_dec: rax = the number at rsi; rsi ends on the first
 * character that is not a digit. */
parse_hex:
	xor	eax, eax
1:	movzx	ecx, byte ptr [rsi]
	sub	ecx, '0'
	cmp	ecx, 9
	jbe	2f
	movzx	ecx, byte ptr [rsi]
	or	ecx, 0x20
	sub	ecx, 'a'
	cmp	ecx, 5
	ja	3f
	add	ecx, 10
2:	shl	rax, 4
	or	rax, rcx
	inc	rsi
	jmp	1b
3:	ret

parse_dec:
	xor	eax, eax
1:	movzx	ecx, byte ptr [rsi]
	sub	ecx, '0'
	cmp	ecx, 9
	ja	2f
	imul	rax, rax, 10
	add	rax, rcx
	inc	rsi
	jmp	1b
2:	ret

/* hex8: print al as 0x followed by 2 hex digits. */
hex8:
	mov	edi, eax
	shl	rdi, 56
	mov	ecx, 2
	jmp	hexn

/* ---- interrupts, for hull.irq ---- */
	.set	IDT_BASE,	0x320000		/* 256 gates of 16 bytes */
	.set	IDTR,		0x321000
	.set	IRQ_COUNT,	0x321010		/* interrupts taken */
	.set	IRQ_ISR,	0x321014		/* InterruptStatus bits seen */
	.set	IRQ_WINDOW,	0x321018		/* the device's window, 0: UART */
	.set	IRQ_MODE,	0x321020		/* 1 once hull.irq is set up */
	.set	DEV_IRQ,	0x321024		/* the line from the command line */
	.set	LAPIC,		0xfee00000
	.set	IOAPIC,		0xfec00000
	.set	IRQ_VECTOR,	0x30

/* maybe_irq: with "hull.irq" on the command line, irq_setup(edi, rsi). */
maybe_irq:
	push	rdi
	push	rsi
	mov	rdi, r15
	lea	rsi, [rip + opt_irq]
	call	contains
	pop	rsi
	pop	rdi
	test	eax, eax
	jnz	irq_setup
	ret

/* irq_setup: take ISA line edi as IRQ_VECTOR from the device whose window
 * is rsi (0: the UART). The MP table hull writes routes ISA line n to I/O
 * APIC pin n, as KVM's default GSI routing does. */
irq_setup:
	mov	[IRQ_WINDOW], rsi
	mov	dword ptr [IRQ_COUNT], 0
	mov	dword ptr [IRQ_ISR], 0
	mov	al, 0xff			/* mask both 8259s */
	out	0x21, al
	out	0xa1, al
	lea	rax, [rip + isr_unexpected]
	xor	ecx, ecx
1:	call	set_gate
	inc	ecx
	cmp	ecx, 256
	jb	1b
	lea	rax, [rip + isr_line]
	mov	ecx, IRQ_VECTOR
	call	set_gate
	lea	rax, [rip + isr_spurious]
	mov	ecx, 0xff
	call	set_gate
	mov	word ptr [IDTR], 256 * 16 - 1
	mov	qword ptr [IDTR + 2], IDT_BASE
	lidt	[IDTR]
	mov	edx, LAPIC
	mov	dword ptr [rdx + 0x80], 0	/* task priority: accept all */
	mov	dword ptr [rdx + 0xf0], 0x1ff	/* enabled, spurious vector 0xff */
	mov	edx, IOAPIC
	lea	eax, [rdi * 2 + 0x10]		/* redirection entry, low half */
	mov	[rdx], eax
	mov	dword ptr [rdx + 0x10], IRQ_VECTOR	/* fixed, edge, unmasked */
	inc	eax
	mov	[rdx], eax
	mov	dword ptr [rdx + 0x10], 0	/* to local APIC 0 */
	mov	dword ptr [IRQ_MODE], 1
	ret

/* set_gate: IDT entry ecx = a 64-bit interrupt gate to rax. */
set_gate:
	mov	edx, ecx
	shl	edx, 4
	add	edx, IDT_BASE
	mov	[rdx], ax
	mov	r8, rax
	mov	ax, cs
	mov	[rdx + 2], ax
	mov	rax, r8
	mov	word ptr [rdx + 4], 0x8e00	/* present, DPL 0, interrupt gate */
	shr	r8, 16
	mov	[rdx + 6], r8w
	shr	r8, 16
	mov	[rdx + 8], r8d
	mov	dword ptr [rdx + 12], 0
	ret

isr_line:
	push	rax
	push	rdx
	inc	dword ptr [IRQ_COUNT]
	mov	rdx, [IRQ_WINDOW]
	test	rdx, rdx
	jz	1f
	mov	eax, [rdx + 0x60]		/* InterruptStatus */
	or	[IRQ_ISR], eax
	mov	[rdx + 0x64], eax		/* InterruptACK */
1:	mov	edx, LAPIC
	mov	dword ptr [rdx + 0xb0], 0	/* EOI */
	pop	rdx
	pop	rax
	iretq

isr_spurious:
	iretq

isr_unexpected:
	lea	rsi, [rip + msg_unexpected]
	call	puts
	cli
1:	hlt
	jmp	1b

/* irq_wait: halt until IRQ_COUNT differs from eax. */
irq_wait:
1:	cli
	cmp	[IRQ_COUNT], eax
	jne	2f
	sti
	hlt				/* sti's shadow: no wake-up is lost */
	jmp	1b
2:	sti
	ret

/* wait_idx: wait until the 16-bit index at rdi equals si: polled, or with
 * hull.irq halted between looks, so only an interrupt can move it on. */
wait_idx:
	cmp	dword ptr [IRQ_MODE], 0
	jne	2f
1:	cmp	[rdi], si
	jne	1b
	ret
2:	cli
	cmp	[rdi], si
	je	3f
	sti
	hlt
	jmp	2b
3:	sti
	ret

do_halt:
	lea	rsi, [rip + msg_halt]
	call	puts
7:	cli
	hlt
	jmp	7b

do_spin:
	lea	rsi, [rip + msg_spin]
	call	puts
8:	jmp	8b

/* puts: print the NUL-terminated string at rsi. */
puts:
	mov	dx, 0x3f8
1:	mov	al, [rsi]
	test	al, al
	jz	2f
	out	dx, al
	inc	rsi
	jmp	1b
2:	ret

newline:
	mov	dx, 0x3f8
	mov	al, 10
	out	dx, al
	ret

space:
	mov	dx, 0x3f8
	mov	al, 32
	out	dx, al
	ret

/* hex64 / hex32: print rax / eax as 0x followed by 16 / 8 hex digits. */
hex64:
	mov	rdi, rax
	mov	ecx, 16
	jmp	hexn
hex32:
	mov	edi, eax
	shl	rdi, 32
	mov	ecx, 8
hexn:
	mov	dx, 0x3f8
	mov	al, '0'
	out	dx, al
	mov	al, 'x'
	out	dx, al
1:	rol	rdi, 4
	mov	eax, edi
	and	eax, 0xf
	cmp	eax, 10
	jb	2f
	add	eax, 'a' - 10 - '0'
2:	add	eax, '0'
	out	dx, al
	dec	ecx
	jnz	1b
	ret

/* contains: eax = 1 if the NUL-terminated string at rdi (may be 0) contains
 * the one at rsi, else 0. */
contains:
	xor	eax, eax
	test	rdi, rdi
	jz	9f
1:	mov	r8, rdi
	mov	r9, rsi
2:	mov	cl, [r9]
	test	cl, cl
	jz	8f
	cmp	cl, [r8]
	jne	3f
	inc	r8
	inc	r9
	jmp	2b
3:	cmp	byte ptr [rdi], 0
	je	9f
	inc	rdi
	jmp	1b
8:	mov	eax, 1
9:	ret

msg_banner:	.asciz	"hull-testkernel\n"
msg_cmdline:	.asciz	"cmdline: "
msg_initrd:	.asciz	"initrd: addr="
msg_size:	.asciz	" size="
msg_fnv:	.asciz	" fnv1a="
msg_e820:	.asciz	"e820: "
msg_reset:	.asciz	"reset\n"
opt_irq:	.asciz	"hull.irq"
msg_irqcount:	.asciz	"irq: count="
msg_irqstatus:	.asciz	" status="
msg_unexpected:	.asciz	"unexpected interrupt\n"
msg_blkgaveup:	.asciz	"blk: gave up status="
msg_halt:	.asciz	"halt\n"
msg_spin:	.asciz	"spin\n"
msg_echo:	.asciz	"echo\n"
opt_halt:	.asciz	"hull.halt"
opt_spin:	.asciz	"hull.spin"
opt_echo:	.asciz	"hull.echo"
opt_blk:	.asciz	"hull.blk"
opt_net:	.asciz	"hull.net"
opt_netsend:	.asciz	"hull.netsend="
opt_netflood:	.asciz	"hull.netflood="
msg_netflood:	.asciz	"net: flood done\n"
msg_netsent:	.asciz	"net: sent\n"
msg_netrecv:	.asciz	"net: recv "
msg_net_baddevice:	.asciz	"net: bad device id\n"
msg_net_nomac:	.asciz	"net: no MAC feature\n"
opt_blkread:	.asciz	"hull.blkread="
opt_blkwrite:	.asciz	"hull.blkwrite="
opt_blkid:	.asciz	"hull.blkid"
opt_blknosum:	.asciz	"hull.blknosum"
opt_blkreps:	.asciz	"hull.blkreps="
opt_blkbadq:	.asciz	"hull.blkbadq"
opt_vdev:	.asciz	"virtio_mmio.device="
str_at0x:	.asciz	"@0x"
msg_blkcap:	.asciz	"blk: capacity="
msg_blkread:	.asciz	"blk: read status="
msg_blkwrite:	.asciz	"blk: write status="
msg_blkid:	.asciz	"blk: id="
msg_blkbadq:	.asciz	"blk: badq status="
msg_blknone:	.asciz	"blk: no device\n"
msg_badmagic:	.asciz	"blk: bad magic\n"
msg_badversion:	.asciz	"blk: bad version\n"
msg_baddevice:	.asciz	"blk: bad device id\n"
msg_nov1:	.asciz	"blk: no VERSION_1\n"
msg_featfail:	.asciz	"blk: features refused\n"
msg_qsmall:	.asciz	"blk: queue too small\n"

	.balign	16
payload_end:
	/* A 4 KiB stack beyond the file, inside init_size. */
	.set	stack_top, payload_end + 4096
