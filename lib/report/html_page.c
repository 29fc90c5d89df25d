/*
 * html_page.c - the shared frame of the HTML pages (see html_page.h): the
 * style sheet and script are string constants written inline, so the
 * page never loads anything.
 */
#include "html_page.h"

#include "html_writer.h"

#include <inttypes.h>

static const char style[] =
    ":root{--leaked:#c0392b;--indirect:#d9822b;--cycle:#8e44ad;"
    "--leaked_ref:#2c7fb8;--rc_error:#b8860b;--reachable:#5b7065;"
    "--bg:#f6f7f9;--fg:#1d2330;--muted:#6b7385;--card:#fff;--line:#dde1e8}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:var(--bg);color:var(--fg);"
    "font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',"
    "sans-serif}\n"
    "header.top{position:sticky;top:0;z-index:10;background:#1d2330;"
    "color:#fff;padding:10px 24px 12px;box-shadow:0 2px 8px rgba(0,0,0,.25)}\n"
    "header.top h1{font-size:18px;margin:0 0 6px;font-weight:600}\n"
    "header.top .sub{color:#b8c0d0;font-size:13px;margin-bottom:6px;"
    "font-family:ui-monospace,'DejaVu Sans Mono',monospace}\n"
    ".chips{display:flex;flex-wrap:wrap;gap:6px}\n"
    ".chip{border-radius:12px;padding:2px 10px;font-size:13px;color:#fff;"
    "background:var(--c,#555);white-space:nowrap}\n"
    ".chip.zero{opacity:.35}\n"
    ".chip b{font-weight:600;margin-right:4px}\n"
    ".c-leaked{--c:var(--leaked)}.c-indirect{--c:var(--indirect)}"
    ".c-cycle{--c:var(--cycle)}.c-leaked_ref{--c:var(--leaked_ref)}"
    ".c-rc_error{--c:var(--rc_error)}.c-reachable{--c:var(--reachable)}"
    ".c-total{--c:#394150}\n"
    "main{max-width:1240px;margin:0 auto;padding:16px 24px 48px}\n"
    "h2{font-size:20px;margin:28px 0 10px}\n"
    "h3{font-size:16px;margin:22px 0 8px;color:#394150}\n"
    "section.proc{margin-bottom:36px}\n"
    "table{border-collapse:collapse;background:var(--card)}\n"
    "th,td{padding:4px 10px;border-bottom:1px solid var(--line);"
    "text-align:left;vertical-align:top}\n"
    "th{font-size:13px;color:var(--muted);font-weight:600}\n"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    "td.grow{color:var(--leaked);font-weight:600}td.shrink{color:#3b8b5a}\n"
    ".finding{background:var(--card);border:1px solid var(--line);"
    "border-left:6px solid var(--c,#888);border-radius:6px;"
    "margin:12px 0;padding:8px 14px}\n"
    ".finding .cls{display:inline-block;font-size:12px;color:#fff;"
    "background:var(--c);border-radius:10px;padding:0 8px;margin-right:8px}\n"
    "pre,code{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,monospace;"
    "font-size:13px}\n"
    "pre.t{margin:2px 0;white-space:pre-wrap;word-break:break-word}\n"
    ".finding pre.t:first-of-type{font-weight:600}\n"
    "details.stack{margin:2px 0 6px 18px}\n"
    "details.stack summary{cursor:pointer;color:#394150;font-size:13px;"
    "font-family:ui-monospace,'DejaVu Sans Mono',monospace}\n"
    "details.stack table{margin:4px 0;font-size:13px}\n"
    "td.fn{font-family:ui-monospace,'DejaVu Sans Mono',monospace;"
    "font-weight:600}\n"
    "td.loc,td.mod{font-family:ui-monospace,'DejaVu Sans Mono',monospace;"
    "color:#394150}\n"
    "tr.src td{border-bottom:1px solid var(--line);background:#fbfaf4;"
    "padding-left:36px}\n"
    "tr.src code{white-space:pre;color:#5a4a12}\n"
    ".graph{margin:8px 0;overflow-x:auto}\n"
    ".graph svg{max-width:100%;max-height:230px;width:auto;height:auto}\n"
    "p.gcap{margin:10px 0 0;font-size:13px;color:var(--muted)}\n"
    ".dotsrc{border:1px dashed var(--muted);padding:6px 10px;margin:8px 0}\n"
    ".note{color:var(--muted);font-size:13px}\n"
    "svg.flame,svg.chart{background:var(--card);border:1px solid var(--line);"
    "border-radius:6px;max-width:100%;height:auto}\n"
    "svg.flame g.fr:hover rect{stroke:#000;stroke-width:1}\n"
    "svg.flame text{pointer-events:none;fill:#1d1d1d}\n"
    "svg.chart .grid{stroke:#e3e6ec}svg.chart .ax,svg.chart .lg{fill:#394150}\n"
    "button{font:inherit;font-size:12px;border:1px solid #59627a;"
    "background:#2b3344;color:#fff;border-radius:4px;padding:1px 8px;"
    "cursor:pointer;margin-left:8px}\n";

/* Counts uncaught errors on <html data-js-errors>, marks the end of the
 * script with data-js-ready, and wires the expand/collapse buttons. */
static const char script[] =
    "(function(){var d=document.documentElement,n=0;"
    "d.setAttribute('data-js-errors','0');"
    "window.addEventListener('error',function(){n++;"
    "d.setAttribute('data-js-errors',String(n));});"
    "function all(open){var s=document.querySelectorAll('details.stack');"
    "for(var i=0;i<s.length;i++)s[i].open=open;}"
    "document.addEventListener('DOMContentLoaded',function(){"
    "var b=document.querySelectorAll('button[data-open]');"
    "for(var i=0;i<b.length;i++)b[i].addEventListener('click',function(e){"
    "all(e.target.getAttribute('data-open')==='1');});"
    "d.setAttribute('data-js-ready','1');});})();\n";

void rs_html_page_begin(FILE *out, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
          "<title>", out);
    rs_html_text(out, title);
    fprintf(out, "</title>\n<style>\n%s</style>\n<script>\n%s</script>\n"
            "</head>\n<body>\n<header class=\"top\">\n<h1>", style, script);
    rs_html_text(out, title);
    fputs("</h1>\n", out);
}

void rs_html_page_bar_end(FILE *out)
{
    fputs("</header>\n<main>\n", out);
}

void rs_html_page_end(FILE *out)
{
    fputs("</main>\n</body>\n</html>\n", out);
}

void rs_html_chip(FILE *out, const char *css_class, const char *label,
                  uint64_t bytes, uint64_t blocks)
{
    fprintf(out, "<span class=\"chip %s%s\"><b>", css_class,
            blocks ? "" : " zero");
    rs_html_text(out, label);
    fprintf(out, "</b>%" PRIu64 " B / %" PRIu64 " %s</span>\n", bytes, blocks,
            blocks == 1 ? "block" : "blocks");
}

void rs_html_chip_count(FILE *out, const char *css_class, const char *label,
                        uint64_t n)
{
    fprintf(out, "<span class=\"chip %s%s\"><b>", css_class, n ? "" : " zero");
    rs_html_text(out, label);
    fprintf(out, "</b>%" PRIu64 "</span>\n", n);
}
