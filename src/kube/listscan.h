/* listscan.h — find the items of a Kubernetes list in a stream of JSON text.
 * A LIST response ({"kind":"PodList","metadata":{...},"items":[{...},{...}]}) of 150,000
 * pods is over a GB of JSON; parsing it whole holds a tree many times that size. The
 * scanner walks the text as it arrives and reports each element of the top-level "items"
 * array, and each other top-level member, as a byte span, so that the caller parses one
 * object at a time and drops it. It checks structure only (brackets, strings, commas,
 * colons); the caller parses the spans, which checks the rest.
 * Bytes at or below 0x20 count as whitespace, and a leading UTF-8 BOM is skipped, as cJSON
 * does. The member named "items" is recognised however its name is escaped.
 *
 * Use: the caller owns a buffer holding a window of the document (buf[0..len) is the text
 * from some offset on) and calls kube_listscan_next until it returns KUBE_LS_MORE, then
 * may drop the first kube_listscan_droppable() bytes of the buffer (telling the scanner with
 * kube_listscan_shift), appends more text, and calls again; eof says no more text follows.
 * Spans are offsets into the buffer, valid until the caller drops bytes.
 * Ownership: the scanner holds no memory and no pointer into the buffer. */
#ifndef KUBE_LISTSCAN_H
#define KUBE_LISTSCAN_H

#include <stdbool.h>
#include <stddef.h>

struct ks_err;

enum kube_ls_event {
	KUBE_LS_MORE,  /* need more text (or eof) */
	KUBE_LS_ITEM,  /* span: one element of "items" */
	KUBE_LS_FIELD, /* span: the value of another top-level member; key: its name */
	KUBE_LS_END,   /* the document is complete */
};

struct kube_ls_span {
	size_t off, len;         /* the value's JSON text */
	size_t key_off, key_len; /* FIELD: the member name between its quotes, as written
				  * (escapes not decoded) */
};

struct kube_listscan {
	/* private */
	int state;
	size_t pos;      /* next byte to look at */
	size_t vstart;   /* start of the value being scanned */
	size_t kstart, klen;
	size_t base;     /* bytes dropped so far, for error offsets */
	size_t max_item;
	unsigned depth;  /* inside a value */
	unsigned char vkind;
	bool in_str, in_items;
};

/* max_item: ceiling on one value (an item or a member), KS_ETOOBIG beyond. */
void kube_listscan_init(struct kube_listscan *ls, size_t max_item);
/* The next event, or a negative KS_E* code (KS_EINVAL for malformed text, KS_ETOOBIG). */
int kube_listscan_next(struct kube_listscan *ls, const char *buf, size_t len, bool eof,
		       struct kube_ls_span *span, struct ks_err *err);
/* How many bytes at the front of the buffer the scanner no longer needs. */
size_t kube_listscan_droppable(const struct kube_listscan *ls);
/* The caller dropped n (<= droppable) bytes from the front of the buffer. */
void kube_listscan_shift(struct kube_listscan *ls, size_t n);

#endif
