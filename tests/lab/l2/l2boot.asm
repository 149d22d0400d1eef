; l2boot.asm: the kernel lab's nested (L2) test guest, a 512-byte boot sector.
;   nasm -f bin -o l2boot.bin l2boot.asm
; Prints "L2BOOT" on COM1, then forever: writes record seq = 1, 2, 3, ... to LBA
; 1 + (seq - 1) mod SLOTS of the boot disk (BIOS int 13h AH=43h, extended write), and after
; every 16th completed write prints the record's text on COM1. A record is one sector:
; "L2REC <seq as 8 upper-case hex digits>\n", then zeros. On a disk error it prints
; "L2DISKERR" and halts. tests/lab/tests/nested-guest.sh checks console and disk.

SLOTS   equ 4096                ; power of two: 2 MiB of records after the boot sector
BUF     equ 0x8000              ; sector buffer
COM1    equ 0x3f8

bits 16
org 0x7c00

start:  cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7c00
        sti
        cld
        mov [drive], dl
        mov di, BUF             ; zero the sector buffer
        mov cx, 256
        rep stosw
        mov si, msg_boot
        call puts

next:   inc dword [seq]
        mov di, BUF             ; record text
        mov si, msg_rec
        mov cx, 6
        rep movsb
        mov eax, [seq]
        mov cx, 8
.hex:   rol eax, 4
        push ax
        and al, 0x0f
        add al, '0'
        cmp al, '9'
        jbe .dig
        add al, 'A' - '9' - 1
.dig:   stosb
        pop ax
        loop .hex
        mov al, 10
        stosb
        mov eax, [seq]          ; lba = 1 + (seq - 1) mod SLOTS
        dec eax
        and eax, SLOTS - 1
        inc eax
        mov [dap_lba], eax
        mov si, dap
        mov ax, 0x4300
        mov dl, [drive]
        int 0x13
        jc .err
        test byte [seq], 15
        jnz next
        mov si, BUF             ; print the record's text line
.line:  lodsb
        cmp al, 10
        je .eol
        call putc
        jmp .line
.eol:   mov si, msg_crlf
        call puts
        jmp next

.err:   mov si, msg_err
        call puts
.halt:  cli
        hlt
        jmp .halt

; putc: AL -> COM1 (polls the line status register). Keeps all registers.
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

msg_boot: db 'L2BOOT'
msg_crlf: db 13, 10, 0
msg_rec:  db 'L2REC '
msg_err:  db 'L2DISKERR', 13, 10, 0
drive:    db 0
          align 4
seq:      dd 0
dap:      db 0x10, 0            ; DAP size, reserved
          dw 1                  ; sectors
          dw BUF, 0             ; buffer offset, segment
dap_lba:  dd 0, 0

        times 510 - ($ - $$) db 0
        dw 0xaa55
