/* fileio.c: see fileio.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "xmalloc.h"

const char *
file_kind(mode_t m)
{
	if (S_ISREG(m))
		return "a regular file";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISLNK(m))
		return "a symbolic link";
	return "not a file";
}

int
open_regular(const char *path, int flags, mode_t mode, char **cause)
{
	return open_regular_at(AT_FDCWD, path, path, flags, mode, cause);
}

int
open_regular_at(int dirfd, const char *name, const char *path, int flags,
    mode_t mode, char **cause)
{
	struct stat st;
	int fd, fl, saved;

	/* O_NONBLOCK: opening a FIFO neither waits for its other end nor
	 * (for writing, with no reader) succeeds; it fails with ENXIO. */
	fd = openat(dirfd, name, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, mode);
	if (fd < 0) {
		saved = errno;
		if (saved == ENXIO && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !S_ISREG(st.st_mode))
			xasprintf(cause, "%s: not a regular file (%s)", path,
			    file_kind(st.st_mode));
		else
			xasprintf(cause, "%s: cannot open: %s", path,
			    strerror(saved));
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		saved = errno;
		xasprintf(cause, "%s: cannot stat: %s", path, strerror(saved));
		close(fd);
		errno = saved;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		xasprintf(cause, "%s: not a regular file (%s)", path,
		    file_kind(st.st_mode));
		close(fd);
		errno = EINVAL;
		return -1;
	}
	if ((flags & O_NONBLOCK) == 0 && (fl = fcntl(fd, F_GETFL)) != -1)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}
