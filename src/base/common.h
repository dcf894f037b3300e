/* common.h — what every kswarm .c file includes first: the base types and the banned list. */
#ifndef KS_COMMON_H
#define KS_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/buf.h"
#include "base/log.h"

#define KS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define KS_UNUSED(x) ((void)(x))

#include "base/banned.h"

#endif
