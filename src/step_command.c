/* step_command.c: the kinds that run a command: run (a step's own
 * command; it changes the world), rollback_check (a rollback's check; it
 * changes the world unless marked check_safe), and the rollback itself,
 * which is not a step but runs the same way.  Intent first, then the
 * command with its output scrubbed of secrets, then the result record. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "record.h"
#include "runbook_load.h"
#include "runbook_show.h"
#include "runner.h"
#include "session_step.h"
#include "xmalloc.h"

static void
run_load(struct rb_loader *L, struct rb_step *s, const struct ynode *n,
    size_t idx)
{
	const struct ynode *c;
	bool shell;

	(void)idx;
	s->timeout_s = 300;
	if (n->type != YN_MAP) {
		rbl_load_cmd(L, n, "run", false, &s->cmd);
		return;
	}
	rbl_field_bool(L, n, "shell", false, &shell);
	rbl_field_long(L, n, "timeout_s", 1, 86400, 300, &s->timeout_s);
	if ((c = ymap_get(n, "command")) == NULL)
		rbl_err(L, n, "%s is missing", rbl_at(L, "run.command"));
	else
		rbl_load_cmd(L, c, "run.command", shell, &s->cmd);
	rbl_load_cmd_opts(L, n, &s->cmd);
}

static void
rollback_check_load(struct rb_loader *L, struct rb_step *s,
    const struct ynode *n, size_t idx)
{
	(void)idx;
	s->rollback = rbl_resolve(L, n, "rollback_check", RBL_ROLLBACK);
	if (s->rollback != RB_NONE && !L->rb->rollbacks[s->rollback].has_check)
		rbl_err(L, n, "%s: rollback '%s' has no check command",
		    rbl_at(L, "rollback_check"),
		    L->rb->rollbacks[s->rollback].name);
}

static void
run_describe(const struct runbook *rb, const struct rb_step *s,
    struct buf *b)
{
	(void)rb;
	buf_addf(b, ": %s%s", s->cmd.shell ? "sh -c " : "", s->cmd.text);
	runbook_cmd_extras(b, &s->cmd);
}

static void
rollback_check_describe(const struct runbook *rb, const struct rb_step *s,
    struct buf *b)
{
	buf_addf(b, " %s", rb->rollbacks[s->rollback].name);
}

static const struct rb_cmd *
run_command(const struct runbook *rb, const struct rb_step *s)
{
	(void)rb;
	return &s->cmd;
}

static const struct rb_cmd *
rollback_check_command(const struct runbook *rb, const struct rb_step *s)
{
	return &rb->rollbacks[s->rollback].check;
}

static void
run_line(const char *line, size_t len, bool err, void *arg)
{
	struct step_live *lv = arg;
	struct session *s = lv->s;

	if (s->hooks.output != NULL)
		s->hooks.output(s, lv->step, line, len, err, s->hooks.arg);
}

static char *
scrub_output(const char *text, size_t len, void *arg)
{
	return audit_scrub(arg, text, len);
}

/* What a command left running, for its result record. */
static void
background_json(const struct run_result *res, json_t *d)
{
	json_object_set_new(d, "stopped", json_integer(res->stopped));
	json_object_set_new(d, "left_running",
	    json_integer(res->left_running));
	json_object_set_new(d, "output_held", json_boolean(res->output_held));
}

static void
command_done(const struct run_result *res, void *arg)
{
	struct step_live *lv = arg;
	struct session *s = lv->s;
	size_t i = lv->step, k;
	const struct rb_step *st = &s->rb->steps[i];
	bool ok = res->exit_code == 0 && !res->timed_out;
	const struct step_kind *kind = step_kind_of(st);
	const char *type = record_name(kind->result);
	char *background, *output;
	json_t *d;

	lv->run = NULL;
	/* Values expanded into the command may be secrets: keep them out
	 * of the captured output before it is written. */
	for (k = 0; s->audit != NULL && k < res->nexpanded; k++)
		audit_add_secret(s->audit, res->expanded[k]);
	background = run_background_text(res);
	if (res->timed_out)
		session_observed(s, i, "timed out after %.1f s%s%s", res->ms / 1000,
		    res->killed ? " (killed: it ignored SIGTERM)" : "",
		    background);
	else if (res->signal != 0)
		session_observed(s, i, "killed by signal %d after %.1f s%s",
		    res->signal, res->ms / 1000, background);
	else
		session_observed(s, i, "exit %d in %.1f s, %zu line%s of output%s",
		    res->exit_code, res->ms / 1000, res->lines,
		    res->lines == 1 ? "" : "s", background);
	free(background);
	output = run_capture_text(res, scrub_output, s->audit);
	d = json_pack("{s:s, s:i, s:i, s:b, s:b, s:f, s:I, s:I, s:s}",
	    "command", kind->command(s->rb, st)->text,
	    "exit", res->exit_code, "signal", res->signal,
	    "timed_out", res->timed_out, "killed", res->killed, "ms", res->ms,
	    "bytes", (json_int_t)res->bytes, "lines", (json_int_t)res->lines,
	    "output", output);
	free(output);
	background_json(res, d);
	if (lv->intent != 0)
		audit_result(s->audit, lv->intent, type, (unsigned)i + 1, d);
	else
		session_record(s, type, i, d);
	session_end(s, i, ok ? STEP_PASSED : STEP_FAILED, ok ? NULL :
	    res->timed_out ? "timed out" : res->signal != 0 ? "killed" :
	    "non-zero exit status");
}

static void
add_secret(void *arg, const char *value)
{
	if (arg != NULL)
		audit_add_secret(arg, value);
}

static void
command_start(struct session *s, size_t i, const struct rb_cmd *cmd,
    long timeout_s, const char *intent_type)
{
	struct step_live *lv = &s->live[i];
	char *cause = NULL;

	if (intent_type != NULL) {
		if (s->audit == NULL || audit_refused(s->audit)) {
			char *why = session_refusal(s);

			session_end(s, i, STEP_FAILED, why);
			free(why);
			return;
		}
		lv->intent = audit_intent(s->audit, intent_type, (unsigned)i + 1,
		    json_pack("{s:s, s:s, s:I, s:b}", "command", cmd->text,
		    "dir", s->rb->dir, "timeout_s", (json_int_t)timeout_s,
		    "shell", cmd->shell));
		if (lv->intent == 0) {
			char *why = session_refusal(s);

			session_end(s, i, STEP_FAILED, why);
			free(why);
			return;
		}
	}
	run_secrets(cmd, add_secret, s->audit);
	lv->run = run_start(s->loop, cmd, s->rb->dir, s->rb->secret_vars,
	    timeout_s, run_line, command_done, lv, &cause);
	if (lv->run == NULL) {
		if (lv->intent != 0)
			audit_result(s->audit, lv->intent,
			    record_name(step_kind_of(&s->rb->steps[i])->result),
			    (unsigned)i + 1, json_pack("{s:s}", "error", cause));
		session_end(s, i, STEP_FAILED, cause);
		free(cause);
	}
}

static void
run_start_step(struct session *s, size_t i)
{
	const struct rb_step *st = &s->rb->steps[i];

	command_start(s, i, &st->cmd, st->timeout_s,
	    record_name(step_run.intent));
}

static void
rollback_check_start_step(struct session *s, size_t i)
{
	const struct rb_rollback *rl = &s->rb->rollbacks[s->rb->steps[i].rollback];

	/* The check proves the rollback can run; one that is not marked
	 * safe may change something: record it as an action. */
	command_start(s, i, &rl->check, rl->timeout_s, rl->check_safe ? NULL :
	    record_name(step_rollback_check.intent));
}

static void
command_cancel(struct session *s, size_t i)
{
	run_stop(s->live[i].run);	/* command_done ends the step */
}

/* The rollback --------------------------------------------------------- */

struct rollback_ctx {
	struct session	*s;
	size_t		 rollback;
	uint64_t	 intent;
};

static void
rollback_line(const char *line, size_t len, bool err, void *arg)
{
	struct rollback_ctx *c = arg;
	struct session *s = c->s;

	if (s->hooks.output != NULL)
		s->hooks.output(s, RB_NONE, line, len, err, s->hooks.arg);
}

static void
rollback_done(const struct run_result *res, void *arg)
{
	struct rollback_ctx *c = arg;
	struct session *s = c->s;
	char *output;
	json_t *d;
	size_t k;

	for (k = 0; s->audit != NULL && k < res->nexpanded; k++)
		audit_add_secret(s->audit, res->expanded[k]);
	output = run_capture_text(res, scrub_output, s->audit);
	d = json_pack("{s:s, s:i, s:i, s:b, s:f, s:s}", "rollback",
	    s->rb->rollbacks[c->rollback].name, "exit", res->exit_code,
	    "signal", res->signal, "timed_out", res->timed_out, "ms", res->ms,
	    "output", output);
	free(output);
	background_json(res, d);
	audit_result(s->audit, c->intent, record_name(REC_ROLLBACK_DONE), 0, d);
	s->rollback_run = NULL;
	session_changed(s, RB_NONE);
	free(c);
}

int
step_rollback_start(struct session *s, size_t rb_i, char **cause)
{
	const struct rb_rollback *rl = &s->rb->rollbacks[rb_i];
	struct rollback_ctx *c;

	if (s->audit == NULL || audit_refused(s->audit)) {
		*cause = session_refusal(s);
		return -1;
	}
	c = xcalloc(1, sizeof *c);
	c->s = s;
	c->rollback = rb_i;
	run_secrets(&rl->run, add_secret, s->audit);
	c->intent = audit_intent(s->audit, record_name(REC_ROLLBACK_INTENT), 0,
	    json_pack(
	    "{s:s, s:s}", "rollback", rl->name, "command", rl->run.text));
	if (c->intent == 0) {
		free(c);
		*cause = session_refusal(s);
		return -1;
	}
	s->rollback_run = run_start(s->loop, &rl->run, s->rb->dir,
	    s->rb->secret_vars, rl->timeout_s, rollback_line, rollback_done, c, cause);
	if (s->rollback_run == NULL) {
		audit_result(s->audit, c->intent,
		    record_name(REC_ROLLBACK_DONE), 0,
		    json_pack("{s:s}", "error", *cause));
		free(c);
		return -1;
	}
	return 0;
}


static const char *const run_keys[] = { "command", "shell", "timeout_s",
	"pass_env", "keep_background", NULL };

const struct step_kind step_run = {
	.name = "run",
	.keys = run_keys,
	.acts = true,
	.refusal = "refused: a command changes the world; run with --yes to "
	    "allow it",
	.intent = REC_RUN_INTENT,
	.result = REC_RUN_DONE,
	.load = run_load,
	.describe = run_describe,
	.command = run_command,
	.start = run_start_step,
	.cancel = command_cancel,
};

const struct step_kind step_rollback_check = {
	.name = "rollback_check",
	.acts = true,
	.check_safe = true,
	.refusal = "refused: this rollback check is not marked check_safe; "
	    "run with --yes to allow it",
	.intent = REC_ROLLBACK_CHECK_INTENT,
	.result = REC_ROLLBACK_CHECK_RESULT,
	.load = rollback_check_load,
	.describe = rollback_check_describe,
	.command = rollback_check_command,
	.start = rollback_check_start_step,
	.cancel = command_cancel,
};
