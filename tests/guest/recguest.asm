; recguest: a 512-byte boot-sector guest that writes numbered records to its disk forever.
;
; Build: nasm -f bin -o recguest.bin recguest.asm   (or tests/guest/build.sh OUTDIR)
;
; Record layout (one record = one 512-byte sector, all integers little endian):
;   bytes   0..7    magic "DMREC001"
;   bytes   8..11   u32 seq, 1, 2, 3, ...
;   bytes  12..15   u32 lba the record was written to
;   bytes  16..507  filler: dword i (i = 4..126, counted from the sector start) = seq XOR i
;   bytes 508..511  u32 checksum = sum (mod 2^32) of dwords 0..126
; Record seq n is written to LBA 1 + ((n - 1) mod SLOTS): a ring of SLOTS sectors right
; after the boot sector (SLOTS = 4096 -> 2 MiB, so the disk must have >= 4097 sectors).
;
; Writes use BIOS int 13h AH=43h (extended write, DAP).  After a write has completed
; (CF clear), every 256th record prints "REC <seq as 8 hex digits>\r\n" on COM1, so the
; last seq seen on the console is a lower bound of the records that must be on disk.
; At boot it prints "RECGUEST\r\n"; on a disk error it prints "DISKERR\r\n" and halts.
; tests/guest/reccheck.c checks a disk written by this guest.

SLOTS   equ 4096            ; must be a power of two (ring index = (seq - 1) & (SLOTS - 1))
BUF     equ 0x8000          ; sector buffer
COM1    equ 0x3f8

bits 16
org 0x7c00

start:
        cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7c00
        sti
        cld
        mov [drive], dl
        mov si, msg_boot
        call puts

next:   inc dword [seq]
        mov ebx, [seq]
        lea eax, [ebx - 1]
        and eax, SLOTS - 1
        inc ax
        mov [dap_lba], eax          ; high dword of the 64-bit LBA stays 0

        mov di, BUF
        push eax
        mov eax, 'DMRE'
        stosd
        mov eax, 'C001'
        stosd
        xchg eax, ebx               ; eax = seq
        stosd
        pop eax                     ; eax = lba
        stosd
        mov ecx, 4                  ; filler: dword i = seq ^ i
.fill:  mov eax, [seq]
        xor eax, ecx
        stosd
        inc cx
        cmp cl, 127
        jb .fill
        xor edx, edx                ; checksum over dwords 0..126
        mov si, BUF
        mov cl, 127
.sum:   lodsd
        add edx, eax
        loop .sum
        mov [si], edx               ; si = BUF + 508

        mov si, dap
        mov ax, 0x4300
        mov dl, [drive]
        int 0x13
        jc .err
        cmp byte [seq], 0           ; every 256 records
        jne next
        mov si, msg_rec
        call puts
        mov ebx, [seq]
        mov cl, 8
.hex:   rol ebx, 4
        mov al, bl
        and al, 0x0f
        add al, '0'
        cmp al, '9'
        jbe .dig
        add al, 'A' - '9' - 1
.dig:   call putc
        loop .hex
        mov si, msg_crlf
        call puts
        jmp next

.err:   mov si, msg_err
        call puts
.halt:  cli
        hlt
        jmp .halt

; putc: AL -> COM1, polling LSR bit 5 (THR empty).  Keeps all registers but flags.
putc:   push dx
        push ax
        mov dx, COM1 + 5
.wait:  in al, dx
        test al, 0x20
        jz .wait
        pop ax
        mov dx, COM1
        out dx, al
        pop dx
        ret

; puts: NUL-terminated string at DS:SI -> COM1.
puts:   lodsb
        test al, al
        jz .done
        call putc
        jmp puts
.done:  ret

msg_boot: db 'RECGUEST'
msg_crlf: db 13, 10, 0
msg_rec:  db 'REC ', 0
msg_err:  db 'DISKERR', 13, 10, 0

drive:  db 0
        align 4
seq:    dd 0
dap:    db 0x10, 0                  ; size, reserved
        dw 1                        ; sectors
        dw BUF, 0                   ; buffer offset, segment
dap_lba: dd 0, 0

        times 510 - ($ - $$) db 0
        dw 0xaa55
