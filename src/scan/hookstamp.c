/*
 * hookstamp.c - see hookstamp.h.
 */
#include "hookstamp.h"

int scan_origin;
