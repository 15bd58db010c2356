// dtoa.cc - the bridge from C to double-conversion's DoubleToAscii (core/dtoa.h).
// Built without exceptions and RTTI: nothing here needs the C++ runtime.
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
