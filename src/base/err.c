/* err.c — see err.h. */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/banned.h"

int ks_err_set(struct ks_err *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return code;
}

int ks_err_wrap(struct ks_err *err, const char *fmt, ...)
{
	if (!err)
		return KS_EINVAL;
	char prefix[512], old[KS_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof old);
	snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
	return err->code;
}

void ks_err_clear(struct ks_err *err)
{
	if (!err)
		return;
	err->code = 0;
	err->http_status = 0;
	err->reason[0] = '\0';
	err->msg[0] = '\0';
}

const char *ks_errcode_name(int code)
{
	switch (code) {
	case KS_OK: return "ok";
	case KS_EINVAL: return "invalid";
	case KS_ENOMEM: return "out of memory";
	case KS_ETOOBIG: return "too big";
	case KS_EIO: return "I/O error";
	case KS_ENOTFOUND: return "not found";
	case KS_ECONFLICT: return "conflict";
	case KS_EFORBIDDEN: return "forbidden";
	case KS_ETIMEOUT: return "timeout";
	case KS_EGONE: return "gone";
	case KS_EHTTP: return "HTTP error";
	case KS_ENET: return "network error";
	case KS_EAUTH: return "authentication error";
	case KS_ECANCELED: return "canceled";
	case KS_EUNSUPPORTED: return "unsupported";
	}
	return "error";
}
