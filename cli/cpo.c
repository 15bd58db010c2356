/* cpo.c - the command-line front (being written). */
#include <stdio.h>
int main(void) { return 0; }
