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
1:	mov	dx, 0x3fd			/* line status: bit 0, data ready */
	in	al, dx
	test	al, 1
	jz	1b
	mov	dx, 0x3f8			/* receive buffer */
	in	al, dx
	out	dx, al
	cmp	al, '.'
	jne	1b
	call	newline
	lea	rsi, [rip + msg_reset]
	call	puts
	mov	al, 0xfe
	out	0x64, al
2:	hlt
	jmp	2b

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
msg_halt:	.asciz	"halt\n"
msg_spin:	.asciz	"spin\n"
msg_echo:	.asciz	"echo\n"
opt_halt:	.asciz	"hull.halt"
opt_spin:	.asciz	"hull.spin"
opt_echo:	.asciz	"hull.echo"

	.balign	16
payload_end:
	/* A 4 KiB stack beyond the file, inside init_size. */
	.set	stack_top, payload_end + 4096
