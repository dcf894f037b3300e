#include "base/common.h"
#include "diag/diag.h"
void diag_an_usage(struct diag_ctx *cx) { (void)cx; }
