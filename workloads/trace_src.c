/*
 * workloads/trace_src.c - the bytes of a trace: a file or a memory buffer,
 * decompressed when the name says gzip (.gz) or zstd (.zst, .zstd).
 *
 *   raw bytes (read(2) or memory) --in[TSRC_CHUNK]--> inflate / ZSTD
 *     --> peek buffer (format sniffing) --> the parser's buffer
 *
 * Strictness: compressed data must be complete and nothing but
 * compressed data.  gzip: one or more members (as gzip -d reads
 * concatenations), each checked by zlib (CRC, length); bytes after a
 * member that do not start another one, a member cut short, or an empty
 * file are errors.  zstd: one or more frames (skippable frames allowed);
 * input that ends inside a frame is an error.  A plain file is taken as
 * it is.  Errors are one line in s->err ("name: ..."), -EBADMSG for bad
 * data, -EFBIG past max_bytes, -errno for the file.
 *
 * Invariants:
 *  1. peek_pos <= peek_len; the peek bytes precede every byte the stream
 *     still holds, so readers see the data in order, once.
 *  2. out_bytes counts decompressed bytes handed out of the stream (into
 *     peek or to a reader) and never exceeds max_bytes (when set).
 *  3. in_pos <= in_len <= TSRC_CHUNK.
 * One thread per source; no locking, no state outside struct tsrc.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "workloads/trace_internal.h"

#define GZIP_WINDOW (15 + 16) /* inflateInit2: gzip wrapper only */

int tsrc_error(struct tsrc *s, int err, uint64_t line, bool record,
	       const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!s->err || !s->errlen)
		return err;
	if (line)
		n = snprintf(s->err, s->errlen, "%s:%s%llu: ", s->name,
			     record ? "record " : "", (unsigned long long)line);
	else
		n = snprintf(s->err, s->errlen, "%s: ", s->name);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < s->errlen)
		vsnprintf(s->err + n, s->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return err;
}

int tsrc_open_file(struct tsrc *s, const char *path, enum trace_compress c)
{
	struct stat st;

	s->name = path;
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0)
		return tsrc_error(s, -errno, 0, false, "cannot open: %s",
				  strerror(errno));
	if (fstat(s->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(s->fd);
		s->fd = -1;
		return tsrc_error(s, -EISDIR, 0, false, "is a directory");
	}
	s->comp = c == TRACE_COMPRESS_AUTO ? trace_compress_of(path) : c;
	return 0;
}

void tsrc_open_mem(struct tsrc *s, const char *name, const void *buf,
		   size_t len, enum trace_compress c)
{
	s->name = name;
	s->fd = -1;
	s->mem = buf;
	s->mem_len = len;
	s->comp = c == TRACE_COMPRESS_AUTO ? trace_compress_of(name) : c;
}

uint64_t tsrc_size_hint(const struct tsrc *s)
{
	struct stat st;

	if (s->comp != TRACE_COMPRESS_NONE)
		return 0;
	if (s->fd < 0)
		return s->mem_len;
	return fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode) ?
		       (uint64_t)st.st_size :
		       0;
}

/* Raw bytes into buf: count, 0 at the end, < 0 error. */
static ssize_t raw_read(struct tsrc *s, void *buf, size_t len)
{
	ssize_t n;

	if (s->fd < 0) {
		size_t left = s->mem_len - s->mem_pos;

		n = (ssize_t)(len < left ? len : left);
		memcpy(buf, s->mem + s->mem_pos, (size_t)n);
		s->mem_pos += (size_t)n;
	} else {
		do
			n = read(s->fd, buf, len);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return tsrc_error(s, -errno, 0, false, "read: %s",
					  strerror(errno));
	}
	if (n == 0)
		s->raw_eof = true;
	s->raw_bytes += (uint64_t)n;
	return n;
}

/* Refill the compressed input buffer when it is used up. */
static int refill(struct tsrc *s)
{
	ssize_t n;

	if (s->in_pos < s->in_len || s->raw_eof)
		return 0;
	n = raw_read(s, s->in, TSRC_CHUNK);
	if (n < 0)
		return (int)n;
	s->in_len = (size_t)n;
	s->in_pos = 0;
	return 0;
}

int tsrc_start(struct tsrc *s)
{
	if (s->comp == TRACE_COMPRESS_NONE)
		return 0;
	s->in = malloc(TSRC_CHUNK);
	if (!s->in)
		return tsrc_error(s, -ENOMEM, 0, false, "out of memory");
	if (s->comp == TRACE_COMPRESS_GZIP) {
		s->z = calloc(1, sizeof(*s->z));
		if (!s->z || inflateInit2(s->z, GZIP_WINDOW) != Z_OK) {
			free(s->z);
			s->z = NULL;
			return tsrc_error(s, -ENOMEM, 0, false,
					  "out of memory (zlib)");
		}
		return 0;
	}
	s->zs = ZSTD_createDStream();
	if (!s->zs || ZSTD_isError(ZSTD_initDStream(s->zs)))
		return tsrc_error(s, -ENOMEM, 0, false, "out of memory (zstd)");
	return 0;
}

/* At the end of the compressed input: complete, or an error. */
static int gz_at_end(struct tsrc *s)
{
	if (s->z_member_done)
		return 0;
	if (!s->z_started)
		return tsrc_error(s, -EBADMSG, 0, false,
				  "empty: not gzip data");
	return tsrc_error(s, -EBADMSG, 0, false,
			  "truncated gzip data (ends inside a member, after "
			  "%llu bytes)",
			  (unsigned long long)s->raw_bytes);
}

static ssize_t gz_read(struct tsrc *s, unsigned char *buf, size_t len)
{
	z_stream *z = s->z;
	int rc;

	z->next_out = buf;
	z->avail_out = (uInt)len;
	while (z->avail_out > 0) {
		rc = refill(s);
		if (rc)
			return rc;
		if (s->in_pos == s->in_len) {
			rc = gz_at_end(s);
			if (rc)
				return rc;
			break;
		}
		if (s->z_member_done) { /* more bytes: another member */
			inflateReset(z);
			s->z_member_done = false;
		}
		s->z_started = true;
		z->next_in = s->in + s->in_pos;
		z->avail_in = (uInt)(s->in_len - s->in_pos);
		rc = inflate(z, Z_NO_FLUSH);
		s->in_pos = s->in_len - z->avail_in;
		if (rc == Z_STREAM_END)
			s->z_member_done = true;
		else if (rc != Z_OK && rc != Z_BUF_ERROR)
			return tsrc_error(s, -EBADMSG, 0, false,
					  "bad gzip data: %s",
					  z->msg ? z->msg : zError(rc));
		else if (rc == Z_BUF_ERROR && z->avail_in && z->avail_out)
			return tsrc_error(s, -EBADMSG, 0, false,
					  "bad gzip data: no progress");
	}
	return (ssize_t)(len - z->avail_out);
}

/* No more input, frame open: flush what zstd holds, else truncated. */
static int zs_drain(struct tsrc *s, ZSTD_outBuffer *out, bool *progress)
{
	ZSTD_inBuffer in = { s->in, 0, 0 };
	size_t before = out->pos;

	*progress = false;
	if (s->raw_bytes == 0)
		return tsrc_error(s, -EBADMSG, 0, false,
				  "empty: not zstd data");
	if (s->zs_ret == 0)
		return 0;
	s->zs_ret = ZSTD_decompressStream(s->zs, out, &in);
	if (ZSTD_isError(s->zs_ret))
		return tsrc_error(s, -EBADMSG, 0, false, "bad zstd data: %s",
				  ZSTD_getErrorName(s->zs_ret));
	*progress = out->pos > before;
	if (!*progress && s->zs_ret != 0)
		return tsrc_error(s, -EBADMSG, 0, false,
				  "truncated zstd data (ends inside a frame, "
				  "after %llu bytes)",
				  (unsigned long long)s->raw_bytes);
	return 0;
}

static ssize_t zs_read(struct tsrc *s, unsigned char *buf, size_t len)
{
	ZSTD_outBuffer out = { buf, len, 0 };
	ZSTD_inBuffer in;
	bool progress;
	int rc;

	while (out.pos < out.size) {
		rc = refill(s);
		if (rc)
			return rc;
		if (s->in_pos == s->in_len) {
			rc = zs_drain(s, &out, &progress);
			if (rc)
				return rc;
			if (!progress)
				break;
			continue;
		}
		in = (ZSTD_inBuffer){ s->in, s->in_len, s->in_pos };
		s->zs_ret = ZSTD_decompressStream(s->zs, &out, &in);
		s->in_pos = in.pos;
		if (ZSTD_isError(s->zs_ret))
			return tsrc_error(s, -EBADMSG, 0, false,
					  "bad zstd data: %s",
					  ZSTD_getErrorName(s->zs_ret));
	}
	return (ssize_t)out.pos;
}

/* Decompressed bytes from the stream itself (not the peek buffer). */
static ssize_t stream_read(struct tsrc *s, void *buf, size_t len)
{
	ssize_t n;

	if (len == 0)
		return 0;
	if (s->comp == TRACE_COMPRESS_GZIP)
		n = gz_read(s, buf, len);
	else if (s->comp == TRACE_COMPRESS_ZSTD)
		n = zs_read(s, buf, len);
	else
		n = raw_read(s, buf, len);
	if (n <= 0)
		return n;
	s->out_bytes += (uint64_t)n;
	if (s->max_bytes && s->out_bytes > s->max_bytes)
		return tsrc_error(s, -EFBIG, 0, false,
				  "more than %llu bytes of data",
				  (unsigned long long)s->max_bytes);
	return n;
}

ssize_t tsrc_read(struct tsrc *s, void *buf, size_t len)
{
	if (s->peek_pos < s->peek_len) {
		size_t n = s->peek_len - s->peek_pos;

		if (n > len)
			n = len;
		memcpy(buf, s->peek + s->peek_pos, n);
		s->peek_pos += n;
		return (ssize_t)n;
	}
	return stream_read(s, buf, len);
}

ssize_t tsrc_read_full(struct tsrc *s, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = tsrc_read(s, (unsigned char *)buf + got, len - got);

		if (n < 0)
			return n;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

ssize_t tsrc_peek(struct tsrc *s, size_t len, const unsigned char **out)
{
	if (!s->peek) {
		ssize_t n;

		s->peek = malloc(len ? len : 1);
		if (!s->peek)
			return tsrc_error(s, -ENOMEM, 0, false,
					  "out of memory");
		n = 0;
		while (s->peek_len < len) {
			n = stream_read(s, s->peek + s->peek_len,
					len - s->peek_len);
			if (n <= 0)
				break;
			s->peek_len += (size_t)n;
		}
		if (n < 0)
			return n;
	}
	*out = s->peek + s->peek_pos;
	return (ssize_t)(s->peek_len - s->peek_pos);
}

void tsrc_close(struct tsrc *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->z) {
		inflateEnd(s->z);
		free(s->z);
		s->z = NULL;
	}
	ZSTD_freeDStream(s->zs);
	s->zs = NULL;
	free(s->in);
	free(s->peek);
	s->in = s->peek = NULL;
}
