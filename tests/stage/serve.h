/* serve.h: the stage app's routes (libmicrohttpd access handler). */
#ifndef STAGE_SERVE_H
#define STAGE_SERVE_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdint.h>

#include <microhttpd.h>

/* libmicrohttpd 0.9.71 turned the handler's int into enum MHD_Result. */
#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result serve_result;
#else
typedef int serve_result;
#endif

/*
 * The access handler; cls is the struct stage.  Routes: /health, /version,
 * /login, and pages at /, /blog/... and /shop/... (everything else 404).
 */
serve_result	serve_request(void *cls, struct MHD_Connection *,
		    const char *url, const char *method, const char *version,
		    const char *upload_data, size_t *upload_data_size,
		    void **con_cls);

/* MHD_OPTION_NOTIFY_COMPLETED callback: a request is over. */
void		serve_completed(void *cls, struct MHD_Connection *,
		    void **con_cls, enum MHD_RequestTerminationCode);

/* How many requests are being answered now (for a graceful shutdown). */
int		serve_active(void);

#endif
