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
; Writes go straight to the IDE primary master (the disk the guest boots from, hda) by ATA
; PIO: WRITE SECTORS (LBA28), then polling the status port until BSY clears.  After boot no
; BIOS code runs: interrupts stay off and the drive's interrupt is masked (nIEN).  The
; earlier int 13h version lost its stack inside SeaBIOS now and then when migrated under
; TCG, and SeaBIOS fails a write that takes over 32 s (a frozen DRBD can hold one longer);
; neither is what the tests are about.  The status poll has no timeout on purpose.
; After a write has completed (BSY clear, no ERR/DF), every 256th record prints
; "REC <seq as 8 hex digits>\r\n" on COM1, so the last seq seen on the console is a lower
; bound of the records that must be on disk.
; Built with SPREAD=N, every record is written a second time to a pseudo-random sector of
; the N after the ring (LBA 4097 .. 4096 + N): writes all over the disk, which reccheck
; --spread N checks too.
; At boot it prints "RECGUEST\r\n"; on a disk error it prints "DISKERR\r\n" and halts.
; tests/guest/reccheck.c checks a disk written by this guest.

%ifndef PACE                ; nasm -DPACE=0: as fast as the disk goes
PACE    equ 4773            ; PIT ticks (1.193182 MHz) from one record's start to the next:
                            ; 4 ms, at most 250 records/s, a rate tests can plan on (the
                            ; lab's nested TCG guest wrote 1100/s unpaced, the int 13h
                            ; version about 200/s)
%endif
%ifndef SPREAD              ; nasm -DSPREAD=N: after each record, the same sector again at
SPREAD  equ 0               ; a pseudo-random one of the N sectors after the ring (0: off),
%endif                      ; for a guest whose writes go all over its disk
SLOTS   equ 4096            ; must be a power of two (ring index = (seq - 1) & (SLOTS - 1))
BUF     equ 0x8000          ; sector buffer
COM1    equ 0x3f8
ATA     equ 0x1f0           ; primary channel command block: data, +2 count, +3..5 LBA,
                            ; +6 device, +7 status (read) / command (write)
ATACTL  equ 0x3f6           ; primary channel device control

bits 16
org 0x7c00

start:
        cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7c00
        cld                         ; interrupts stay off from here on
        mov dx, ATACTL
        mov al, 0x02                ; nIEN: the drive raises no interrupt
        out dx, al
        mov al, 0x34                ; PIT channel 0: rate generator, reload 65536, so
        out 0x43, al                ; its counter wraps every 55 ms (no interrupt taken)
        xor al, al
        out 0x40, al
        out 0x40, al
        mov si, msg_boot
        call puts

next:   call pit_read
        mov bx, [t_last]
        sub bx, ax                  ; ticks since the last record (counting down, mod 2^16)
        cmp bx, PACE
        jb next
        mov [t_last], ax
        inc dword [seq]
        mov ebx, [seq]
        lea eax, [ebx - 1]
        and eax, SLOTS - 1
        inc ax
        mov [lba], ax               ; < 4097: fits in 16 bits

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

        movzx eax, word [lba]
        call ata_write
%if SPREAD
        mov eax, [rnd]              ; xorshift32: the next pseudo-random number
        mov ebx, eax
        shl ebx, 13
        xor eax, ebx
        mov ebx, eax
        shr ebx, 17
        xor eax, ebx
        mov ebx, eax
        shl ebx, 5
        xor eax, ebx
        mov [rnd], eax
        xor edx, edx
        mov ebx, SPREAD
        div ebx                     ; edx = rnd mod SPREAD
        lea eax, [edx + SLOTS + 1]  ; a sector after the ring
        call ata_write              ; the same record again, for writes all over the disk
%endif
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

; ata_write: BUF -> the sector at LBA EAX (< 2^24), returning once the drive has
; completed the write.  Keeps all registers but EAX, CX, DX, SI and flags.
ata_write:
        push eax
        call ata_ready
        mov dx, ATA + 6
        mov al, 0xe0                ; LBA mode, master, LBA bits 24..27 = 0
        out dx, al
        call ata_ready
        mov dx, ATA + 2
        mov al, 1                   ; one sector
        out dx, al
        pop eax
        inc dx
        out dx, al                  ; LBA 0..7
        inc dx
        mov al, ah
        out dx, al                  ; LBA 8..15
        inc dx
        shr eax, 16
        out dx, al                  ; LBA 16..23
        mov dx, ATA + 7
        mov al, 0x30                ; WRITE SECTORS
        out dx, al
.drq:   call ata_ready
        test al, 0x08               ; DRQ: the drive takes the data
        jz .drq
        mov si, BUF
        mov cx, 256
        mov dx, ATA
        rep outsw
        jmp ata_ready               ; BSY until the write has completed

; ata_ready: wait until the drive is not busy; AL = status.  Does not return on ERR or
; DF (prints DISKERR and halts).  Keeps all registers but AL, DX and flags.
ata_ready:
        mov dx, ATA + 7
.busy:  in al, dx
        test al, 0x80               ; BSY
        jnz .busy
        test al, 0x21               ; ERR | DF
        jnz next.err
        ret

; pit_read: AX = PIT channel 0's counter.  Keeps all registers but AX and flags.
pit_read:
        xor al, al
        out 0x43, al                ; latch channel 0
        in al, 0x40
        mov ah, al
        in al, 0x40
        xchg al, ah
        ret

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

        align 4
seq:    dd 0
lba:    dw 0
t_last: dw 0
rnd:    dd 0x2545f491               ; xorshift32 state (SPREAD), never 0

        times 510 - ($ - $$) db 0
        dw 0xaa55
