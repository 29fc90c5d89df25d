/*
 * rc_array_cycle - a cycle that runs through a plain array: a Folder owns
 * a malloc'ed array of File pointers, and every File holds a counted
 * reference back to its Folder.
 *
 * build_tree() creates a 32-byte Folder (folder_new, which also callocs
 * its 24-byte array of 3 child pointers in alloc_children) and three
 * 32-byte Files (file_new, each taking a reference to the folder in its
 * `folder` field); the array slots take over the files' creation
 * references.  build_tree() then drops its folder reference.  Folder:
 * refcount 3, pointed to by the 3 files; each File: refcount 1, pointed
 * to by the array.  The array is not refcounted but sits on the cycle
 * (Folder -> array -> File -> Folder), so it belongs to the group.
 *
 * refscope must report one cycle group of 5 blocks, 152 bytes: one
 * "cycle" finding allocated in folder_new, type "Folder"; members in
 * address order Folder (32, refcount 3), the array (24 bytes, type null,
 * refcount null) and three Files (32, refcount 1); 7 edges: Folder +8
 * (field "files") -> array, array +0/+8/+16 -> each File, each File +8
 * (field "folder") -> Folder.
 *
 * LeakSanitizer: 152 bytes in 5 objects indirect, nothing direct.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   cycles     152/5
 *   @total   reachable  0/0
 *   @finding cycle      152/5  folder_new
 *   @lsan    indirect   152/5
 */
#include "sample_util.h"

#include <refscope.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define N_FILES 3

struct file;

struct folder {
    int           refcnt;
    int           n_files;
    struct file **files;      /* plain array of counted references */
    char          name[16];
};

struct file {
    int            refcnt;
    int            size;
    struct folder *folder;    /* counted reference: closes the cycle */
    char           name[16];
};

_Static_assert(sizeof(struct folder) == 32, "the header's numbers assume 32");
_Static_assert(sizeof(struct file) == 32, "the header's numbers assume 32");
_Static_assert(N_FILES * sizeof(struct file *) == 24, "array of 24 bytes");

SAMPLE_NOINLINE static struct file **alloc_children(void)
{
    struct file **a = calloc(N_FILES, sizeof *a);
    sample_check(a != NULL, "calloc(children)");
    return a;
}

SAMPLE_NOINLINE static struct folder *folder_new(const char *name)
{
    struct folder *f = calloc(1, sizeof *f);
    sample_check(f != NULL, "calloc(folder)");
    f->refcnt = 1;
    strncpy(f->name, name, sizeof f->name - 1);
    f->files = alloc_children();
    refscope_object(f, "Folder", offsetof(struct folder, refcnt),
                    sizeof f->refcnt);
    return f;
}

SAMPLE_NOINLINE static struct folder *folder_ref(struct folder *f)
{
    f->refcnt++;
    refscope_incref(f);
    return f;
}

SAMPLE_NOINLINE static void file_unref(struct file *file);

SAMPLE_NOINLINE static void folder_unref(struct folder *f)
{
    refscope_decref(f);
    if (--f->refcnt == 0) {
        for (int i = 0; i < f->n_files; i++)
            file_unref(f->files[i]);
        free(f->files);
        free(f);
    }
}

SAMPLE_NOINLINE static struct file *file_new(struct folder *f, int i)
{
    struct file *file = calloc(1, sizeof *file);
    sample_check(file != NULL, "calloc(file)");
    file->refcnt = 1;
    file->size = 100 * i;
    refscope_object(file, "File", offsetof(struct file, refcnt),
                    sizeof file->refcnt);
    file->folder = folder_ref(f);
    return file;
}

SAMPLE_NOINLINE static void file_unref(struct file *file)
{
    refscope_decref(file);
    if (--file->refcnt == 0) {
        folder_unref(file->folder);
        free(file);
    }
}

SAMPLE_NOINLINE static void build_tree(void)
{
    struct folder *f = folder_new("docs");
    for (int i = 0; i < N_FILES; i++)
        f->files[f->n_files++] = file_new(f, i);
    folder_unref(f);
}

int main(void)
{
    build_tree();
    sample_scrub_stack();
    sample_say("rc_array_cycle: Files hold the Folder that holds them\n");
    return 0;
}
