/* fileio.h: opening files that came from the user without trusting them.
 * A path named on the command line may be a FIFO (open would block until a
 * writer comes), a device or a directory; these helpers refuse anything but
 * a regular file, and never block doing so. */
#ifndef REHEARSE_FILEIO_H
#define REHEARSE_FILEIO_H

#include <sys/types.h>

/* Opens path with flags (O_CLOEXEC and O_NOCTTY are added; O_NONBLOCK is
 * used for the open itself and then cleared) and returns the descriptor
 * when it is a regular file.  mode is used with O_CREAT.  Returns -1 with
 * *cause ("PATH: not a regular file (a FIFO)", "PATH: cannot open: ...")
 * otherwise; errno is kept from the failing call (EEXIST, ELOOP...), or set
 * to EINVAL when the file is not regular. */
int		 open_regular(const char *path, int flags, mode_t mode,
		     char **cause);
/* The same, for name relative to the directory dirfd (or AT_FDCWD); shown
 * names the file in *cause. */
int		 open_regular_at(int dirfd, const char *name, const char *shown,
		     int flags, mode_t mode, char **cause);
/* What kind of file st_mode says, in words: "a directory", "a FIFO"... */
const char	*file_kind(mode_t);

#endif
