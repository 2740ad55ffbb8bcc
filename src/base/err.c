#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>

int dm_fail(struct dm_error *err, enum dm_err code, uint64_t offset, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->code = code;
		err->offset = offset;
		va_start(ap, fmt);
		vsnprintf(err->what, sizeof err->what, fmt, ap);
		va_end(ap);
	}
	return code;
}

const char *dm_err_name(enum dm_err code)
{
	switch (code) {
	case DM_OK: return "ok";
	case DM_ERR_TRUNCATED: return "truncated";
	case DM_ERR_BAD_LENGTH: return "bad-length";
	case DM_ERR_BAD_TYPE: return "bad-type";
	case DM_ERR_BAD_VALUE: return "bad-value";
	case DM_ERR_NO_PEER_INDEX: return "no-peer-index";
	case DM_ERR_BAD_ATTR: return "bad-attribute";
	case DM_ERR_BAD_NLRI: return "bad-nlri";
	case DM_ERR_FRAMING: return "framing";
	case DM_ERR_IO: return "io";
	case DM_ERR_NOMEM: return "nomem";
	default: return "unknown";
	}
}
