/*
 * escape.h - how refscope's messages quote what they were given: a
 * setting's value, a profile's word or file name, a suppression file's
 * line.  Control characters, DEL and '\' become \n, \t, \r, \\ or \xNN,
 * so a quoted value keeps its message on one line and cannot drive a
 * terminal.  One rule for the preload's lines (diag.c), the profile
 * parser and the suppression parser, so they cannot disagree.  (The text
 * reports escape snapshot names their own way: report/text_clean.h.)
 */
#ifndef RS_ESCAPE_H
#define RS_ESCAPE_H

/* Writes c as quoted into out (at most 4 bytes, no NUL) and returns the
 * number of bytes written: 1 for a byte shown as it is. */
unsigned rs_escape_byte(unsigned char c, char out[4]);

#endif /* RS_ESCAPE_H */
