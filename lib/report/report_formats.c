/*
 * report_formats.c - render an evaluated check (report_check.h) as text,
 * JSON, JUnit XML, SARIF 2.1.0 or GitHub Actions workflow commands.
 *
 * Every renderer walks the items in set order and describes each the
 * same way: a one-line headline (what_line()), the top application frame
 * as its location (rs_check_top_frame()) and its frames.  Paths under the
 * source root are shown relative to it, which is what CI annotations and
 * code-scanning UIs need to find the file in the repository.
 *
 * Escaping is per format and complete: XML escapes markup characters and
 * drops characters XML 1.0 forbids; SARIF and JSON go through the JSON
 * writer (which also repairs invalid UTF-8); workflow commands escape
 * '%', CR and LF in data and also ':' and ',' in properties.  JSON frames
 * are written by rs_report_json_frame() (report.h), so they read the same
 * as in `refscope report --json`.
 */
#include "report_check.h"

#include "json_writer.h"
#include "report.h"
#include "utf8.h"
#include "text_clean.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct ctx {
    FILE                            *out;
    const rs_check_set_t            *set;
    const rs_check_verdict_t        *v;
    const rs_check_options_t        *opt;
    const rs_check_render_options_t *ropt;
    char                             root[PATH_MAX];
    size_t                           root_len;
} ctx_t;

static const char *const status_names[] = { "counted", "not_gated",
                                            "suppressed", "baselined" };

int rs_check_format_from_name(const char *s)
{
    static const char *const names[] = { "text", "json", "junit", "sarif",
                                         "github" };
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* ---- shared pieces -------------------------------------------------------- */

/* A path as shown: relative to the source root when under it. */
static const char *shown_path(const ctx_t *c, const char *path)
{
    if (path && c->root_len && strncmp(path, c->root, c->root_len) == 0 &&
        path[c->root_len] == '/')
        return path + c->root_len + 1;
    return path;
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* "leaked: 96 bytes in 2 blocks", "cycle: 64 bytes in 2 objects of type
 * Node", "rc_error underflow: 3 occurrences on type Node". */
static void what_line(const rs_check_item_t *it, char *buf, size_t n)
{
    char ct[RS_TEXT_CLEAN_BUF], cd[RS_TEXT_CLEAN_BUF];
    const char *type = rs_text_clean(it->type, ct, sizeof ct);
    const char *detail = rs_text_clean(it->detail, cd, sizeof cd);
    const char *unit = it->kind == RS_CHECK_RC_ERRORS ? "occurrence"
                       : it->kind == RS_CHECK_CYCLES ||
                         it->kind == RS_CHECK_LEAKED_REFS ? "object" : "block";
    int len = snprintf(buf, n, "%s%s%s: ", rs_check_class_name(it->kind),
                       detail ? " " : "", detail ? detail : "");
    if (len < 0 || (size_t)len >= n)
        return;
    if (it->kind != RS_CHECK_RC_ERRORS)
        len += snprintf(buf + len, n - (size_t)len, "%" PRIu64 " bytes in ",
                        it->bytes);
    if ((size_t)len >= n)
        return;
    snprintf(buf + len, n - (size_t)len, "%" PRIu64 " %s%s%s%s", it->count,
             unit, it->count == 1 ? "" : "s", type ? " of type " : "",
             type ? type : "");
}

/* Writes "function file:line" of a frame (names escaped: text_clean.h). */
static void frame_text(const ctx_t *c, const rs_check_frame_t *f, char *buf,
                       size_t n)
{
    char cf[RS_TEXT_CLEAN_BUF], cp[RS_TEXT_CLEAN_BUF];
    const char *fn = f->function ? rs_text_clean(f->function, cf, sizeof cf) : "??";
    if (f->python)
        snprintf(buf, n, "%s %s:%u (python)", fn,
                 f->file ? rs_text_clean(shown_path(c, f->file), cp, sizeof cp) : "?", f->line);
    else if (f->file && f->line)
        snprintf(buf, n, "%s %s:%u", fn, rs_text_clean(shown_path(c, f->file), cp, sizeof cp),
                 f->line);
    else if (f->module)
        snprintf(buf, n, "%s (%s)", fn, rs_text_clean(f->module, cp, sizeof cp));
    else
        snprintf(buf, n, "%s (0x%" PRIx64 ")", fn, f->address);
}

static uint32_t shown_frames(const ctx_t *c, uint32_t n)
{
    return c->ropt->max_frames && c->ropt->max_frames < n ? c->ropt->max_frames
                                                          : n;
}

static const char *status_name(const rs_check_item_t *it)
{
    return (unsigned)it->status < 4 ? status_names[it->status] : "?";
}

/* The verdict line without the "refscope check: " prefix. */
static void verdict_line(const ctx_t *c, char *buf, size_t n)
{
    const rs_check_verdict_t *v = c->v;
    int len = snprintf(buf, n, "%s: %s", v->failed ? "FAILED" : "PASSED",
                       v->failed ? v->reason : "no finding fails the gate");
    if (len < 0 || (size_t)len >= n)
        return;
    snprintf(buf + len, n - (size_t)len, " (%" PRIu64 " counted, %" PRIu64
             " suppressed, %" PRIu64 " in the baseline, %" PRIu64
             " not gated)", v->counted, v->suppressed, v->baselined,
             v->not_gated);
}

/* ---- text ----------------------------------------------------------------- */

static void text_frames(const ctx_t *c, const rs_check_frame_t *f, uint32_t n)
{
    char buf[1024];
    for (uint32_t i = 0; i < shown_frames(c, n); i++) {
        frame_text(c, &f[i], buf, sizeof buf);
        fprintf(c->out, "    #%u %s\n", i, buf);
    }
    if (shown_frames(c, n) < n)
        fprintf(c->out, "    ... %u more frames\n", n - shown_frames(c, n));
}

static void text_item(const ctx_t *c, const rs_check_item_t *it)
{
    char what[512];
    what_line(it, what, sizeof what);
    const char *tag = it->status != RS_CHECK_COUNTED ? status_name(it)
                      : c->v->failed ? "FAIL" : "within limits";
    fprintf(c->out, "%s: %s", tag, what);
    if (it->status == RS_CHECK_COUNTED && it->grown)
        fprintf(c->out, " (grew from %" PRIu64 " / %" PRIu64 " bytes in the "
                "baseline)", it->base_count, it->base_bytes);
    else if (it->status == RS_CHECK_COUNTED && c->v->have_baseline &&
             !it->in_baseline)
        fputs(" (new: not in the baseline)", c->out);
    if (it->status == RS_CHECK_SUPPRESSED && c->ropt->supp &&
        (size_t)it->suppression < c->ropt->supp->n) {
        const rs_supp_t *s = &c->ropt->supp->items[it->suppression];
        fprintf(c->out, " by %s:%s (%s:%u)", rs_supp_kind_name(s->kind),
                s->pattern, s->file, s->line);
    }
    fputc('\n', c->out);
    text_frames(c, it->frames, it->n_frames);
    if (it->n_other) {
        fprintf(c->out, "  %s:\n", it->kind == RS_CHECK_RC_ERRORS
                ? "conflicting with the earlier event at"
                : it->kind == RS_CHECK_LEAKED_REFS
                ? "references never released, taken at"
                : "other members allocated at");
        text_frames(c, it->other, it->n_other);
    }
    fprintf(c->out, "  fingerprint %s\n\n", it->fingerprint);
}

static void text_suppressions(const ctx_t *c)
{
    const rs_supp_list_t *l = c->ropt->supp;
    size_t unused = 0;
    fprintf(c->out, "Suppressions (%zu):\n", l ? l->n : 0);
    for (size_t i = 0; l && i < l->n; i++) {
        const rs_supp_t *s = &l->items[i];
        if (!s->hits) {
            unused++;
            continue;
        }
        fprintf(c->out, "  %" PRIu64 " finding%s (%" PRIu64 " block%s, %"
                PRIu64 " bytes)  %s:%s  (%s:%u)\n", s->hits,
                plural(s->hits, "", "s"), s->count, plural(s->count, "", "s"),
                s->bytes,
                rs_supp_kind_name(s->kind), s->pattern, s->file, s->line);
    }
    if (unused)
        fprintf(c->out, "Unused suppressions (%zu):\n", unused);
    for (size_t i = 0; l && i < l->n; i++)
        if (!l->items[i].hits)
            fprintf(c->out, "  %s:%s  (%s:%u)\n",
                    rs_supp_kind_name(l->items[i].kind), l->items[i].pattern,
                    l->items[i].file, l->items[i].line);
    fputc('\n', c->out);
}

static void render_text(const ctx_t *c)
{
    for (size_t i = 0; i < c->set->n; i++) {
        const rs_check_item_t *it = &c->set->items[i];
        if (it->status == RS_CHECK_COUNTED || c->ropt->all_items)
            text_item(c, it);
    }
    if (c->ropt->print_suppressions)
        text_suppressions(c);
    char line[512];
    verdict_line(c, line, sizeof line);
    fprintf(c->out, "refscope check: %s\n", line);
}

/* ---- JSON ------------------------------------------------------------------ */

static void json_frames(const ctx_t *c, rs_json_t *j, const char *key,
                        const rs_check_frame_t *f, uint32_t n)
{
    rs_json_key(j, key);
    rs_json_begin_array(j);
    for (uint32_t i = 0; i < n; i++) {
        rs_frame_t fr = { .address = f[i].address, .function = f[i].function,
                          .symbol = f[i].symbol,
                          .file = shown_path(c, f[i].file), .line = f[i].line,
                          .module = f[i].module, .python = f[i].python };
        rs_report_json_frame(j, &fr);
    }
    rs_json_end_array(j);
}

static void json_supp(rs_json_t *j, const rs_supp_t *s, int with_hits)
{
    rs_json_begin_object(j);
    rs_json_member_string(j, "file", s->file);
    rs_json_member_uint(j, "line", s->line);
    rs_json_member_string(j, "kind", rs_supp_kind_name(s->kind));
    rs_json_member_string(j, "pattern", s->pattern);
    if (with_hits) {
        rs_json_member_uint(j, "hits", s->hits);
        rs_json_member_uint(j, "count", s->count);
        rs_json_member_uint(j, "bytes", s->bytes);
    }
    rs_json_end_object(j);
}

static void json_item(const ctx_t *c, rs_json_t *j, const rs_check_item_t *it)
{
    rs_json_begin_object(j);
    rs_json_member_string(j, "class", rs_check_class_name(it->kind));
    rs_json_member_string(j, "kind", it->detail);
    rs_json_member_string(j, "status", status_name(it));
    rs_json_member_string(j, "fingerprint", it->fingerprint);
    rs_json_member_string(j, "type", it->type);
    rs_json_member_uint(j, "bytes", it->bytes);
    rs_json_member_uint(j, "count", it->count);
    rs_json_key(j, "baseline");
    if (it->in_baseline) {
        rs_json_begin_object(j);
        rs_json_member_uint(j, "count", it->base_count);
        rs_json_member_uint(j, "bytes", it->base_bytes);
        rs_json_member_bool(j, "grown", it->grown);
        rs_json_end_object(j);
    } else {
        rs_json_null(j);
    }
    rs_json_key(j, "suppressed_by");
    if (it->status == RS_CHECK_SUPPRESSED && c->ropt->supp &&
        (size_t)it->suppression < c->ropt->supp->n)
        json_supp(j, &c->ropt->supp->items[it->suppression], 0);
    else
        rs_json_null(j);
    rs_json_key(j, "snapshot");
    rs_json_string(j, it->snapshot < c->set->n_snapshots
                      ? c->set->snapshots[it->snapshot] : NULL);
    json_frames(c, j, "stack", it->frames, it->n_frames);
    if (it->kind == RS_CHECK_RC_ERRORS)
        json_frames(c, j, "other_stack", it->other, it->n_other);
    rs_json_end_object(j);
}

static void json_totals(const ctx_t *c, rs_json_t *j)
{
    const rs_check_verdict_t *v = c->v;
    rs_json_key(j, "totals");
    rs_json_begin_object(j);
    rs_json_member_uint(j, "counted", v->counted);
    rs_json_member_uint(j, "counted_bytes", v->counted_bytes);
    rs_json_member_uint(j, "suppressed", v->suppressed);
    rs_json_member_uint(j, "baselined", v->baselined);
    rs_json_member_uint(j, "not_gated", v->not_gated);
    rs_json_member_uint(j, "new", v->new_items);
    rs_json_member_uint(j, "grown", v->grown_items);
    rs_json_end_object(j);
}

static int render_json(const ctx_t *c)
{
    rs_json_t j;
    rs_json_init(&j, c->out, 2);
    rs_json_begin_object(&j);
    rs_json_member_bool(&j, "passed", !c->v->failed);
    rs_json_member_string(&j, "reason", c->v->failed ? c->v->reason : NULL);
    rs_json_member_uint(&j, "fingerprint_frames", c->v->fp_frames);
    json_totals(c, &j);
    rs_json_key(&j, "findings");
    rs_json_begin_array(&j);
    for (size_t i = 0; i < c->set->n; i++)
        json_item(c, &j, &c->set->items[i]);
    rs_json_end_array(&j);
    rs_json_key(&j, "suppressions");
    rs_json_begin_array(&j);
    for (size_t i = 0; c->ropt->supp && i < c->ropt->supp->n; i++)
        json_supp(&j, &c->ropt->supp->items[i], 1);
    rs_json_end_array(&j);
    rs_json_end_object(&j);
    return rs_json_finish(&j);
}

/* ---- JUnit XML ------------------------------------------------------------- */

/* 1 when the well-formed sequence at p (len bytes) is a character XML
 * 1.0 allows: not U+FFFE or U+FFFF. */
static int xml_char(const unsigned char *p, int len)
{
    return !(len == 3 && p[0] == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf));
}

/* Writes s escaped for XML text and attributes; characters XML 1.0 does
 * not allow are dropped, each ill-formed UTF-8 part (utf8.h) becomes '?'. */
static void xml_escape(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    for (size_t left = strlen((const char *)p); left;) {
        switch (*p) {
        case '&': fputs("&amp;", out); p++, left--; continue;
        case '<': fputs("&lt;", out); p++, left--; continue;
        case '>': fputs("&gt;", out); p++, left--; continue;
        case '"': fputs("&quot;", out); p++, left--; continue;
        case '\'': fputs("&apos;", out); p++, left--; continue;
        default: break;
        }
        int n = rs_utf8_sequence(p, left);
        size_t used = n > 0 ? (size_t)n : (size_t)-n;
        if (n < 0)
            fputc('?', out);
        else if ((*p >= 0x20 || *p == '\t' || *p == '\n' || *p == '\r') && xml_char(p, n))
            fwrite(p, 1, used, out);
        p += used;
        left -= used;
    }
}

/* A stable test name: class, top frame and fingerprint (no counts, so
 * a dashboard tracks the same finding across runs). */
static void item_name(const ctx_t *c, const rs_check_item_t *it, char *buf,
                      size_t n)
{
    const rs_check_frame_t *top = rs_check_top_frame(it);
    if (!top && it->n_frames)
        top = &it->frames[0];
    snprintf(buf, n, "%s%s%s in %s (%s) [%s]", rs_check_class_name(it->kind),
             it->detail ? " " : "", it->detail ? it->detail : "",
             top && top->function ? top->function : "??",
             top && top->file ? shown_path(c, top->file)
             : top && top->module ? top->module : "?", it->fingerprint);
}

static void junit_details(const ctx_t *c, const rs_check_item_t *it)
{
    char buf[1024];
    what_line(it, buf, sizeof buf);
    xml_escape(c->out, buf);
    fputc('\n', c->out);
    for (uint32_t i = 0; i < shown_frames(c, it->n_frames); i++) {
        frame_text(c, &it->frames[i], buf, sizeof buf);
        fprintf(c->out, "    #%u ", i);
        xml_escape(c->out, buf);
        fputc('\n', c->out);
    }
}

static void junit_item(const ctx_t *c, const rs_check_item_t *it)
{
    char name[1024], what[512];
    item_name(c, it, name, sizeof name);
    what_line(it, what, sizeof what);
    fputs("    <testcase classname=\"refscope.", c->out);
    xml_escape(c->out, rs_check_class_name(it->kind));
    fputs("\" name=\"", c->out);
    xml_escape(c->out, name);
    fputs("\" time=\"0\">\n", c->out);
    if (it->status == RS_CHECK_COUNTED && c->v->failed) {
        fprintf(c->out, "      <failure type=\"%s\" message=\"",
                rs_check_class_name(it->kind));
        xml_escape(c->out, what);
        fputs("\">", c->out);
        junit_details(c, it);
        fputs("</failure>\n", c->out);
    } else if (it->status != RS_CHECK_COUNTED) {
        fprintf(c->out, "      <skipped message=\"%s\"/>\n", status_name(it));
    }
    fputs("      <system-out>", c->out);
    junit_details(c, it);
    fputs("</system-out>\n    </testcase>\n", c->out);
}

static void render_junit(const ctx_t *c)
{
    uint64_t tests = c->set->n + 1, failures = c->v->failed, skipped = 0;
    for (size_t i = 0; i < c->set->n; i++) {
        const rs_check_item_t *it = &c->set->items[i];
        failures += it->status == RS_CHECK_COUNTED && c->v->failed;
        skipped += it->status != RS_CHECK_COUNTED;
    }
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", c->out);
    fprintf(c->out, "<testsuites name=\"refscope\" tests=\"%" PRIu64 "\" "
            "failures=\"%" PRIu64 "\" errors=\"0\" skipped=\"%" PRIu64 "\" "
            "time=\"0\">\n", tests, failures, skipped);
    fprintf(c->out, "  <testsuite name=\"refscope.check\" tests=\"%" PRIu64
            "\" failures=\"%" PRIu64 "\" errors=\"0\" skipped=\"%" PRIu64
            "\" time=\"0\">\n", tests, failures, skipped);
    for (size_t i = 0; i < c->set->n; i++)
        junit_item(c, &c->set->items[i]);
    char line[512];
    verdict_line(c, line, sizeof line);
    fputs("    <testcase classname=\"refscope\" name=\"gate\" time=\"0\">\n",
          c->out);
    if (c->v->failed) {
        fputs("      <failure type=\"gate\" message=\"", c->out);
        xml_escape(c->out, line);
        fputs("\"/>\n", c->out);
    }
    fputs("      <system-out>", c->out);
    xml_escape(c->out, line);
    fputs("</system-out>\n    </testcase>\n  </testsuite>\n</testsuites>\n",
          c->out);
}

/* ---- SARIF 2.1.0 ------------------------------------------------------------ */

static const char *const rule_text[RS_CHECK_KIND_COUNT] = {
    "Memory leaked: an unreachable block that no other leaked block holds",
    "Memory leaked indirectly: held only by other leaked blocks",
    "Reference cycle: refcounted objects that only keep each other alive",
    "Leaked reference: a reference was taken and never released",
    "Reference count error: decref of an unknown object, underflow, free "
    "of a referenced object or use after the final unref",
};

/* Writes path as a URI reference: %-encoding all but unreserved and '/'. */
static void uri_encode(char *buf, size_t n, const char *prefix,
                       const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    for (const char *p = prefix; *p && k + 1 < n; p++)
        buf[k++] = *p;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || strchr("-._~/", *p);
        if (k + (plain ? 1 : 3) >= n)
            break;
        if (plain) {
            buf[k++] = (char)*p;
        } else {
            buf[k++] = '%';
            buf[k++] = hex[*p >> 4];
            buf[k++] = hex[*p & 15];
        }
    }
    buf[k] = 0;
}

static void sarif_location(const ctx_t *c, rs_json_t *j,
                           const rs_check_frame_t *f, const char *message)
{
    char uri[PATH_MAX * 3];
    const char *rel = shown_path(c, f->file);
    int relative = rel != f->file;
    uri_encode(uri, sizeof uri, relative ? "" : "file://", rel);
    rs_json_begin_object(j);
    rs_json_key(j, "physicalLocation");
    rs_json_begin_object(j);
    rs_json_key(j, "artifactLocation");
    rs_json_begin_object(j);
    rs_json_member_string(j, "uri", uri);
    if (relative) {
        rs_json_member_string(j, "uriBaseId", "SRCROOT");
    }
    rs_json_end_object(j);
    rs_json_key(j, "region");
    rs_json_begin_object(j);
    rs_json_member_uint(j, "startLine", f->line);
    rs_json_end_object(j);
    rs_json_end_object(j);
    if (message) {
        rs_json_key(j, "message");
        rs_json_begin_object(j);
        rs_json_member_string(j, "text", message);
        rs_json_end_object(j);
    }
    rs_json_end_object(j);
}

static void sarif_rules(rs_json_t *j)
{
    rs_json_key(j, "rules");
    rs_json_begin_array(j);
    for (int k = 0; k < RS_CHECK_KIND_COUNT; k++) {
        rs_json_begin_object(j);
        rs_json_member_string(j, "id", rs_check_class_name((rs_check_kind_t)k));
        rs_json_member_string(j, "name", rs_check_kind_name((rs_check_kind_t)k));
        rs_json_key(j, "shortDescription");
        rs_json_begin_object(j);
        rs_json_member_string(j, "text", rule_text[k]);
        rs_json_end_object(j);
        rs_json_key(j, "defaultConfiguration");
        rs_json_begin_object(j);
        rs_json_member_string(j, "level", k == RS_CHECK_INDIRECT ? "warning" : "error");
        rs_json_end_object(j);
        rs_json_end_object(j);
    }
    rs_json_end_array(j);
}

static const char *sarif_level(const ctx_t *c, const rs_check_item_t *it)
{
    if (it->status == RS_CHECK_COUNTED)
        return c->v->failed ? "error" : "warning";
    return "note";
}

/* The stack as related locations (frames with a source line). */
static void sarif_related(const ctx_t *c, rs_json_t *j,
                          const rs_check_item_t *it)
{
    rs_json_key(j, "relatedLocations");
    rs_json_begin_array(j);
    for (uint32_t i = 0; i < it->n_frames; i++) {
        const rs_check_frame_t *f = &it->frames[i];
        if (!f->file || !f->line)
            continue;
        char msg[600];
        snprintf(msg, sizeof msg, "#%u %s", i, f->function ? f->function
                                                           : "??");
        sarif_location(c, j, f, msg);
    }
    rs_json_end_array(j);
}

static void sarif_result(const ctx_t *c, rs_json_t *j,
                         const rs_check_item_t *it)
{
    char what[512];
    what_line(it, what, sizeof what);
    rs_json_begin_object(j);
    rs_json_member_string(j, "ruleId", rs_check_class_name(it->kind));
    rs_json_member_uint(j, "ruleIndex", (uint64_t)it->kind);
    rs_json_member_string(j, "level", sarif_level(c, it));
    rs_json_key(j, "message");
    rs_json_begin_object(j);
    rs_json_member_string(j, "text", what);
    rs_json_end_object(j);
    rs_json_key(j, "locations");
    rs_json_begin_array(j);
    const rs_check_frame_t *top = rs_check_top_frame(it);
    if (top)
        sarif_location(c, j, top, NULL);
    rs_json_end_array(j);
    sarif_related(c, j, it);
    rs_json_key(j, "partialFingerprints");
    rs_json_begin_object(j);
    rs_json_member_string(j, "refscope/v1", it->fingerprint);
    rs_json_end_object(j);
    if (c->v->have_baseline) {
        rs_json_key(j, "baselineState");
        rs_json_string(j, !it->in_baseline ? "new"
                          : it->grown ? "updated" : "unchanged");
    }
    if (it->status == RS_CHECK_SUPPRESSED) {
        rs_json_key(j, "suppressions");
        rs_json_begin_array(j);
        rs_json_begin_object(j);
        rs_json_member_string(j, "kind", "external");
        if (c->ropt->supp && (size_t)it->suppression < c->ropt->supp->n) {
            const rs_supp_t *s = &c->ropt->supp->items[it->suppression];
            char just[1400];
            snprintf(just, sizeof just, "%s:%s (%s:%u)",
                     rs_supp_kind_name(s->kind), s->pattern, s->file, s->line);
            rs_json_member_string(j, "justification", just);
        }
        rs_json_end_object(j);
        rs_json_end_array(j);
    }
    rs_json_end_object(j);
}

static int render_sarif(const ctx_t *c)
{
    rs_json_t j;
    char root[PATH_MAX * 3 + 16];
    rs_json_init(&j, c->out, 2);
    rs_json_begin_object(&j);
    rs_json_member_string(&j, "$schema", "https://json.schemastore.org/sarif-2.1.0.json");
    rs_json_member_string(&j, "version", "2.1.0");
    rs_json_key(&j, "runs");
    rs_json_begin_array(&j);
    rs_json_begin_object(&j);
    rs_json_key(&j, "tool");
    rs_json_begin_object(&j);
    rs_json_key(&j, "driver");
    rs_json_begin_object(&j);
    rs_json_member_string(&j, "name", "refscope");
    sarif_rules(&j);
    rs_json_end_object(&j);
    rs_json_end_object(&j);
    if (c->root_len) {
        uri_encode(root, sizeof root - 1, "file://", c->root);
        strcat(root, "/");
        rs_json_key(&j, "originalUriBaseIds");
        rs_json_begin_object(&j);
        rs_json_key(&j, "SRCROOT");
        rs_json_begin_object(&j);
        rs_json_member_string(&j, "uri", root);
        rs_json_end_object(&j);
        rs_json_end_object(&j);
    }
    rs_json_key(&j, "results");
    rs_json_begin_array(&j);
    for (size_t i = 0; i < c->set->n; i++)
        sarif_result(c, &j, &c->set->items[i]);
    rs_json_end_array(&j);
    rs_json_end_object(&j);
    rs_json_end_array(&j);
    rs_json_end_object(&j);
    return rs_json_finish(&j);
}

/* ---- GitHub Actions workflow commands ---------------------------------- */

static void gh_escape(FILE *out, const char *s, int property)
{
    for (; s && *s; s++) {
        if (*s == '%')
            fputs("%25", out);
        else if (*s == '\r')
            fputs("%0D", out);
        else if (*s == '\n')
            fputs("%0A", out);
        else if (property && *s == ':')
            fputs("%3A", out);
        else if (property && *s == ',')
            fputs("%2C", out);
        else
            fputc(*s, out);
    }
}

static void gh_item(const ctx_t *c, const rs_check_item_t *it)
{
    char what[512], title[128], buf[1024];
    const rs_check_frame_t *top = rs_check_top_frame(it);
    what_line(it, what, sizeof what);
    snprintf(title, sizeof title, "refscope %s", rs_check_class_name(it->kind));
    fprintf(c->out, "::%s ", c->v->failed ? "error" : "warning");
    if (top) {
        fputs("file=", c->out);
        gh_escape(c->out, shown_path(c, top->file), 1);
        fprintf(c->out, ",line=%u,", top->line);
    }
    fputs("title=", c->out);
    gh_escape(c->out, title, 1);
    fputs("::", c->out);
    gh_escape(c->out, what, 0);
    for (uint32_t i = 0; i < shown_frames(c, it->n_frames); i++) {
        frame_text(c, &it->frames[i], buf, sizeof buf);
        fprintf(c->out, "%%0A    #%u ", i);
        gh_escape(c->out, buf, 0);
    }
    fputc('\n', c->out);
}

static void render_github(const ctx_t *c)
{
    for (size_t i = 0; i < c->set->n; i++)
        if (c->set->items[i].status == RS_CHECK_COUNTED)
            gh_item(c, &c->set->items[i]);
    char line[512];
    verdict_line(c, line, sizeof line);
    fprintf(c->out, "refscope check: %s\n", line);
}

/* ---- entry point ----------------------------------------------------------- */

static void set_root(ctx_t *c, const char *root)
{
    c->root_len = 0;
    if (root) {
        if (!realpath(root, c->root))
            snprintf(c->root, sizeof c->root, "%s", root);
    } else if (!getcwd(c->root, sizeof c->root)) {
        return;
    }
    c->root_len = strlen(c->root);
    while (c->root_len > 1 && c->root[c->root_len - 1] == '/')
        c->root[--c->root_len] = 0;
    if (c->root_len == 1) /* "/": every path is under it; keep absolute */
        c->root_len = 0;
}

int rs_check_render(FILE *out, const rs_check_set_t *set,
                    const rs_check_verdict_t *v,
                    const rs_check_options_t *opt,
                    const rs_check_render_options_t *ropt)
{
    ctx_t *c = calloc(1, sizeof *c);
    int rc = 0;
    if (!c)
        return -1;
    *c = (ctx_t){ .out = out, .set = set, .v = v, .opt = opt, .ropt = ropt };
    set_root(c, ropt->source_root);
    switch (ropt->format) {
    case RS_CHECK_FORMAT_TEXT:   render_text(c);       break;
    case RS_CHECK_FORMAT_JSON:   rc = render_json(c);  break;
    case RS_CHECK_FORMAT_JUNIT:  render_junit(c);      break;
    case RS_CHECK_FORMAT_SARIF:  rc = render_sarif(c); break;
    case RS_CHECK_FORMAT_GITHUB: render_github(c);     break;
    }
    free(c);
    if (fflush(out) == EOF || ferror(out))
        rc = -1;
    return rc;
}
