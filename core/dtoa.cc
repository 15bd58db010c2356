// dtoa.cc - the bridge from C to double-conversion's DoubleToAscii and the
// standard library's std::from_chars (core/dtoa.h).  Built without
// exceptions and RTTI.
#include <charconv>
#include <system_error>

#include <double-conversion/double-to-string.h>

#include "dtoa.h"

using double_conversion::DoubleToStringConverter;

int cpo_dtoa_precision(double v, int ndigits, char *buf, int n, int *point)
{
    bool negative;
    int length = 0;
    DoubleToStringConverter::DoubleToAscii(v, DoubleToStringConverter::PRECISION, ndigits, buf,
                                           n, &negative, &length, point);
    return length;
}

int cpo_dtoa_parse(const char *s, size_t n, double *out)
{
    double v = 0.0;
    std::from_chars_result r = std::from_chars(s, s + n, v, std::chars_format::general);
    if (r.ec == std::errc::result_out_of_range)
        return 1;
    if (r.ec != std::errc() || r.ptr != s + n)
        return -1;
    *out = v;
    return 0;
}
