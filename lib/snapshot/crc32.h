/*
 * crc32.h - the two ways crc32.c computes the snapshot's CRC-32, for the
 * unit test that compares them; everything else calls rs_snapshot_crc32()
 * (snapshot_format.h), which picks the faster one.
 */
#ifndef RS_CRC32_H
#define RS_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* rs_snapshot_crc32() by the slice-by-8 tables alone. */
uint32_t rs_crc32_tables(uint32_t crc, const void *data, size_t len);

/* 1 when rs_snapshot_crc32() folds runs of 64 bytes and more by carry-less
 * multiplication on this CPU (x86-64 with PCLMULQDQ and SSE4.1), else 0. */
int rs_crc32_folds(void);

#endif
