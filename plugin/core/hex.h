/* Hexadecimal digits, for the journal's %XX escapes and PSK keys. */
#ifndef DMG_HEX_H
#define DMG_HEX_H

/* The value of one hex digit (either case), or -1. */
static inline int
dmg_hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

#endif
