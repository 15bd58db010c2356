/*
 * dtoa.h - the decimal digits of a double, correctly rounded, from Google's
 * double-conversion library (Debian libdouble-conversion-dev; its API is
 * C++, so dtoa.cc is the one C++ file of cpo: a bridge to C).  Private to
 * libcpo; core/csvwrite.c lays the digits out as printf's %.17g does.
 */
#ifndef CPO_DTOA_H
#define CPO_DTOA_H

#ifdef __cplusplus
extern "C" {
#endif

/* The first ndigits (1..40) significant decimal digits of |v| (v finite and
 * not 0), rounded to nearest with halfway cases away from zero, into buf
 * (n >= ndigits + 1 bytes, NUL-terminated).  Returns how many digits were
 * written (it may be fewer than ndigits: the missing ones are zeros) and
 * sets *point so that |v| ~ 0.DIGITS x 10^point. */
int cpo_dtoa_precision(double v, int ndigits, char *buf, int n, int *point);

#ifdef __cplusplus
}
#endif

#endif
