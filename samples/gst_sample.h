/*
 * gst_sample.h - gst_init() as the gst_* samples run it: one process that
 * loads no plugin (the plugin registry neither forked for nor updated,
 * GST_REGISTRY pointing at no file).
 */
#ifndef GST_SAMPLE_H
#define GST_SAMPLE_H

#include <gst/gst.h>
#include <stdlib.h>

static inline void sample_gst_init(void)
{
    setenv("GST_REGISTRY_UPDATE", "no", 1);
    setenv("GST_REGISTRY", "/nonexistent/refscope-gst-registry.bin", 1);
    gst_registry_fork_set_enabled(FALSE);
    gst_init(NULL, NULL);
}

#endif /* GST_SAMPLE_H */
