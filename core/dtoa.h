/*
 * dtoa.h - doubles to decimal digits and back, correctly rounded, through
 * libraries whose API is C++ (dtoa.cc is the one C++ file of cpo, a bridge
 * to C): Google's double-conversion (Debian libdouble-conversion-dev) for
 * the digits, which core/csvwrite.c lays out as printf's %.17g does, and
 * the C++ standard library's std::from_chars (libstdc++ 12: the
 * Eisel-Lemire algorithm, about 3x faster than glibc's strtod on 17
 * digits) for reading them.  Private to libcpo.
 */
#ifndef CPO_DTOA_H
#define CPO_DTOA_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The first ndigits (1..40) significant decimal digits of |v| (v finite and
 * not 0), rounded to nearest with halfway cases away from zero, into buf
 * (n >= ndigits + 1 bytes, NUL-terminated).  Returns how many digits were
 * written (it may be fewer than ndigits: the missing ones are zeros) and
 * sets *point so that |v| ~ 0.DIGITS x 10^point. */
int cpo_dtoa_precision(double v, int ndigits, char *buf, int n, int *point);

/* The double nearest the decimal s[0..n) (digits, an optional '.' and
 * fraction, an optional exponent; no sign, no spaces: the caller checks
 * the syntax), rounded to nearest even as strtod does.  0 and *out on
 * success; 1 if the value is out of a double's range (overflow, or an
 * underflow that strtod would round); -1 if s is not such a decimal. */
int cpo_dtoa_parse(const char *s, size_t n, double *out);

#ifdef __cplusplus
}
#endif

#endif
