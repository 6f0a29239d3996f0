//go:build amd64 && !purego

#include "textflag.h"

// SPLIT_ARGS loads (c, ldc, a, lda, b, ldb, k) into DI, R8 (bytes), SI,
// R9 (bytes), DX, R10 (bytes) and CX, and sets the row offset R11 to 0.
#define SPLIT_ARGS \
	MOVQ c+0(FP), DI \
	MOVQ ldc+8(FP), R8 \
	SHLQ $3, R8 \
	MOVQ a+16(FP), SI \
	MOVQ lda+24(FP), R9 \
	SHLQ $3, R9 \
	MOVQ b+32(FP), DX \
	MOVQ ldb+40(FP), R10 \
	SHLQ $3, R10 \
	MOVQ k+48(FP), CX \
	XORQ R11, R11

// INDEX_ARGS loads (c, ldc, a, b, idx, k, ld) into DI, R8 (bytes), SI, DX,
// R10, CX and R9 (bytes).
#define INDEX_ARGS \
	MOVQ c+0(FP), DI \
	MOVQ ldc+8(FP), R8 \
	SHLQ $3, R8 \
	MOVQ a+16(FP), SI \
	MOVQ b+24(FP), DX \
	MOVQ idx+32(FP), R10 \
	MOVQ k+40(FP), CX \
	MOVQ ld+48(FP), R9 \
	SHLQ $3, R9

// ZERO8 clears the eight accumulators Y0..Y7.
#define ZERO8 \
	VXORPD Y0, Y0, Y0 \
	VXORPD Y1, Y1, Y1 \
	VXORPD Y2, Y2, Y2 \
	VXORPD Y3, Y3, Y3 \
	VXORPD Y4, Y4, Y4 \
	VXORPD Y5, Y5, Y5 \
	VXORPD Y6, Y6, Y6 \
	VXORPD Y7, Y7, Y7

// ROW8 adds the outer product of a[0:4] at A+X and b[0:8] at B+X (X in
// bytes) to Y0..Y7.
#define ROW8(A, B, X) \
	VMOVUPD      (B)(X*1), Y8 \
	VMOVUPD      32(B)(X*1), Y9 \
	VBROADCASTSD (A)(X*1), Y10 \
	VFMADD231PD  Y8, Y10, Y0 \
	VFMADD231PD  Y9, Y10, Y1 \
	VBROADCASTSD 8(A)(X*1), Y11 \
	VFMADD231PD  Y8, Y11, Y2 \
	VFMADD231PD  Y9, Y11, Y3 \
	VBROADCASTSD 16(A)(X*1), Y12 \
	VFMADD231PD  Y8, Y12, Y4 \
	VFMADD231PD  Y9, Y12, Y5 \
	VBROADCASTSD 24(A)(X*1), Y13 \
	VFMADD231PD  Y8, Y13, Y6 \
	VFMADD231PD  Y9, Y13, Y7

// ROW4 adds the outer product of a[0:4] at A+X and b[0:4] at B+X to the
// accumulators R0..R3, loading b into V.
#define ROW4(A, B, X, V, R0, R1, R2, R3) \
	VMOVUPD      (B)(X*1), V \
	VBROADCASTSD (A)(X*1), Y10 \
	VFMADD231PD  V, Y10, R0 \
	VBROADCASTSD 8(A)(X*1), Y11 \
	VFMADD231PD  V, Y11, R1 \
	VBROADCASTSD 16(A)(X*1), Y12 \
	VFMADD231PD  V, Y12, R2 \
	VBROADCASTSD 24(A)(X*1), Y13 \
	VFMADD231PD  V, Y13, R3

// NEXT moves a on by R9 bytes and b by R10 bytes.
#define NEXT \
	ADDQ R9, SI \
	ADDQ R10, DX

// ADDROW adds the YMM register R to the four doubles at DI+OFF; SUBROW
// subtracts it.
#define ADDROW(R, OFF) \
	VADDPD  OFF(DI), R, R \
	VMOVUPD R, OFF(DI)

#define SUBROW(R, OFF) \
	VMOVUPD OFF(DI), Y14 \
	VSUBPD  R, Y14, Y14 \
	VMOVUPD Y14, OFF(DI)

// STORE8(OP) applies OP (ADDROW or SUBROW) to the 4×8 tile at DI, row
// stride R8 bytes, and Y0..Y7.
#define STORE8(OP) \
	OP(Y0, 0) \
	OP(Y1, 32) \
	ADDQ R8, DI \
	OP(Y2, 0) \
	OP(Y3, 32) \
	ADDQ R8, DI \
	OP(Y4, 0) \
	OP(Y5, 32) \
	ADDQ R8, DI \
	OP(Y6, 0) \
	OP(Y7, 32)

// STORE4(OP) folds Y4..Y7, the sums of odd rows, into Y0..Y3 and applies
// OP to the 4×4 tile at DI.
#define STORE4(OP) \
	VADDPD Y4, Y0, Y0 \
	VADDPD Y5, Y1, Y1 \
	VADDPD Y6, Y2, Y2 \
	VADDPD Y7, Y3, Y3 \
	OP(Y0, 0) \
	ADDQ R8, DI \
	OP(Y1, 0) \
	ADDQ R8, DI \
	OP(Y2, 0) \
	ADDQ R8, DI \
	OP(Y3, 0)

// LOOP8(LOOP, DONE) sums the outer products of the CX rows into Y0..Y7.
#define LOOP8(LOOP, DONE) \
	TESTQ CX, CX \
	JEQ   DONE \
LOOP: \
	ROW8(SI, DX, R11) \
	NEXT \
	DECQ CX \
	JNE  LOOP \
DONE:

// LOOP4(LOOP, TAIL, DONE) sums them for a 4×4 tile, even rows into Y0..Y3
// and odd ones into Y4..Y7, for enough independent FMA chains in flight.
#define LOOP4(LOOP, TAIL, DONE) \
	CMPQ CX, $2 \
	JLT  TAIL \
LOOP: \
	ROW4(SI, DX, R11, Y8, Y0, Y1, Y2, Y3) \
	NEXT \
	ROW4(SI, DX, R11, Y9, Y4, Y5, Y6, Y7) \
	NEXT \
	SUBQ $2, CX \
	CMPQ CX, $2 \
	JGE  LOOP \
TAIL: \
	TESTQ CX, CX \
	JEQ   DONE \
	ROW4(SI, DX, R11, Y8, Y0, Y1, Y2, Y3) \
DONE:

// KERNEL8(OP, LOOP, DONE) and KERNEL4(OP, LOOP, TAIL, DONE) are the bodies
// of the kernels below: sum the tile over the k rows, then apply OP to c.
#define KERNEL8(OP, LOOP, DONE) \
	SPLIT_ARGS \
	ZERO8 \
	LOOP8(LOOP, DONE) \
	STORE8(OP) \
	VZEROUPPER \
	RET

#define KERNEL4(OP, LOOP, TAIL, DONE) \
	SPLIT_ARGS \
	ZERO8 \
	LOOP4(LOOP, TAIL, DONE) \
	STORE4(OP) \
	VZEROUPPER \
	RET

// ZERO16 clears the sixteen accumulators Z0..Z15 of the 4×32 kernels.
#define ZERO16 \
	VPXORQ Z0, Z0, Z0 \
	VPXORQ Z1, Z1, Z1 \
	VPXORQ Z2, Z2, Z2 \
	VPXORQ Z3, Z3, Z3 \
	VPXORQ Z4, Z4, Z4 \
	VPXORQ Z5, Z5, Z5 \
	VPXORQ Z6, Z6, Z6 \
	VPXORQ Z7, Z7, Z7 \
	VPXORQ Z8, Z8, Z8 \
	VPXORQ Z9, Z9, Z9 \
	VPXORQ Z10, Z10, Z10 \
	VPXORQ Z11, Z11, Z11 \
	VPXORQ Z12, Z12, Z12 \
	VPXORQ Z13, Z13, Z13 \
	VPXORQ Z14, Z14, Z14 \
	VPXORQ Z15, Z15, Z15

// OUTER16 adds the outer product of the four doubles broadcast in Z20..Z23
// and the 32 in Z16..Z19 to Z0..Z15: row p in Z(4p)..Z(4p+3).
#define OUTER16 \
	VFMADD231PD  Z16, Z20, Z0 \
	VFMADD231PD  Z17, Z20, Z1 \
	VFMADD231PD  Z18, Z20, Z2 \
	VFMADD231PD  Z19, Z20, Z3 \
	VFMADD231PD  Z16, Z21, Z4 \
	VFMADD231PD  Z17, Z21, Z5 \
	VFMADD231PD  Z18, Z21, Z6 \
	VFMADD231PD  Z19, Z21, Z7 \
	VFMADD231PD  Z16, Z22, Z8 \
	VFMADD231PD  Z17, Z22, Z9 \
	VFMADD231PD  Z18, Z22, Z10 \
	VFMADD231PD  Z19, Z22, Z11 \
	VFMADD231PD  Z16, Z23, Z12 \
	VFMADD231PD  Z17, Z23, Z13 \
	VFMADD231PD  Z18, Z23, Z14 \
	VFMADD231PD  Z19, Z23, Z15

// ROW32(A, B) adds the outer product of a[0:4] at A and the four groups
// of b[0:8] at B, B+R12, B+2·R12 and B+R13 to Z0..Z15: row p of the tile
// in Z(4p)..Z(4p+3).
#define ROW32(A, B) \
	VMOVUPD      (B), Z16 \
	VMOVUPD      (B)(R12*1), Z17 \
	VMOVUPD      (B)(R12*2), Z18 \
	VMOVUPD      (B)(R13*1), Z19 \
	VBROADCASTSD (A), Z20 \
	VBROADCASTSD 8(A), Z21 \
	VBROADCASTSD 16(A), Z22 \
	VBROADCASTSD 24(A), Z23 \
	OUTER16

// ADDZ adds the ZMM register R to the eight doubles at DI+OFF; SUBZ
// subtracts it: as ADDROW and SUBROW, so the sums round the same way.
#define ADDZ(R, OFF) \
	VADDPD  OFF(DI), R, R \
	VMOVUPD R, OFF(DI)

#define SUBZ(R, OFF) \
	VMOVUPD OFF(DI), Z24 \
	VSUBPD  R, Z24, Z24 \
	VMOVUPD Z24, OFF(DI)

// STORE32(OP) applies OP to the 4×32 tile at DI, row stride R8 bytes.
#define STORE32(OP) \
	OP(Z0, 0) \
	OP(Z1, 64) \
	OP(Z2, 128) \
	OP(Z3, 192) \
	ADDQ R8, DI \
	OP(Z4, 0) \
	OP(Z5, 64) \
	OP(Z6, 128) \
	OP(Z7, 192) \
	ADDQ R8, DI \
	OP(Z8, 0) \
	OP(Z9, 64) \
	OP(Z10, 128) \
	OP(Z11, 192) \
	ADDQ R8, DI \
	OP(Z12, 0) \
	OP(Z13, 64) \
	OP(Z14, 128) \
	OP(Z15, 192)

// KERNEL32(OP, LOOP, DONE) is the body of the split-stride 4×32 kernels
// (c, ldc, a, lda, b, ldb, k, gs): the four groups of b are gs elements
// apart.
#define KERNEL32(OP, LOOP, DONE) \
	SPLIT_ARGS \
	MOVQ gs+56(FP), R12 \
	SHLQ $3, R12 \
	LEAQ (R12)(R12*2), R13 \
	ZERO16 \
	TESTQ CX, CX \
	JEQ   DONE \
LOOP: \
	ROW32(SI, DX) \
	NEXT \
	DECQ CX \
	JNE  LOOP \
DONE: \
	STORE32(OP) \
	VZEROUPPER \
	RET

// SETZ stores the ZMM register R to the eight doubles at DI+OFF.
#define SETZ(R, OFF) \
	VMOVUPD R, OFF(DI)

// func rows4x32(c *float64, ldc int, a *float64, lda int, b *float64, ldb, k int)
//
// c[p*ldc+q] = Σ_{r<k} a[p*lda+r]·b[r*ldb+q] for p < 4, q < 32, k ≥ 1:
// four rows of rowsTimesAsm at once (c = u, a = x, b = wt), each sum
// formed in the same order with the same fused multiply-adds, in sixteen
// ZMM accumulators (AVX-512F). A row of b is loaded once for the four rows
// of a.
TEXT ·rows4x32(SB), NOSPLIT, $0-56
	SPLIT_ARGS
	LEAQ (R9)(R9*2), R11
	ZERO16

r4x32:
	VMOVUPD      (DX), Z16
	VMOVUPD      64(DX), Z17
	VMOVUPD      128(DX), Z18
	VMOVUPD      192(DX), Z19
	VBROADCASTSD (SI), Z20
	VBROADCASTSD (SI)(R9*1), Z21
	VBROADCASTSD (SI)(R9*2), Z22
	VBROADCASTSD (SI)(R11*1), Z23
	OUTER16
	ADDQ         $8, SI
	ADDQ         R10, DX
	DECQ         CX
	JNE          r4x32
	STORE32(SETZ)
	VZEROUPPER
	RET

// func tile4x8(c *float64, ldc int, a *float64, lda int, b *float64, ldb, k int)
//
// c[p*ldc+q] += Σ_{r<k} a[r*lda+p]·b[r*ldb+q] for p < 4, q < 8. The 4×8
// tile of sums lives in eight YMM registers for the whole loop over r.
TEXT ·tile4x8(SB), NOSPLIT, $0-56
	KERNEL8(ADDROW, loop8, store8)

// func tile4x4(c *float64, ldc int, a *float64, lda int, b *float64, ldb, k int)
//
// As tile4x8 for a 4×4 tile.
TEXT ·tile4x4(SB), NOSPLIT, $0-56
	KERNEL4(ADDROW, loop4, tail4, store4)

// func tileSub4x8(c *float64, ldc int, a *float64, lda int, b *float64, ldb, k int)
//
// As tile4x8, subtracting the sums from c.
TEXT ·tileSub4x8(SB), NOSPLIT, $0-56
	KERNEL8(SUBROW, sloop8, sstore8)

// func tileSub4x4(c *float64, ldc int, a *float64, lda int, b *float64, ldb, k int)
//
// As tile4x4, subtracting the sums from c.
TEXT ·tileSub4x4(SB), NOSPLIT, $0-56
	KERNEL4(SUBROW, sloop4, stail4, sstore4)

// func tileIdx4x8(c *float64, ldc int, a, b *float64, idx *int32, k, ld int)
//
// As tile4x8 over the rows idx[0..k-1], both operands with stride ld: row r
// of a and b starts idx[r]*ld elements in.
TEXT ·tileIdx4x8(SB), NOSPLIT, $0-56
	INDEX_ARGS
	ZERO8
	TESTQ CX, CX
	JEQ   istore8

iloop8:
	MOVLQSX (R10), R11
	IMULQ   R9, R11
	ROW8(SI, DX, R11)
	ADDQ    $4, R10
	DECQ    CX
	JNE     iloop8

istore8:
	STORE8(ADDROW)
	VZEROUPPER
	RET

// func tileIdx4x4(c *float64, ldc int, a, b *float64, idx *int32, k, ld int)
//
// As tile4x4 over the rows idx[0..k-1].
TEXT ·tileIdx4x4(SB), NOSPLIT, $0-56
	INDEX_ARGS
	ZERO8
	CMPQ CX, $2
	JLT  itail4

iloop4:
	MOVLQSX (R10), R11
	IMULQ   R9, R11
	MOVLQSX 4(R10), R12
	IMULQ   R9, R12
	ROW4(SI, DX, R11, Y8, Y0, Y1, Y2, Y3)
	ROW4(SI, DX, R12, Y9, Y4, Y5, Y6, Y7)
	ADDQ    $8, R10
	SUBQ    $2, CX
	CMPQ    CX, $2
	JGE     iloop4

itail4:
	TESTQ   CX, CX
	JEQ     istore4
	MOVLQSX (R10), R11
	IMULQ   R9, R11
	ROW4(SI, DX, R11, Y8, Y0, Y1, Y2, Y3)

istore4:
	STORE4(ADDROW)
	VZEROUPPER
	RET

// func addUpperAsm(dst *float64, ldd int, src *float64, lds, n int, s float64)
//
// dst[a*ldd+b] += s*src[a*lds+b] for a < n and a&^3 ≤ b < n: the upper
// triangle of an n×n matrix, in whole groups of four from the diagonal's
// group on, then the n mod 4 last columns one by one. With s = ±1 the
// product is exact, so each entry is one rounded addition or subtraction.
TEXT ·addUpperAsm(SB), NOSPLIT, $0-48
	MOVQ         dst+0(FP), DI
	MOVQ         ldd+8(FP), R8
	SHLQ         $3, R8
	MOVQ         src+16(FP), SI
	MOVQ         lds+24(FP), R9
	SHLQ         $3, R9
	MOVQ         n+32(FP), CX
	VBROADCASTSD s+40(FP), Y8
	MOVQ         CX, R10
	ANDQ         $-4, R10 // columns below R10 go in groups of four
	XORQ         AX, AX

arow:
	CMPQ AX, CX
	JGE  adone
	MOVQ AX, BX
	ANDQ $-4, BX

agroup:
	CMPQ        BX, R10
	JGE         atail
	VMOVUPD     (DI)(BX*8), Y0
	VFMADD231PD (SI)(BX*8), Y8, Y0
	VMOVUPD     Y0, (DI)(BX*8)
	ADDQ        $4, BX
	JMP         agroup

atail:
	CMPQ        BX, CX
	JGE         anext
	VMOVSD      (DI)(BX*8), X0
	VFMADD231SD (SI)(BX*8), X8, X0
	VMOVSD      X0, (DI)(BX*8)
	INCQ        BX
	JMP         atail

anext:
	ADDQ R8, DI
	ADDQ R9, SI
	INCQ AX
	JMP  arow

adone:
	VZEROUPPER
	RET

// func classAddAsm(sums, packed *float64, cj, ck *uint8, step, shift, mask, n, t4 int)
//
// For i < n, with c = cj[i*step]&mask | (ck[i*step]&mask)<<shift:
// sums[c*t4+t] += packed[i*t4+t] for t < t4, a multiple of 4.
TEXT ·classAddAsm(SB), NOSPLIT, $0-72
	MOVQ sums+0(FP), DI
	MOVQ packed+8(FP), SI
	MOVQ cj+16(FP), R10
	MOVQ ck+24(FP), R11
	MOVQ step+32(FP), R12
	MOVQ shift+40(FP), CX
	MOVQ mask+48(FP), R8
	MOVQ n+56(FP), R13
	MOVQ t4+64(FP), R14
	MOVQ R14, R15
	SHLQ $3, R15 // bytes per row
	SHRQ $2, R14 // groups of four per row
	TESTQ R13, R13
	JEQ   cdone

crow:
	MOVBQZX (R10), AX
	ANDQ    R8, AX
	MOVBQZX (R11), BX
	ANDQ    R8, BX
	SHLQ    CX, BX
	ORQ     BX, AX
	IMULQ   R15, AX
	ADDQ    DI, AX
	MOVQ    R14, DX

cgroup:
	VMOVUPD (SI), Y0
	VADDPD  (AX), Y0, Y0
	VMOVUPD Y0, (AX)
	ADDQ    $32, SI
	ADDQ    $32, AX
	DECQ    DX
	JNE     cgroup
	ADDQ    R12, R10
	ADDQ    R12, R11
	DECQ    R13
	JNE     crow

cdone:
	VZEROUPPER
	RET

// COLUMN_START points R15 at row i of x, R14 at column R12 (bytes) of
// wt, and sets the count R13 to d; COLUMN_NEXT(LOOP) moves on to the next
// term a of the sum over d.
#define COLUMN_START \
	MOVQ SI, R15 \
	LEAQ (DX)(R12*1), R14 \
	MOVQ R10, R13

#define COLUMN_NEXT(LOOP) \
	ADDQ $8, R15 \
	ADDQ R11, R14 \
	DECQ R13 \
	JNE  LOOP

// func rowsTimesAsm(u *float64, ldu int, x *float64, ldx int, wt *float64, n, d, h int)
//
// u[i*ldu+j] = Σ_{a<d} x[i*ldx+a]·wt[a*h+j] for i < n, j < h, d ≥ 1: each
// row of u is a combination of the d rows of wt, in groups of 16 columns
// (four accumulators), then of 4, then one by one.
TEXT ·rowsTimesAsm(SB), NOSPLIT, $0-64
	MOVQ u+0(FP), DI
	MOVQ ldu+8(FP), R8
	SHLQ $3, R8
	MOVQ x+16(FP), SI
	MOVQ ldx+24(FP), R9
	SHLQ $3, R9
	MOVQ wt+32(FP), DX
	MOVQ n+40(FP), CX
	MOVQ d+48(FP), R10
	MOVQ h+56(FP), R11
	SHLQ $3, R11 // bytes per row of wt and per row of u written
	TESTQ CX, CX
	JEQ   rdone

rrow:
	XORQ R12, R12 // column, in bytes

r16:
	LEAQ 128(R12), AX
	CMPQ AX, R11
	JGT  r4
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	COLUMN_START

r16a:
	VBROADCASTSD (R15), Y4
	VFMADD231PD  (R14), Y4, Y0
	VFMADD231PD  32(R14), Y4, Y1
	VFMADD231PD  64(R14), Y4, Y2
	VFMADD231PD  96(R14), Y4, Y3
	COLUMN_NEXT(r16a)
	VMOVUPD      Y0, (DI)(R12*1)
	VMOVUPD      Y1, 32(DI)(R12*1)
	VMOVUPD      Y2, 64(DI)(R12*1)
	VMOVUPD      Y3, 96(DI)(R12*1)
	MOVQ         AX, R12
	JMP          r16

r4:
	LEAQ   32(R12), AX
	CMPQ   AX, R11
	JGT    r1
	VXORPD Y0, Y0, Y0
	COLUMN_START

r4a:
	VBROADCASTSD (R15), Y4
	VFMADD231PD  (R14), Y4, Y0
	COLUMN_NEXT(r4a)
	VMOVUPD      Y0, (DI)(R12*1)
	MOVQ         AX, R12
	JMP          r4

r1:
	CMPQ   R12, R11
	JGE    rnext
	VXORPD X0, X0, X0
	COLUMN_START

r1a:
	VMOVSD      (R15), X4
	VFMADD231SD (R14), X4, X0
	COLUMN_NEXT(r1a)
	VMOVSD      X0, (DI)(R12*1)
	ADDQ        $8, R12
	JMP         r1

rnext:
	ADDQ R8, DI
	ADDQ R9, SI
	DECQ CX
	JNE  rrow

rdone:
	VZEROUPPER
	RET

// func tile4x32(c *float64, ldc int, a *float64, lda int, b *float64, ldb, k, gs int)
//
// c[p*ldc+8t+q] += Σ_{r<k} a[r*lda+p]·b[r*ldb+t*gs+q] for p < 4, t < 4 and
// q < 8: four tile4x8 side by side, with the same sums in the same order,
// in sixteen ZMM accumulators (AVX-512F).
TEXT ·tile4x32(SB), NOSPLIT, $0-64
	KERNEL32(ADDZ, wloop, wstore)

// func tileSub4x32(c *float64, ldc int, a *float64, lda int, b *float64, ldb, k, gs int)
//
// As tile4x32, subtracting the sums from c.
TEXT ·tileSub4x32(SB), NOSPLIT, $0-64
	KERNEL32(SUBZ, wsloop, wsstore)

// func tileIdx4x32(c *float64, ldc int, a, b *float64, idx *int32, k, ld int)
//
// As tile4x32 over the rows idx[0..k-1], both operands with stride ld and
// the groups of b contiguous.
TEXT ·tileIdx4x32(SB), NOSPLIT, $0-56
	INDEX_ARGS
	MOVQ $64, R12
	MOVQ $192, R13
	ZERO16
	TESTQ CX, CX
	JEQ   wistore

wiloop:
	MOVLQSX (R10), R11
	IMULQ   R9, R11
	LEAQ    (SI)(R11*1), AX
	LEAQ    (DX)(R11*1), BX
	ROW32(AX, BX)
	ADDQ    $4, R10
	DECQ    CX
	JNE     wiloop

wistore:
	STORE32(ADDZ)
	VZEROUPPER
	RET

// func prefetchLines(p *float64, lines int)
//
// Prefetches the lines cache lines of 64 bytes from p on into every level
// of the cache.
TEXT ·prefetchLines(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ lines+8(FP), CX

ploop:
	PREFETCHT0 (SI)
	ADDQ       $64, SI
	DECQ       CX
	JNE        ploop
	RET
