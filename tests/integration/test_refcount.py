#!/usr/bin/env python3
"""test_refcount - runs one refcounted sample (samples/rc_*.c, rcobj_*,
and the samples of the built-in profiles: gobject_*.c, gst_*.c, cairo_*.c,
harfbuzz_*.c, dbus_*.c, openssl_*.c, sdbus_*.c) under `refscope run
--json` and asserts exactly what its header promises about reference counts: the summary's cycles, leaked_refs
and rc_errors (and the plain classes), and every finding of class cycle,
leaked_ref and rc_error field by field (type names, sizes, refcounts,
members, edges with offsets, unbalanced increfs with the functions in
their stacks, error kinds and stacks), then that `refscope report --json
SNAPSHOT` gives the same summary and findings and the text report names
the types and functions.  Usage:
    test_refcount.py --refscope PATH --samples-dir DIR --source-dir DIR NAME

The expectations live in the SPECS table below, one entry per sample,
written from the sample's header comment.  A field the JSON contract lets
be null (an edge's field name or incref stack, an error's other stack) is
checked when present and listed as a note when null.  Every mismatch is
collected, so one run shows all of them.
"""
import collections
import json
import os
import subprocess
import tempfile
import time

import rstest

# ---- expectations ---------------------------------------------------------

ZERO = (0, 0)


def cycle(groups, nbytes, blocks, type_, alloc, members, edges,
          fields=None, increfs=None, member_allocs=None, member_blocks=None):
    """A cycle finding (type_/alloc None: member 0 may be of any type, as
    when GLib's plain GData blocks take part).  members: [(type, size, refcount)] as a multiset
    (type None and refcount None for plain blocks); edges: [(from type, to
    type, offset)] as a multiset; fields: {(from type, offset): name};
    increfs: {(from type, to type, offset): function that must be in the
    edge's incref stack when it has one}; member_allocs: {type: function in
    each such member's allocation stack}; member_blocks: [(object,
    objects, block size)] as a multiset, one per member of a block split
    into objects (objnodes.h), None for a member that is a whole block
    (the default: every member)."""
    return dict(cls="cycle", groups=groups, bytes=nbytes, blocks=blocks,
                type=type_, alloc=alloc, members=members, edges=edges,
                fields=fields or {}, increfs=increfs or {},
                member_allocs=member_allocs or {},
                member_blocks=member_blocks or [None] * len(members))


def leaked_ref(nbytes, blocks, type_, alloc, refs, refcount, pointers,
               unbalanced, block=None, maybe=()):
    """A leaked_ref finding; unbalanced: [(count, function in the stack)]
    or [(count, function in the stack, first)] for a reference taken inside
    a library: first is the function of the stack's first frame, or a
    library file name ("libgstreamer-1.0.so") its module must contain (a
    static function of a stripped library has no name); block: (object,
    objects, block size) when the object is one of several in its block,
    else None; maybe: the "maybe_unbalanced" entries, as unbalanced (none
    by default: a finding whose pairings are all certain)."""
    return dict(cls="leaked_ref", bytes=nbytes, blocks=blocks, type=type_,
                alloc=alloc, refs=refs, refcount=refcount, pointers=pointers,
                unbalanced=unbalanced, block=block, maybe=list(maybe))


def block_key(b):
    """A JSON "block" as (object, objects, size), or None."""
    return None if b is None else (b.get("object"), b.get("objects"),
                                   b.get("size"))


def rc_error(kind, type_, count, occurrences, where, other=None):
    """An rc_error finding; where/other: functions in stack/other_stack."""
    return dict(cls="rc_error", kind=kind, type=type_, count=count,
                occurrences=occurrences, where=where, other=other)


def plain(cls, nbytes, blocks, alloc):
    """A leaked or indirect finding."""
    return dict(cls=cls, bytes=nbytes, blocks=blocks, alloc=alloc)


def spec(summary, findings, hooks=None, reachable_types=(), text=(),
         timed=False, indirect_through=None, stderr=None, env=None):
    """summary: {"cycles": (groups, objects, bytes, blocks), "leaked_refs":
    (objects, refs, bytes, blocks), "rc_errors": n, "leaked"/"indirect"/
    "reachable": (bytes, blocks) or None (unchecked)}; missing keys are
    zero.  reachable_types: [(type, bytes, blocks, function)] that a
    --show-reachable run must list as reachable findings (proof that the
    annotations or hooks were seen).  text: words the text report must
    contain.  hooks: REFSCOPE_HOOKS value ("{samples}" is replaced).
    indirect_through: for a real library's leaked object, whose fields are
    the library's own blocks (one "indirect" finding per allocation site
    inside the library): every indirect finding must have this function
    (or one of this tuple's) in its allocation stack, and together they must make the summary's
    "indirect" bytes and blocks exactly.  stderr: {text: n}, exactly n
    lines of refscope's stderr contain text.  findings None: the findings
    are not checked one by one (a library's own start-up leaks; the
    summary keys given still are).  env: more environment variables for
    the run."""
    return dict(summary=summary, findings=findings, hooks=hooks, env=env or {},
                reachable_types=reachable_types, text=text, timed=timed,
                indirect_through=indirect_through, stderr=stderr or {})


# With REFSCOPE_ENTRY_HOOKS=2 every function of the library's built-in
# profile must say "entry hooked" (check_entry_hooks): 16 of them
# (cairo_destroy, hb_blob_destroy, dbus_message_unref, sd_bus_unref, ...)
# open with a short jump and were once hooked through the GOT only, blind
# to the library's own calls.
ENTRY_REPORT = {"REFSCOPE_ENTRY_HOOKS": "2"}
EVERY_ENTRY_HOOKED = {"entry not hooked": 0}

SPECS = {
    "rc_cycle_pair": spec(
        {"cycles": (1, 2, 64, 2)},
        [cycle(1, 64, 2, "Node", "node_new",
               [("Node", 32, 1), ("Node", 32, 1)],
               [("Node", "Node", 8), ("Node", "Node", 8)],
               fields={("Node", 8): "peer"},
               increfs={("Node", "Node", 8): "node_set_peer"},
               member_allocs={"Node": "make_pair"})],
        text=("Node", "node_new")),
    "rc_self_ref": spec(
        {"cycles": (1, 1, 48, 1)},
        [cycle(1, 48, 1, "Session", "session_new", [("Session", 48, 1)],
               [("Session", "Session", 16)],
               fields={("Session", 16): "self"},
               increfs={("Session", "Session", 16): "session_keep_alive"})],
        text=("Session",)),
    "rc_parent_strong": spec(
        {"cycles": (1, 2, 64, 2)},
        [cycle(1, 64, 2, "Parent", "parent_new",
               [("Parent", 40, 1), ("Child", 24, 1)],
               [("Parent", "Child", 8), ("Child", "Parent", 8)],
               fields={("Parent", 8): "child", ("Child", 8): "parent"},
               increfs={("Parent", "Child", 8): "parent_add_child",
                        ("Child", "Parent", 8): "parent_add_child"},
               member_allocs={"Parent": "parent_new",
                              "Child": "child_new"})],
        text=("Parent", "Child")),
    "rc_parent_weak": spec(
        {"reachable": (64, 2)}, [],
        reachable_types=[("Parent", 40, 1, "parent_new"),
                         ("Child", 24, 1, "child_new")]),
    "rc_callback": spec(
        {"cycles": (1, 2, 80, 2)},
        [cycle(1, 80, 2, "Emitter", "emitter_new",
               [("Emitter", 48, 1), ("Handler", 32, 1)],
               [("Emitter", "Handler", 8), ("Handler", "Emitter", 16)],
               fields={("Emitter", 8): "handler",
                       ("Handler", 16): "emitter"},
               increfs={("Emitter", "Handler", 8): "handler_new",
                        ("Handler", "Emitter", 16): "handler_new"},
               member_allocs={"Emitter": "emitter_new",
                              "Handler": "handler_new"})],
        text=("Emitter", "Handler")),
    "rc_leaked_ref": spec(
        {"leaked_refs": (1, 1, 40, 1), "indirect": (16, 1)},
        [leaked_ref(40, 1, "Widget", "widget_new", 1, 1, 0,
                    [(1, "borrow_wrong")]),
         plain("indirect", 16, 1, "make_label")],
        text=("Widget", "borrow_wrong")),
    "rc_reachable_ref": spec(
        {"reachable": (40, 1)}, [],
        reachable_types=[("Widget", 40, 1, "widget_new")]),
    "rc_array_cycle": spec(
        {"cycles": (1, 5, 152, 5)},
        [cycle(1, 152, 5, "Folder", "folder_new",
               [("Folder", 32, 3), (None, 24, None), ("File", 32, 1),
                ("File", 32, 1), ("File", 32, 1)],
               [("Folder", None, 8), (None, "File", 0), (None, "File", 8),
                (None, "File", 16)] + [("File", "Folder", 8)] * 3,
               fields={("Folder", 8): "files", ("File", 8): "folder"},
               increfs={("File", "Folder", 8): "file_new",
                        (None, "File", 0): "file_new",
                        (None, "File", 8): "file_new",
                        (None, "File", 16): "file_new"},
               member_allocs={"Folder": "folder_new", "File": "file_new",
                              None: "alloc_children"})],
        text=("Folder", "File")),
    "rc_embedded": spec(
        {"leaked_refs": (1, 1, 40, 1)},
        [leaked_ref(40, 1, "Device", "device_new", 1, 1, 0,
                    [(1, "probe_wrong")])],
        text=("Device", "probe_wrong")),
    "rc_realloc": spec(
        {"cycles": (1, 2, 512, 2), "leaked_refs": (1, 1, 256, 1),
         "reachable": (256, 1)},
        [cycle(1, 512, 2, "Buf", "buf_grow",
               [("Buf", 256, 1), ("Buf", 256, 1)],
               [("Buf", "Buf", 8), ("Buf", "Buf", 8)],
               fields={("Buf", 8): "peer"},
               increfs={("Buf", "Buf", 8): "buf_set_peer"},
               member_allocs={"Buf": "make_cycle"}),
         leaked_ref(256, 1, "Chunk", "chunk_grow", 1, 1, 0,
                    [(1, "keep_wrong")])],
        text=("Buf", "Chunk", "keep_wrong")),
    # Every refscope_check() during the reallocs finds no leak, or the
    # sample exits 70; nothing of the sample's is live at exit (reachable:
    # glibc's block for the joined thread's TLS, its size glibc's own).
    "rc_realloc_window": spec({"reachable": None}, [],
                              stderr={"refcount error": 0}),
    "rc_pool": spec(
        {"cycles": (1, 2, 64, 2), "leaked_refs": (1, 1, 40, 1)},
        [cycle(1, 64, 2, "Node", "pool_new",
               [("Node", 32, 1), ("Node", 32, 1)],
               [("Node", "Node", 8), ("Node", "Node", 8)],
               fields={("Node", 8): "peer"},
               increfs={("Node", "Node", 8): "node_set_peer"},
               member_allocs={"Node": "make_pool"},
               member_blocks=[(2, 3, 104), (3, 3, 104)]),
         leaked_ref(40, 1, "Node", "pool_new", 1, 1, 0,
                    [(1, "keep_wrong")], block=(1, 3, 104))],
        text=("Node", "keep_wrong", "object 1 of 3 in a 104-byte block",
              "object 3 of 3 in a 104-byte block")),
    "rc_list_nodes": spec(
        {"cycles": (1, 4, 168, 4)},
        [cycle(1, 168, 4, "Queue", "queue_new",
               [("Queue", 24, 3)] + [("Task", 48, 1)] * 3,
               [("Queue", "Task", 8), ("Queue", "Task", 16),
                ("Task", "Task", 8), ("Task", "Task", 8),
                ("Task", "Queue", 8), ("Task", "Task", 16),
                ("Task", "Task", 16), ("Task", "Queue", 16)]
               + [("Task", "Queue", 24)] * 3,
               fields={("Task", 24): "queue"},
               increfs={("Task", "Queue", 24): "queue_push"},
               member_allocs={"Queue": "queue_new", "Task": "task_new"})],
        text=("Queue", "Task")),
    "rc_double_unref": spec(
        {"rc_errors": 1, "reachable": (48, 1)},
        [rc_error("underflow", "Conn", -1, 1, "cleanup_request",
                  other="handle_request")],
        reachable_types=[("Conn", 48, 1, "conn_get")],
        text=("underflow", "Conn", "cleanup_request"),
        stderr={"count below zero at decref of object": 1,
                "refscope_decref_after()": 0}),
    "rc_decref_late": spec(
        {}, [],
        stderr={"refscope: refscope_decref() was called after the decrement":
                1, "refscope_decref_after()": 1, "refcount error": 0}),
    "rc_decref_after": spec(
        {"leaked_refs": (1, 1, 24, 1)},
        [leaked_ref(24, 1, "Msg", "msg_new", 1, 1, 0,
                    [(1, "keep_extra_ref")])],
        stderr={"refscope_decref_after()": 0, "refcount error": 0}),
    "rc_free_referenced": spec(
        {"rc_errors": 1},
        [rc_error("free_referenced", "Blob", 2, 1, "drop_badly")],
        text=("free_referenced", "Blob", "drop_badly")),
    "rc_large_graph": spec(
        {"cycles": (100000, 200000, 3200000, 200000)},
        [cycle(100000, 3200000, 200000, "Pnode", "pnode_new",
               [("Pnode", 16, 1), ("Pnode", 16, 1)],
               [("Pnode", "Pnode", 8), ("Pnode", "Pnode", 8)],
               fields={("Pnode", 8): "peer"},
               increfs={("Pnode", "Pnode", 8): "pnode_link"})],
        timed=True),
    "rcobj_leak": spec(
        {"cycles": (1, 2, 112, 2), "leaked_refs": (1, 1, 56, 1)},
        [cycle(1, 112, 2, "Stream", "rcobj_new",
               [("Stream", 56, 1), ("Stream", 56, 1)],
               [("Stream", "Stream", 16), ("Stream", "Stream", 16)],
               fields={("Stream", 16): "link"},
               increfs={("Stream", "Stream", 16): "rcobj_set_link"},
               member_allocs={"Stream": "make_streams"}),
         leaked_ref(56, 1, "Buffer", "rcobj_new", 1, 1, 0,
                    [(1, "keep_extra_ref")])],
        hooks="{samples}/rcobj.profile",
        text=("Stream", "Buffer", "keep_extra_ref")),
    # Values returned in rax/rdx, xmm0/xmm1, st0 and st0-st1 by hooked
    # functions with post hooks reach the caller unchanged (the program's
    # output and exit status say so); every reference is dropped.
    "rc_return_values": spec({}, [], hooks="{samples}/rc_return_values.profile",
                             env={"REFSCOPE_ENTRY_HOOKS": "2"},
                             stderr={": entry hooked": 6, "entry not hooked": 0}),
    # A reference handed to another thread and released there, and one
    # another thread kept: the courier's release shares no frame with any
    # incref but the thread start frames every thread has, so it is paired
    # by guess with the most recent, hand_over's; keep_a_copy's is named as
    # never released, and hand_over's as the one that may be instead.
    "rcobj_handoff": spec(
        {"leaked_refs": (1, 1, 56, 1), "reachable": None},  # glibc's, threads
        [leaked_ref(56, 1, "Parcel", "rcobj_new", 1, 1, 0,
                    [(1, "keep_a_copy")], maybe=[(1, "hand_over")])],
        hooks="{samples}/rcobj.profile",
        text=("Parcel", "uncertain: a release on another thread was paired "
              "by guess", "hand_over", "may be it:")),
    "rcobj_alias": spec(
        {"leaked_refs": (1, 1, 56, 1)},
        [leaked_ref(56, 1, "Buffer", "rcobj_new", 1, 1, 0,
                    [(1, "keep_retained")])],
        hooks="{samples}/rcobj_alias.profile",
        text=("Buffer", "keep_retained")),
    "rcobj_reload": spec(
        {"leaked_refs": (1, 1, 56, 1), "reachable": None},
        [leaked_ref(56, 1, "Buffer", "rcobj_new", 1, 1, 0,
                    [(1, "attach", "rcobj_set_link")])],
        hooks="{samples}/rcobj.profile",
        text=("Buffer", "rcobj_set_link", "attach")),
    "rcobj_relro": spec(
        {"leaked_refs": (1, 1, 56, 1), "reachable": None},
        [leaked_ref(56, 1, "Buffer", "rcobj_new", 1, 1, 0,
                    [(1, "keep_extra", "keep_impl")])],
        hooks="{samples}/rcobj.profile",
        # GOT hooks only: the library's slot must be patched after its
        # relocation (the entry hook on rcobj_ref would hide a miss).
        env={"REFSCOPE_ENTRY_HOOKS": "0"},
        text=("Buffer", "keep_extra")),
    "rcobj_lockorder": spec(
        {"leaked_refs": (1, 1, 56, 1), "reachable": None},
        [leaked_ref(56, 1, "Buffer", "rcobj_new", 1, 1, 0,
                    [(1, "keep_extra", "rcobj_ctor_keep")])],
        hooks="{samples}/rcobj.profile",
        text=("Buffer", "keep_extra")),
    "rcobj_dlopen": spec(
        {"leaked_refs": (1, 1, 56, 1), "reachable": None},
        [leaked_ref(56, 1, "Buffer", "rcobj_new", 1, 1, 0,
                    [(1, "attach", "rcobj_set_link")])],
        hooks="{samples}/rcobj.profile",
        text=("Buffer", "rcobj_set_link", "attach")),
    "gobject_cycle": spec(
        {"cycles": (1, 4, 144, 4), "leaked_refs": (1, 1, 48, 1),
         "reachable": None},
        [cycle(1, 144, 4, None, None,
               [("RsNode", 40, 1), ("RsNode", 40, 1), (None, 32, None),
                (None, 32, None)],
               [("RsNode", None, 16), ("RsNode", None, 16),
                (None, "RsNode", 16), (None, "RsNode", 16)],
               fields={("RsNode", 16): "parent_instance.qdata"},
               increfs={(None, "RsNode", 16): "link_peers"},
               member_allocs={"RsNode": "make_cycle", None: "link_peers"}),
         leaked_ref(48, 1, "RsItem", "make_leak", 1, 1, 0,
                    [(1, "leak_a_ref")])],
        hooks="gobject",
        reachable_types=[("RsItem", 48, 1, "keep_model")],
        text=("RsNode", "RsItem", "leak_a_ref")),
    "gobject_internal_ref": spec(
        {"leaked_refs": (1, 1, 48, 1), "reachable": None},
        [leaked_ref(48, 1, "RsItem", "make_value_leak", 1, 1, 0,
                    [(1, "forget_value", "g_value_set_object")])],
        hooks="gobject",
        reachable_types=[("RsItem", 48, 1, "keep_item")],
        text=("RsItem", "g_value_set_object", "forget_value")),
    # Private data before the instance: `priv` points at the block's start.
    # The program's pending dlerror() result survives refscope's analysis
    # (the program's output says so; its dlerror blocks are no leaks).
    "gobject_dlerror_kept": spec({"reachable": None}, [], hooks="gobject"),
    "gobject_private": spec(
        {"cycles": (1, 1, 56, 1), "leaked_refs": (1, 1, 56, 1),
         "reachable": None},
        [cycle(1, 56, 1, "RsThing", "make_self_held", [("RsThing", 56, 1)],
               [("RsThing", "RsThing", 48)]),
         leaked_ref(56, 1, "RsThing", "make_lost", 1, 1, 0, [(1, "make_lost")])],
        hooks="gobject",
        reachable_types=[("RsThing", 56, 1, "keep_thing")],
        text=("RsThing", "make_lost", "make_self_held")),
    # GLib's handler tables point to an instance without a reference
    # (the gobject profile's `registry` lines): a lost object with a
    # handler is a leaked reference, its handler bookkeeping indirect (a
    # closure, a Handler, a handler list each; the second also the knob
    # its handler data holds and the closure's notifier array); the kept
    # ones (one owning its handler's data) stay reachable.
    "gobject_signal_lost": spec(
        {"leaked_refs": (2, 2, 64, 2), "indirect": (384, 8),
         "reachable": None},
        [leaked_ref(32, 1, "RsKnob", "make_lost", 1, 1, 0,
                    [(1, "make_lost")]),
         leaked_ref(32, 1, "RsKnob", "make_lost_with_data", 1, 1, 0,
                    [(1, "make_lost_with_data")])],
        hooks="gobject",
        reachable_types=[("RsKnob", 32, 1, "keep_connected")],
        indirect_through=("connected_knob", "knob_owning_data"),
        text=("RsKnob", "make_lost", "make_lost_with_data")),
    # A bound pair, lost: two leaked references, the g_object_new
    # reference of each unbalanced; the GBinding (its one reference owned
    # by its BindingContext, gbinding.c), the context, the handler and its
    # closure, the weak-reference stacks and lists charged to them.  It was
    # a cycle of 19 blocks before the `qdata` lines (GWeakRefs, weak-ref
    # stacks) and the Handler closure's invalidate notifier (key-closure=).
    "gobject_binding_lost": spec(
        {"leaked_refs": (2, 2, 64, 2), "indirect": (760, 18),
         "reachable": None},
        [leaked_ref(32, 1, "RsKnob", "new_source", 1, 1, 0,
                    [(1, "new_source")]),
         leaked_ref(32, 1, "RsKnob", "new_target", 1, 1, 0,
                    [(1, "new_target")])],
        hooks="gobject",
        reachable_types=[("RsKnob", 32, 1, "new_source"),
                         ("RsKnob", 32, 1, "new_target")],
        indirect_through=("bind_pair", "make_lost_pair"),
        text=("RsKnob", "new_source", "new_target", "GBinding")),
    # A GWeakRef in a reachable block holds no reference: its lost knob is
    # a leaked reference (it was reachable through the GWeakRef: no leaks);
    # the knob also held by a global stays reachable.
    "gobject_weakref_lost": spec(
        {"leaked_refs": (1, 1, 32, 1), "indirect": (56, 3), "reachable": None},
        [leaked_ref(32, 1, "RsKnob", "watch_lost", 1, 1, 0,
                    [(1, "watch_lost")])],
        hooks="gobject", indirect_through="watch_lost",
        reachable_types=[("RsKnob", 32, 1, "watch_kept")],
        text=("RsKnob", "watch_lost")),
    "gobject_small_keys": spec(
        {"leaked_refs": (1, 1, 48, 1), "reachable": None},
        [leaked_ref(48, 1, "RsThing", "make_lost", 1, 1, 0, [(1, "make_lost")])],
        hooks="gobject",
        reachable_types=[("RsThing", 384, 8, "keep_things")],
        text=("RsThing", "make_lost")),
    "gst_internal": spec(
        {"leaked_refs": (1, 1, 280, 1), "reachable": None},
        [leaked_ref(280, 1, "GstBuffer", "gst_mini_object_make_writable",
                    1, 1, 0, [(1, "writable_copy", "libgstreamer-1.0.so")])],
        hooks="gst",
        text=("GstBuffer", "writable_copy")),
    # GStreamer's own start-up leaks (a few strings) are not checked; no
    # refcount error (with GOT hooks alone, objects made inside the plugin
    # and libgstreamer gave 15 false "decref of untracked object").  One
    # leaked reference: gst_update_registry's GstPlugin of 304 bytes,
    # refcount 1, held only by its own g_object_weak_ref stack's back
    # pointer (it was a cycle of the two before the `qdata back` line).
    "gst_pipeline": spec(
        {"cycles": None, "leaked": None, "indirect": None,
         "leaked_refs": (1, 1, 304, 1), "reachable": None},
        None, hooks="gobject,gst"),
    "gst_leak": spec(
        {"leaked_refs": (1, 1, 280, 1), "reachable": None},
        [leaked_ref(280, 1, "GstBuffer", "make_leak", 1, 1, 0,
                    [(1, "leak_buffer_ref")])],
        hooks="gst",
        reachable_types=[("GstBuffer", 280, 1, "keep_buffer")],
        env=ENTRY_REPORT, stderr=EVERY_ENTRY_HOOKED,
        text=("GstBuffer", "leak_buffer_ref")),
    # A buffer that owns memory: the memory's priv_pointer back to its
    # parent is the gst profile's `weak offset=56`, no reference; the lost
    # buffer is a leaked reference and its memory indirect (it was a cycle
    # of the two), with no pointer found that holds a reference to it.
    "gst_buffer_memory": spec(
        {"leaked_refs": (1, 1, 280, 1), "indirect": (251, 1), "reachable": None},
        [leaked_ref(280, 1, "GstBuffer", "make_leak", 1, 1, 0,
                    [(1, "leak_buffer_ref")])],
        hooks="gst", indirect_through="make_leak",
        env=ENTRY_REPORT, stderr=EVERY_ENTRY_HOOKED,
        text=("GstBuffer", "leak_buffer_ref")),
    # A GstObject owning a child GstPad, whose GstObject.parent points back
    # without a reference: the gobject profile's `weak offset=40
    # is-a=GstObject`; the lost holder is a leaked reference and the pad
    # indirect (it was a cycle of the two).
    "gst_object_lost": spec(
        {"leaked_refs": (1, 1, 96, 1), "indirect": (938, 6), "reachable": None},
        [leaked_ref(96, 1, "SampleHolder", "make_leak", 1, 1, 0,
                    [(1, "leak_holder_ref")])],
        hooks="gobject,gst", indirect_through="make_leak",
        text=("SampleHolder", "leak_holder_ref")),
    # A lost GstPipeline (run to PLAYING and back) and a lost GstBin, each
    # with two linked elements: their child bus's sync handler points back
    # to the bin without a reference (GstBusPrivate.sync_handler ->
    # SyncHandler.user_data, the gobject profile's `weak offset=16 private
    # is-a=GstBus then=8`): two leaked references, everything else theirs
    # indirect (each was a cycle of 13 objects).
    "gst_bin_lost": spec(
        {"leaked_refs": (2, 2, 944, 2), "indirect": (7144, 69), "reachable": None},
        [leaked_ref(536, 1, "GstPipeline", "lose_pipeline", 1, 1, 0,
                    [(1, "lose_pipeline")]),
         leaked_ref(408, 1, "GstBin", "lose_bin", 1, 1, 0,
                    [(1, "lose_bin", "gst_element_factory_create_with_properties")])],
        hooks="gobject,gst", indirect_through=("lose_pipeline", "lose_bin"),
        text=("GstPipeline", "GstBin", "lose_bin")),
    # A pooled buffer revived by its dispose (count 0 -> 1) 8 times: no
    # "incref after the final decref".
    "gst_pool": spec({"reachable": None}, [], hooks="gst"),
    "cairo_leak": spec(
        {"leaked_refs": (1, 1, 392, 1), "indirect": (1288, 2),
         "reachable": None},
        [leaked_ref(392, 1, "cairo_surface_t", "make_leak", 1, 1, 0,
                    [(1, "cache_surface")])],
        hooks="cairo", indirect_through="make_leak",
        env=ENTRY_REPORT, stderr=EVERY_ENTRY_HOOKED,
        reachable_types=[("cairo_surface_t", 392, 1, "keep_surface")],
        text=("cairo_surface_t", "cache_surface")),
    "harfbuzz_leak": spec(
        {"leaked_refs": (1, 1, 48, 1), "reachable": None},
        [leaked_ref(48, 1, "hb_blob_t", "make_leak", 1, 1, 0,
                    [(1, "keep_blob_ref")])],
        hooks="harfbuzz",
        reachable_types=[("hb_font_t", 168, 1, "keep_font")],
        env=ENTRY_REPORT, stderr=EVERY_ENTRY_HOOKED,
        text=("hb_blob_t", "keep_blob_ref")),
    "dbus_leak": spec(
        {"leaked_refs": (1, 1, 184, 1), "indirect": (200, 2),
         "reachable": None},
        [leaked_ref(184, 1, "DBusMessage", "make_leak", 1, 1, 0,
                    [(1, "queue_message")])],
        hooks="dbus", indirect_through="make_leak",
        env=ENTRY_REPORT, stderr=EVERY_ENTRY_HOOKED,
        reachable_types=[("DBusMessage", 184, 1, "keep_message")],
        text=("DBusMessage", "queue_message")),
    "openssl_leak": spec(
        {"leaked_refs": (2, 2, 768, 2), "indirect": (800, 24),
         "reachable": None},
        [leaked_ref(384, 1, "X509", "make_leak", 1, 1, 0,
                    [(1, "remember_cert")]),
         leaked_ref(384, 1, "X509", "make_leak_ex", 1, 1, 0,
                    [(1, "remember_cert")])],
        hooks="openssl", indirect_through=("make_leak", "make_leak_ex"),
        reachable_types=[("X509", 384, 1, "keep_cert")],
        text=("X509", "remember_cert")),
    "sdbus_leak": spec(
        {"leaked_refs": (1, 1, 800, 1), "indirect": (128, 1),
         "reachable": None},
        [leaked_ref(800, 1, "sd_bus_message", "make_leak", 1, 1, 0,
                    [(1, "hold_message")])],
        hooks="sdbus", indirect_through="make_leak",
        env=ENTRY_REPORT, stderr=EVERY_ENTRY_HOOKED,
        reachable_types=[("sd_bus_message", 800, 1, "keep_message"),
                         ("sd_bus", 1800, 1, "main")],
        text=("sd_bus_message", "hold_message")),
}

# ---- checking ---------------------------------------------------------------


class Checker:
    """Collects mismatches (errors) and nulls the contract allows (notes)."""

    def __init__(self, where):
        self.where = where
        self.errors = []
        self.notes = []

    def expect(self, ok, message):
        if not ok:
            self.errors.append(message)
        return ok

    def note(self, message):
        self.notes.append(message)

    def finish(self, obj=None):
        for n in self.notes:
            print(f"note: {self.where}: {n}")
        if self.errors:
            listing = ""
            if obj is not None:
                listing = "\nfindings were:\n" + json.dumps(
                    obj.get("findings", []), indent=1)[:6000]
            raise rstest.TestFailure(f"{self.where}:\n  "
                                     + "\n  ".join(self.errors) + listing)


def fns(stack):
    return [f for f in rstest.stack_functions(stack) if f]


def has_fn(stack, fn):
    return fn in fns(stack)


def alloc_ok(stack, fn):
    """fn is the allocating function (first program frame) or, for stacks
    that run through a library (librcobj, GLib), anywhere in the stack."""
    frame = rstest.program_frame(stack or []) or {}
    return frame.get("function") == fn or has_fn(stack, fn)


def check_summary(c, summary, want):
    def tally(key, fields, default):
        got = summary.get(key)
        exp = want.get(key, default)
        if exp is None:
            return
        if not c.expect(isinstance(got, dict), f"summary.{key} missing"):
            return
        vals = tuple(got.get(f) for f in fields)
        c.expect(vals == tuple(exp), f"summary.{key}: expected "
                 f"{dict(zip(fields, exp))}, got {got}")

    tally("cycles", ("groups", "objects", "bytes", "blocks"), (0, 0, 0, 0))
    tally("leaked_refs", ("objects", "refs", "bytes", "blocks"),
          (0, 0, 0, 0))
    for key in ("leaked", "indirect", "reachable"):
        tally(key, ("bytes", "blocks"), ZERO)
    c.expect(summary.get("rc_errors") == want.get("rc_errors", 0),
             f"summary.rc_errors: expected {want.get('rc_errors', 0)}, got "
             f"{summary.get('rc_errors')}")


def check_cycle(c, f, w):
    tag = f"cycle {w['type']}/{w['alloc']}"
    for key in ("groups", "bytes", "blocks"):
        c.expect(f.get(key) == w[key], f"{tag}: {key} expected {w[key]}, "
                 f"got {f.get(key)}")
    members = f.get("members") or []
    got = collections.Counter((m.get("type"), m.get("size"), m.get("refcount"))
                              for m in members)
    c.expect(got == collections.Counter(w["members"]), f"{tag}: members "
             f"expected {sorted(w['members'], key=str)}, got "
             f"{sorted(got.elements(), key=str)}")
    blocks = [m.get("block", "missing") for m in members]
    got = collections.Counter(block_key(b) if b is None or isinstance(b, dict)
                              else repr(b) for b in blocks)
    c.expect(got == collections.Counter(w["member_blocks"]), f"{tag}: member "
             f"blocks expected {w['member_blocks']}, got {blocks}")
    if not members:
        return
    addrs = [int(m.get("address", "0"), 16) for m in members]
    c.expect(addrs[0] == min(addrs), f"{tag}: member 0 is not the lowest "
             f"address: {[hex(a) for a in addrs]}")
    c.expect(f.get("type") == members[0].get("type"), f"{tag}: finding "
             f"type {f.get('type')!r} is not member 0's "
             f"{members[0].get('type')!r}")
    if w["type"] is not None:
        c.expect(f.get("type") == w["type"], f"{tag}: type expected "
                 f"{w['type']!r}, got {f.get('type')!r}")
    if w["alloc"]:
        c.expect(alloc_ok(f.get("stack"), w["alloc"]), f"{tag}: allocation"
                 f" stack lacks {w['alloc']}: {fns(f.get('stack'))}")
    c.expect(f.get("stack") == members[0].get("stack"), f"{tag}: finding "
             "stack is not member 0's allocation stack")
    for m in members:
        need = w["member_allocs"].get(m.get("type"))
        if need:
            c.expect(has_fn(m.get("stack"), need), f"{tag}: member "
                     f"{m.get('type')} allocation stack lacks {need}: "
                     f"{fns(m.get('stack'))}")
    check_edges(c, tag, f.get("edges") or [], members, w)


def check_edges(c, tag, edges, members, w):
    seen = []
    for e in edges:
        i, j, off = e.get("from"), e.get("to"), e.get("offset")
        if not c.expect(isinstance(i, int) and isinstance(j, int)
                        and 0 <= i < len(members) and 0 <= j < len(members),
                        f"{tag}: edge {e} indexes no member"):
            continue
        src, dst = members[i].get("type"), members[j].get("type")
        seen.append((src, dst, off))
        c.expect(isinstance(off, int) and 0 <= off
                 and off + 8 <= members[i].get("size", 0),
                 f"{tag}: edge {e} offset outside its source")
        want_field = w["fields"].get((src, off))
        if e.get("field") is None:
            if want_field:
                c.note(f"{tag}: edge {src}+{off} has no field name "
                       f"(would be {want_field!r})")
        elif want_field:
            c.expect(e["field"] == want_field, f"{tag}: edge {src}+{off} "
                     f"field expected {want_field!r}, got {e['field']!r}")
        want_fn = w["increfs"].get((src, dst, off))
        if e.get("incref") is None:
            if want_fn:
                c.note(f"{tag}: edge {src}+{off} -> {dst} has no incref "
                       f"stack (would name {want_fn})")
        elif want_fn:
            c.expect(has_fn(e["incref"], want_fn), f"{tag}: edge "
                     f"{src}+{off} -> {dst}: incref stack lacks {want_fn}: "
                     f"{fns(e['incref'])}")
    c.expect(collections.Counter(seen) == collections.Counter(w["edges"]),
             f"{tag}: edges (from type, to type, offset) expected "
             f"{sorted(w['edges'], key=str)}, got {sorted(seen, key=str)}")


def check_leaked_ref(c, f, w):
    tag = f"leaked_ref {w['type']}"
    for key in ("bytes", "blocks", "type", "refs", "refcount", "pointers"):
        c.expect(f.get(key) == w[key], f"{tag}: {key} expected {w[key]!r}, "
                 f"got {f.get(key)!r}")
    c.expect(alloc_ok(f.get("stack"), w["alloc"]), f"{tag}: allocation "
             f"stack lacks {w['alloc']}: {fns(f.get('stack'))}")
    c.expect("block" in f and block_key(f["block"]) == w["block"],
             f"{tag}: block expected {w['block']}, got "
             f"{f.get('block', 'missing')}")
    check_incref_list(c, tag, "unbalanced", f.get("unbalanced"), w["unbalanced"])
    check_incref_list(c, tag, "maybe_unbalanced", f.get("maybe_unbalanced"),
                      w["maybe"])


def check_incref_list(c, tag, key, got, want):
    """got (a leaked_ref's JSON list `key`) holds exactly the entries of
    want, [(count, function in the stack, [first frame])]."""
    c.expect(isinstance(got, list), f"{tag}: {key} missing: {got!r}")
    got = got or []
    c.expect(len(got) == len(want), f"{tag}: expected {len(want)} {key} "
             f"incref stack(s), got "
             f"{[(u.get('count'), fns(u.get('stack'))) for u in got]}")
    for count, fn, *first in want:
        match = [u for u in got if has_fn(u.get("stack"), fn)]
        if c.expect(len(match) == 1, f"{tag}: expected one {key} "
                    f"incref in {fn}, found {len(match)}: "
                    f"{[fns(u.get('stack')) for u in got]}"):
            c.expect(match[0].get("count") == count, f"{tag}: {key} "
                     f"in {fn}: count expected {count}, got "
                     f"{match[0].get('count')}")
            top = (match[0].get("stack") or [{}])[0]
            for want_top in first:
                c.expect(top.get("function") == want_top
                         or (want_top.startswith("lib")
                             and want_top in (top.get("module") or "")),
                         f"{tag}: {key} in {fn}: first frame expected "
                         f"{want_top}, got {top}")


def check_rc_error(c, f, w):
    tag = f"rc_error {w['kind']}"
    for key in ("kind", "type", "count", "occurrences"):
        c.expect(f.get(key) == w[key], f"{tag}: {key} expected {w[key]!r}, "
                 f"got {f.get(key)!r}")
    c.expect((f.get("bytes"), f.get("blocks")) == (0, 0), f"{tag}: "
             f"bytes/blocks expected 0/0, got {f.get('bytes')}/"
             f"{f.get('blocks')}")
    c.expect(isinstance(f.get("address"), str)
             and f["address"].startswith("0x"), f"{tag}: address "
             f"{f.get('address')!r}")
    c.expect(has_fn(f.get("stack"), w["where"]), f"{tag}: stack lacks "
             f"{w['where']}: {fns(f.get('stack'))}")
    if f.get("other_stack") is None:
        if w["other"]:
            c.note(f"{tag}: no other_stack (would name {w['other']})")
    elif w["other"]:
        c.expect(has_fn(f["other_stack"], w["other"]), f"{tag}: other_stack "
                 f"lacks {w['other']}: {fns(f['other_stack'])}")


def check_plain(c, f, w):
    tag = f"{w['cls']} {w['alloc']}"
    c.expect((f.get("bytes"), f.get("blocks")) == (w["bytes"], w["blocks"]),
             f"{tag}: expected {w['bytes']}/{w['blocks']}, got "
             f"{f.get('bytes')}/{f.get('blocks')}")


CHECKS = {"cycle": check_cycle, "leaked_ref": check_leaked_ref,
          "rc_error": check_rc_error, "leaked": check_plain,
          "indirect": check_plain}


def finding_key(f):
    """What identifies a finding among a sample's expectations."""
    cls = f.get("class")
    if cls == "rc_error":
        return (cls, f.get("kind"), f.get("type"))
    if cls in ("cycle", "leaked_ref"):
        return (cls, f.get("type"))
    return (cls, (rstest.program_frame(f.get("stack", [])) or {})
            .get("function"))


def want_key(w):
    if w["cls"] == "rc_error":
        return (w["cls"], w["kind"], w["type"])
    if w["cls"] in ("cycle", "leaked_ref"):
        return (w["cls"], w["type"])
    return (w["cls"], w["alloc"])


def take_library_indirect(c, remaining, fn, want):
    """Removes the indirect findings allocated through fn (a function, or
    a tuple of functions: through any of them) from remaining and checks
    that they add up to want (bytes, blocks)."""
    fns = (fn,) if isinstance(fn, str) else fn
    mine = [f for f in remaining if f.get("class") == "indirect"
            and any(has_fn(f.get("stack"), g) for g in fns)]
    for f in mine:
        remaining.remove(f)
    got = (sum(f.get("bytes", 0) for f in mine),
           sum(f.get("blocks", 0) for f in mine))
    c.expect(got == tuple(want), f"indirect findings allocated through "
             f"{fn}: expected {want}, got {got}")


def check_findings(c, findings, wants, indirect_through=None,
                   indirect=ZERO):
    remaining = list(findings)
    if indirect_through:
        take_library_indirect(c, remaining, indirect_through, indirect)
    for w in wants:
        if w["cls"] == "cycle" and w["type"] is None:
            match = [f for f in remaining if f.get("class") == "cycle"]
        else:
            match = [f for f in remaining if finding_key(f) == want_key(w)]
        if len(match) > 1 and w.get("alloc"):
            # several findings of one type: told apart by where allocated
            match = [f for f in match if alloc_ok(f.get("stack"), w["alloc"])]
        if not c.expect(len(match) == 1, f"expected one finding "
                        f"{want_key(w)}, found {len(match)}"):
            continue
        remaining.remove(match[0])
        CHECKS[w["cls"]](c, match[0], w)
    for f in remaining:
        c.expect(False, f"unexpected finding {finding_key(f)} "
                 f"{f.get('bytes')}/{f.get('blocks')} allocated in "
                 f"{fns(f.get('stack'))[:6]}")


# ---- running ------------------------------------------------------------------


def sample_env(s, samples_dir):
    env = dict(os.environ)
    env.pop("REFSCOPE_HOOKS", None)
    if s["hooks"]:
        env["REFSCOPE_HOOKS"] = s["hooks"].replace("{samples}", samples_dir)
    env.update(s["env"])
    return env


def check_report(c, refscope, obj, s):
    """`refscope report` of the snapshot: same summary and findings as the
    run, and the text names the types and functions."""
    snap = obj.get("snapshot")
    if not c.expect(snap and os.path.exists(snap), f"snapshot {snap!r} "
                    "does not exist"):
        return
    p = subprocess.run([refscope, "report", "--json", snap],
                       capture_output=True, text=True, timeout=300)
    if not c.expect(p.returncode == 0, f"refscope report --json exited "
                    f"{p.returncode}: {p.stderr[-500:]}"):
        return
    rep = json.loads(p.stdout)
    if isinstance(rep, list) and len(rep) == 1:
        rep = rep[0]
    c.expect(rep.get("summary") == obj["summary"], f"report summary "
             f"{rep.get('summary')} != run summary {obj['summary']}")
    c.expect(rep.get("findings") == obj.get("findings"), "report --json "
             "findings differ from the run's")
    if not s["text"]:
        return
    p = subprocess.run([refscope, "report", snap], capture_output=True,
                       text=True, timeout=300)
    c.expect(p.returncode == 0, f"refscope report exited {p.returncode}")
    for word in s["text"]:
        c.expect(word in p.stdout, f"text report does not mention {word!r}")


def check_reachable_types(c, refscope, exe, env, s):
    """A --show-reachable run lists each expected type as reachable."""
    with tempfile.TemporaryDirectory(prefix="rs-rc-") as out:
        _, _, data, _ = rstest.run_refscope(refscope, [exe], out, env=env,
                                            extra_args=["--show-reachable"])
    obj = rstest.pick_process(data, "main")
    reach = [f for f in obj.get("findings", [])
             if f.get("class") == "reachable"]
    for type_, nbytes, blocks, fn in s["reachable_types"]:
        match = [f for f in reach if f.get("type") == type_
                 and has_fn(f.get("stack"), fn)]
        if c.expect(len(match) == 1, f"--show-reachable: expected one "
                    f"reachable {type_} finding allocated through {fn}, "
                    f"found {len(match)}; reachable types: "
                    f"{sorted({str(f.get('type')) for f in reach})}"):
            c.expect((match[0]["bytes"], match[0]["blocks"])
                     == (nbytes, blocks), f"--show-reachable {type_}: "
                     f"expected {nbytes}/{blocks}, got "
                     f"{match[0]['bytes']}/{match[0]['blocks']}")


def time_bare_preload(refscope, exe, env):
    """Wall time of exe under LD_PRELOAD=librefscope.so (found as `refscope
    run` finds it: $REFSCOPE_LIBRARY, else ../lib next to refscope), or
    NaN when the library is not there."""
    lib = os.environ.get("REFSCOPE_LIBRARY") or os.path.join(
        os.path.dirname(os.path.abspath(refscope)), "..", "lib",
        "librefscope.so")
    if not os.path.exists(lib):
        return float("nan")
    with tempfile.TemporaryDirectory(prefix="rs-rc-") as out:
        penv = dict(env)
        penv.update(LD_PRELOAD=lib, REFSCOPE_OUT=out, REFSCOPE_QUIET="1")
        t0 = time.monotonic()
        subprocess.run([exe], env=penv, capture_output=True, timeout=300)
        return time.monotonic() - t0


def check_entry_hooks(c, args, profile, err):
    """One "entry hooked" line on stderr per function of the built-in
    profile (lib/model/profile_builtin.c)."""
    path = os.path.join(os.path.dirname(os.path.abspath(args.source_dir)),
                        "lib", "model", "profile_builtin.c")
    with open(path, encoding="utf-8") as f:
        functions = rstest.profile_functions(f.read())[profile]
    hooked = sorted(line.split(" in ")[0].split(": ", 1)[1] for line in err.splitlines()
                    if line.endswith(": entry hooked"))
    c.expect(hooked == sorted(functions), f"entry hooked: {hooked}, want every "
             f"function of the {profile} profile: {sorted(functions)}")


def run(args):
    s = SPECS.get(args.name)
    rstest.check(s is not None, f"no expectations for {args.name} in "
                 "test_refcount.py SPECS")
    exe = os.path.join(args.samples_dir, args.name)
    env = sample_env(s, args.samples_dir)
    t0 = time.monotonic()
    native = subprocess.run([exe], capture_output=True, text=True,
                            timeout=300)
    t_native = time.monotonic() - t0
    rstest.check(native.returncode == 0, f"{args.name} fails natively: "
                 f"{native.returncode} {native.stderr}")
    c = Checker(args.name)
    with tempfile.TemporaryDirectory(prefix="rs-rc-") as out:
        t0 = time.monotonic()
        status, prog_out, data, err = rstest.run_refscope(
            args.refscope, [exe], out, env=env)
        t_run = time.monotonic() - t0
        if s["timed"]:
            print(f"{args.name}: native {t_native:.2f} s; under the bare "
                  f"preload (hooks, exit analysis, snapshot) "
                  f"{time_bare_preload(args.refscope, exe, env):.2f} s; "
                  f"refscope run (also symbolizing and the report) "
                  f"{t_run:.2f} s")
        rstest.check(status == 0, f"refscope run exited {status}; stderr:\n"
                     f"{err[-3000:]}")
        c.expect(prog_out == native.stdout, "program output differs under "
                 f"refscope:\n--- native\n{native.stdout}--- refscope\n"
                 f"{prog_out}")
        rstest.check(len(data) == 1, f"expected 1 process, got {len(data)}")
        obj = rstest.pick_process(data, "main")
        c.expect(obj["process"].get("exit_status") == 0, "exit_status "
                 f"{obj['process'].get('exit_status')}")
        check_summary(c, obj["summary"], s["summary"])
        for text, n in s["stderr"].items():
            got = sum(text in line for line in err.splitlines())
            c.expect(got == n, f"stderr: expected {n} line(s) with {text!r}, "
                     f"got {got}:\n{err[-2000:]}")
        if s["env"] is ENTRY_REPORT:
            check_entry_hooks(c, args, s["hooks"], err)
        if s["findings"] is not None:
            check_findings(c, obj.get("findings", []), s["findings"],
                           s["indirect_through"],
                           s["summary"].get("indirect", ZERO))
        for f in obj.get("findings", []):
            c.expect("type" in f, f"finding {finding_key(f)} has no 'type' "
                     "key (null when plain)")
        check_report(c, args.refscope, obj, s)
    if s["reachable_types"]:
        check_reachable_types(c, args.refscope, exe, env, s)
    c.finish(obj)



if __name__ == "__main__":
    rstest.script_main(__doc__, run, "--refscope", "--samples-dir", "--source-dir", "name")
